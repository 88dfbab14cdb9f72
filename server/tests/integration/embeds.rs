//! Web embeds as visitors and attackers meet them: an allowed site chats
//! and the agent reads the conversation; other sites, forged claims,
//! turned-off embeds and other visitors' runs are refused; the limits hold
//! per visitor, per address and per embed whatever `Origin` says; the
//! daily cap holds under 50 concurrent visitors; the owner's numbers are
//! the runs table's. (In a real browser with two origins:
//! end2end/embeds.test.mjs.)

use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl as _;
use hmac::{KeyInit as _, Mac as _};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::support::browser::Browser;
use crate::support::ws::{Socket, next_frame_within, send};
use crate::support::{TestApp, deploy_running, error_of, publish_agent};

const SHOP: &str = "https://shop.example.com";
/// Answers the message and shows what it was handed.
const CHAT: &str = "export default async function run(input, ctx) {\n  return { answer: `You said: ${input.message}`, history: ctx.conversation, trigger: ctx.trigger };\n}\n";

async fn chat_deployment(owner: &mut Browser, name: &str, price: i64) -> String {
    let slug = publish_agent(owner, name, |draft| {
        draft["source"] = json!(CHAT);
        draft["listing"]["price_credits"] = json!(price);
    })
    .await;
    deploy_running(owner, json!({ "agent": slug, "name": name }))
        .await
        .0
}

async fn embed(owner: &mut Browser, deployment: &str, settings: Value) -> Value {
    let (status, made) = owner
        .post(
            &format!("/api/v1/deployments/{deployment}/embeds"),
            settings,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

/// A visitor's calls, as a browser page on `origin` (or a program forging
/// it) makes them, from `ip` (through the trusted proxy) when given.
struct Visitor<'a> {
    app: &'a TestApp,
    embed: String,
    origin: Option<String>,
    ip: Option<String>,
    token: String,
}

impl<'a> Visitor<'a> {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.app.http.request(method, self.app.url(path));
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin);
        }
        if let Some(ip) = &self.ip {
            request = request.header("x-forwarded-for", ip);
        }
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        request
    }

    /// Opens a session for `visitor` on a page of `page`.
    async fn open(
        app: &'a TestApp,
        embed: &str,
        origin: Option<&str>,
        ip: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value, Self) {
        let mut visitor = Self {
            app,
            embed: embed.to_owned(),
            origin: origin.map(str::to_owned),
            ip: ip.map(str::to_owned),
            token: String::new(),
        };
        let response = visitor
            .request(reqwest::Method::POST, &format!("/embed/{embed}/session"))
            .json(&body)
            .send()
            .await
            .expect("opening a session");
        let (status, answer) = crate::support::json_of(response).await;
        visitor.token = answer["token"].as_str().unwrap_or_default().to_owned();
        (status, answer, visitor)
    }

    async fn say(&self, text: &str) -> (StatusCode, Value) {
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/embed/{}/messages", self.embed),
            )
            .json(&json!({ "text": text }))
            .send()
            .await
            .expect("sending a message");
        crate::support::json_of(response).await
    }

    async fn conversation(&self) -> (StatusCode, Value) {
        let response = self
            .request(
                reqwest::Method::GET,
                &format!("/embed/{}/messages", self.embed),
            )
            .send()
            .await
            .expect("reading the conversation");
        crate::support::json_of(response).await
    }

    /// The conversation once `run`'s answer is in it.
    async fn answer_of(&self, run: &str) -> Value {
        for _ in 0..400 {
            let (status, conversation) = self.conversation().await;
            assert_eq!(status, StatusCode::OK, "{conversation}");
            let answer = conversation["messages"]
                .as_array()
                .and_then(|messages| {
                    messages
                        .iter()
                        .find(|m| m["role"] == "assistant" && m["run"] == run)
                })
                .cloned();
            if let Some(answer) = answer {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no answer to {run}");
    }

    /// Its live socket, as the frame opens it.
    async fn socket(&self) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let mut request = self.app.ws_url().into_client_request().expect("a request");
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            format!("agentdeck.visitor, {}", self.token)
                .parse()
                .expect("a header"),
        );
        headers.insert("origin", self.app.base_url.parse().expect("a header"));
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(socket, _)| socket)
    }
}

