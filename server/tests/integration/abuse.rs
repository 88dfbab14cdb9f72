//! Limits that hold under abuse (issue 19), one test per finding as each
//! lands.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

/// `owner`'s team Acme (`acme`), which `member` (signed up as `email`)
/// joins by invitation with `role`; the team.
async fn acme_with(owner: &mut Browser, member: &mut Browser, email: &str, role: &str) -> Value {
    let (status, team) = owner
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, invite) = owner
        .post(
            "/api/v1/teams/acme/invites",
            json!({ "email": email, "role": role }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let token = invite["link"]
        .as_str()
        .and_then(|link| link.rsplit('/').next())
        .expect("the invitation's token");
    let (status, joined) = member
        .post_empty(&format!("/api/v1/invites/{token}/accept"))
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    team
}

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
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    acme_with(&mut olive, &mut ada, "ada@example.com", "member").await;

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

/// Finding 8: no response had security headers, so any site could frame
/// the keys, deploy and checkout pages. Every response now says it may not
/// be framed or sniffed and sends no address in `Referer`; the SPA's page
/// allows its own scripts and its start script by hash, and nothing else
/// inline; every other response lets nothing load.
#[tokio::test]
async fn every_response_carries_security_headers() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let app = TestApp::spawn().await;
    let start_hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(
        crate::support::START_SCRIPT.as_bytes(),
    ));
    let paths = [
        "/",
        "/settings/keys",
        "/no-such-page",
        "/api/v1/agents",
        "/api/v1/no-such-route",
        "/api/v1/wallet",
        "/healthz",
        &format!("/{}", crate::support::HASHED_JS),
    ];
    for path in paths {
        let response = app.get(path).await;
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy:?}"
        );
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        let is_page = header("content-type").starts_with("text/html");
        if is_page {
            assert!(
                policy.contains(&format!("'sha256-{start_hash}'")),
                "{path}: the start script runs: {policy}"
            );
            let scripts = policy
                .split(';')
                .find(|d| d.trim().starts_with("script-src"))
                .unwrap_or_default();
            assert!(
                !scripts.contains("'unsafe-inline'") && !scripts.contains("'unsafe-eval'"),
                "{path}: no other inline script runs: {policy}"
            );
            assert!(policy.contains("object-src 'none'"), "{path}: {policy}");
        } else {
            assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
        }
    }
}

