//! Limits that hold under abuse (issue 19), one test per finding as each
//! lands.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

/// Finding 1: a test run's in-memory store grew the server without bound.
/// It now holds at most `runtime::kv::MEMORY_MAX_BYTES` (and
/// `MEMORY_MAX_KEYS`): an agent storing 250 KB values is told the store is
/// full once it is, and can go on.
#[tokio::test]
async fn a_test_runs_store_is_bounded() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (status, created) = ada
        .post("/api/v1/agents", json!({ "name": "Hoarder" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug");
    let source = r#"
export default async function run(input, ctx) {
  const big = "x".repeat(250000);
  let stored = 0;
  try {
    for (let i = 0; i < 100; i++) {
      await ctx.kv.set("k" + i, big);
      stored++;
    }
    return { stored, error: null };
  } catch (e) {
    return { stored, error: String((e && e.message) || e) };
  }
}
"#;
    let (status, run) = ada
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": source, "input": "{}",
                    "manifest": { "capabilities": { "kv": true },
                                  "limits": { "timeout_ms": 10000 } } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let output: Value =
        serde_json::from_str(run["output"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    let stored = output["stored"].as_u64().unwrap_or(0);
    let most = (runtime::kv::MEMORY_MAX_BYTES / 250_000) as u64;
    assert!(
        stored >= 1 && stored <= most,
        "stored {stored} of at most {most}: {run}"
    );
    assert!(
        output["error"].as_str().is_some_and(|e| e.contains("full")),
        "the agent is told why: {run}"
    );
}

/// Finding 7: redeploy loaded the agent by id, without the visibility
/// check, so someone removed from a team kept deploying its private agent.
/// Redeploy, start and restart now check again (404); stop and delete of
/// one's own deployment still work.
#[tokio::test]
async fn losing_access_to_a_private_agent_stops_deploying_it_again() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut olive, _) = Browser::sign_up(&app, "olive@example.com", "Olive").await;
    let (status, team) = olive
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, invite) = olive
        .post(
            "/api/v1/teams/acme/invites",
            json!({ "email": "ada@example.com", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let token = invite["link"]
        .as_str()
        .expect("link")
        .rsplit('/')
        .next()
        .expect("token");
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (status, joined) = ada
        .post_empty(&format!("/api/v1/invites/{token}/accept"))
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");

    // The team's private agent, with two versions.
    let (status, created) = olive
        .post(
            "/api/v1/agents",
            json!({ "name": "Secret Sauce", "workspace": "acme" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug").to_owned();
    for version in ["1.0.0", "1.1.0"] {
        let (status, published) = olive
            .post(
                &format!("/api/v1/agents/{slug}/versions"),
                json!({ "version": version }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{published}");
    }
    let (status, hidden) = olive
        .patch(
            &format!("/api/v1/agents/{slug}"),
            json!({ "visibility": "private" }),
        )
        .await;
    assert!(status.is_success(), "{hidden}");

    // Ada deploys it into her own workspace while a member.
    let (id, _) =
        crate::support::deploy_running(&mut ada, json!({ "agent": slug, "version": "1.0.0" }))
            .await;

    // Olive removes her from the team.
    let ada_id = me["user"]["id"].as_str().expect("id");
    let (status, removed) = olive
        .delete(&format!("/api/v1/teams/acme/members/{ada_id}"))
        .await;
    assert!(status.is_success(), "{removed}");

    let (status, refused) = ada
        .post(
            &format!("/api/v1/deployments/{id}/redeploy"),
            json!({ "version": "1.1.0" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let (status, refused) = ada
        .post_empty(&format!("/api/v1/deployments/{id}/restart"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let (status, stopped) = ada
        .post_empty(&format!("/api/v1/deployments/{id}/stop"))
        .await;
    assert!(
        status.is_success(),
        "her own deployment still stops: {stopped}"
    );
    let (status, refused) = ada
        .post_empty(&format!("/api/v1/deployments/{id}/start"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let (_, shown) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    assert_ne!(shown["version"], "1.1.0", "{shown}");
}

/// Finding 5: a key holding only `billing:read` read every run's input,
/// output and logs, run lists and metrics, and followed deployment and run
/// topics. Those reads now take `runs:read`.
#[tokio::test]
async fn reading_runs_takes_the_runs_read_scope() {
    use crate::support::ws::{connect_with_key, next_frame_within, send};
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (id, _) = crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;
    let example: Value = serde_json::from_str(include_str!(
        "../../../agents/launch/analytics/example.json"
    ))
    .expect("the example");
    let (status, run) = ada
        .post(
            &format!("/api/v1/deployments/{id}/runs"),
            json!({ "input": example["input"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let run_id = run["id"].as_str().expect("id").to_owned();

    let mut tokens = Vec::new();
    for scopes in [json!(["billing:read"]), json!(["runs:read"])] {
        let (status, key) = ada
            .post("/api/v1/api-keys", json!({ "name": "k", "scopes": scopes }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        tokens.push(key["token"].as_str().expect("token").to_owned());
    }
    let reads = [
        format!("/api/v1/runs/{run_id}"),
        format!("/api/v1/deployments/{id}/runs"),
        format!("/api/v1/deployments/{id}/metrics?minutes=60"),
        "/api/v1/runs".to_owned(),
    ];
    for path in &reads {
        for (token, expected) in [
            (&tokens[0], StatusCode::FORBIDDEN),
            (&tokens[1], StatusCode::OK),
        ] {
            let response = app
                .http
                .get(app.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("a read");
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, expected, "{path}: {body}");
            if expected == StatusCode::FORBIDDEN {
                assert!(body.contains("runs:read"), "the scope is named: {body}");
                assert!(!body.contains("succeeded"), "nothing of the run: {body}");
            }
        }
    }
    for topic in [format!("deployment:{id}"), format!("run:{run_id}")] {
        for (token, allowed) in [(&tokens[0], false), (&tokens[1], true)] {
            let mut socket = connect_with_key(&app, token).await;
            send(
                &mut socket,
                json!({ "type": "subscribe", "topic": topic, "since": 0 }),
            )
            .await;
            let frame = next_frame_within(&mut socket, std::time::Duration::from_secs(10)).await;
            assert_eq!(frame["type"] == "error", !allowed, "{topic}: {frame}");
        }
    }

    // Keys made before the scope existed keep reading what they read: the
    // migration gives `runs:read` to keys with `runs:write` or
    // `deployments:write`, and to no other.
    use diesel_async::RunQueryDsl as _;
    let mut sql = app.sql().await;
    diesel::sql_query(
        "UPDATE api_keys SET scopes = CASE WHEN 'runs:read' = ANY(scopes) AND cardinality(scopes) = 1 \
                                           THEN ARRAY['runs:write'] ELSE ARRAY['billing:read'] END",
    )
    .execute(&mut sql)
    .await
    .expect("keys as they were");
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut sql,
        include_str!("../../../migrations/2026-12-03-000019_runs_read/up.sql"),
    )
    .await
    .expect("the migration again");
    #[derive(diesel::QueryableByName)]
    struct Scopes {
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
        scopes: Vec<String>,
    }
    let mut after: Vec<Vec<String>> = diesel::sql_query("SELECT scopes FROM api_keys")
        .load::<Scopes>(&mut sql)
        .await
        .expect("keys")
        .into_iter()
        .map(|row| row.scopes)
        .collect();
    after.sort();
    assert_eq!(
        after,
        vec![
            vec!["billing:read".to_owned()],
            vec!["runs:write".to_owned(), "runs:read".to_owned()]
        ]
    );
}