fn visitor_id(n: usize) -> String {
    format!("visitor-{n:0>12}")
}

#[derive(diesel::QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn number(app: &TestApp, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Number>(&mut app.sql().await)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

#[tokio::test]
async fn an_allowed_site_chats_live_and_the_agent_reads_the_conversation() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "embed@example.com", "Embed").await;
    let deployment = chat_deployment(&mut owner, "Helper", 0).await;
    let made = embed(
        &mut owner,
        &deployment,
        json!({ "name": "Shop bubble", "allowed_origins": [SHOP, "*.example.org"],
                "look": { "title": "Ask the shop", "greeting": "Hello!" } }),
    )
    .await;
    let id = made["embed"]["id"].as_str().expect("an id").to_owned();
    assert!(id.starts_with("emb_"), "{made}");
    assert!(
        made["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("embsec_"))
    );
    assert_eq!(
        made["embed"]["allowed_origins"],
        json!([SHOP, "https://*.example.org"])
    );
    assert!(
        made["embed"]["snippet"]
            .as_str()
            .is_some_and(|s| s.contains(&format!("data-embed=\"{id}\""))
                && s.contains(&format!("{}/embed.js", app.base_url))),
        "{made}"
    );

    // The frame: framed by the allowed sites (and this server), only.
    let frame = app.get(&format!("/embed/{id}")).await;
    assert_eq!(frame.status(), StatusCode::OK);
    let policy = frame.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        policy.contains("frame-ancestors 'self' https://shop.example.com https://*.example.org"),
        "{policy}"
    );
    assert!(frame.headers().get("x-frame-options").is_none());
    // Every other page still refuses to be framed; the frame itself is
    // refused as a page of its own (a link or a popup from any site).
    assert_eq!(app.get("/").await.headers()["x-frame-options"], "DENY");
    let top = app
        .http
        .get(app.url(&format!("/embed/{id}")))
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .expect("opening the frame as a page");
    assert_eq!(top.status(), StatusCode::FORBIDDEN);

    // The frame (on this server's origin) opens a session for the shop.
    let (status, session, visitor) = Visitor::open(
        &app,
        &id,
        Some(&app.base_url),
        None,
        json!({ "visitor": visitor_id(1), "page_origin": SHOP }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert!(visitor.token.starts_with("evt_"), "{session}");
    assert_eq!(session["embed"]["title"], "Ask the shop");
    assert_eq!(session["embed"]["greeting"], "Hello!");
    assert_eq!(session["embed"]["input"], "chat");
    assert_eq!(session["messages"], json!([]));

    // A message becomes a run the visitor follows live.
    let (status, sent) = visitor.say("hi there").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let run = sent["run"].as_str().expect("a run").to_owned();
    assert_eq!(sent["messages"][0]["text"], "hi there");
    let mut socket = visitor.socket().await.expect("the visitor's socket");
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("run:{run}"), "since": 0 }),
    )
    .await;
    loop {
        let frame = next_frame_within(&mut socket, Duration::from_secs(20)).await;
        assert_eq!(frame["type"], "event", "{frame}");
        if frame["event"]["status"] == "succeeded" {
            break;
        }
    }
    let answer = visitor.answer_of(&run).await;
    assert_eq!(answer["text"], "You said: hi there", "{answer}");

    // The second message's run reads the first exchange as ctx.conversation,
    // and what started it as ctx.trigger.
    let (status, sent) = visitor.say("and again").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let second = sent["run"].as_str().expect("a run").to_owned();
    visitor.answer_of(&second).await;
    let (_, shown) = owner.get(&format!("/api/v1/runs/{second}")).await;
    let output = &shown["output"];
    let history: Vec<(&str, &str)> = output["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [("user", "hi there"), ("assistant", "You said: hi there")],
        "{output}"
    );
    assert_eq!(output["trigger"]["kind"], "embed");
    assert_eq!(output["trigger"]["embed"], id.as_str());
    // The visitor's id opens its conversation: the agent and the run
    // records get a pseudonym of it, never the id.
    let pseudonym = output["trigger"]["visitor"].as_str().expect("a pseudonym");
    assert_eq!(pseudonym.len(), 32, "{output}");
    assert!(!shown.to_string().contains(&visitor_id(1)), "{shown}");
    assert_eq!(output["trigger"]["page_origin"], SHOP);
    assert_eq!(shown["trigger"], "embed");

    // Back later: the same visitor sees its conversation.
    let (_, again, _) = Visitor::open(
        &app,
        &id,
        Some(&app.base_url),
        None,
        json!({ "visitor": visitor_id(1), "page_origin": SHOP }),
    )
    .await;
    let texts: Vec<&str> = again["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "hi there",
            "You said: hi there",
            "and again",
            "You said: and again"
        ]
    );

    // The owner's numbers are the runs table's.
    let (status, stats) = owner
        .get(&format!(
            "/api/v1/deployments/{deployment}/embeds/{id}/stats?days=7"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let runs = number(
        &app,
        "SELECT count(*) AS n FROM runs WHERE trigger = 'embed' AND embed_id IS NOT NULL",
    )
    .await;
    assert_eq!(stats["runs"], runs);
    assert_eq!(stats["runs"], 2);
    assert_eq!(stats["views"], 2);
    assert_eq!(stats["failures"], 0);
    assert_eq!(stats["days"].as_array().map(Vec::len), Some(7));

    // Clearing forgets the conversation.
    let cleared = visitor
        .request(reqwest::Method::DELETE, &format!("/embed/{id}/messages"))
        .send()
        .await
        .expect("clearing");
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let (_, conversation) = visitor.conversation().await;
    assert_eq!(conversation["messages"], json!([]));
}

#[tokio::test]
async fn other_sites_forged_claims_and_other_visitors_are_refused() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "locked@example.com", "Locked").await;
    let deployment = chat_deployment(&mut owner, "Locked", 0).await;
    let made = embed(
        &mut owner,
        &deployment,
        json!({ "name": "Shop", "allowed_origins": [SHOP] }),
    )
    .await;
    let id = made["embed"]["id"].as_str().expect("an id").to_owned();
    let secret = made["secret"].as_str().expect("a secret").to_owned();
    let open = |origin: Option<&'static str>, body: Value| {
        let app = &app;
        let id = id.clone();
        async move {
            let (status, answer, _) = Visitor::open(app, &id, origin, None, body).await;
            (status, answer)
        }
    };
    let visitor = visitor_id(7);

    // Another site calling directly, a page the embed does not allow, and
    // no Origin at all.
    let (status, answer) = open(
        Some("https://evil.example.net"),
        json!({ "visitor": visitor, "page_origin": SHOP }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = open(
        Some(SHOP),
        json!({ "visitor": visitor, "page_origin": "https://evil.example.net" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        error_of(&answer, "forbidden")["message"]
            .as_str()
            .is_some_and(|m| m.contains("not allowed on https://evil.example.net"))
    );
    let (status, _) = open(None, json!({ "visitor": visitor, "page_origin": SHOP })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A bad visitor id, an unknown embed.
    let (status, answer) = open(Some(SHOP), json!({ "visitor": "x", "page_origin": SHOP })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["field"], "visitor");
    let (status, _, _) = Visitor::open(
        &app,
        "emb_00000000000000000000000000000000",
        Some(SHOP),
        None,
        json!({ "visitor": visitor, "page_origin": SHOP }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // User claims: signed with the embed's secret they name the site's
    // user; forged, expired or far-future ones are refused.
    let claim = |key: &str, user: &str, expiry: i64| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{user}.{expiry}").as_bytes());
        let signature: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{user}.{expiry}.{signature}")
    };
    let soon = chrono::Utc::now().timestamp() + 600;
    for (forged, why) in [
        (claim("embsec_not-the-secret", "u-1", soon), "verify"),
        (claim(&secret, "u-1", soon - 1200), "expired"),
        (
            claim(&secret, "u-1", soon + 30 * 24 * 3600),
            "within 7 days",
        ),
        ("u-1.nonsense".to_owned(), "must be"),
    ] {
        let (status, answer) = open(
            Some(SHOP),
            json!({ "visitor": visitor, "page_origin": SHOP, "user": forged }),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{why}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(why)),
            "{why}: {answer}"
        );
    }
    let (status, _, signed) = Visitor::open(
        &app,
        &id,
        Some(SHOP),
        None,
        json!({ "visitor": visitor, "page_origin": SHOP,
                "user": claim(&secret, "shop-user-42", soon) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, sent) = signed.say("who am I?").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let run = sent["run"].as_str().expect("a run").to_owned();
    signed.answer_of(&run).await;
    let (_, shown) = owner.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(shown["output"]["trigger"]["user"], "shop-user-42");

    // A second visitor cannot follow the first one's run, nor the
    // deployment; a token is for its own embed only.
    let (_, _, other) = Visitor::open(
        &app,
        &id,
        Some(&app.base_url),
        None,
        json!({ "visitor": visitor_id(8), "page_origin": SHOP }),
    )
    .await;
    let mut socket = other.socket().await.expect("a socket");
    for topic in [
        format!("run:{run}"),
        format!("deployment:{deployment}"),
        "user".to_owned(),
    ] {
        send(&mut socket, json!({ "type": "subscribe", "topic": topic })).await;
        let frame = next_frame_within(&mut socket, Duration::from_secs(5)).await;
        assert_eq!(frame["type"], "error", "{topic}: {frame}");
    }
    let second = embed(
        &mut owner,
        &deployment,
        json!({ "name": "Other", "allowed_origins": [SHOP] }),
    )
    .await;
    let second = second["embed"]["id"].as_str().expect("an id").to_owned();
    let crossed = other
        .request(reqwest::Method::GET, &format!("/embed/{second}/messages"))
        .send()
        .await
        .expect("crossing");
    assert_eq!(crossed.status(), StatusCode::FORBIDDEN);
    // A token that does not open: 401 (the frame opens a new session).
    let bad = Visitor {
        token: "evt_AAAA".to_owned(),
        ..other
    };
    assert_eq!(bad.say("hello").await.0, StatusCode::UNAUTHORIZED);
    assert!(
        bad.socket().await.is_err(),
        "a forged token opens no socket"
    );

    // Turning the embed off stops the next message and the frame at once.
    let mut settings = made["embed"].clone();
    for field in ["id", "deployment_id", "snippet", "created_at", "updated_at"] {
        settings.as_object_mut().unwrap().remove(field);
    }
    settings["enabled"] = json!(false);
    let (status, changed) = owner
        .put(
            &format!("/api/v1/deployments/{deployment}/embeds/{id}"),
            settings,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (status, answer) = signed.say("still there?").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(
        app.get(&format!("/embed/{id}")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM embed_messages WHERE text = 'still there?'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn limits_hold_per_visitor_address_and_embed_whatever_origin_says() {
    // A clock that stands still: every message falls in one minute.
    let app = TestApp::builder()
        .workers()
        .trusted_proxies("127.0.0.0/8")
        .clock(service::clock::Clock::manual(chrono::Utc::now()))
        .spawn()
        .await;
    let (mut owner, _) = Browser::sign_up(&app, "limits@example.com", "Limits").await;
    let deployment = chat_deployment(&mut owner, "Limited", 0).await;
    let made = embed(
        &mut owner,
        &deployment,
        json!({ "name": "Shop", "allowed_origins": [SHOP], "per_visitor_minute": 2,
                "per_visitor_day": 50, "per_embed_minute": 12 }),
    )
    .await;
    let id = made["embed"]["id"].as_str().expect("an id").to_owned();
    // `curl` forging the allowed Origin gets in, and meets every limit.
    let open = async |n: usize, ip: &str| {
        let (status, answer, visitor) = Visitor::open(
            &app,
            &id,
            Some(SHOP),
            Some(ip),
            json!({ "visitor": visitor_id(n), "page_origin": SHOP }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        visitor
    };

    // One visitor: two a minute, then a clear message and no run.
    let first = open(1, "198.51.100.1").await;
    assert_eq!(first.say("one").await.0, StatusCode::ACCEPTED);
    assert_eq!(first.say("two").await.0, StatusCode::ACCEPTED);
    let (status, answer) = first.say("three").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too quickly")),
        "{answer}"
    );
    // New visitor ids from the same address: the address holds four
    // visitors' worth (8), then refuses.
    let mut sent = 2;
    for n in 2..=4 {
        let visitor = open(n, "198.51.100.1").await;
        for _ in 0..2 {
            assert_eq!(visitor.say("hello").await.0, StatusCode::ACCEPTED);
            sent += 1;
        }
    }
    assert_eq!(sent, 8);
    let fifth = open(5, "198.51.100.1").await;
    let (status, answer) = fifth.say("hello").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("this network")),
        "{answer}"
    );
    // Other addresses: the embed as a whole takes 12 a minute.
    for n in 6..=9 {
        let visitor = open(n, &format!("203.0.113.{n}")).await;
        assert_eq!(visitor.say("hello").await.0, StatusCode::ACCEPTED);
        sent += 1;
    }
    assert_eq!(sent, 12);
    let late = open(10, "203.0.113.10").await;
    let (status, answer) = late.say("hello").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("busy")),
        "{answer}"
    );
    // Refused messages started nothing.
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM runs WHERE trigger = 'embed'"
        )
        .await,
        12
    );
}

#[tokio::test]
async fn the_daily_cap_holds_under_fifty_concurrent_visitors() {
    let app = TestApp::builder()
        .workers()
        .trusted_proxies("127.0.0.0/8")
        .spawn()
        .await;
    let (mut author, _) = Browser::sign_up(&app, "author@example.com", "Author").await;
    let slug = publish_agent(&mut author, "Paid helper", |draft| {
        draft["source"] = json!(CHAT);
        draft["listing"]["price_credits"] = json!(3);
    })
    .await;
    let (mut owner, me) = Browser::sign_up(&app, "buyer@example.com", "Buyer").await;
    let workspace: uuid::Uuid = me["workspaces"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("workspace");
    crate::support::grant_credits(&mut app.sql().await, workspace, 1_000).await;
    let (deployment, _) =
        deploy_running(&mut owner, json!({ "agent": slug, "name": "Paid" })).await;
    let cap = 20;
    let made = embed(
        &mut owner,
        &deployment,
        json!({ "name": "Capped", "allowed_origins": [SHOP], "per_embed_minute": 1000,
                "daily_cap_credits": cap }),
    )
    .await;
    let id = made["embed"]["id"].as_str().expect("an id").to_owned();

    let mut visitors = Vec::new();
    for n in 0..50 {
        let (status, answer, visitor) = Visitor::open(
            &app,
            &id,
            Some(&app.base_url),
            Some(&format!("198.51.100.{}", n + 1)),
            json!({ "visitor": visitor_id(n), "page_origin": SHOP }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        visitors.push(visitor);
    }
    let answers =
        futures::future::join_all(visitors.iter().map(|visitor| visitor.say("buy"))).await;
    let accepted = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::ACCEPTED)
        .count();
    for (status, answer) in &answers {
        if *status != StatusCode::ACCEPTED {
            assert_eq!(*status, StatusCode::PAYMENT_REQUIRED, "{answer}");
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("budget for today")),
                "{answer}"
            );
        }
    }
    // 3 credits a run under a cap of 20: six runs, and never a seventh.
    assert_eq!(accepted, 6, "{answers:?}");
    for _ in 0..400 {
        let open = number(
            &app,
            "SELECT count(*) AS n FROM runs WHERE trigger = 'embed' AND status IN ('queued', 'running')",
        )
        .await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let charged = number(
        &app,
        "SELECT coalesce(sum(charged_credits + llm_credits), 0)::bigint AS n FROM runs \
         WHERE trigger = 'embed'",
    )
    .await;
    assert!(charged <= cap && charged > cap - 3, "charged {charged}");
    let (_, stats) = owner
        .get(&format!(
            "/api/v1/deployments/{deployment}/embeds/{id}/stats"
        ))
        .await;
    assert_eq!(stats["spent_credits"], charged, "{stats}");
    assert_eq!(stats["spent_today"], charged, "{stats}");
    assert_eq!(stats["runs"], 6);
    assert_eq!(stats["views"], 50);
}

#[tokio::test]
async fn settings_are_checked_and_conversations_are_purged() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "settings@example.com", "Settings").await;
    let deployment = chat_deployment(&mut owner, "Checked", 0).await;
    let path = format!("/api/v1/deployments/{deployment}/embeds");
    for (settings, field) in [
        (
            json!({ "name": "x", "allowed_origins": [] }),
            "allowed_origins",
        ),
        (
            json!({ "name": "x", "allowed_origins": ["http://shop.example.com"] }),
            "allowed_origins",
        ),
        (
            json!({ "name": "x", "allowed_origins": ["http://localhost:3000"] }),
            "allowed_origins",
        ),
        (
            json!({ "name": "x", "allowed_origins": ["https://*.com"] }),
            "allowed_origins",
        ),
        (json!({ "name": "", "allowed_origins": [SHOP] }), "name"),
        (
            json!({ "name": "x", "allowed_origins": [SHOP], "look": { "color": "red" } }),
            "look.color",
        ),
        (
            json!({ "name": "x", "allowed_origins": [SHOP], "per_visitor_minute": 0 }),
            "per_visitor_minute",
        ),
        (
            json!({ "name": "x", "allowed_origins": [SHOP], "daily_cap_credits": -1 }),
            "daily_cap_credits",
        ),
    ] {
        let (status, answer) = owner.post(&path, settings.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{settings}: {answer}"
        );
        assert_eq!(answer["error"]["field"], field, "{settings}: {answer}");
    }
    // A key that may change deployments but not start runs makes no
    // embed: visitors would start runs through it.
    let (status, made) = owner
        .post(
            "/api/v1/api-keys",
            json!({ "name": "no runs", "scopes": ["deployments:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let refused = app
        .http
        .post(app.url(&path))
        .bearer_auth(made["token"].as_str().expect("a key"))
        .json(&json!({ "name": "x", "allowed_origins": [SHOP] }))
        .send()
        .await
        .expect("adding with a key");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Development mode takes localhost.
    let made = embed(
        &mut owner,
        &deployment,
        json!({ "name": "Dev", "allowed_origins": ["http://localhost:*"], "development": true }),
    )
    .await;
    assert_eq!(
        made["embed"]["allowed_origins"],
        json!(["http://localhost:*"])
    );
    let id = made["embed"]["id"].as_str().expect("an id").to_owned();
    let (status, _, visitor) = Visitor::open(
        &app,
        &id,
        Some("http://localhost:5173"),
        None,
        json!({ "visitor": visitor_id(1), "page_origin": "http://localhost:5173" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, sent) = visitor.say("remember me").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    visitor.answer_of(sent["run"].as_str().unwrap()).await;
    // Thirty days quiet: purged, with its messages.
    diesel::sql_query("UPDATE embed_sessions SET updated_at = now() - interval '31 days'")
        .execute(&mut app.sql().await)
        .await
        .expect("aging");
    let (sessions, _) = service::embeds::purge(&app.services)
        .await
        .expect("purging");
    assert_eq!(sessions, 1);
    assert_eq!(
        number(&app, "SELECT count(*) AS n FROM embed_messages").await,
        0
    );
    // The run stays, the owner's record.
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM runs WHERE trigger = 'embed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_form_embed_sends_the_schemas_input_and_changes_are_audited() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut owner, _) = Browser::sign_up(&app, "form@example.com", "Form").await;
    let slug = publish_agent(&mut owner, "Quoter", |draft| {
        draft["source"] = json!(
            "export default async function run(input) {\n  return { answer: `${input.count} x ${input.tea}` };\n}\n"
        );
        draft["manifest"]["input_schema"] = json!({
            "type": "object",
            "properties": {
                "tea": { "type": "string", "enum": ["green", "black"] },
                "count": { "type": "integer", "minimum": 1, "maximum": 10 },
            },
            "required": ["tea", "count"],
        });
        draft["example_input"] = json!(r#"{"tea": "green", "count": 1}"#);
    })
    .await;
    let (deployment, _) =
        deploy_running(&mut owner, json!({ "agent": slug, "name": "Quotes" })).await;
    // A chat would send {"message": …}, which this schema refuses.
    let (status, refused) = owner
        .post(
            &format!("/api/v1/deployments/{deployment}/embeds"),
            json!({ "name": "Chat", "allowed_origins": [SHOP] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "input");
    let made = embed(
        &mut owner,
        &deployment,
        json!({ "name": "Order form", "allowed_origins": [SHOP], "input": "form",
                "look": { "mode": "inline" }, "per_visitor_minute": 2 }),
    )
    .await;
    let id = made["embed"]["id"].as_str().expect("an id").to_owned();
    let (status, session, visitor) = Visitor::open(
        &app,
        &id,
        Some(&app.base_url),
        None,
        json!({ "visitor": visitor_id(3), "page_origin": SHOP }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["embed"]["input"], "form");
    assert_eq!(session["embed"]["look"]["mode"], "inline");
    assert_eq!(
        session["embed"]["input_schema"]["required"],
        json!(["tea", "count"])
    );
    let send = async |body: Value| {
        let response = visitor
            .request(reqwest::Method::POST, &format!("/embed/{id}/messages"))
            .json(&body)
            .send()
            .await
            .expect("sending");
        crate::support::json_of(response).await
    };
    // Text is a chat's; an input the schema refuses is refused before it
    // counts (the visitor may send two a minute).
    assert_eq!(
        send(json!({ "text": "hi" })).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    for _ in 0..3 {
        let (status, answer) = send(json!({ "input": { "tea": "white", "count": 1 } })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    }
    let (status, sent) = send(json!({ "input": { "tea": "green", "count": 3 } })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let answer = visitor
        .answer_of(sent["run"].as_str().expect("a run"))
        .await;
    assert_eq!(answer["text"], "3 x green");

    // The embed's changes are in the workspace's audit log.
    let mut settings = made["embed"].clone();
    for field in ["id", "deployment_id", "snippet", "created_at", "updated_at"] {
        settings.as_object_mut().unwrap().remove(field);
    }
    settings["name"] = json!("Order form 2");
    let base = format!("/api/v1/deployments/{deployment}/embeds/{id}");
    assert_eq!(owner.put(&base, settings).await.0, StatusCode::OK);
    assert_eq!(
        owner.post(&format!("{base}/secret"), json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(owner.delete(&base).await.0, StatusCode::NO_CONTENT);
    let (_, audit) = owner.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for want in [
        "embed.create",
        "embed.change",
        "embed.rotate",
        "embed.delete",
    ] {
        assert!(actions.contains(&want), "{want} in {audit}");
    }
    // Deleted: its frame and its visitors' calls answer 404 at once.
    assert_eq!(
        app.get(&format!("/embed/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(visitor.conversation().await.0, StatusCode::NOT_FOUND);
}
