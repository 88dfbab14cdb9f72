//! The marketplace over the REST API: ranked and typo-tolerant search,
//! filters, sorts with keyset pagination, reviews and their rules, creator
//! pages, and READMEs that render inert whatever they contain.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, error_of};

fn slugs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["slug"].as_str().map(str::to_owned))
        .collect()
}

/// Publishes an agent with `readme` as `browser`; answers its slug.
async fn publish(browser: &mut Browser, name: &str, readme: &str) -> String {
    crate::support::publish_agent(browser, name, |draft| {
        draft["readme"] = json!(readme);
    })
    .await
}

#[tokio::test]
async fn search_ranks_matches_and_forgives_a_typo() {
    let app = TestApp::spawn().await;
    // Names rank above summaries, and summaries above READMEs.
    let (_, page) = app.get_json("/api/v1/agents?q=seo").await;
    assert_eq!(
        slugs(&page).first().map(String::as_str),
        Some("seo-specialist"),
        "{page}"
    );

    for typo in [
        "seo specalist",
        "data insigths",
        "custmer support",
        "Analytcs",
    ] {
        let (status, page) = app.get_json(&format!("/api/v1/agents?q={typo}")).await;
        assert_eq!(status, StatusCode::OK);
        let found = slugs(&page);
        let expected = match typo {
            "seo specalist" => "seo-specialist",
            "data insigths" => "data-insights",
            "custmer support" => "customer-support",
            _ => "analytics",
        };
        assert_eq!(
            found.first().map(String::as_str),
            Some(expected),
            "{typo}: {found:?}"
        );
    }
    // Words no agent has find nothing.
    let (_, page) = app.get_json("/api/v1/agents?q=qqzx-wobblefrob").await;
    assert!(slugs(&page).is_empty());
}

/// A search ranks at most a few hundred candidates; the filters choose them,
/// so a match in a small category is found however many others match.
#[tokio::test]
async fn a_filtered_search_reaches_past_the_busiest_matches() {
    let app = TestApp::spawn().await;
    let mut sql = app.sql().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO agents (slug, owner_user_id, workspace_id, name, summary, readme, \
                                 category, tags, icon, price_credits, runs_count, published_at) \
             SELECT slug, u.id, w.id, name, 'Sorts widgets.', 'Widgets, sorted.', category, \
                    '{}', '🧩', 1, runs, now() \
             FROM (SELECT 'busy-widget-' || i, 'Busy Widget ' || i, 'content', 1000 + i \
                   FROM generate_series(1, 600) i \
                   UNION ALL SELECT 'quiet-widget', 'Quiet Widget', 'sales', 0) \
                  AS generated(slug, name, category, runs) \
             CROSS JOIN (SELECT id FROM users WHERE handle = 'agentdeck') u \
             CROSS JOIN (SELECT id FROM workspaces WHERE slug = 'agentdeck') w",
        ),
        &mut sql,
    )
    .await
    .expect("adding agents");

    let (status, page) = app.get_json("/api/v1/agents?q=widget&category=sales").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(slugs(&page), ["quiet-widget"]);
    let (_, page) = app
        .get_json("/api/v1/agents?q=widgt&max_price=1&category=sales")
        .await;
    assert_eq!(slugs(&page), ["quiet-widget"], "a typo too");
    // Unfiltered, the busiest name matches come first, then page on.
    let (_, page) = app.get_json("/api/v1/agents?q=widget&limit=3").await;
    assert_eq!(slugs(&page).len(), 3);
    assert!(page["next_cursor"].is_string(), "{page}");
}