/// Finding 9: a reviewer's address and browser were written into the agent
/// owner's audit log, which the owner reads. The line now names the
/// reviewer and the review, not where it was written from; the author's
/// own reply keeps theirs.
#[tokio::test]
async fn reviewers_addresses_stay_out_of_the_authors_audit_log() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let slug = crate::support::publish_agent(&mut ada, "Reviewed", |_| {}).await;
    let (mut alan, _) = Browser::sign_up(&app, "alan@example.com", "Alan").await;
    let (status, review) = alan
        .post(
            &format!("/api/v1/agents/{slug}/reviews"),
            json!({ "rating": 4, "body": "Good" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    let id = review["id"].as_str().expect("id");
    let (status, replied) = ada
        .post(
            &format!("/api/v1/agents/{slug}/reviews/{id}/reply"),
            json!({ "body": "Thanks" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replied}");

    let (status, log) = ada.get("/api/v1/audit").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let line = |action: &str| {
        log["items"]
            .as_array()
            .and_then(|items| items.iter().find(|item| item["action"] == action))
            .cloned()
            .unwrap_or_else(|| panic!("no {action} line: {log}"))
    };
    let written = line("review.write");
    assert!(written["actor_handle"].as_str().is_some(), "{written}");
    assert_eq!(
        (&written["ip"], &written["user_agent"]),
        (&json!(""), &json!("")),
        "{written}"
    );
    let reply = line("review.reply");
    assert_eq!(
        reply["ip"], "127.0.0.1",
        "the author's own line keeps hers: {reply}"
    );
}

/// Finding 9: `X-Forwarded-For` could not be trusted even behind a known
/// proxy. Without `AGENTDECK_TRUSTED_PROXIES` the header is ignored (anyone
/// can write it); with the proxy's network trusted, the client is the
/// rightmost address the proxies appended, never one a client put further
/// left.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Ip {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ip: String,
    }
    for (trusted, expected) in [(None, "127.0.0.1"), (Some("127.0.0.0/8"), "198.51.100.7")] {
        let mut builder = TestApp::builder();
        if let Some(cidrs) = trusted {
            builder = builder.trusted_proxies(cidrs);
        }
        let app = builder.spawn().await;
        let response = app
            .http
            .post(app.url("/api/v1/auth/signup"))
            .header("origin", &app.base_url)
            .header("x-forwarded-for", "6.6.6.6, 198.51.100.7")
            .json(&json!({ "email": "ada@example.com", "name": "Ada",
                           "password": crate::support::browser::STRONG_PASSWORD }))
            .send()
            .await
            .expect("signing up");
        assert_eq!(response.status(), StatusCode::CREATED);
        let seen: Ip =
            diesel::sql_query("SELECT ip FROM audit_events WHERE action = 'user.signup'")
                .get_result(&mut app.sql().await)
                .await
                .expect("the sign-up line");
        assert_eq!(seen.ip, expected, "trusting {trusted:?}");
    }
}

/// Finding 4: one user could take every sandbox slot with test runs. Each
/// account now runs at most two test runs at once (more are refused with
/// 429 and `Retry-After`, not queued), test runs never exceed their share
/// of the sandbox, and meanwhile another user's deployment runs as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_cannot_fill_the_sandbox_with_test_runs() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut olive, _) = Browser::sign_up(&app, "olive@example.com", "Olive").await;
    let (id, _) = crate::support::deploy_running(&mut olive, json!({ "agent": "analytics" })).await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (status, created) = ada
        .post("/api/v1/agents", json!({ "name": "Spinner" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug").to_owned();
    let spin = json!({
        "source": "export default async function run() { for (;;) {} }",
        "input": "{}",
        "manifest": { "limits": { "timeout_ms": 5000 } },
    });
    let path = format!("/api/v1/agents/{slug}/test-runs");
    let floods = (0..6).map(|_| {
        let request = ada.request(reqwest::Method::POST, &path).json(&spin);
        async move { request.send().await.expect("a test run") }
    });
    let example: Value = serde_json::from_str(include_str!(
        "../../../agents/launch/analytics/example.json"
    ))
    .expect("the example");
    let runs = format!("/api/v1/deployments/{id}/runs");
    let production = async {
        // While the test runs spin.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        olive
            .post(&runs, json!({ "input": example["input"] }))
            .await
    };
    let (answers, (status, run)) = tokio::join!(futures::future::join_all(floods), production);
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    let mut ran = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::OK => ran += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(answer.headers().contains_key("retry-after"));
                let body: Value = answer.json().await.expect("json");
                crate::support::error_of(&body, "rate_limited");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ran, 2, "two at once per account");
}

/// Reads `socket` until the server closes it; the close code.
async fn closed(socket: &mut crate::support::ws::Socket) -> Option<u16> {
    use futures::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), socket.next())
            .await
            .expect("the socket closes in time");
        match next {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// The next frame about `topic` that is not an event.
async fn topic_error(socket: &mut crate::support::ws::Socket, topic: &str) -> Value {
    loop {
        let frame =
            crate::support::ws::next_frame_within(socket, std::time::Duration::from_secs(20)).await;
        if frame["type"] == "error" && frame["topic"] == topic {
            return frame;
        }
    }
}

/// Finding 6: live access was checked once, at subscribe. Signing out,
/// revoking a key and removing a member now reach every server's sockets
/// through the database (at commit): the signed-out session's and the
/// revoked key's sockets close, the removed member's loses the team's
/// topic and keeps the rest. The times are printed (docs/BENCHMARKS.md).
#[tokio::test]
async fn sockets_lose_what_their_caller_lost() {
    use crate::support::ws::{connect_as, connect_with_key, next_frame_within, send};
    let app = TestApp::builder().workers().spawn().await;
    let (mut olive, _) = Browser::sign_up(&app, "olive@example.com", "Olive").await;
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    acme_with(&mut olive, &mut ada, "ada@example.com", "member").await;
    let (team_deployment, _) = crate::support::deploy_running(
        &mut olive,
        json!({ "agent": "analytics", "workspace": "acme" }),
    )
    .await;
    let (own_deployment, _) =
        crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;

    // A removed member loses the team's topic, and keeps her own.
    let mut socket = connect_as(&app, &ada).await;
    let team_topic = format!("deployment:{team_deployment}");
    let own_topic = format!("deployment:{own_deployment}");
    for topic in [&team_topic, &own_topic] {
        send(&mut socket, json!({ "type": "subscribe", "topic": topic })).await;
    }
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(
        next_frame_within(&mut socket, std::time::Duration::from_secs(10)).await["type"],
        "pong"
    );
    let ada_id = me["user"]["id"].as_str().expect("id");
    let started = std::time::Instant::now();
    let (status, _) = olive
        .delete(&format!("/api/v1/teams/acme/members/{ada_id}"))
        .await;
    assert!(status.is_success());
    let frame = topic_error(&mut socket, &team_topic).await;
    assert_eq!(frame["code"], "access_revoked", "{frame}");
    let took = started.elapsed();
    eprintln!(
        "removed member: topic ended {} µs after the request was sent",
        took.as_micros()
    );
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(
        next_frame_within(&mut socket, std::time::Duration::from_secs(10)).await["type"],
        "pong"
    );

    // A revoked key's socket closes.
    let (_, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "live", "scopes": ["runs:read"] }),
        )
        .await;
    let mut keyed = connect_with_key(&app, key["token"].as_str().expect("token")).await;
    send(
        &mut keyed,
        json!({ "type": "subscribe", "topic": own_topic }),
    )
    .await;
    let started = std::time::Instant::now();
    let (status, _) = ada
        .delete(&format!(
            "/api/v1/api-keys/{}",
            key["key"]["id"].as_str().expect("id")
        ))
        .await;
    assert!(status.is_success());
    let code = closed(&mut keyed).await;
    assert_eq!(code, Some(1008), "closed as a policy violation");
    let took = started.elapsed();
    eprintln!(
        "revoked key: socket closed {} µs after the request was sent",
        took.as_micros()
    );

    // Signing out closes the session's sockets.
    let started = std::time::Instant::now();
    let (status, _) = ada.post_empty("/api/v1/auth/logout").await;
    assert!(status.is_success());
    let code = closed(&mut socket).await;
    assert_eq!(code, Some(1008));
    let took = started.elapsed();
    eprintln!(
        "signed out: socket closed {} µs after the request was sent",
        took.as_micros()
    );
}

/// Finding 6 (the rest): sockets per account are capped, and so are
/// subscribe frames per socket (each costs queries).
#[tokio::test]
async fn live_connections_and_subscribes_are_capped() {
    use crate::support::ws::{connect_as, next_frame_within, send};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let app = TestApp::spawn().await;
    let (ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let mut open = Vec::new();
    for _ in 0..32 {
        open.push(connect_as(&app, &ada).await);
    }
    let mut request = app.ws_url().into_client_request().expect("a request");
    request.headers_mut().insert(
        "cookie",
        ada.cookie
            .as_deref()
            .expect("cookie")
            .parse()
            .expect("header"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!(
            "the 33rd socket was let in: {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
    drop(open.pop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut socket = connect_as(&app, &ada).await;
    let mut limited = 0;
    for n in 0..40 {
        send(
            &mut socket,
            json!({ "type": "subscribe", "topic": "user", "since": n }),
        )
        .await;
    }
    send(&mut socket, json!({ "type": "ping" })).await;
    loop {
        let frame = next_frame_within(&mut socket, std::time::Duration::from_secs(10)).await;
        match frame["type"].as_str() {
            Some("pong") => break,
            Some("error") if frame["code"] == "rate_limited" => limited += 1,
            _ => {}
        }
    }
    assert!(limited >= 5, "{limited} of 40 subscribes refused");
}

/// Finding 3: tries ran paid agents for free, and a paid agent's source was
/// readable, and forkable, by anyone. A try now charges the price after
/// the author's free tries; the source of a paid agent is its workspace's
/// unless the author makes it public, and only public source forks.
#[tokio::test]
async fn paid_agents_are_paid_for_when_tried_and_keep_their_source() {
    let app = TestApp::spawn().await;
    let (mut olive, _) = Browser::sign_up(&app, "olive@example.com", "Olive").await;
    let slug = crate::support::publish_agent(&mut olive, "Pricey", |body| {
        body["listing"]["price_credits"] = json!(3);
    })
    .await;
    let try_path = format!("/api/v1/agents/{slug}/try");
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let wallet = |body: &Value| body["balance"].as_i64().expect("balance");
    let (_, before) = bob.get("/api/v1/wallet").await;
    for _ in 0..2 {
        let (status, report) = bob
            .post(&try_path, json!({ "input": "{\"name\": \"Bob\"}" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["charged_credits"], 3, "{report}");
    }
    let (_, after) = bob.get("/api/v1/wallet").await;
    assert_eq!(
        wallet(&before) - wallet(&after),
        6,
        "two tries, three credits each"
    );

    // The author's own tries are free; a free try per user once set.
    let (_, own) = olive
        .post(&try_path, json!({ "input": "{\"name\": \"Bob\"}" }))
        .await;
    assert_eq!(own["charged_credits"], 0, "{own}");
    let (status, changed) = olive
        .patch(
            &format!("/api/v1/agents/{slug}"),
            json!({ "free_tries": 1 }),
        )
        .await;
    assert!(status.is_success(), "{changed}");
    let (mut carol, _) = Browser::sign_up(&app, "carol@example.com", "Carol").await;
    let (_, page) = carol.get(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(page["viewer"]["free_tries_left"], 1, "{page}");
    let (_, first) = carol
        .post(&try_path, json!({ "input": "{\"name\": \"Bob\"}" }))
        .await;
    let (_, second) = carol
        .post(&try_path, json!({ "input": "{\"name\": \"Bob\"}" }))
        .await;
    assert_eq!(
        (&first["charged_credits"], &second["charged_credits"]),
        (&json!(0), &json!(3))
    );

    // A wallet short of the price is refused before the try runs.
    let (mut dan, me) = Browser::sign_up(&app, "dan@example.com", "Dan").await;
    {
        use diesel_async::RunQueryDsl as _;
        diesel::sql_query(
            "UPDATE ledger_accounts SET balance = 2 WHERE kind = 'wallet' AND workspace_id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(
            me["workspaces"][0]["id"]
                .as_str()
                .and_then(|id| id.parse::<uuid::Uuid>().ok())
                .expect("workspace"),
        )
        .execute(&mut app.sql().await)
        .await
        .expect("a poorer wallet");
    }
    let (_, free) = dan
        .post(&try_path, json!({ "input": "{\"name\": \"Bob\"}" }))
        .await;
    assert_eq!(free["charged_credits"], 0, "his free try: {free}");
    let (status, refused) = dan
        .post(&try_path, json!({ "input": "{\"name\": \"Bob\"}" }))
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{refused}");

    // A team viewer's key cannot spend the team's credits on tries.
    let team = acme_with(&mut olive, &mut bob, "bob@example.com", "viewer").await;
    let (status, key) = bob
        .post(
            "/api/v1/api-keys",
            json!({ "name": "team", "scopes": ["runs:write", "agents:read"],
                    "workspace": team["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let refused = app
        .http
        .post(app.url(&try_path))
        .bearer_auth(key["token"].as_str().expect("token"))
        .json(&json!({ "input": "{\"name\": \"Bob\"}" }))
        .send()
        .await
        .expect("a try");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The source: hidden from Bob, and not forkable, until made public.
    let version = format!("/api/v1/agents/{slug}/versions/1.0.0");
    let (_, shown) = bob.get(&version).await;
    assert_eq!(shown["source"], Value::Null, "{shown}");
    let (_, page) = bob.get(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(page["viewer"]["can_read_source"], false);
    let fork = json!({ "name": "Mine now", "fork_of": slug });
    let (status, refused) = bob.post("/api/v1/agents", fork.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (_, own) = olive.get(&version).await;
    assert!(
        own["source"].as_str().is_some(),
        "the author reads it: {own}"
    );
    let (status, _) = olive
        .patch(
            &format!("/api/v1/agents/{slug}"),
            json!({ "source_public": true }),
        )
        .await;
    assert!(status.is_success());
    let (_, shown) = bob.get(&version).await;
    assert!(shown["source"].as_str().is_some(), "{shown}");
    let (status, forked) = bob.post("/api/v1/agents", fork).await;
    assert_eq!(status, StatusCode::CREATED, "{forked}");
}

/// Finding 6 (expiry): a session that ends by itself (its absolute expiry
/// or idleness), which no notification announces, still closes its
/// sockets when the time comes.
#[tokio::test]
async fn a_sockets_session_ending_by_itself_closes_it() {
    use crate::support::ws::{connect_as, next_frame_within, send};
    use diesel_async::RunQueryDsl as _;
    let app = TestApp::spawn().await;
    let (ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    diesel::sql_query("UPDATE sessions SET expires_at = now() + interval '2 seconds'")
        .execute(&mut app.sql().await)
        .await
        .expect("a session about to end");
    let mut socket = connect_as(&app, &ada).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(
        next_frame_within(&mut socket, std::time::Duration::from_secs(10)).await["type"],
        "pong"
    );
    assert_eq!(closed(&mut socket).await, Some(1008));
}
