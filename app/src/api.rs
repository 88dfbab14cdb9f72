//! Server functions: the SPA's own data calls. Each body runs on the server
//! and delegates to the service layer, which the REST API shares.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::ApiError;
use crate::model::{AgentDetail, AgentPage, AgentQuery};

/// Server function URLs live under this prefix; the server routes it to Leptos.
pub const SERVER_FN_PREFIX: &str = "/api/fn";

/// How the SPA calls its server functions: the browser's `fetch`, plus the
/// session's CSRF token, which the server requires on every POST that
/// carries the session cookie (server functions are POSTs).
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

#[cfg(feature = "ssr")]
fn services() -> Result<crate::service::Services, ApiError> {
    use_context::<crate::service::Services>().ok_or_else(|| {
        crate::service::ServiceError::Internal(anyhow::anyhow!(
            "Services missing from the server function context"
        ))
        .to_api_error()
    })
}

/// Who is calling; the server puts it in every server function's context.
#[cfg(feature = "ssr")]
fn actor() -> crate::service::auth::Actor {
    use_context::<crate::service::auth::Caller>()
        .map(|caller| caller.actor)
        .unwrap_or(crate::service::auth::Actor::Anonymous)
}

#[server(prefix = "/api/fn", endpoint = "list_agents", input = GetUrl, client = CsrfClient)]
pub async fn list_agents(query: AgentQuery) -> Result<AgentPage, ApiError> {
    use crate::service::{agents, error::server_fn_error};
    agents::list(&services()?, &actor(), query)
        .await
        .map_err(server_fn_error)
}

#[server(prefix = "/api/fn", endpoint = "get_agent", input = GetUrl, client = CsrfClient)]
pub async fn get_agent(slug: String) -> Result<AgentDetail, ApiError> {
    use crate::service::{agents, error::server_fn_error};
    agents::by_slug(&services()?, &actor(), &slug)
        .await
        .map_err(server_fn_error)
}
