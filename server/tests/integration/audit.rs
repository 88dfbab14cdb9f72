//! Every security-relevant action the accounts and teams work knows leaves
//! an audit entry with who, when, from where (IP and user agent) and on
//! what; and no route changes or deletes one.

use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestApp;
use crate::support::browser::{Browser, STRONG_PASSWORD};

const USER_AGENT: &str = "agentdeck-audit-test/1.0";

#[derive(QueryableByName, Debug)]
struct Row {
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    actor_user_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Text)]
    target_type: String,
    #[diesel(sql_type = Text)]
    target_id: String,
    #[diesel(sql_type = Text)]
    ip: String,
    #[diesel(sql_type = Text)]
    user_agent: String,
    #[diesel(sql_type = Text)]
    occurred_at: String,
}

/// Ada invites Bob to `acme` as `role`; Bob accepts.
async fn bob_joins_acme(ada: &mut Browser, bob: &mut Browser, role: &str) {
    let body = json!({ "email": "bob@example.com", "role": role });
    let (_, invite) = ada.post("/api/v1/teams/acme/invites", body).await;
    let link = invite["link"].as_str().expect("an invite link");
    let token = link.rsplit('/').next().expect("token");
    let (status, _) = bob
        .post_empty(&format!("/api/v1/invites/{token}/accept"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_listed_action_is_recorded_with_actor_time_origin_and_target() {
    let mut app = TestApp::spawn().await;
    app.http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .build()
        .expect("client");
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let ada_id = me["user"]["id"].as_str().expect("id").to_owned();
    let (mut bob, bob_me) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let bob_id = bob_me["user"]["id"].as_str().expect("id").to_owned();

    let (_, status, _) = Browser::sign_in(&app, "ada@example.com", "wrong password here").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (mut second, status, _) = Browser::sign_in(&app, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = second.post_empty("/api/v1/auth/logout").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ada.post_empty("/api/v1/sessions/revoke-others").await;
    assert_eq!(status, StatusCode::OK);

    let (status, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "ci", "scopes": ["agents:read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key_path = format!(
        "/api/v1/api-keys/{}",
        key["key"]["id"].as_str().expect("id")
    );
    let (status, _) = ada.delete(&key_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let calls = [
        ("POST", "/api/v1/teams", Some(json!({ "name": "Acme" }))),
        (
            "POST",
            "/api/v1/teams/acme/invites",
            Some(json!({ "email": "carol@example.com", "role": "viewer" })),
        ),
    ];
    for (method, path, body) in calls {
        let (status, answer) = ada.json(method.parse().expect("method"), path, body).await;
        assert!(status.is_success(), "{path}: {answer}");
    }
    let (_, invites) = ada.get("/api/v1/teams/acme/invites").await;
    let carol_invite = invites[0]["id"].as_str().expect("invite id").to_owned();
    let (status, _) = ada
        .delete(&format!("/api/v1/teams/acme/invites/{carol_invite}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    bob_joins_acme(&mut ada, &mut bob, "member").await;
    let bob_path = format!("/api/v1/teams/acme/members/{bob_id}");
    let (status, _) = ada.patch(&bob_path, json!({ "role": "admin" })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ada.delete(&bob_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    bob_joins_acme(&mut ada, &mut bob, "viewer").await;
    let (status, _) = bob.post_empty("/api/v1/teams/acme/leave").await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let mut conn = app.sql().await;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT action, actor_user_id, target_type, target_id, ip, user_agent,
                occurred_at::text AS occurred_at
         FROM audit_events ORDER BY id",
    )
    .load(&mut conn)
    .await
    .expect("reading the audit log");
    let expected = [
        ("user.signup", &ada_id),
        ("session.login_failed", &ada_id),
        ("session.login", &ada_id),
        ("session.logout", &ada_id),
        ("session.revoke_others", &ada_id),
        ("api_key.create", &ada_id),
        ("api_key.revoke", &ada_id),
        ("team.create", &ada_id),
        ("member.invite", &ada_id),
        ("member.invite_revoke", &ada_id),
        ("member.join", &bob_id),
        ("member.role_change", &ada_id),
        ("member.remove", &ada_id),
        ("member.leave", &bob_id),
    ];
    for (action, actor) in expected {
        let row = rows
            .iter()
            .find(|row| row.action == action)
            .unwrap_or_else(|| panic!("no {action} entry in {rows:#?}"));
        assert_eq!(
            row.actor_user_id.map(|id| id.to_string()).as_ref(),
            Some(actor),
            "{action}"
        );
        assert_eq!(row.ip, "127.0.0.1", "{action}");
        assert_eq!(row.user_agent, USER_AGENT, "{action}");
        assert!(
            !row.target_type.is_empty() && !row.target_id.is_empty(),
            "{row:?}"
        );
        assert!(!row.occurred_at.is_empty());
    }
}
