//! Gives every request an id: in the `x-request-id` response header, in the
//! log span of the request, and in the task-local that error bodies read.
//! Ids a client sends are ignored, so logs only hold ids we minted.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use types::request_id::REQUEST_ID;

pub const HEADER: &str = "x-request-id";

pub async fn assign(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %loggable(request.uri().path()),
    );
    let started = std::time::Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request served");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// What the log keeps of a path: a secret in it (the invitation token in
/// `/invites/{token}` and `/api/v1/invites/{token}/accept`, a webhook URL's
/// token in `/hooks/{token}`) becomes `{token}`, so whoever reads the logs
/// can neither accept an invitation nor start a run.
pub fn loggable(path: &str) -> std::borrow::Cow<'_, str> {
    let segments: Vec<&str> = path.split('/').collect();
    let secret_at = segments.windows(2).enumerate().find_map(|(at, pair)| {
        let before = at.checked_sub(1).map(|b| segments[b]);
        let invite = pair[0] == "invites" && matches!(before, Some("" | "v1"));
        let hook = pair[0] == "hooks" && before == Some("");
        ((invite || hook) && !pair[1].is_empty()).then_some(at + 1)
    });
    match secret_at {
        None => path.into(),
        Some(at) => {
            let mut kept = segments;
            kept[at] = "{token}";
            kept.join("/").into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn invitation_tokens_stay_out_of_logged_paths() {
        assert_eq!(loggable("/invites/s3cr3t"), "/invites/{token}");
        assert_eq!(
            loggable("/api/v1/invites/s3cr3t/accept"),
            "/api/v1/invites/{token}/accept"
        );
        // A team's invitation ids are not secrets; other paths stay.
        assert_eq!(
            loggable("/api/v1/teams/acme/invites/4f1c"),
            "/api/v1/teams/acme/invites/4f1c"
        );
        assert_eq!(loggable("/invites"), "/invites");
        assert_eq!(loggable("/hooks/hk_s3cr3t"), "/hooks/{token}");
        assert_eq!(
            loggable("/api/v1/deployments/4f1c/hooks/9a2b"),
            "/api/v1/deployments/4f1c/hooks/9a2b"
        );
        assert_eq!(loggable("/api/v1/agents"), "/api/v1/agents");
    }
}
