//! What handlers extract: `Call` (the service layer and who is calling),
//! and extractors whose rejections are API errors, not axum's plain text:
//! `PathId<T>` (a typed id from the path) and `QueryOf<T>` (a query string,
//! 422 naming the parameter at fault).

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use service::auth::{Actor, Caller, RequestMeta};
use service::{ServiceError, Services};
use types::ids::Id;

use crate::error::AppError;

/// A handler's JSON answer, or the error that becomes the API's envelope.
pub type Reply<T> = Result<Json<T>, AppError>;

/// A JSON answer with its status: 201 for what the call made, 202 for what
/// goes on after the answer.
pub type Answer<T> = Result<(StatusCode, Json<T>), AppError>;

/// `value`, made by the call: 201.
pub fn created<T>(value: T) -> Answer<T> {
    Ok((StatusCode::CREATED, Json(value)))
}

/// `value`, accepted for work that goes on after the answer: 202.
pub fn accepted<T>(value: T) -> Answer<T> {
    Ok((StatusCode::ACCEPTED, Json(value)))
}

/// What every handler starts from: the service layer, who is calling (as
/// the authentication middleware found them; anonymous where it did not
/// run) and where from, for the audit log.
pub struct Call {
    pub services: Services,
    pub actor: Actor,
    pub meta: RequestMeta,
}

impl<S: Send + Sync> FromRequestParts<S> for Call
where
    Services: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(Caller::anonymous);
        Ok(Self {
            services: Services::from_ref(state),
            actor: caller.actor,
            meta: caller.meta,
        })
    }
}

/// The one id of a route's path, typed. A segment that is no such id gets
/// the same 404 as an id that does not exist: to a caller both name nothing.
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: Id + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let not_found = || AppError::from(ServiceError::NotFound { what: T::WHAT });
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        text.parse().map(Self).map_err(|_| not_found())
    }
}

/// A query string read into `T`; what does not fit is a 422 naming the
/// parameter (`limit`), or `query` when the string itself is malformed.
pub struct QueryOf<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryOf<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Self)
    }
}

fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path.is_empty() || path == "." {
            "query".to_owned()
        } else {
            path
        };
        AppError::InvalidField {
            message: error.inner().to_string(),
            field,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Page {
        limit: Option<i64>,
        #[serde(default)]
        free: bool,
    }

    #[test]
    fn a_bad_parameter_is_named() {
        let page: Page = parse_query("limit=5&free=true").expect("a good query");
        assert_eq!((page.limit, page.free), (Some(5), true));
        let error = parse_query::<Page>("limit=many").expect_err("a bad limit");
        assert_eq!(error.field().as_deref(), Some("limit"), "{error:?}");
        let error = parse_query::<Page>("free=perhaps").expect_err("a bad flag");
        assert_eq!(error.field().as_deref(), Some("free"), "{error:?}");
    }
}
