//! `GET /api/v1/agents` and `GET /api/v1/agents/{slug}`.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestApp, error_of};

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(|agent| agent["name"].as_str().expect("name is text").to_owned())
        .collect()
}

#[tokio::test]
async fn lists_the_seeded_launch_line_up_by_name() {
    let app = TestApp::spawn().await;
    let (status, page) = app.get_json("/api/v1/agents?sort=name").await;
    assert_eq!(status, StatusCode::OK);
    let names = names(&page);
    assert_eq!(names.len(), 12, "{names:?}");
    let mut sorted = names.clone();
    sorted.sort_by_key(|name| name.to_lowercase());
    assert_eq!(names, sorted);
    for expected in [
        "Content Creator",
        "CRM Assistant",
        "SEO Specialist",
        "Data Insights",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(page["next_cursor"], Value::Null);
    let first = &page["items"][0];
    assert_eq!(first["author"]["handle"], "agentdeck");
    assert!(first["summary"].as_str().is_some_and(|s| s.len() > 20));
}

#[tokio::test]
async fn pages_through_every_agent_once_with_the_cursor() {
    let app = TestApp::spawn().await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/agents?limit=5".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/agents?limit=5&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 12);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        12,
        "a page repeated an agent"
    );
}

#[tokio::test]
async fn filters_by_category_and_searches_text() {
    let app = TestApp::spawn().await;
    let (status, sales) = app.get_json("/api/v1/agents?category=sales").await;
    assert_eq!(status, StatusCode::OK);
    let mut sales = names(&sales);
    sales.sort();
    assert_eq!(sales, ["CRM Assistant", "Email Outreach", "Sales Manager"]);

    let (_, search) = app.get_json("/api/v1/agents?q=seo").await;
    assert!(
        names(&search).contains(&"SEO Specialist".to_owned()),
        "{search}"
    );

    let (_, both) = app.get_json("/api/v1/agents?q=seo&category=sales").await;
    assert!(
        !names(&both).contains(&"SEO Specialist".to_owned()),
        "{both}"
    );

    let (status, none) = app.get_json("/api/v1/agents?q=qwxzvbnm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["items"], Value::Array(vec![]));
}

#[tokio::test]
async fn rejects_bad_parameters_naming_them() {
    let app = TestApp::spawn().await;
    let long_q = "a".repeat(10 * 1024);
    let cases = [
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("category=astrology", "category"),
        ("cursor=not-a-cursor", "cursor"),
        (&*format!("q={long_q}"), "q"),
    ];
    for (query, field) in cases {
        let response = app.get(&format!("/api/v1/agents?{query}")).await;
        let header_id = response.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let (status, body) = crate::support::json_of(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        let error = error_of(&body, "invalid_parameter");
        assert_eq!(error["field"], field, "{query}: {body}");
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains(field)),
            "{query}: the message should name {field}: {body}"
        );
        assert_eq!(error["request_id"], header_id.as_str());
    }
    // The database is untouched by the rejected requests.
    let (_, page) = app.get_json("/api/v1/agents").await;
    assert_eq!(names(&page).len(), 12);
}

#[tokio::test]
async fn shows_one_agent_with_its_readme() {
    let app = TestApp::spawn().await;
    let (status, agent) = app.get_json("/api/v1/agents/seo-specialist").await;
    assert_eq!(status, StatusCode::OK, "{agent}");
    assert_eq!(agent["slug"], "seo-specialist");
    assert_eq!(agent["name"], "SEO Specialist");
    assert_eq!(agent["category"], "marketing");
    assert!(
        agent["readme"].as_str().is_some_and(|r| r.len() > 100),
        "{agent}"
    );
    assert!(agent["versions"].is_array());
}

#[tokio::test]
async fn unknown_agents_and_paths_are_json_404s() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/agents/no-such-agent",
        "/api/v1/nothing",
        "/api/nothing",
        "/api",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        error_of(&body, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .delete(app.url("/api/v1/agents"))
        .send()
        .await
        .expect("DELETE");
    let (status, body) = crate::support::json_of(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    error_of(&body, "method_not_allowed");
}
