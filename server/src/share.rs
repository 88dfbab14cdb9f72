//! Pages that can be shared and found, while the SPA stays client-rendered:
//! the server fills the app shell's `<head>` for agent, version and creator
//! pages (title, description, canonical URL, Open Graph and Twitter card
//! tags, and for agents JSON-LD `SoftwareApplication` with price and
//! rating), draws each agent's share card (`/agents/<slug>/card.png`), and
//! answers `sitemap.xml` and `robots.txt`.
//!
//! Everything is read as an anonymous visitor would: a private agent (or
//! an unknown one) gets the generic head and a 404, the same bytes either
//! way, so a URL reveals nothing; an unlisted agent's page has its head
//! (whoever has the link sees the page) but tells robots not to index it,
//! and is in no sitemap.

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, LazyLock, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::card_image::{self, Card};
use crate::state::AppState;
use app::labels::{price_label, rating_label, runs_label};
use service::actor::Actor;
use service::mail::templates::escape;
use service::{ServiceError, Services};
use types::AgentDetail;
use types::market::Visibility;

/// What a page's `<head>` says about it.
#[derive(Debug, Default, PartialEq)]
pub struct Head {
    pub title: String,
    pub description: String,
    /// The page's own path (`/agents/seo`), made absolute with the public URL.
    pub path: String,
    /// `website` or `profile`.
    pub kind: &'static str,
    /// The share card's path, with its version in the query.
    pub image: Option<String>,
    pub image_alt: String,
    /// Not for search engines (an unlisted agent).
    pub noindex: bool,
    /// JSON-LD, serialised.
    pub json_ld: Option<String>,
}

