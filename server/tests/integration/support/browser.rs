//! `Browser`: an HTTP client that behaves like the SPA in a browser: it keeps
//! the session and device cookies, sends `Origin` on mutations and echoes
//! the CSRF token.

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{TestApp, json_of};

pub const STRONG_PASSWORD: &str = "correct horse battery staple";

#[derive(Clone)]
pub struct Browser {
    /// The session cookie, `name=value`.
    pub cookie: Option<String>,
    /// The device cookie (this browser signed in to an account before).
    pub device: Option<String>,
    pub csrf: Option<String>,
    /// The server this browser has open.
    pub http: reqwest::Client,
    pub base_url: String,
}

/// The name of the device cookie over plain HTTP.
pub const DEVICE_COOKIE: &str = "agentdeck_device";

/// The `Set-Cookie` headers of a response, whole.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// The `Set-Cookie` header of a response that is not the device cookie
/// (the session's, or the sign-in flow's), whole.
pub fn set_cookie(response: &reqwest::Response) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|c| !c.starts_with(&format!("{DEVICE_COOKIE}=")))
}

/// `name=value` of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

impl Browser {
    /// A browser with nothing stored yet, open at `app`.
    pub fn new(app: &TestApp) -> Self {
        Self {
            cookie: None,
            device: None,
            csrf: None,
            http: app.http.clone(),
            base_url: app.base_url.clone(),
        }
    }

    /// A request as this browser sends it (cookies, and on changes `Origin`
    /// and the CSRF token), not yet sent: for requests sent together.
    /// Cookies it answers are not kept.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.http.request(method.clone(), url);
        let cookies: Vec<&str> = [&self.cookie, &self.device]
            .into_iter()
            .filter_map(|c| c.as_deref())
            .collect();
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookies.join("; "));
        }
        if method != Method::GET {
            request = request.header(ORIGIN, &self.base_url);
            if let Some(csrf) = &self.csrf {
                request = request.header("x-csrf-token", csrf);
            }
        }
        request
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sending a request");
        for header in set_cookies(&response) {
            let pair = cookie_pair(&header);
            let kept = (!pair.ends_with('=')).then(|| pair.clone());
            if pair.starts_with(&format!("{DEVICE_COOKIE}=")) {
                self.device = kept;
            } else {
                self.cookie = kept;
            }
        }
        response
    }

    pub async fn json(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.send(method, path, body).await;
        if response.status() == StatusCode::NO_CONTENT {
            return (StatusCode::NO_CONTENT, Value::Null);
        }
        let (status, body) = json_of(response).await;
        if let Some(csrf) = body["csrf_token"].as_str() {
            self.csrf = Some(csrf.to_owned());
        }
        (status, body)
    }

    /// `json` for a GET of `path`.
    pub async fn get(&mut self, path: &str) -> (StatusCode, Value) {
        self.json(Method::GET, path, None).await
    }

    /// `json` for a POST of `body` to `path`.
    pub async fn post(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::POST, path, Some(body)).await
    }

    /// `json` for a POST without a body (an action such as `/stop`).
    pub async fn post_empty(&mut self, path: &str) -> (StatusCode, Value) {
        self.json(Method::POST, path, None).await
    }

    /// `json` for a PUT of `body` to `path`.
    pub async fn put(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::PUT, path, Some(body)).await
    }

    /// `json` for a PATCH of `body` to `path`.
    pub async fn patch(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::PATCH, path, Some(body)).await
    }

    /// `json` for a DELETE of `path`.
    pub async fn delete(&mut self, path: &str) -> (StatusCode, Value) {
        self.json(Method::DELETE, path, None).await
    }

    /// Signs up `email` with a strong password and follows the link of
    /// the verification mail; panics unless both work.
    pub async fn sign_up(app: &TestApp, email: &str, name: &str) -> (Self, Value) {
        let (mut browser, mut me) = Self::sign_up_unverified(app, email, name).await;
        let token = super::mail::link_token(app, email, "verify-email").await;
        let (status, verified) = browser
            .post("/api/v1/auth/verify-email", json!({ "token": token }))
            .await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        me["user"]["email_verified"] = json!(true);
        (browser, me)
    }

    /// Signs up `email` with a strong password, leaving the address
    /// unverified; panics unless it works.
    pub async fn sign_up_unverified(app: &TestApp, email: &str, name: &str) -> (Self, Value) {
        let mut browser = Self::new(app);
        let (status, me) = browser
            .post(
                "/api/v1/auth/signup",
                json!({ "email": email, "password": STRONG_PASSWORD, "name": name }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{me}");
        (browser, me)
    }

    pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> (Self, StatusCode, Value) {
        let mut browser = Self::new(app);
        let (status, body) = browser
            .post(
                "/api/v1/auth/login",
                json!({ "email": email, "password": password }),
            )
            .await;
        (browser, status, body)
    }
}
