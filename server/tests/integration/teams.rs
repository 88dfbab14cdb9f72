//! Teams: creation, invites that work once, roles and who may change them,
//! leaving, and the team audit log.

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestApp;
use crate::support::browser::Browser;

pub(crate) struct Person {
    pub browser: Browser,
    pub id: String,
    pub handle: String,
}

pub(crate) async fn person(app: &TestApp, email: &str) -> Person {
    let name = email.split('@').next().expect("local part");
    let (browser, me) = Browser::sign_up(app, email, name).await;
    Person {
        browser,
        id: me["user"]["id"].as_str().expect("id").to_owned(),
        handle: me["user"]["handle"].as_str().expect("handle").to_owned(),
    }
}

/// Owner creates `acme`, invites `email` as `role`, and `joiner` accepts.
pub(crate) async fn invite_and_join(
    owner: &mut Person,
    joiner: &mut Person,
    email: &str,
    role: &str,
) {
    let (status, invite) = owner
        .browser
        .post(
            "/api/v1/teams/acme/invites",
            json!({ "email": email, "role": role }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let token = invite["link"]
        .as_str()
        .expect("link")
        .rsplit('/')
        .next()
        .expect("token")
        .to_owned();
    let (status, joined) = joiner
        .browser
        .post_empty(&format!("/api/v1/invites/{token}/accept"))
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["role"], role);
}

pub(crate) async fn acme(app: &TestApp) -> (Person, Person, Person, Person) {
    let mut owner = person(app, "olive@example.com").await;
    let (status, team) = owner
        .browser
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    assert_eq!(team["role"], "owner");
    let mut admin = person(app, "adam@example.com").await;
    let mut member = person(app, "mia@example.com").await;
    let mut viewer = person(app, "vic@example.com").await;
    invite_and_join(&mut owner, &mut admin, "adam@example.com", "admin").await;
    invite_and_join(&mut owner, &mut member, "mia@example.com", "member").await;
    invite_and_join(&mut owner, &mut viewer, "vic@example.com", "viewer").await;
    (owner, admin, member, viewer)
}

#[tokio::test]
async fn an_invite_link_works_once_for_the_invited_address_until_it_expires() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "olive@example.com").await;
    owner
        .browser
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    let (status, invite) = owner
        .browser
        .post(
            "/api/v1/teams/acme/invites",
            json!({ "email": "Bob@Example.com", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let link = invite["link"].as_str().expect("link");
    assert!(
        link.starts_with(&format!("{}/invites/", app.base_url)),
        "{link}"
    );
    let accept = format!(
        "/api/v1/invites/{}/accept",
        link.rsplit('/').next().expect("token")
    );

    let mut mallory = person(&app, "mallory@example.com").await;
    let (status, body) = mallory.browser.post_empty(&accept).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another address: {body}");

    let mut bob = person(&app, "bob@example.com").await;
    let (status, body) = bob.browser.post_empty(&accept).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refusal above must not use up the link: {body}"
    );
    let (status, body) = bob.browser.post_empty(&accept).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "single use: {body}");

    let (status, team) = bob.browser.get("/api/v1/teams/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(team["members"].as_array().map(Vec::len), Some(2));

    // An expired link is as good as none.
    let (_, late) = owner
        .browser
        .post(
            "/api/v1/teams/acme/invites",
            json!({ "email": "late@example.com", "role": "viewer" }),
        )
        .await;
    let mut conn = app.sql().await;
    diesel::sql_query(
        "UPDATE workspace_invites SET expires_at = now() - interval '1 second' WHERE id = $1::uuid",
    )
    .bind::<Text, _>(late["invite"]["id"].as_str().expect("id"))
    .execute(&mut conn)
    .await
    .expect("expiring the invite");
    let mut late_user = person(&app, "late@example.com").await;
    let token = late["link"]
        .as_str()
        .expect("link")
        .rsplit('/')
        .next()
        .expect("token")
        .to_owned();
    let (status, _) = late_user
        .browser
        .post_empty(&format!("/api/v1/invites/{token}/accept"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn roles_decide_who_may_do_what_and_strangers_see_nothing() {
    let app = TestApp::spawn().await;
    let (mut owner, mut admin, mut member, mut viewer) = acme(&app).await;
    let mut stranger = person(&app, "sam@example.com").await;

    for who in [&mut owner, &mut admin, &mut member, &mut viewer] {
        let (status, _) = who.browser.get("/api/v1/teams/acme").await;
        assert_eq!(status, StatusCode::OK);
    }
    for path in [
        "/api/v1/teams/acme",
        "/api/v1/teams/acme/audit",
        "/api/v1/teams/acme/invites",
    ] {
        let (status, body) = stranger.browser.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    // A personal workspace is not a team.
    let (status, _) = owner
        .browser
        .get(&format!("/api/v1/teams/{}", owner.handle))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let invite = json!({ "email": "new@example.com", "role": "viewer" });
    let (status, _) = member
        .browser
        .post("/api/v1/teams/acme/invites", invite.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = viewer.browser.get("/api/v1/teams/acme/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = admin
        .browser
        .post("/api/v1/teams/acme/invites", invite)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let owner_invite = json!({ "email": "x@example.com", "role": "owner" });
    let (status, body) = owner
        .browser
        .post("/api/v1/teams/acme/invites", owner_invite)
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("role"))
    );

    let member_path = format!("/api/v1/teams/acme/members/{}", member.id);
    let owner_path = format!("/api/v1/teams/acme/members/{}", owner.id);
    let viewer_path = format!("/api/v1/teams/acme/members/{}", viewer.id);
    let (status, _) = admin
        .browser
        .patch(&member_path, json!({ "role": "admin" }))
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "admins may raise members to admin"
    );
    let (status, _) = admin
        .browser
        .patch(&owner_path, json!({ "role": "viewer" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins may not touch owners");
    let (status, _) = admin
        .browser
        .patch(&viewer_path, json!({ "role": "owner" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins may not make owners");
    let (status, _) = viewer.browser.delete(&member_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = admin.browser.delete(&viewer_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = viewer.browser.get("/api/v1/teams/acme").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a removed member sees nothing"
    );
}

#[tokio::test]
async fn a_team_always_keeps_an_owner() {
    let app = TestApp::spawn().await;
    let (mut owner, admin, mut member, _) = acme(&app).await;
    let (status, body) = owner.browser.post_empty("/api/v1/teams/acme/leave").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let own_path = format!("/api/v1/teams/acme/members/{}", owner.id);
    let (status, _) = owner
        .browser
        .patch(&own_path, json!({ "role": "admin" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let admin_path = format!("/api/v1/teams/acme/members/{}", admin.id);
    let (status, _) = owner
        .browser
        .patch(&admin_path, json!({ "role": "owner" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = owner.browser.post_empty("/api/v1/teams/acme/leave").await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "with another owner, leaving works"
    );
    let (status, _) = member.browser.post_empty("/api/v1/teams/acme/leave").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "anyone may leave");
}

#[tokio::test]
async fn the_team_audit_log_records_and_filters_membership_changes() {
    let app = TestApp::spawn().await;
    let (mut owner, mut admin, member, _) = acme(&app).await;
    let member_path = format!("/api/v1/teams/acme/members/{}", member.id);
    admin
        .browser
        .patch(&member_path, json!({ "role": "viewer" }))
        .await;
    admin.browser.delete(&member_path).await;

    let (status, page) = owner.browser.get("/api/v1/teams/acme/audit").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let actions: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "member.remove",
            "member.role_change",
            "member.join",
            "member.invite",
            "member.join",
            "member.invite",
            "member.join",
            "member.invite",
            "team.create",
        ]
    );
    let first = &page["items"][0];
    assert_eq!(first["actor_handle"], admin.handle.as_str());
    assert_eq!(first["target_id"], member.id.as_str());
    assert_eq!(first["ip"], "127.0.0.1");

    let (_, by_admin) = owner
        .browser
        .get(&format!("/api/v1/teams/acme/audit?actor={}", admin.handle))
        .await;
    assert!(
        by_admin["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["actor_handle"] == admin.handle.as_str())
    );
    let (_, invites) = owner
        .browser
        .get("/api/v1/teams/acme/audit?action=member.invite&limit=2")
        .await;
    assert_eq!(invites["items"].as_array().map(Vec::len), Some(2));
    let cursor = invites["next_cursor"].as_str().expect("a next page");
    let (_, rest) = owner
        .browser
        .get(&format!(
            "/api/v1/teams/acme/audit?action=member.invite&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    let (_, members) = owner
        .browser
        .get("/api/v1/teams/acme/audit?action=member.")
        .await;
    assert_eq!(members["items"].as_array().map(Vec::len), Some(8));
}
