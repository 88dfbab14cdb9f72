//! Archiving and deleting agents: an archived agent leaves the marketplace
//! (search, the dictionary, creator pages, the sitemap) and new
//! deployments and tries, while its running deployments go on and say so;
//! deleting needs every deployment of it stopped, keeps the versions runs
//! refer to, and leaves nothing to see.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

async fn listed(browser: &mut Browser, q: &str) -> (Vec<String>, Value) {
    let (status, page) = browser.get(&format!("/api/v1/agents?q={q}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let slugs = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["slug"].as_str().expect("slug").to_owned())
        .collect();
    (slugs, page)
}

async fn wait_for(browser: &mut Browser, deployment: &str, status: &str) {
    for _ in 0..600 {
        let (_, shown) = browser
            .get(&format!("/api/v1/deployments/{deployment}"))
            .await;
        if shown["status"] == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the deployment never became {status}");
}

#[tokio::test]
async fn archived_agents_leave_the_marketplace_and_deleted_ones_leave_no_trace() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let slug = crate::support::publish_agent(&mut ada, "Zephyrine Drafter", |draft| {
        draft["listing"]["summary"] = json!("Drafts zephyrine letters");
    })
    .await;
    let (deployment, _) = crate::support::deploy_running(&mut bob, json!({ "agent": slug })).await;
    assert_eq!(listed(&mut bob, "zephyrine").await.0, vec![slug.clone()]);

    let (status, archived) = ada
        .patch(
            &format!("/api/v1/agents/{slug}"),
            json!({ "archived": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    assert_eq!(archived["archived"], true);

    // Off the marketplace: no result, no word to complete or suggest.
    let (found, page) = listed(&mut bob, "zephyrine").await;
    assert!(found.is_empty(), "{page}");
    assert_eq!(page["suggestion"], Value::Null, "{page}");
    let (found, _) = listed(&mut bob, "zephyrin").await;
    assert!(found.is_empty());
    let (_, creator) = bob.get("/api/v1/creators/ada").await;
    assert!(!creator.to_string().contains(&slug), "{creator}");
    let sitemap = app.get("/sitemap.xml").await.text().await.expect("sitemap");
    assert!(!sitemap.contains(&slug));
    // Its page stays, marked, and asks not to be indexed.
    let (status, shown) = bob.get(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["archived"], true);
    let html = app
        .get(&format!("/agents/{slug}"))
        .await
        .text()
        .await
        .expect("the page");
    assert!(
        html.contains(r#"<meta name="robots" content="noindex" />"#),
        "{html}"
    );

    // No new deployment or try; the running one goes on, and says so.
    let (status, refused) = bob
        .post(
            "/api/v1/deployments",
            json!({ "agent": slug, "name": "another" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["field"], "agent", "{refused}");
    let (status, refused) = bob
        .post(
            &format!("/api/v1/agents/{slug}/try"),
            json!({ "input": "{}" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (status, run) = bob
        .post(
            &format!("/api/v1/deployments/{deployment}/runs"),
            json!({ "input": { "name": "Bob" } }),
        )
        .await;
    assert!(status.is_success(), "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    let run_id = run["id"].as_str().expect("id").to_owned();
    let (_, shown) = bob.get(&format!("/api/v1/deployments/{deployment}")).await;
    assert_eq!(shown["agent_archived"], true, "{shown}");

    // Unarchived, it is found again (its words back in the dictionary).
    let (status, _) = ada
        .patch(
            &format!("/api/v1/agents/{slug}"),
            json!({ "archived": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&mut bob, "zephyrin").await.0, vec![slug.clone()]);
    let (status, _) = ada
        .patch(
            &format!("/api/v1/agents/{slug}"),
            json!({ "archived": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Deleting waits for Bob's deployment to stop.
    let (status, refused) = ada.delete(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["field"], "deployments", "{refused}");
    let (status, body) = bob
        .post(&format!("/api/v1/deployments/{deployment}/stop"), json!({}))
        .await;
    assert!(status.is_success(), "{body}");
    wait_for(&mut bob, &deployment, "stopped").await;
    // Someone else cannot delete it.
    let (status, _) = bob.delete(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ada.delete(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Gone for everyone, its author included; Bob's deployment and run
    // (and the version they ran) are still his to read.
    for browser in [&mut ada, &mut bob] {
        let (status, _) = browser.get(&format!("/api/v1/agents/{slug}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = ada
        .patch(
            &format!("/api/v1/agents/{slug}"),
            json!({ "archived": false }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no bringing a deleted agent back"
    );
    let (_, mine) = ada.get("/api/v1/me/agents").await;
    assert!(!mine.to_string().contains(&slug), "{mine}");
    let (status, shown) = bob.get(&format!("/api/v1/deployments/{deployment}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["version"], "1.0.0");
    // It cannot be brought back up: a deleted agent runs nowhere again.
    for action in ["start", "restart"] {
        let (status, refused) = bob
            .post(
                &format!("/api/v1/deployments/{deployment}/{action}"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}: {refused}");
    }
    let (status, run) = bob.get(&format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let page = app.get(&format!("/agents/{slug}")).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_an_agent_nobody_deployed_removes_its_versions() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let slug = crate::support::publish_agent(&mut ada, "Short Lived", |_| {}).await;
    let (status, _) = ada.delete(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut conn = app.sql().await;
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    let versions: i64 = service::schema::agent_versions::table
        .inner_join(service::schema::agents::table)
        .filter(service::schema::agents::slug.eq(&slug))
        .count()
        .get_result(&mut conn)
        .await
        .expect("counting");
    assert_eq!(versions, 0);
    // The slug stays taken: its links never lead to someone else's agent.
    let (status, refused) = ada
        .post("/api/v1/agents", json!({ "name": "Short Lived" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["field"], "slug", "{refused}");
}