/// The head for `path`, when it is the page of something a visitor may
/// see; `None` for every other path, and for what does not exist or is
/// private (told apart by nobody). A failure other than "not found" (the
/// database away) is an error, never a page that does not exist.
pub async fn head_for(services: &Services, path: &str) -> Result<Option<Head>, ServiceError> {
    match find_head(services, path).await {
        Ok(head) => Ok(head),
        // Nothing there, or a path no page could have (a version that is
        // not one): the same 404.
        Err(ServiceError::NotFound { .. } | ServiceError::Invalid { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn find_head(services: &Services, path: &str) -> Result<Option<Head>, ServiceError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let anonymous = Actor::Anonymous;
    Ok(match segments.as_slice() {
        ["agents", slug] => {
            let detail = service::agents::by_slug(services, &anonymous, slug).await?;
            Some(agent_head(services, &detail))
        }
        ["agents", slug, "versions", version] => {
            let detail = service::agents::by_slug(services, &anonymous, slug).await?;
            let shown = service::authoring::version(services, &anonymous, slug, version).await?;
            let mut head = agent_head(services, &detail);
            head.title = format!("{} {} — Agentdeck", detail.agent.name, shown.version);
            if !shown.changelog.trim().is_empty() {
                head.description = clip(&shown.changelog, 200);
            }
            head.path = format!("/agents/{}/versions/{}", detail.agent.slug, shown.version);
            // The agent's page is the one to list; a version's is a detail.
            head.json_ld = None;
            Some(head)
        }
        ["creators", handle] => {
            let profile = service::agents::creator(services, &anonymous, handle).await?;
            let count = profile.agents.len();
            let description = match count {
                0 => format!(
                    "{} on Agentdeck, the AI agent marketplace.",
                    profile.author.display_name
                ),
                1 => format!(
                    "{} publishes 1 agent on Agentdeck.",
                    profile.author.display_name
                ),
                n => format!(
                    "{} publishes {n} agents on Agentdeck.",
                    profile.author.display_name
                ),
            };
            Some(Head {
                title: format!(
                    "{} (@{}) — Agentdeck",
                    profile.author.display_name, profile.author.handle
                ),
                description,
                path: format!("/creators/{}", profile.author.handle),
                kind: "profile",
                image: None,
                image_alt: String::new(),
                noindex: false,
                json_ld: None,
            })
        }
        _ => None,
    })
}

fn agent_head(services: &Services, detail: &AgentDetail) -> Head {
    let agent = &detail.agent;
    let path = format!("/agents/{}", agent.slug);
    let card = card_of(detail);
    let image = format!("/agents/{}/card.png?v={}", agent.slug, card_tag(&card));
    let public = services.public_url.trim_end_matches('/');
    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": "SoftwareApplication",
        "name": agent.name,
        "description": agent.summary,
        "url": format!("{public}{path}"),
        "image": format!("{public}{image}"),
        "applicationCategory": "BusinessApplication",
        "applicationSubCategory": agent.category.label(),
        "operatingSystem": "Web",
        "author": {
            "@type": "Person",
            "name": agent.author.display_name,
            "url": format!("{public}/creators/{}", agent.author.handle),
        },
    });
    if let Some(latest) = &detail.latest {
        ld["softwareVersion"] = json!(latest.version);
    }
    // The price of a run in money where credits have one; a free agent is
    // free in any currency.
    let top_up = services.payments.as_ref().map(|p| p.top_up());
    let money = match (&top_up, agent.price_credits) {
        (_, 0) => Some((
            "0".to_owned(),
            top_up
                .as_ref()
                .map_or("USD".to_owned(), |t| t.currency.to_uppercase()),
        )),
        (Some(top_up), credits) => {
            let cents = credits.saturating_mul(top_up.cents_per_credit);
            Some((
                format!("{}.{:02}", cents / 100, cents % 100),
                top_up.currency.to_uppercase(),
            ))
        }
        (None, _) => None,
    };
    if let Some((price, currency)) = money {
        ld["offers"] = json!({
            "@type": "Offer",
            "price": price,
            "priceCurrency": currency,
            "description": format!("{} per run", price_label(agent.price_credits)),
        });
    }
    if let Some(rating) = agent.rating {
        ld["aggregateRating"] = json!({
            "@type": "AggregateRating",
            "ratingValue": rating_label(rating),
            "ratingCount": agent.rating_count,
            "bestRating": 5,
            "worstRating": 1,
        });
    }
    Head {
        title: format!("{} — Agentdeck", agent.name),
        description: clip(&agent.summary, 200),
        path,
        kind: "website",
        image: Some(image),
        image_alt: format!("{}: {}", agent.name, clip(&agent.summary, 120)),
        // Unlisted (shared by link) or archived: not for search engines.
        noindex: detail.visibility != Visibility::Public || detail.archived,
        json_ld: Some(script_safe(&ld.to_string())),
    }
}

/// `text` on one line, at most `max` characters, cut at a word with "…".
fn clip(text: &str, max: usize) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max - 1).collect();
    let at_word = cut
        .rfind(' ')
        .filter(|&at| at > max / 2)
        .unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end())
}

