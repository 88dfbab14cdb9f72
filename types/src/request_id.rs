//! The id of the request being served, set by the server's request-id
//! middleware for the whole task so error reports can quote it anywhere.

tokio::task_local! {
    pub static REQUEST_ID: String;
}

/// The current request's id, if this code runs inside a request.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
