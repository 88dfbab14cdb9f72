//! A stand-in for the payment provider's checkout API on a local port,
//! strict where Stripe is: the secret key as bearer, form-encoded sessions
//! with one priced line item, and idempotency keys that answer the first
//! session again. Tests play the provider's webhook side themselves: they
//! build events from the sessions made here and sign them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::{Value, json};

pub const SECRET_KEY: &str = "sk_test_agentdeck";
pub const WEBHOOK_SECRET: &str = "whsec_test_agentdeck";

#[derive(Default)]
struct World {
    /// Sessions by id.
    sessions: HashMap<String, Value>,
    /// Session ids by idempotency key.
    keys: HashMap<String, String>,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub base_url: String,
    world: Arc<Mutex<World>>,
}

impl FakeStripe {
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World::default()));
        let router = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .with_state(world.clone());
        let base_url = super::serve_stand_in(router).await;
        Self { base_url, world }
    }

    /// A session made here, as the provider would describe it.
    pub fn session(&self, id: &str) -> Value {
        self.world
            .lock()
            .expect("lock")
            .sessions
            .get(id)
            .cloned()
            .unwrap_or_else(|| panic!("no session {id}"))
    }

    pub fn session_count(&self) -> usize {
        self.world.lock().expect("lock").sessions.len()
    }

    /// The session, paid: what `checkout.session.completed` carries.
    pub fn paid(&self, id: &str) -> Value {
        let mut session = self.session(id);
        session["payment_status"] = json!("paid");
        session["status"] = json!("complete");
        session
    }
}

/// An event of `kind` about `object`, as the provider sends it.
pub fn event(id: &str, kind: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id,
        "object": "event",
        "type": kind,
        "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(),
        "livemode": false,
        "data": { "object": object },
    }))
    .expect("an event")
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "type": "invalid_request_error", "message": message } })),
    )
        .into_response()
}

async fn create_session(
    State(world): State<Arc<Mutex<World>>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if authorization != format!("Bearer {SECRET_KEY}") {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let form: HashMap<String, String> = form.into_iter().collect();
    let field = |name: &str| form.get(name).cloned();
    let mut world = world.lock().expect("lock");
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(id) = key.as_ref().and_then(|key| world.keys.get(key)) {
        return Json(world.sessions[id].clone()).into_response();
    }
    if field("mode").as_deref() != Some("payment") {
        return error(StatusCode::BAD_REQUEST, "mode must be payment");
    }
    let (Some(success_url), Some(cancel_url)) = (field("success_url"), field("cancel_url")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "success_url and cancel_url are required",
        );
    };
    let amount =
        field("line_items[0][price_data][unit_amount]").and_then(|a| a.parse::<i64>().ok());
    let quantity = field("line_items[0][quantity]").and_then(|q| q.parse::<i64>().ok());
    let currency = field("line_items[0][price_data][currency]");
    let (Some(amount), Some(quantity), Some(currency)) = (amount, quantity, currency) else {
        return error(
            StatusCode::BAD_REQUEST,
            "a line item needs an amount, quantity and currency",
        );
    };
    if field("line_items[0][price_data][product_data][name]").is_none() {
        return error(StatusCode::BAD_REQUEST, "a line item needs a product name");
    }
    if amount * quantity < 50 {
        return error(
            StatusCode::BAD_REQUEST,
            "the amount must be at least 50 cents",
        );
    }
    let id = format!("cs_test_{}", uuid::Uuid::new_v4().simple());
    let metadata: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((key.to_owned(), json!(value)))
        })
        .collect();
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": amount * quantity,
        "currency": currency,
        "client_reference_id": field("client_reference_id"),
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "url": format!("https://checkout.example.test/c/pay/{id}"),
    });
    world.sessions.insert(id.clone(), session.clone());
    if let Some(key) = key {
        world.keys.insert(key, id);
    }
    Json(session).into_response()
}
