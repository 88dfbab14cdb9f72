//! `GET /ws`: the HTTP side of the live socket. The handshake is refused
//! from another site or beyond the per-account and per-address caps, then
//! the connection is handed to `socket.rs`, which speaks the frame protocol.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use service::ServiceError;
use types::error::ErrorEnvelope;

use super::hub::Refused;
use crate::auth::CallerOf;
use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::state::AppState;

/// Open the live socket
///
/// A WebSocket of JSON text frames carrying live events, for anyone (a topic
/// is authorised per caller when subscribed to). Send
/// `{"type": "subscribe", "topic": "deployment:<id>", "since": <seq>}` to get
/// every event after `since` in order, then the new ones as
/// `{"type": "event", "topic", "seq", "event"}`; `{"type": "unsubscribe",
/// "topic"}` stops one, `{"type": "ping"}` answers `{"type": "pong"}`.
/// Topics: `system` (heartbeats), `user` (the caller's own events), and
/// `deployment:<id>` and `run:<id>` for members of its workspace (an API key
/// needs `runs:read`). Problems are `{"type": "error", "code", "message",
/// "topic"?}` frames (`unknown_topic`, `unauthenticated`, `access_revoked`,
/// `too_many_topics`, `rate_limited`, `invalid_frame`, `history_gone`,
/// `unavailable`). A client that falls behind is closed with 1013 and resumes
/// with `since`; credentials that end close the socket with 1008.
///
/// A web embed's frame offers the subprotocols `agentdeck.visitor` and its
/// visitor token (`evt_…`): such a socket follows its own runs
/// (`run:<id>`) only.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "live",
    operation_id = "live_socket",
    responses(
        (status = 101, description = "Switching protocols to the live WebSocket (frames of \
            JSON text: the client's `subscribe`, `unsubscribe` and `ping`, the server's \
            `event`, `error` and `pong`; see above)",
            headers(
                ("Upgrade" = String, description = "`websocket`"),
                ("Connection" = String, description = "`upgrade`"),
                ("Sec-WebSocket-Accept" = String, description = "The handshake's answer"),
            )),
        (status = 400, description = "Not a WebSocket handshake (`Connection: upgrade`, \
            `Upgrade: websocket`, `Sec-WebSocket-Key` or `Sec-WebSocket-Version: 13` missing)",
            body = String, content_type = "text/plain"),
        (status = 401, description = "The API key, session or visitor token is unknown, \
            revoked or expired", body = ErrorEnvelope),
        (status = 403, description = "The handshake comes from another site (`Origin`)",
            body = ErrorEnvelope),
        (status = 426, description = "The connection cannot be upgraded", body = String,
            content_type = "text/plain"),
    ),
    security((), ("bearer" = []))
)]
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    CallerOf(caller): CallerOf,
    client: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    if !crate::origin::is_same_origin(&headers) {
        return AppError::Forbidden("WebSocket connections from other sites are refused")
            .into_response();
    }
    let (actor, ws) = match visitor_token(&headers) {
        None => (caller.actor, ws),
        Some(token) => match service::embeds::visitor(&state.services, token) {
            Ok(visitor) => (
                service::auth::Actor::Visitor {
                    embed_id: visitor.embed,
                    session_id: visitor.session,
                    expires_at: visitor.expires_at,
                },
                ws.protocols([VISITOR_PROTOCOL]),
            ),
            Err(error) => return AppError::from(error).into_response(),
        },
    };
    let address = client
        .and_then(|axum::Extension(ClientAddr(ip))| ip)
        .map(crate::rate_limit::address_key);
    let guard = match state.hub.connect(actor.user_id(), address) {
        Ok(guard) => guard,
        Err(refused) => {
            return AppError::Service(ServiceError::RateLimited {
                retry_after: Duration::from_secs(10),
                message: match refused {
                    Refused::TooManyForUser => "too many live connections for this account",
                    Refused::TooManyForAddress => "too many live connections from this address",
                },
            })
            .into_response();
        }
    };
    super::socket::accept(ws, state.hub.clone(), state.services.clone(), actor, guard)
}

/// The subprotocol a web embed's frame offers, with its token beside it.
const VISITOR_PROTOCOL: &str = "agentdeck.visitor";

/// The visitor token a handshake offers as its second subprotocol
/// (`Sec-WebSocket-Protocol: agentdeck.visitor, evt_…`).
fn visitor_token(headers: &HeaderMap) -> Option<&str> {
    let offered = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?;
    let mut protocols = offered.split(',').map(str::trim);
    if !protocols.any(|protocol| protocol == VISITOR_PROTOCOL) {
        return None;
    }
    offered
        .split(',')
        .map(str::trim)
        .find(|protocol| protocol.starts_with("evt_"))
}
