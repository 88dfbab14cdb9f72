//! Buying credits: checkout sessions made through a stand-in payment
//! provider, wallets credited only from signed webhooks (each event once),
//! administrators' grants, and an audit line for every movement.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::stripe::{FakeStripe, WEBHOOK_SECRET, event};
use crate::support::{TestApp, error_of, json_of};

/// Delivers `payload` to the webhook with `signature` (none when `None`).
async fn deliver(app: &TestApp, payload: &[u8], signature: Option<String>) -> (StatusCode, Value) {
    let mut request = app
        .http
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(payload.to_vec());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    json_of(request.send().await.expect("a webhook delivery")).await
}

/// Signed now with the webhook's secret.
fn signed(payload: &[u8]) -> Option<String> {
    Some(service::payments::sign(
        payload,
        WEBHOOK_SECRET,
        chrono::Utc::now().timestamp(),
    ))
}

async fn balance(browser: &mut Browser) -> i64 {
    let (status, wallet) = browser.get("/api/v1/wallet").await;
    assert_eq!(status, StatusCode::OK, "{wallet}");
    wallet["balance"].as_i64().expect("a balance")
}

async fn credit_audit(browser: &mut Browser, workspace: &str) -> Vec<Value> {
    let (status, page) = browser
        .get(&format!(
            "/api/v1/audit?workspace={workspace}&action=credits.&limit=200"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn buying_credits_credits_once_and_only_from_a_verified_webhook() {
    let stripe = FakeStripe::start().await;
    let app = std::sync::Arc::new(TestApp::builder().payments(&stripe.base_url).spawn().await);
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let (_, wallet) = bob.get("/api/v1/wallet").await;
    assert_eq!(
        wallet["top_up"],
        json!({ "cents_per_credit": 1, "currency": "usd", "min_credits": 100, "max_credits": 1_000_000 })
    );

    // Too few credits is refused, naming the field.
    let (status, body) = bob
        .post("/api/v1/billing/checkout", json!({ "credits": 5 }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "credits");
    assert_eq!(stripe.session_count(), 0, "nothing reached the provider");

    let (status, checkout) = bob
        .post("/api/v1/billing/checkout", json!({ "credits": 500 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{checkout}");
    assert_eq!(
        (
            &checkout["status"],
            &checkout["amount_cents"],
            &checkout["currency"]
        ),
        (&json!("open"), &json!(500), &json!("usd"))
    );
    let url = checkout["url"].as_str().expect("a url to pay at");
    let session_id = url.rsplit('/').next().expect("a session id").to_owned();
    let session = stripe.session(&session_id);
    assert_eq!(session["amount_total"], 500);
    assert_eq!(session["client_reference_id"], checkout["id"]);
    assert!(
        session["success_url"]
            .as_str()
            .expect("a success url")
            .starts_with(&format!("{}/wallet", app.base_url)),
        "{session}"
    );
    let checkout_path = format!(
        "/api/v1/billing/checkouts/{}",
        checkout["id"].as_str().expect("id")
    );
    // Nothing is credited before the provider says it was paid.
    assert_eq!(balance(&mut bob).await, 100);

    let paid = event(
        "evt_paid_1",
        "checkout.session.completed",
        stripe.paid(&session_id),
    );
    // A wrong secret, no header, a tampered body, an old timestamp: 400,
    // nothing credited, and the event id is not used up.
    let forged = service::payments::sign(&paid, "whsec_wrong", chrono::Utc::now().timestamp());
    let (status, body) = deliver(&app, &paid, Some(forged)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    error_of(&body, "invalid_signature");
    let (status, _) = deliver(&app, &paid, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let tampered = event(
        "evt_paid_1",
        "checkout.session.completed",
        json!({ "id": session_id, "payment_status": "paid", "amount_total": 500_000, "currency": "usd" }),
    );
    let (status, _) = deliver(&app, &tampered, signed(&paid)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let old = service::payments::sign(&paid, WEBHOOK_SECRET, chrono::Utc::now().timestamp() - 301);
    let (status, body) = deliver(&app, &paid, Some(old)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("a message")
            .contains("300 s"),
        "{body}"
    );
    assert_eq!(balance(&mut bob).await, 100);

    // The real delivery credits; the provider's retry of it does nothing,
    // even when ten copies arrive at once.
    assert_eq!(delivered(&app, &paid).await, "credited");
    assert_eq!(balance(&mut bob).await, 600);
    assert_eq!(delivered(&app, &paid).await, "duplicate");
    let (_, shown) = bob.get(&checkout_path).await;
    assert_eq!(shown["status"], "paid");

    let (_, second_session) = start_checkout(&mut bob, 250).await;
    let burst = event(
        "evt_paid_2",
        "checkout.session.completed",
        stripe.paid(&second_session),
    );
    let copies: Vec<_> = (0..10)
        .map(|_| {
            let app = std::sync::Arc::clone(&app);
            let burst = burst.clone();
            tokio::spawn(async move { deliver(&app, &burst, signed(&burst)).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for copy in copies {
        let (status, body) = copy.await.expect("a delivery");
        assert_eq!(status, StatusCode::OK, "{body}");
        outcomes.push(body["outcome"].as_str().expect("an outcome").to_owned());
    }
    assert_eq!(
        outcomes.iter().filter(|o| *o == "credited").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "duplicate").count(),
        9,
        "{outcomes:?}"
    );
    // Another event about the same payment credits nothing more.
    let kind = "checkout.session.async_payment_succeeded";
    let again = stripe.paid(&second_session);
    assert_eq!(
        outcome(&app, "evt_paid_2_async", kind, again).await,
        "handled"
    );
    assert_eq!(balance(&mut bob).await, 850);

    // A type this server does not act on is acknowledged and ignored.
    let unknown = json!({ "id": "cus_1" });
    assert_eq!(
        outcome(&app, "evt_customer", "customer.created", unknown).await,
        "ignored"
    );
    assert_eq!(balance(&mut bob).await, 850);

    // Each purchase is in Bob's audit log, once.
    let audit = credit_audit(&mut bob, "bob").await;
    let purchases: Vec<&Value> = audit
        .iter()
        .filter(|line| line["action"] == "credits.purchase")
        .collect();
    assert_eq!(purchases.len(), 2, "{audit:?}");
    assert_eq!(purchases[0]["details"]["amounts"], json!({ "wallet": 250 }));
    assert_eq!(purchases[1]["details"]["amounts"], json!({ "wallet": 500 }));
    assert!(audit.iter().any(|line| line["action"] == "credits.starter"));

    // Someone else sees neither the checkout nor Bob's audit log.
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    let (status, _) = eve.get(&checkout_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = eve.get("/api/v1/audit?workspace=bob").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Starts buying `credits` as `browser`; the checkout and its session id.
async fn start_checkout(browser: &mut Browser, credits: i64) -> (Value, String) {
    let (status, checkout) = browser
        .post("/api/v1/billing/checkout", json!({ "credits": credits }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{checkout}");
    let session = checkout["url"]
        .as_str()
        .and_then(|url| url.rsplit('/').next())
        .expect("a session")
        .to_owned();
    (checkout, session)
}

async fn checkout_status(browser: &mut Browser, checkout: &Value) -> Value {
    let path = format!(
        "/api/v1/billing/checkouts/{}",
        checkout["id"].as_str().expect("id")
    );
    let (status, shown) = browser.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    shown["status"].clone()
}

/// Delivers `payload`, signed; the outcome of a 200.
async fn delivered(app: &TestApp, payload: &[u8]) -> String {
    let (status, body) = deliver(app, payload, signed(payload)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["outcome"].as_str().expect("an outcome").to_owned()
}

/// Delivers a signed event of `kind` about `object`; the outcome of a 200.
async fn outcome(app: &TestApp, id: &str, kind: &str, object: Value) -> String {
    delivered(app, &event(id, kind, object)).await
}

#[tokio::test]
async fn odd_payments_are_held_never_credited_twice_and_late_ones_still_credit() {
    let stripe = FakeStripe::start().await;
    let app = TestApp::builder().payments(&stripe.base_url).spawn().await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    const COMPLETED: &str = "checkout.session.completed";

    // Paid for another sum than was asked: held for review, acknowledged,
    // not credited; a later event for it does not credit it either.
    let (short, session) = start_checkout(&mut bob, 500).await;
    let mut paid = stripe.paid(&session);
    paid["amount_total"] = json!(5);
    assert_eq!(
        outcome(&app, "evt_short", COMPLETED, paid).await,
        "held_for_review"
    );
    assert_eq!(checkout_status(&mut bob, &short).await, "review");
    let again = stripe.paid(&session);
    assert_eq!(
        outcome(&app, "evt_short_2", COMPLETED, again).await,
        "held_for_review"
    );
    assert_eq!(balance(&mut bob).await, 100);

    // A session no checkout of ours made: acknowledged, nothing credited.
    let stranger = json!({ "id": "cs_elsewhere", "payment_status": "paid", "amount_total": 500, "currency": "usd" });
    assert_eq!(
        outcome(&app, "evt_stranger", COMPLETED, stranger).await,
        "unmatched"
    );

    // Expired and failed sessions close their checkouts.
    let (expiring, session) = start_checkout(&mut bob, 200).await;
    let expired = stripe.session(&session);
    assert_eq!(
        outcome(&app, "evt_expired", "checkout.session.expired", expired).await,
        "handled"
    );
    assert_eq!(checkout_status(&mut bob, &expiring).await, "expired");
    let (failing, session) = start_checkout(&mut bob, 200).await;
    let failed = stripe.session(&session);
    outcome(
        &app,
        "evt_failed",
        "checkout.session.async_payment_failed",
        failed,
    )
    .await;
    assert_eq!(checkout_status(&mut bob, &failing).await, "failed");

    // A bank debit: completed but unpaid, then paid later.
    let (debit, session) = start_checkout(&mut bob, 300).await;
    let pending = stripe.session(&session);
    assert_eq!(
        outcome(&app, "evt_pending", COMPLETED, pending).await,
        "handled"
    );
    assert_eq!(balance(&mut bob).await, 100);
    let later = stripe.paid(&session);
    let kind = "checkout.session.async_payment_succeeded";
    assert_eq!(outcome(&app, "evt_later", kind, later).await, "credited");
    assert_eq!(checkout_status(&mut bob, &debit).await, "paid");
    assert_eq!(balance(&mut bob).await, 400);

    // The provider's answer never reached us (no session id recorded): the
    // session's client reference still finds the checkout.
    let (lost, session) = start_checkout(&mut bob, 150).await;
    {
        use diesel_async::RunQueryDsl as _;
        let mut conn = app.sql().await;
        diesel::sql_query(
            "UPDATE billing_checkouts SET provider_id = NULL, url = NULL WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(
            lost["id"]
                .as_str()
                .expect("id")
                .parse::<uuid::Uuid>()
                .expect("a uuid"),
        )
        .execute(&mut conn)
        .await
        .expect("forgetting the session");
    }
    assert_eq!(
        outcome(&app, "evt_found", COMPLETED, stripe.paid(&session)).await,
        "credited"
    );
    assert_eq!(balance(&mut bob).await, 550);
}

#[tokio::test]
async fn without_a_provider_buying_is_refused_and_webhooks_are_not_taken() {
    let app = TestApp::spawn().await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let (status, body) = bob
        .post("/api/v1/billing/checkout", json!({ "credits": 500 }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["field"], "payments");
    let (_, wallet) = bob.get("/api/v1/wallet").await;
    assert_eq!(wallet["top_up"], Value::Null);
    let payload = event("evt_1", "checkout.session.completed", json!({}));
    let (status, _) = deliver(&app, &payload, signed(&payload)).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn administrators_grant_credits_with_a_reason_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let (mut root, root_me) = Browser::sign_up(&app, "root@example.com", "Root").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let grant =
        json!({ "workspace": "bob", "credits": 40, "reason": "Refund for the outage on the 28th" });

    // Not an administrator yet: refused.
    let (status, _) = root.post("/api/v1/admin/credits", grant.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    {
        use diesel_async::RunQueryDsl as _;
        let mut conn = app.sql().await;
        diesel::sql_query("UPDATE users SET is_admin = true WHERE email = 'root@example.com'")
            .execute(&mut conn)
            .await
            .expect("making an administrator");
    }
    let (status, body) = root
        .post(
            "/api/v1/admin/credits",
            json!({ "workspace": "bob", "credits": 40, "reason": " " }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "reason");
    let (status, body) = root
        .post(
            "/api/v1/admin/credits",
            json!({ "workspace": "nobody-here", "credits": 40, "reason": "Because" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Granted once per idempotency key; the key is not for another grant.
    for _ in 0..2 {
        let response = app
            .http
            .post(app.url("/api/v1/admin/credits"))
            .header("cookie", root.cookie.clone().expect("a session"))
            .header("origin", &app.base_url)
            .header("x-csrf-token", root.csrf.clone().expect("a token"))
            .header("idempotency-key", "refund-28")
            .json(&grant)
            .send()
            .await
            .expect("a grant");
        let (status, granted) = json_of(response).await;
        assert_eq!(status, StatusCode::CREATED, "{granted}");
        assert_eq!(granted["balance"], 140);
    }
    assert_eq!(balance(&mut bob).await, 140);
    let response = app
        .http
        .post(app.url("/api/v1/admin/credits"))
        .header("cookie", root.cookie.clone().expect("a session"))
        .header("origin", &app.base_url)
        .header("x-csrf-token", root.csrf.clone().expect("a token"))
        .header("idempotency-key", "refund-28")
        .json(&json!({ "workspace": "bob", "credits": 400, "reason": "Refund for the outage on the 28th" }))
        .send()
        .await
        .expect("a grant");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["field"], "idempotency_key");
    assert_eq!(balance(&mut bob).await, 140);

    let audit = credit_audit(&mut bob, "bob").await;
    let grants: Vec<&Value> = audit
        .iter()
        .filter(|line| line["action"] == "credits.grant")
        .collect();
    assert_eq!(grants.len(), 1, "{audit:?}");
    assert_eq!(
        grants[0]["details"]["memo"],
        "Refund for the outage on the 28th"
    );
    assert_eq!(grants[0]["details"]["amounts"], json!({ "wallet": 40 }));
    assert_eq!(grants[0]["actor"], root_me["user"]["id"]);
    assert_eq!(grants[0]["ip"], "127.0.0.1");
    // Bob cannot grant himself anything.
    let (status, _) = bob.post("/api/v1/admin/credits", grant).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_pricing_page_says_what_the_configuration_says() {
    let stripe = FakeStripe::start().await;
    let app = TestApp::builder().payments(&stripe.base_url).spawn().await;
    let (status, pricing) = app.get_json("/api/v1/pricing").await;
    assert_eq!(status, StatusCode::OK, "{pricing}");
    assert_eq!(
        pricing["credit"],
        json!({ "cents_per_credit": 1, "currency": "usd", "min_credits": 100, "max_credits": 1_000_000 })
    );
    assert_eq!(
        pricing["starter_credits"],
        app.services.billing.starter_credits
    );
    assert_eq!(
        pricing["creator_share_percent"],
        app.services.billing.creator_share_percent
    );
    // The server function the page calls says the same.
    let (status, from_fn) = app.call_server_fn("get_pricing", "").await;
    assert_eq!(status, StatusCode::OK, "{from_fn}");
    assert_eq!(from_fn, pricing);

    // Without a payment provider, credits are not for sale.
    let plain = TestApp::spawn().await;
    let (_, pricing) = plain.get_json("/api/v1/pricing").await;
    assert_eq!(pricing["credit"], Value::Null, "{pricing}");
}
