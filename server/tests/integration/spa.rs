//! Serving the built SPA: caching, fallback statuses, compression.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};

use crate::support::{
    HASHED_JS, HASHED_WASM, INDEX_MARKER, PRECOMPRESSED_BR, START_SCRIPT, TestApp,
};

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn client_routes_get_the_uncached_index() {
    let app = TestApp::spawn().await;
    for path in [
        "/",
        "/dashboard",
        "/editor",
        "/agents/seo-specialist",
        "/index.html",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, CACHE_CONTROL), "no-cache", "{path}");
        assert!(
            header(&response, CONTENT_TYPE).starts_with("text/html"),
            "{path}"
        );
        let body = response.text().await.expect("body");
        // The shell, with its own title except on an agent's page (whose
        // head the server fills: tests/integration/share.rs).
        assert!(body.contains(START_SCRIPT), "{path}");
        assert_eq!(
            body.contains(INDEX_MARKER),
            !path.starts_with("/agents/"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn other_paths_get_the_index_with_404() {
    let app = TestApp::spawn().await;
    for path in [
        "/no/such/page",
        "/agents/",
        "/agents/a/b",
        "/frontend-ffffffffffffffff.js",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            response.text().await.expect("body").contains(INDEX_MARKER),
            "{path}"
        );
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_others_revalidate() {
    let app = TestApp::spawn().await;
    for asset in [HASHED_JS, HASHED_WASM] {
        let response = app.get(&format!("/{asset}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(
            header(&response, CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
    }
    let wasm = app.get(&format!("/{HASHED_WASM}")).await;
    assert_eq!(header(&wasm, CONTENT_TYPE), "application/wasm");
    let icon = app.get("/favicon.svg").await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(header(&icon, CACHE_CONTROL), "no-cache");
}

async fn get_encoded(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("accept-encoding", accept)
        .send()
        .await
        .expect("GET")
}

#[tokio::test]
async fn build_time_compression_is_preferred_then_on_the_fly() {
    let app = TestApp::spawn().await;
    let path = format!("/{HASHED_JS}");

    let response = get_encoded(&app, &path, "br, gzip").await;
    assert_eq!(header(&response, CONTENT_ENCODING), "br");
    assert_eq!(
        header(&response, CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&response.bytes().await.expect("body")[..], PRECOMPRESSED_BR);

    let response = get_encoded(&app, &path, "identity").await;
    assert_eq!(header(&response, CONTENT_ENCODING), "");
    let raw = response.bytes().await.expect("body").len();

    // No .gz copy: compressed per request instead.
    let response = get_encoded(&app, &path, "gzip").await;
    assert_eq!(header(&response, CONTENT_ENCODING), "gzip");
    let compressed = response.bytes().await.expect("body").len();
    assert!(
        compressed < raw / 4,
        "gzip gave {compressed} of {raw} bytes"
    );
}

#[tokio::test]
async fn non_get_requests_outside_the_api_are_405() {
    let app = TestApp::spawn().await;
    let response = app.http.post(app.url("/")).send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_missing_build_says_how_to_make_one() {
    let app = TestApp::builder().without_dist().spawn().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = response.text().await.expect("body");
    assert!(
        text.contains("make run") && text.contains("AGENTDECK_DIST_DIR"),
        "{text}"
    );
    // The API does not depend on the build.
    let (status, _) = app.get_json("/api/v1/agents").await;
    assert_eq!(status, StatusCode::OK);
}
