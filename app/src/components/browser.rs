//! What pages ask of the browser: its clock, the clipboard, a confirmation
//! and the page's origin. Outside the browser (server, tests) each is a
//! harmless stand-in.

use chrono::{DateTime, Utc};

/// The page's origin, for commands to copy.
pub fn origin() -> String {
    #[cfg(feature = "csr")]
    if let Some(origin) = web_sys::window().and_then(|w| w.location().origin().ok()) {
        return origin;
    }
    "https://agentdeck.example".to_owned()
}

/// Leaves this app for `url` (a payment page, an app being connected).
pub fn go_to(url: &str) {
    #[cfg(target_arch = "wasm32")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(url);
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = url;
}

pub fn copy(text: &str) {
    #[cfg(feature = "csr")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "csr"))]
    let _ = text;
}

pub fn confirm(question: &str) -> bool {
    #[cfg(feature = "csr")]
    return web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false);
    #[cfg(not(feature = "csr"))]
    {
        let _ = question;
        false
    }
}

/// The current minute, by the browser's clock.
pub fn now_minute() -> Option<DateTime<Utc>> {
    #[cfg(feature = "csr")]
    {
        let ms = js_sys::Date::now() as i64;
        DateTime::from_timestamp_millis(ms - ms % 60_000)
    }
    #[cfg(not(feature = "csr"))]
    None
}

/// Waits `ms` in the browser (nothing to wait for elsewhere).
pub async fn pause(ms: u32) {
    #[cfg(feature = "csr")]
    gloo_timers::future::TimeoutFuture::new(ms).await;
    #[cfg(not(feature = "csr"))]
    let _ = ms;
}

/// Moves the keyboard's focus to the first element `selector` finds; false
/// when there is none.
pub fn focus_first(selector: &str) -> bool {
    #[cfg(feature = "csr")]
    {
        use wasm_bindgen::JsCast as _;
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            .is_some_and(|e| e.focus().is_ok())
    }
    #[cfg(not(feature = "csr"))]
    {
        let _ = selector;
        false
    }
}

/// Moves the keyboard's focus from the element a key was pressed on to the
/// element after it (or before it); false when there is none.
pub fn focus_sibling(ev: &leptos::ev::KeyboardEvent, forward: bool) -> bool {
    #[cfg(feature = "csr")]
    {
        use wasm_bindgen::JsCast as _;
        let Some(here) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return false;
        };
        let there = if forward {
            here.next_element_sibling()
        } else {
            here.previous_element_sibling()
        };
        there
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            .is_some_and(|e| e.focus().is_ok())
    }
    #[cfg(not(feature = "csr"))]
    {
        let _ = (ev, forward);
        false
    }
}