/// JSON that cannot end the `<script>` element it is in, nor open a
/// comment: `<`, `>` and `&` as `\u` escapes (only ever inside strings).
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// `html` (the app shell) with its title and description replaced by
/// `head`'s and the other tags added before `</head>`.
pub fn fill(html: &str, head: &Head, public_url: &str) -> String {
    let public = public_url.trim_end_matches('/');
    let url = format!("{public}{}", head.path);
    let mut tags = vec![
        format!("<title>{}</title>", escape(&head.title)),
        format!(
            r#"<meta name="description" content="{}" />"#,
            escape(&head.description)
        ),
        format!(r#"<link rel="canonical" href="{}" />"#, escape(&url)),
        format!(r#"<meta property="og:type" content="{}" />"#, head.kind),
        r#"<meta property="og:site_name" content="Agentdeck" />"#.to_owned(),
        format!(
            r#"<meta property="og:title" content="{}" />"#,
            escape(&head.title)
        ),
        format!(
            r#"<meta property="og:description" content="{}" />"#,
            escape(&head.description)
        ),
        format!(r#"<meta property="og:url" content="{}" />"#, escape(&url)),
        format!(
            r#"<meta name="twitter:title" content="{}" />"#,
            escape(&head.title)
        ),
        format!(
            r#"<meta name="twitter:description" content="{}" />"#,
            escape(&head.description)
        ),
    ];
    match &head.image {
        Some(image) => {
            let image = escape(&format!("{public}{image}"));
            tags.extend([
                format!(r#"<meta property="og:image" content="{image}" />"#),
                format!(
                    r#"<meta property="og:image:width" content="{}" />"#,
                    card_image::WIDTH
                ),
                format!(
                    r#"<meta property="og:image:height" content="{}" />"#,
                    card_image::HEIGHT
                ),
                format!(
                    r#"<meta property="og:image:alt" content="{}" />"#,
                    escape(&head.image_alt)
                ),
                r#"<meta name="twitter:card" content="summary_large_image" />"#.to_owned(),
                format!(r#"<meta name="twitter:image" content="{image}" />"#),
            ]);
        }
        None => tags.push(r#"<meta name="twitter:card" content="summary" />"#.to_owned()),
    }
    if head.noindex {
        tags.push(r#"<meta name="robots" content="noindex" />"#.to_owned());
    }
    if let Some(ld) = &head.json_ld {
        tags.push(format!(
            r#"<script type="application/ld+json">{ld}</script>"#
        ));
    }
    let mut html = without_element(html, "<title", "</title>");
    html = without_element(&html, r#"<meta name="description""#, ">");
    let block = tags.join("\n    ");
    match html.find("</head>") {
        Some(at) => format!("{}    {block}\n  {}", &html[..at], &html[at..]),
        None => html,
    }
}

/// `html` without the first element from `open` to the next `close`.
fn without_element(html: &str, open: &str, close: &str) -> String {
    let Some(start) = html.find(open) else {
        return html.to_owned();
    };
    let Some(end) = html[start..].find(close).map(|at| start + at + close.len()) else {
        return html.to_owned();
    };
    let end = html[end..]
        .find(|c: char| !c.is_whitespace())
        .map_or(html.len(), |at| end + at);
    format!("{}{}", &html[..start], &html[end..])
}

fn card_of(detail: &AgentDetail) -> Card {
    let agent = &detail.agent;
    let mut facts = vec![
        format!("by {}", agent.author.display_name),
        price_label(agent.price_credits),
    ];
    if let Some(rating) = agent.rating {
        facts.push(format!(
            "★ {} ({})",
            rating_label(rating),
            agent.rating_count
        ));
    }
    if agent.runs_count > 0 {
        facts.push(runs_label(agent.runs_count));
    }
    Card {
        name: agent.name.clone(),
        summary: agent.summary.clone(),
        category: agent.category.slug().to_owned(),
        facts: facts.join(" · "),
    }
}

/// A short tag of what a card shows: its ETag, and the version in its URL.
fn card_tag(card: &Card) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    card.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Drawn cards by tag, at most `CARDS_KEPT`.
static CARDS: LazyLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const CARDS_KEPT: usize = 256;

/// Get an agent's share card
///
/// `GET /agents/{slug}/card.png`: the agent's share card, for anyone who
/// may see the agent (a private or unknown one is the same 404). The agent's
/// page names it as its Open Graph and Twitter image; it is cacheable, with
/// an `ETag`.
#[utoipa::path(
    get,
    path = "/agents/{slug}/card.png",
    tag = "public",
    operation_id = "agent_card",
    params(
        ("slug" = String, Path, description = "The agent's slug"),
        ("If-None-Match" = Option<String>, Header,
            description = "An `ETag` of the card seen before: 304 while it still shows the same"),
    ),
    responses(
        (status = 200, description = "The card, a PNG image", body = [u8],
            content_type = "image/png",
            headers(
                ("ETag" = String, description = "The card's version"),
                ("Cache-Control" = String, description = "`public, max-age=3600`"),
            )),
        (status = 304, description = "Not modified: the card is the one `If-None-Match` names",
            headers(
                ("ETag" = String, description = "The card's version"),
                ("Cache-Control" = String, description = "`public, max-age=3600`"),
            )),
    ),
    security(())
)]
pub async fn card(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    request_headers: HeaderMap,
) -> Response {
    let Ok(detail) = service::agents::by_slug(&state.services, &Actor::Anonymous, &slug).await
    else {
        return crate::error::AppError::Service(service::ServiceError::NotFound { what: "agent" })
            .into_response();
    };
    let card = card_of(&detail);
    let tag = card_tag(&card);
    let etag = format!("\"{tag}\"");
    let headers = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"card\"")),
        ),
    ];
    if request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let cached = CARDS.lock().ok().and_then(|cards| cards.get(&tag).cloned());
    let png = match cached {
        Some(png) => png,
        None => {
            let drawn = tokio::task::spawn_blocking(move || card_image::render(&card))
                .await
                .unwrap_or_default();
            if drawn.is_empty() {
                tracing::error!(slug, "drawing the share card failed");
                return crate::error::AppError::Service(ServiceError::Internal(anyhow::anyhow!(
                    "drawing the share card failed"
                )))
                .into_response();
            }
            let png = Arc::new(drawn);
            if let Ok(mut cards) = CARDS.lock() {
                // Full: one card makes room (the map's first, which is as
                // good as any), so a scan of many slugs never empties it.
                if cards.len() >= CARDS_KEPT
                    && let Some(old) = cards.keys().next().cloned()
                {
                    cards.remove(&old);
                }
                cards.insert(tag, Arc::clone(&png));
            }
            png
        }
    };
    (
        StatusCode::OK,
        headers,
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
        png.as_ref().clone(),
    )
        .into_response()
}

/// A sitemap as built, and when.
type Built = (std::time::Instant, Arc<String>);

/// The sitemap as last built, per public URL.
static SITEMAPS: LazyLock<Mutex<HashMap<String, Built>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
/// How long a built sitemap is served before it is built again (it reads
/// up to 50,000 rows).
const SITEMAP_FRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// Get the sitemap
///
/// `GET /sitemap.xml`: the marketplace, every listed agent and every
/// creator of one; built at most once a minute.
#[utoipa::path(
    get,
    path = "/sitemap.xml",
    tag = "public",
    operation_id = "sitemap_xml",
    responses((
        status = 200,
        description = "The sitemap (sitemaps.org 0.9)",
        body = String,
        content_type = "application/xml",
        headers(("Cache-Control" = String, description = "`public, max-age=3600`"))
    )),
    security(())
)]
pub async fn sitemap(State(state): State<AppState>) -> Response {
    let public = state.services.public_url.trim_end_matches('/').to_owned();
    let fresh = SITEMAPS.lock().ok().and_then(|maps| {
        maps.get(&public)
            .filter(|(at, _)| at.elapsed() < SITEMAP_FRESH)
            .map(|(_, xml)| Arc::clone(xml))
    });
    let xml = match fresh {
        Some(xml) => xml,
        None => match build_sitemap(&state.services, &public).await {
            Ok(xml) => {
                let xml = Arc::new(xml);
                if let Ok(mut maps) = SITEMAPS.lock() {
                    maps.insert(public, (std::time::Instant::now(), Arc::clone(&xml)));
                }
                xml
            }
            Err(error) => return crate::error::AppError::from(error).into_response(),
        },
    };
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        xml.as_ref().clone(),
    )
        .into_response()
}

