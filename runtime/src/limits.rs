//! What a run may use (limits) and what it may do (capabilities): the
//! manifest types are shared with the service layer and the browser, so they
//! live in `types`; the sandbox enforces them.

pub use types::manifest::{Capabilities, Limits, Manifest};
