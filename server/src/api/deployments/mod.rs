//! `/api/v1/deployments`: create, list, show, stop, start, restart,
//! redeploy and delete.

pub mod act;
pub mod create;
pub mod list;
pub mod show;

/// A deployment id from the path, or 404 (no deployment has that id).
fn deployment_id(text: &str) -> Result<uuid::Uuid, crate::error::AppError> {
    text.parse().map_err(|_| {
        crate::error::AppError::from(service::ServiceError::NotFound { what: "deployment" })
    })
}