async fn build_sitemap(services: &Services, public: &str) -> Result<String, ServiceError> {
    let listed = match service::agents::sitemap(services).await {
        Ok(listed) => listed,
        Err(error) => return Err(error),
    };
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    xml.push_str(&format!("  <url><loc>{}/</loc></url>\n", escape(public)));
    for page in listed {
        xml.push_str(&format!(
            "  <url><loc>{}</loc><lastmod>{}</lastmod></url>\n",
            escape(&format!("{public}{}", page.path)),
            page.updated_at.format("%Y-%m-%d")
        ));
    }
    xml.push_str("</urlset>\n");
    Ok(xml)
}

/// The API's per-address budget, for the public routes here (they read
/// the database, and a card may be drawn).
pub async fn limited(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ip = request
        .extensions()
        .get::<crate::client_addr::ClientAddr>()
        .and_then(|client| client.0);
    if let Err(limited) = state.limits.api(ip) {
        return limited.into_response();
    }
    next.run(request).await
}

/// Get the rules for robots
///
/// `GET /robots.txt`: pages yes, the API and signed-in areas no; it names
/// the sitemap.
#[utoipa::path(
    get,
    path = "/robots.txt",
    tag = "public",
    operation_id = "robots_txt",
    responses((
        status = 200,
        description = "The robots.txt rules",
        body = String,
        content_type = "text/plain",
        headers(("Cache-Control" = String, description = "`public, max-age=3600`"))
    )),
    security(())
)]
pub async fn robots(State(state): State<AppState>) -> Response {
    let public = state.services.public_url.trim_end_matches('/');
    let text = format!(
        "User-agent: *\n\
         Allow: /\n\
         Disallow: /api/\n\
         Disallow: /auth/\n\
         Disallow: /dashboard\n\
         Disallow: /editor\n\
         Disallow: /settings\n\
         Disallow: /wallet\n\
         Disallow: /admin/\n\
         Disallow: /teams\n\
         Disallow: /invites/\n\
         Disallow: /deployments/\n\
         Disallow: /runs/\n\
         \n\
         Sitemap: {public}/sitemap.xml\n"
    );
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELL: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\" />\n    <meta name=\"description\" content=\"Agentdeck: publish, find, deploy and run AI agents.\" />\n    <title>Agentdeck — the AI agent marketplace</title>\n    <link rel=\"stylesheet\" href=\"/main.css\" />\n  </head>\n  <body></body>\n</html>\n";

    #[test]
    fn the_head_is_replaced_and_escaped() {
        let head = Head {
            title: "Tom & \"Jerry\" <script> — Agentdeck".into(),
            description: "It's <b>bold</b>".into(),
            path: "/agents/tom".into(),
            kind: "website",
            image: Some("/agents/tom/card.png?v=1".into()),
            image_alt: "Tom".into(),
            noindex: true,
            json_ld: Some(script_safe(
                r#"{"name":"</script><script>alert(1)</script>"}"#,
            )),
        };
        let html = fill(SHELL, &head, "https://deck.example/");
        assert_eq!(html.matches("<title>").count(), 1, "{html}");
        assert_eq!(html.matches(r#"name="description""#).count(), 1, "{html}");
        assert!(
            html.contains("<title>Tom &amp; &quot;Jerry&quot; &lt;script&gt; — Agentdeck</title>")
        );
        assert!(
            html.contains(
                r#"<meta name="description" content="It&#39;s &lt;b&gt;bold&lt;/b&gt;" />"#
            )
        );
        assert!(
            html.contains(r#"<link rel="canonical" href="https://deck.example/agents/tom" />"#)
        );
        assert!(html.contains(r#"content="https://deck.example/agents/tom/card.png?v=1""#));
        assert!(html.contains(r#"<meta name="robots" content="noindex" />"#));
        // One script element: the JSON-LD cannot close it early.
        assert_eq!(html.matches("</script>").count(), 1, "{html}");
        assert!(html.contains("\\u003c/script\\u003e"));
        assert!(html.find("</head>").expect("head") > html.find("ld+json").expect("ld"));
        assert!(html.contains(r#"<link rel="stylesheet" href="/main.css" />"#));
    }

    #[test]
    fn descriptions_are_clipped_at_a_word() {
        assert_eq!(clip("short  and\nsweet", 200), "short and sweet");
        let long = "word ".repeat(100);
        let clipped = clip(&long, 50);
        assert!(clipped.chars().count() <= 50, "{clipped}");
        assert!(clipped.ends_with("word…"), "{clipped}");
    }
}
