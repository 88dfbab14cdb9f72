//! `POST /webhooks/stripe`: the payment provider's events. Not under
//! `/api/v1` and without a session: the `Stripe-Signature` header is the
//! credential (400 when it does not verify or is older than 300 s). Every
//! verified event is acknowledged with 200, including types this server
//! ignores and events it has handled before, so the provider stops
//! retrying; a failure to record one answers 5xx, and it retries.

use axum::body::Bytes;
use axum::extract::State;

use crate::client_addr::ClientAddr;
use axum::http::{HeaderMap, header};
use axum::{Extension, Json};
use serde_json::{Value, json};
use service::auth::RequestMeta;
use service::payments::{self, Delivery};
use types::error::ErrorEnvelope;

use crate::error::AppError;
use crate::state::AppState;

/// Receive a payment provider event
///
/// Stripe's webhook: the `Stripe-Signature` header is the credential, checked
/// against the raw body. Each verified event is handled once (a paid checkout
/// credits its workspace) and acknowledged, even when ignored or seen before.
#[utoipa::path(
    post,
    path = "/webhooks/stripe",
    tag = "webhooks",
    operation_id = "stripe_webhook",
    params((
        "stripe-signature" = String, Header,
        description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`, at most 300 s \
            old"
    )),
    request_body(
        content = Object,
        content_type = "application/json",
        description = "The event, exactly as Stripe sent it (the signature covers its bytes)"
    ),
    responses(
        (status = 200, description = "Acknowledged: `{\"received\": true, \"outcome\": \
            \"credited\" | \"handled\" | \"ignored\" | \"duplicate\" | \"unmatched\" | \
            \"held_for_review\"}`", body = Object),
        (status = 400, description = "The signature is missing, does not verify, or is older \
            than 300 s", body = ErrorEnvelope),
        (status = 409, description = "This server takes no payments", body = ErrorEnvelope),
    ),
    security(())
)]
pub async fn stripe(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    let meta = RequestMeta::new(
        client
            .map(|Extension(client)| client.text())
            .unwrap_or_default(),
        headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default(),
    );
    let delivery = payments::webhook(&state.services, signature, &body, &meta).await?;
    Ok(Json(json!({
        "received": true,
        "outcome": match delivery {
            Delivery::Credited => "credited",
            Delivery::Handled => "handled",
            Delivery::Ignored => "ignored",
            Delivery::Duplicate => "duplicate",
            Delivery::Unmatched => "unmatched",
            Delivery::Review => "held_for_review",
        },
    })))
}
