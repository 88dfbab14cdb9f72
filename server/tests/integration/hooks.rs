//! Inbound webhook URLs as callers meet them: a token or a signature starts
//! a run and answers its output; every way in that should not work gets its
//! 4xx and starts nothing. (Signatures made by the official Standard
//! Webhooks library: end2end/webhooks.test.mjs.)

use hmac::{KeyInit as _, Mac as _};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, deploy_running, publish_agent};

const ECHO: &str = "export default async function run(input, ctx) {\n  return { got: input, trigger: ctx.trigger };\n}\n";

async fn echo(owner: &mut Browser, name: &str) -> String {
    let slug = publish_agent(owner, name, |draft| {
        draft["source"] = json!(ECHO);
    })
    .await;
    deploy_running(owner, json!({ "agent": slug, "name": name }))
        .await
        .0
}

async fn hook(owner: &mut Browser, deployment: &str, body: Value) -> Value {
    let (status, made) = owner
        .post(&format!("/api/v1/deployments/{deployment}/hooks"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

async fn runs(owner: &mut Browser, deployment: &str) -> Vec<Value> {
    let (_, listed) = owner
        .get(&format!("/api/v1/deployments/{deployment}/runs"))
        .await;
    listed["items"].as_array().cloned().unwrap_or_default()
}

fn path_of(url: &str) -> String {
    url.split_once("/hooks/")
        .map(|(_, token)| format!("/hooks/{token}"))
        .expect("a hook URL")
}

#[tokio::test]
async fn a_token_url_starts_a_run_and_answers_its_output() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "hook@example.com", "Hook").await;
    let deployment = echo(&mut owner, "Hooked").await;
    let made = hook(
        &mut owner,
        &deployment,
        json!({ "name": "Orders", "allowed_headers": ["X-Source", "user-agent"] }),
    )
    .await;
    let url = made["url"].as_str().expect("a url").to_owned();
    assert!(url.contains("/hooks/hk_"), "{made}");
    assert!(made["curl"].as_str().is_some_and(|c| c.contains(&url)));
    let path = path_of(&url);

    let answer = app
        .http
        .post(app.url(&format!("{path}?order=42")))
        .header("x-source", "shop")
        .header("authorization", "Bearer never-handed")
        .header("cookie", "session=never-handed")
        .json(&json!({ "item": "tea" }))
        .send()
        .await
        .expect("calling the hook");
    assert_eq!(answer.status(), StatusCode::OK);
    let run_id = answer.headers()["agentdeck-run-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["output"]["got"], json!({ "item": "tea" }));
    // The agent read what started it as ctx.trigger, credentials left out.
    let trigger = &body["output"]["trigger"];
    assert_eq!(trigger["kind"], "webhook", "{body}");
    assert_eq!(trigger["method"], "POST");
    assert_eq!(trigger["query"], json!({ "order": "42" }));
    assert_eq!(trigger["headers"], json!({ "x-source": "shop" }));
    assert!(
        trigger["at"]
            .as_str()
            .is_some_and(|at| at.starts_with("20")),
        "{trigger}"
    );
    assert_eq!(body["run_id"], run_id);

    // Recorded as a webhook run, with what the agent reads as ctx.trigger.
    let mut conn = app.sql().await;
    let details: Option<Value> = {
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        use diesel_async::RunQueryDsl as _;
        service::schema::runs::table
            .filter(service::schema::runs::id.eq(run_id.parse::<uuid::Uuid>().unwrap()))
            .select(service::schema::runs::trigger_details)
            .first(&mut conn)
            .await
            .expect("the run")
    };
    let details = details.expect("trigger details");
    assert_eq!(details["method"], "POST");
    assert_eq!(details["query"], json!({ "order": "42" }));
    assert_eq!(details["headers"]["x-source"], "shop");
    assert!(
        details["headers"].get("authorization").is_none(),
        "{details}"
    );
    assert!(!details.to_string().contains("never-handed"), "{details}");
    assert_eq!(runs(&mut owner, &deployment).await[0]["trigger"], "webhook");

    // Form fields, text, and no wait.
    let form = app
        .http
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=1&b=2&b=3")
        .send()
        .await
        .unwrap();
    let form: Value = form.json().await.unwrap();
    assert_eq!(form["output"]["got"], json!({ "a": "1", "b": ["2", "3"] }));
    let text = app
        .http
        .post(app.url(&path))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(
        text.json::<Value>().await.unwrap()["output"]["got"],
        "hello"
    );
    let queued = app
        .http
        .post(app.url(&format!("{path}?wait=0")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    // Bad input, and a bad wait.
    let bad = app
        .http
        .post(app.url(&path))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app
        .http
        .post(app.url(&format!("{path}?wait=31")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["field"], "wait");

    // A wrong token, a rotated one, a turned-off URL: 404, nothing started.
    let before = runs(&mut owner, &deployment).await.len();
    let wrong = app
        .http
        .post(app.url("/hooks/hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let id = made["hook"]["id"].as_str().unwrap();
    let (status, rotated) = owner
        .post(
            &format!("/api/v1/deployments/{deployment}/hooks/{id}/rotate"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let old = app
        .http
        .post(app.url(&path))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    let new_path = path_of(rotated["url"].as_str().unwrap());
    let new = app
        .http
        .post(app.url(&new_path))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::OK);
    let (status, _) = owner
        .patch(
            &format!("/api/v1/deployments/{deployment}/hooks/{id}"),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let off = app
        .http
        .post(app.url(&new_path))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::NOT_FOUND);
    assert_eq!(runs(&mut owner, &deployment).await.len(), before + 1);
    // The token is never shown again.
    let (_, listed) = owner
        .get(&format!("/api/v1/deployments/{deployment}/hooks"))
        .await;
    let token = new_path.trim_start_matches("/hooks/");
    assert!(!listed.to_string().contains(token), "{listed}");
}

#[tokio::test]
async fn signatures_old_timestamps_big_bodies_floods_and_stopped_deployments_start_nothing() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "signed@example.com", "Signed").await;
    let deployment = echo(&mut owner, "Signed").await;
    let standard = hook(
        &mut owner,
        &deployment,
        json!({ "name": "Standard", "verify": "standard", "max_body_bytes": 1024 }),
    )
    .await;
    let secret = standard["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    let path = path_of(standard["url"].as_str().unwrap());
    let body = r#"{"event":"paid"}"#;
    let now = chrono::Utc::now().timestamp();
    let post = |id: &str, timestamp: i64, signature: String, body: &str| {
        app.http
            .post(app.url(&path))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
    };
    let sign = |id: &str, timestamp: i64, body: &str| {
        service::webhooks::sign::signature(&secret, id, timestamp, body.as_bytes()).unwrap()
    };

    // Valid: a run; the same webhook-id again: the same run.
    let first = post("msg_1", now, sign("msg_1", now, body), body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["output"]["got"]["event"], "paid");
    let again = post("msg_1", now, sign("msg_1", now, body), body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.json::<Value>().await.unwrap()["run_id"],
        first["run_id"]
    );
    let started = runs(&mut owner, &deployment).await.len();
    assert_eq!(started, 1);

    // A tampered body, a wrong secret, an old timestamp, no headers: 400.
    let tampered = post(
        "msg_2",
        now,
        sign("msg_2", now, body),
        r#"{"event":"free"}"#,
    );
    let old = now - 600;
    let stale = post("msg_3", old, sign("msg_3", old, body), body);
    let unsigned = app.http.post(app.url(&path)).json(&json!({}));
    for (what, request) in [
        ("tampered", tampered),
        ("stale", stale),
        ("unsigned", unsigned),
    ] {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{what}");
        let error: Value = answer.json().await.unwrap();
        assert_eq!(
            error["error"]["code"], "invalid_signature",
            "{what}: {error}"
        );
    }
    let forged = post("msg_4", now, "v1,bm90IHRoZSBzaWduYXR1cmU=".to_owned(), body);
    assert_eq!(
        forged.send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // Over the body limit (declared, and streamed without a length): 413.
    let big = "x".repeat(2000);
    let oversized = post("msg_5", now, sign("msg_5", now, &big), &big);
    assert_eq!(
        oversized.send().await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Chunked, so the server learns the size only by reading.
    let streamed = {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let address = app.base_url.trim_start_matches("http://").to_owned();
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {address}\r\ntransfer-encoding: chunked\r\n\
             connection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
            big.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = socket.read_to_string(&mut answer).await;
        answer
    };
    assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
    assert_eq!(
        runs(&mut owner, &deployment).await.len(),
        1,
        "nothing more started"
    );

    // Three requests a minute: the rest are 429 with Retry-After.
    let flood = hook(
        &mut owner,
        &deployment,
        json!({ "name": "Flood", "per_minute": 3 }),
    )
    .await;
    let flood_path = path_of(flood["url"].as_str().unwrap());
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let answer = app
            .http
            .post(app.url(&flood_path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = answer.headers().get("retry-after").cloned();
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert!(retry_after.is_some());
    let after_flood = runs(&mut owner, &deployment).await.len();

    // X-Signature: sha256=…, and a stopped deployment.
    let sha = hook(
        &mut owner,
        &deployment,
        json!({ "name": "Sha", "verify": "sha256", "secret": "a shared secret of ours" }),
    )
    .await;
    assert_eq!(sha["secret"], "a shared secret of ours");
    let sha_path = path_of(sha["url"].as_str().unwrap());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"a shared secret of ours").unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signed = app
        .http
        .post(app.url(&sha_path))
        .header("content-type", "application/json")
        .header("x-signature", format!("sha256={hex}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
    let wrong = app
        .http
        .post(app.url(&sha_path))
        .header("x-signature", format!("sha256={}", "0".repeat(64)))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let (status, _) = owner
        .post_empty(&format!("/api/v1/deployments/{deployment}/stop"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for _ in 0..200 {
        let (_, shown) = owner
            .get(&format!("/api/v1/deployments/{deployment}"))
            .await;
        if shown["status"] == "stopped" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let stopped = app
        .http
        .post(app.url(&sha_path))
        .header("x-signature", format!("sha256={hex}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), StatusCode::CONFLICT);
    let error: Value = stopped.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("stopped")),
        "{error}"
    );
    assert_eq!(runs(&mut owner, &deployment).await.len(), after_flood + 1);

    // Bad settings name their field; credentials are never handed on.
    for (body, field) in [
        (
            json!({ "name": "x", "allowed_headers": ["Authorization"] }),
            "allowed_headers",
        ),
        (
            json!({ "name": "x", "verify": "standard", "secret": "whsec_short" }),
            "secret",
        ),
        (
            json!({ "name": "x", "secret": "not for a token URL" }),
            "secret",
        ),
        (json!({ "name": "x", "per_minute": 0 }), "per_minute"),
        (
            json!({ "name": "x", "max_body_bytes": 2_000_000 }),
            "max_body_bytes",
        ),
    ] {
        let (status, error) = owner
            .post(
                &format!("/api/v1/deployments/{deployment}/hooks"),
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
}