#[tokio::test]
async fn filters_sorts_and_cursors_work_together() {
    let app = TestApp::spawn().await;
    let (_, page) = app
        .get_json("/api/v1/agents?category=sales&sort=name")
        .await;
    assert_eq!(
        slugs(&page),
        ["crm-assistant", "email-outreach", "sales-manager"],
        "{page}"
    );
    let (_, page) = app.get_json("/api/v1/agents?max_price=2&sort=name").await;
    assert!(
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|a| a["price_credits"].as_i64() <= Some(2))
    );
    assert_eq!(slugs(&page).len(), 4, "{page}");
    let (_, page) = app.get_json("/api/v1/agents?min_price=5").await;
    let mut rich = slugs(&page);
    rich.sort();
    assert_eq!(rich, ["strategy", "website-builder"]);
    let (_, page) = app.get_json("/api/v1/agents?tags=seo,keywords").await;
    assert_eq!(slugs(&page), ["seo-specialist"]);
    let (_, page) = app.get_json("/api/v1/agents?free=true").await;
    assert!(
        slugs(&page).is_empty(),
        "the launch line-up has no free agent"
    );

    // Popular order, paged by cursor: every agent once, runs never rising.
    let mut sql = app.sql().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE agents SET runs_count = length(slug) * 10, runs_succeeded = length(slug) * 9",
        ),
        &mut sql,
    )
    .await
    .expect("setting run counts");
    for sort in ["popular", "rating", "newest", "name"] {
        let mut seen = Vec::new();
        let mut runs = Vec::new();
        let mut path = format!("/api/v1/agents?sort={sort}&limit=5");
        loop {
            let (status, page) = app.get_json(&path).await;
            assert_eq!(status, StatusCode::OK, "{sort}: {page}");
            for agent in page["items"].as_array().expect("items") {
                seen.push(agent["slug"].as_str().expect("slug").to_owned());
                runs.push(agent["runs_count"].as_i64().expect("runs"));
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/v1/agents?sort={sort}&limit=5&cursor={cursor}")
                }
                None => break,
            }
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (12, 12), "{sort}: {seen:?}");
        if sort == "popular" {
            assert!(runs.windows(2).all(|w| w[0] >= w[1]), "{runs:?}");
        }
    }
    // A cursor from another order is refused by name.
    let (_, page) = app.get_json("/api/v1/agents?sort=name&limit=2").await;
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let (status, body) = app
        .get_json(&format!("/api/v1/agents?sort=popular&cursor={cursor}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&body, "invalid_parameter")["field"], "cursor");
    // Forged cursors whose keys do not fit their sort's type: refused by
    // name, never a server error.
    use base64::Engine as _;
    let id = uuid::Uuid::new_v4();
    for (sort, key) in [
        ("popular", "9223372036854775808"),
        ("popular", "1e39"),
        ("rating", "1e39"),
        ("newest", "300000-01-01 00:00:00+00"),
        ("newest", "yesterday-ish"),
        ("relevance", "NaN-ish"),
    ] {
        let cursor =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{sort}\n{id}\n{key}"));
        let (status, body) = app
            .get_json(&format!(
                "/api/v1/agents?sort={sort}&q=sales&cursor={cursor}"
            ))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{sort} {key}: {body}"
        );
        assert_eq!(error_of(&body, "invalid_parameter")["field"], "cursor");
    }
    for (query, field) in [
        ("sort=loudest", "sort"),
        ("min_price=cheap", "min_price"),
        ("free=maybe", "free"),
        ("min_price=9&max_price=1", "min_price"),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/agents?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(
            error_of(&body, "invalid_parameter")["field"],
            field,
            "{query}"
        );
    }
}

