//! `Browser`: an HTTP client that behaves like the SPA in a browser: it keeps
//! the session cookie, sends `Origin` on mutations and echoes the CSRF token.

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{TestApp, json_of};

pub const STRONG_PASSWORD: &str = "correct horse battery staple";

#[derive(Clone)]
pub struct Browser {
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    /// The server this browser has open.
    pub http: reqwest::Client,
    pub base_url: String,
}

/// The `Set-Cookie` header of a response, whole.
pub fn set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
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
            csrf: None,
            http: app.http.clone(),
            base_url: app.base_url.clone(),
        }
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.http.request(method.clone(), url);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        if method != Method::GET {
            request = request.header(ORIGIN, &self.base_url);
            if let Some(csrf) = &self.csrf {
                request = request.header("x-csrf-token", csrf);
            }
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sending a request");
        if let Some(header) = set_cookie(&response) {
            let pair = cookie_pair(&header);
            self.cookie = (!pair.ends_with('=')).then_some(pair);
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

    /// Signs up `email` with a strong password; panics unless it works.
    pub async fn sign_up(app: &TestApp, email: &str, name: &str) -> (Self, Value) {
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
