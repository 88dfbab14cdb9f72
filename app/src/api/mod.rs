//! Server functions: the SPA's own data calls, one module per resource. Each
//! body runs on the server and is one call into the service layer, which the
//! REST API shares; in the browser each is a typed fetch.

/// Server function URLs live under this prefix; the server routes it to Leptos.
pub const SERVER_FN_PREFIX: &str = "/api/fn";

/// How the SPA calls its server functions: the browser's `fetch`, plus the
/// session's CSRF token, which the server requires on every request but a
/// read that carries the session cookie (reads are GETs, changes POSTs).
pub struct CsrfClient;

mod csrf_client {
    use std::future::Future;

    use futures::{Sink, Stream};
    use leptos::server_fn::Bytes;
    use leptos::server_fn::client::Client;
    use leptos::server_fn::client::browser::BrowserClient;
    use leptos::server_fn::error::FromServerFnError;
    use leptos::server_fn::request::browser::BrowserRequest;
    use leptos::server_fn::response::browser::BrowserResponse;

    use super::CsrfClient;

    impl<E, IS, OS> Client<E, IS, OS> for CsrfClient
    where
        E: FromServerFnError,
        IS: FromServerFnError,
        OS: FromServerFnError,
    {
        type Request = BrowserRequest;
        type Response = BrowserResponse;

        fn send(
            request: BrowserRequest,
        ) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
            #[cfg(feature = "csr")]
            if let Some(token) = crate::auth::current_csrf_token() {
                request.headers().set(crate::auth::CSRF_HEADER, &token);
            }
            <BrowserClient as Client<E, IS, OS>>::send(request)
        }

        #[allow(clippy::type_complexity)]
        fn open_websocket(
            path: &str,
        ) -> impl Future<
            Output = Result<
                (
                    impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                    impl Sink<Bytes> + Send + 'static,
                ),
                E,
            >,
        > + Send {
            <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
        }

        fn spawn(future: impl Future<Output = ()> + Send + 'static) {
            <BrowserClient as Client<E, IS, OS>>::spawn(future);
        }
    }
}

/// What every server function body needs on the server: the service layer,
/// who is calling, and the conversion of a service error into the answer.
#[cfg(feature = "ssr")]
mod context {
    use leptos::prelude::use_context;
    use service::auth::{Actor, Caller, RequestMeta};
    use service::{ServiceError, Services};
    use types::error::ApiError;

    pub fn services() -> Result<Services, ApiError> {
        use_context::<Services>().ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!(
                "Services missing from the server function context"
            ))
            .to_api_error()
        })
    }

    /// Who is calling; the server puts it in every server function's context.
    pub fn actor() -> Actor {
        use_context::<Caller>()
            .map(|caller| caller.actor)
            .unwrap_or(Actor::Anonymous)
    }

    /// Where the call came from (address, user agent), for the audit log.
    pub fn meta() -> RequestMeta {
        use_context::<Caller>()
            .map(|caller| caller.meta)
            .unwrap_or_default()
    }

    /// A service error as a server function answers it, with its HTTP status.
    pub fn failed(error: ServiceError) -> ApiError {
        types::error::status::set(error.status());
        error.to_api_error()
    }

    /// `value`, answered with `status` (201 for what a call created, 202 for
    /// what goes on after the answer), as the REST API answers it.
    pub fn answered<T>(status: u16, value: T) -> T {
        types::error::status::set(status);
        value
    }

    /// What a service call answers, its error with the error's status.
    pub async fn answer<T>(
        call: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ApiError> {
        call.await.map_err(failed)
    }

    /// `answer`, with `status` when the call succeeds.
    pub async fn answer_with<T>(
        status: u16,
        call: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ApiError> {
        answer(call).await.map(|value| answered(status, value))
    }
}

pub mod account;
pub mod admin;
pub mod agents;
pub mod authoring;
pub mod billing;
pub mod connections;
pub mod deployments;
pub mod embeds;
pub mod runs;
pub mod teams;
pub mod triggers;
