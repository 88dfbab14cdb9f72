//! Pages that can be shared and found: the app shell's head filled for
//! agent, version and creator pages, the share card, the sitemap and
//! robots.txt; private agents reveal nothing, unlisted ones are not listed.

use std::collections::BTreeSet;

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

/// The `content` of the first `<meta>` whose `attribute` is `name`.
fn meta<'a>(html: &'a str, attribute: &str, name: &str) -> Option<&'a str> {
    let needle = format!(r#"{attribute}="{name}" content=""#);
    let start = html.find(&needle)? + needle.len();
    let end = start + html[start..].find('"')?;
    Some(&html[start..end])
}

fn json_ld(html: &str) -> Value {
    let open = r#"<script type="application/ld+json">"#;
    let start = html.find(open).expect("JSON-LD") + open.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("JSON-LD is JSON")
}

/// A body without the request id an error names (each request has its own).
fn without_request_id(body: &str) -> String {
    let key = r#""request_id":""#;
    match body.find(key) {
        Some(at) => {
            let start = at + key.len();
            let end = start + body[start..].find('"').unwrap_or(0);
            format!("{}{}", &body[..start], &body[end..])
        }
        None => body.to_owned(),
    }
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = app.get(path).await;
    let status = response.status();
    (status, response.text().await.expect("a body"))
}

#[derive(diesel::QueryableByName)]
struct Slug {
    #[diesel(sql_type = Text)]
    slug: String,
}