#[tokio::test]
async fn reviews_one_per_user_never_ones_own_and_averaged() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let slug = publish(&mut ada, "Review Me", "# Review me").await;
    let reviews = format!("/api/v1/agents/{slug}/reviews");

    let (status, body) = ada.post(&reviews, json!({ "rating": 5 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (mut grace, _) = Browser::sign_up(&app, "grace@example.com", "Grace Hopper").await;
    let (mut alan, _) = Browser::sign_up(&app, "alan@example.com", "Alan Turing").await;
    let (status, first) = grace
        .post(&reviews, json!({ "rating": 4, "body": "Solid" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // Writing again edits the one review.
    let (status, edited) = grace
        .post(&reviews, json!({ "rating": 2, "body": "Changed my mind" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["id"], first["id"]);
    let (status, _) = alan.post(&reviews, json!({ "rating": 5 })).await;
    assert_eq!(status, StatusCode::CREATED);
    for bad in [
        json!({ "rating": 0 }),
        json!({ "rating": 6 }),
        json!({ "rating": 3, "body": "x".repeat(5001) }),
    ] {
        let (status, body) = alan.post(&reviews, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    let (_, page) = app.get_json(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(page["rating_count"], 2);
    assert_eq!(page["rating"], 3.5, "(2 + 5) / 2");
    let (_, list) = app.get_json(&reviews).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(list["histogram"], json!([0, 1, 0, 0, 1]));

    // The author replies once.
    let id = first["id"].as_str().expect("id");
    let reply = format!("{reviews}/{id}/reply");
    let (status, replied) = ada
        .post(&reply, json!({ "body": "Thanks, fixed in 1.1" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{replied}");
    assert_eq!(replied["reply"]["body"], "Thanks, fixed in 1.1");
    let (status, body) = ada.post(&reply, json!({ "body": "Again" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = alan.post(&reply, json!({ "body": "Not mine" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Deleting a review takes it out of the average.
    let (status, _) = alan.delete(&format!("{reviews}/mine")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = grace.get(&format!("/api/v1/agents/{slug}")).await;
    assert_eq!(
        (page["rating_count"].clone(), page["rating"].clone()),
        (json!(1), json!(2.0))
    );
    assert_eq!(page["viewer"]["my_review"]["rating"], 2);
    assert_eq!(page["viewer"]["can_review"], true);

    // Every review is in the author's workspace audit log.
    let mut sql = app.sql().await;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM audit_events WHERE action = 'review.write'"),
        &mut sql,
    )
    .await
    .expect("counting");
    assert_eq!(count.n, 3);
}

#[tokio::test]
async fn a_hostile_readme_renders_inert() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let hostile = "# Totally safe\n\n<script>alert('xss')</script>\n\n\
        <img src=\"x.png\" onerror=\"alert('img')\">\n\n\
        [click](javascript:alert('link'))\n\n\
        <a href=\"jAvAsCrIpT:alert('raw')\">raw</a>\n\n\
        <iframe src=\"https://evil.example/\"></iframe>\n\n\
        <p style=\"position:fixed\" onmouseover=\"alert('p')\">text</p>\n";
    let slug = publish(&mut ada, "Hostile Readme", hostile).await;
    let (_, page) = app.get_json(&format!("/api/v1/agents/{slug}")).await;
    let html = page["readme_html"].as_str().expect("html").to_lowercase();
    for banned in [
        "<script",
        "onerror",
        "javascript:",
        "<iframe",
        "onmouseover",
        "style=",
    ] {
        assert!(!html.contains(banned), "{banned} in {html}");
    }
    assert!(html.contains("<h1>totally safe</h1>"), "{html}");
    // The raw Markdown is still there for API clients, as text.
    assert!(
        page["readme"]
            .as_str()
            .is_some_and(|r| r.contains("<script>"))
    );

    let (status, preview) = ada
        .post("/api/v1/markdown", json!({ "text": hostile }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(preview["html"].as_str().map(str::to_lowercase), Some(html));
}

#[tokio::test]
async fn creator_pages_list_their_public_agents() {
    let app = TestApp::spawn().await;
    let (status, profile) = app.get_json("/api/v1/creators/agentdeck").await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["author"]["display_name"], "Agentdeck Labs");
    assert_eq!(profile["agents"].as_array().map(Vec::len), Some(12));
    let (status, _) = app.get_json("/api/v1/creators/nobody-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
