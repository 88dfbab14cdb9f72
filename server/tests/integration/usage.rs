//! Usage counted from the runs by the roll-up (`service::agents::usage`):
//! nothing moves per run, each ended run is counted exactly once, a run
//! ended in a transaction still open waits for the next roll-up, and cards,
//! pages and the Popular sort show what was counted.

use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

/// An agent that fails when its input says so.
const SOURCE: &str = "export default function run(input) {\n  if (input.fail) throw new Error(\"asked to fail\");\n  return { ok: true };\n}\n";

async fn run(browser: &mut Browser, deployment: &str, fail: bool) {
    let (status, body) = browser
        .post(
            &format!("/api/v1/deployments/{deployment}/runs"),
            json!({ "input": { "fail": fail } }),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let want = if fail { "failed" } else { "succeeded" };
    assert_eq!(body["status"], want, "{body}");
}

async fn agent(browser: &mut Browser, slug: &str) -> Value {
    let (status, agent) = browser.get(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(status, StatusCode::OK, "{agent}");
    agent
}

fn counts(agent: &Value) -> (i64, i64) {
    (
        agent["runs_count"].as_i64().expect("runs_count"),
        agent["runs_succeeded"].as_i64().expect("runs_succeeded"),
    )
}

#[tokio::test]
async fn runs_are_counted_once_by_the_roll_up_and_shown_on_cards_pages_and_popular() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let busy = crate::support::publish_agent(&mut ada, "Usage Busy", |draft| {
        draft["source"] = json!(SOURCE);
    })
    .await;
    let quiet = crate::support::publish_agent(&mut ada, "Usage Quiet", |draft| {
        draft["source"] = json!(SOURCE);
    })
    .await;
    // Bob runs the busy agent in two deployments, 5 runs of which 2 fail;
    // the quiet one in one deployment, 2 runs that succeed.
    let busy_a = crate::support::deploy_running(&mut bob, json!({ "agent": busy }))
        .await
        .0;
    let busy_b =
        crate::support::deploy_running(&mut bob, json!({ "agent": busy, "name": "second" }))
            .await
            .0;
    let quiet_a = crate::support::deploy_running(&mut bob, json!({ "agent": quiet }))
        .await
        .0;
    for (deployment, fail) in [
        (&busy_a, false),
        (&busy_a, true),
        (&busy_a, false),
        (&busy_b, true),
        (&busy_b, false),
        (&quiet_a, false),
        (&quiet_a, false),
    ] {
        run(&mut bob, deployment, fail).await;
    }

    // Ada runs her own agent (free for her): not counted, or a creator
    // could climb Popular at no cost.
    let own = crate::support::deploy_running(&mut ada, json!({ "agent": quiet }))
        .await
        .0;
    for _ in 0..3 {
        run(&mut ada, &own, false).await;
    }

    // Nothing moves per run: the listing shows only what was rolled up.
    assert_eq!(counts(&agent(&mut bob, &busy).await), (0, 0));

    // A run ends in a transaction that is still open while the roll-up
    // looks: not visible, so not counted, and not lost either.
    let mut open = app.sql().await;
    diesel::sql_query("BEGIN")
        .execute(&mut open)
        .await
        .expect("begin");
    diesel::sql_query(
        "INSERT INTO runs (deployment_id, workspace_id, status, trigger, input) \
         SELECT id, workspace_id, 'queued', 'api', '{}' FROM deployments WHERE id = $1::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(&quiet_a)
    .execute(&mut open)
    .await
    .expect("queueing a run in an open transaction");
    let ended = diesel::sql_query(
        "UPDATE runs SET status = 'succeeded', finished_at = now() \
         WHERE deployment_id = $1::uuid AND status = 'queued'",
    )
    .bind::<diesel::sql_types::Text, _>(&quiet_a)
    .execute(&mut open)
    .await
    .expect("ending it");
    assert_eq!(ended, 1);
    // And one run ends after it began, in a transaction that commits at
    // once: the open one is older, so this one waits for it too.
    run(&mut bob, &quiet_a, false).await;

    // The seven runs that ended before the open transaction began are
    // counted (the bound is the cluster's oldest open transaction, so
    // other tests' transactions may hold a roll-up back a moment: it is
    // repeated until they are), the two after it are not while it is open.
    let mut counted = 0;
    for _ in 0..200 {
        counted += service::agents::roll_up_usage(&app.services)
            .await
            .expect("rolling up")
            .runs;
        if counted >= 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(counted, 7, "the seven before the open transaction, no more");
    assert_eq!(counts(&agent(&mut bob, &busy).await), (5, 3));
    assert_eq!(counts(&agent(&mut bob, &quiet).await), (2, 2));

    diesel::sql_query("COMMIT")
        .execute(&mut open)
        .await
        .expect("commit");
    for _ in 0..200 {
        counted += service::agents::roll_up_usage(&app.services)
            .await
            .expect("rolling up")
            .runs;
        if counted >= 9 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(counted, 9, "the two that waited, once");
    assert_eq!(counts(&agent(&mut bob, &quiet).await), (4, 4));
    // Nothing new: nothing counted twice.
    let again = service::agents::roll_up_usage(&app.services)
        .await
        .expect("rolling up");
    assert_eq!(again.runs, 0);
    assert_eq!(counts(&agent(&mut bob, &busy).await), (5, 3));

    // Cards carry the counts, and Popular orders by them.
    let (status, page) = bob.get("/api/v1/agents?sort=popular&limit=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let cards: Vec<(String, i64, i64)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|card| {
            let (runs, succeeded) = counts(card);
            (
                card["slug"].as_str().expect("slug").to_owned(),
                runs,
                succeeded,
            )
        })
        .collect();
    assert_eq!(cards, vec![(busy.clone(), 5, 3), (quiet.clone(), 4, 4)]);

    // The author sees the week: two deployments ran the busy agent; others
    // see no such numbers.
    let mine = agent(&mut ada, &busy).await;
    assert_eq!(
        mine["usage"],
        json!({ "weekly_active_deployments": 2, "runs_this_week": 5, "succeeded_this_week": 3 }),
        "{mine}"
    );
    assert_eq!(agent(&mut bob, &busy).await["usage"], Value::Null);
    let (_, anonymous) = app.get_json(&format!("/api/v1/agents/{busy}")).await;
    assert_eq!(anonymous["usage"], Value::Null);
}