#[tokio::test]
async fn agent_pages_have_their_own_head_and_private_ones_reveal_nothing() {
    let app = TestApp::spawn().await;
    let (status, html) = page(&app, "/agents/seo-specialist").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<title>SEO Specialist — Agentdeck</title>"),
        "{html}"
    );
    let description = meta(&html, "name", "description").expect("a description");
    assert!(
        description.starts_with("Audits a page for search"),
        "{description}"
    );
    assert_eq!(
        meta(&html, "property", "og:title"),
        Some("SEO Specialist — Agentdeck")
    );
    assert_eq!(meta(&html, "property", "og:description"), Some(description));
    let public = app.services.public_url.trim_end_matches('/').to_owned();
    assert_eq!(
        meta(&html, "property", "og:url"),
        Some(format!("{public}/agents/seo-specialist").as_str())
    );
    assert!(html.contains(&format!(
        r#"<link rel="canonical" href="{public}/agents/seo-specialist" />"#
    )));
    assert_eq!(
        meta(&html, "name", "twitter:card"),
        Some("summary_large_image")
    );
    let image = meta(&html, "property", "og:image").expect("an image");
    assert!(
        image.starts_with(&format!("{public}/agents/seo-specialist/card.png?v=")),
        "{image}"
    );
    assert_eq!(
        meta(&html, "name", "robots"),
        None,
        "a listed agent is indexed"
    );
    let ld = json_ld(&html);
    assert_eq!(ld["@type"], "SoftwareApplication");
    assert_eq!(ld["name"], "SEO Specialist");
    assert_eq!(ld["url"], format!("{public}/agents/seo-specialist"));
    assert_eq!(ld["author"]["@type"], "Person");
    // A paid agent's price in money needs a credit's price (payments
    // configured); this server has none, so no offer is claimed.
    assert_eq!(ld.get("offers"), None, "{ld}");

    // The card the tags point at: a PNG of the Open Graph size, cached.
    let path = image.strip_prefix(&public).expect("on this server");
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
    let etag = response.headers()[ETAG].clone();
    let png = response.bytes().await.expect("the card");
    let reader = png::Decoder::new(std::io::Cursor::new(png.to_vec()))
        .read_info()
        .expect("a PNG");
    assert_eq!((reader.info().width, reader.info().height), (1200, 630));
    let again = app
        .http
        .get(app.url(path))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("a request");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // A version's page and a creator's.
    let (status, html) = page(&app, "/agents/seo-specialist/versions/1.0.0").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<title>SEO Specialist 1.0.0 — Agentdeck</title>"),
        "{html}"
    );
    let (status, html) = page(&app, "/creators/agentdeck").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta(&html, "property", "og:type"), Some("profile"));
    assert!(html.contains("(@agentdeck) — Agentdeck</title>"), "{html}");

    // A private agent's page, version and card answer exactly what an
    // agent that does not exist does.
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let secret = crate::support::publish_agent(&mut ada, "Quiet Plans", |draft| {
        draft["listing"]["summary"] = json!("Whispers the launch date");
    })
    .await;
    let (status, body) = ada
        .patch(
            &format!("/api/v1/agents/{secret}"),
            json!({ "visibility": "private" }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    // A free agent is free in any currency.
    let free = crate::support::publish_agent(&mut ada, "Free Verse", |_| {}).await;
    let (_, html) = page(&app, &format!("/agents/{free}")).await;
    let ld = json_ld(&html);
    assert_eq!(ld["offers"]["price"], "0", "{ld}");
    assert_eq!(ld["aggregateRating"], Value::Null, "no ratings yet: {ld}");
    for (private, missing) in [
        (
            format!("/agents/{secret}"),
            "/agents/no-such-agent".to_owned(),
        ),
        (
            format!("/agents/{secret}/versions/1.0.0"),
            "/agents/no-such-agent/versions/1.0.0".to_owned(),
        ),
        (
            format!("/agents/{secret}/card.png"),
            "/agents/no-such-agent/card.png".to_owned(),
        ),
    ] {
        let (status, html) = page(&app, &private).await;
        let (missing_status, missing_html) = page(&app, &missing).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{private}");
        assert_eq!(missing_status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(
            without_request_id(&html),
            without_request_id(&missing_html.replace("no-such-agent", &secret)),
            "{private}"
        );
        assert!(
            !html.contains("Quiet Plans") && !html.contains("Whispers"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn the_sitemap_lists_exactly_the_listed_agents_and_their_creators() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let listed = crate::support::publish_agent(&mut ada, "Open Book", |_| {}).await;
    let unlisted = crate::support::publish_agent(&mut ada, "Side Door", |_| {}).await;
    let private = crate::support::publish_agent(&mut ada, "Locked Room", |_| {}).await;
    for (slug, visibility) in [(&unlisted, "unlisted"), (&private, "private")] {
        let (status, body) = ada
            .patch(
                &format!("/api/v1/agents/{slug}"),
                json!({ "visibility": visibility }),
            )
            .await;
        assert!(status.is_success(), "{body}");
    }
    // An unlisted agent's page has its head (the link is shared on
    // purpose) but asks not to be indexed.
    let (status, html) = page(&app, &format!("/agents/{unlisted}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta(&html, "name", "robots"), Some("noindex"));

    let response = app.get("/sitemap.xml").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("application/xml")
    );
    let xml = response.text().await.expect("a sitemap");
    assert!(xml.contains(r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"#));
    let public = app.services.public_url.trim_end_matches('/').to_owned();
    let locs: BTreeSet<String> = xml
        .split("<loc>")
        .skip(1)
        .map(|rest| rest[..rest.find("</loc>").expect("</loc>")].to_owned())
        .collect();
    let mut conn = app.sql().await;
    let want: Vec<Slug> = diesel::sql_query(
        "SELECT slug FROM agents WHERE visibility = 'public' AND published_at IS NOT NULL",
    )
    .load(&mut conn)
    .await
    .expect("listed agents");
    let agents: BTreeSet<String> = locs
        .iter()
        .filter_map(|loc| loc.strip_prefix(&format!("{public}/agents/")))
        .map(str::to_owned)
        .collect();
    let want: BTreeSet<String> = want.into_iter().map(|s| s.slug).collect();
    assert_eq!(agents, want);
    assert!(agents.contains(&listed) && agents.len() >= 13);
    assert!(!xml.contains(&unlisted) && !xml.contains(&private));
    assert!(locs.contains(&format!("{public}/")));
    assert!(locs.contains(&format!("{public}/creators/agentdeck")));
    let ada_handle = locs.iter().filter(|loc| loc.contains("/creators/")).count();
    assert_eq!(
        ada_handle, 2,
        "Agentdeck and Ada, who has one listed agent: {locs:?}"
    );

    let robots = app.get("/robots.txt").await.text().await.expect("robots");
    assert!(
        robots.contains(&format!("Sitemap: {public}/sitemap.xml")),
        "{robots}"
    );
    assert!(robots.contains("Disallow: /api/"), "{robots}");
}
