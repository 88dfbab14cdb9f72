//! Search relevance, judged as a buyer would: over the twelve launch agents
//! and decoys with names like theirs, typos of each kind at each length,
//! prefixes, categories, tags, synonyms and several words find the agent
//! meant, ranked by how well they match (not by how small the catalogue
//! is); a search that finds nothing suggests one that would; a private
//! agent's words never surface.

use serde_json::Value;

use crate::support::TestApp;

/// Agents like the launch agents, listed beside them.
const DECOYS: &str = "\
INSERT INTO agents (slug, owner_user_id, workspace_id, name, summary, readme, category, tags,
                    icon, visibility, published_at)
SELECT decoy.slug, u.id, w.id, decoy.name, decoy.summary, decoy.readme, decoy.category,
       decoy.tags, '🧪', decoy.visibility, now()
FROM (VALUES
    ('sales-mapper', 'Sales Mapper', 'Draws territories on a map and assigns each to a rep.',
     'A manager of maps, not of people.', 'sales', ARRAY['territory', 'maps'], 'public'),
    ('social-listener', 'Social Listener', 'Listens to networks for mentions of your brand.',
     '', 'marketing', ARRAY['monitoring', 'mentions'], 'public'),
    ('content-curator', 'Content Curator', 'Collects reading lists from links you save.',
     'Curated, never written.', 'content', ARRAY['reading', 'links'], 'public'),
    ('market-researcher', 'Market Researcher',
     'Sizes a market: competitors, segments and growth, from public sources.', '',
     'strategy', ARRAY['research', 'tam'], 'public'),
    ('keyword-planner', 'Keyword Planner', 'Plans keywords for paid ads and their budgets.', '',
     'marketing', ARRAY['ppc', 'seo'], 'public'),
    ('quokka-whisperer', 'Quokka Whisperer', 'Secret zygomorphic plans.', '', 'strategy',
     ARRAY['hidden'], 'private')
) AS decoy (slug, name, summary, readme, category, tags, visibility)
CROSS JOIN (SELECT id FROM users WHERE handle = 'agentdeck') u
CROSS JOIN (SELECT id FROM workspaces WHERE slug = 'agentdeck') w";

/// What a query should find.
enum Want {
    /// This agent first.
    First(&'static str),
    /// These agents among the first three.
    Top3(&'static [&'static str]),
    /// Nothing; a suggestion of this text, if any.
    Nothing(Option<&'static str>),
}

use Want::{First, Nothing, Top3};

const QUERIES: &[(&str, &str, Want)] = &[
    // The five misses found by trying it as a buyer.
    ("miss", "slaes", Top3(&["sales-manager"])),
    ("miss", "socail", Top3(&["social-media"])),
    ("miss", "contnet", Top3(&["content-creator"])),
    (
        "miss",
        "marketng",
        Top3(&["social-media", "seo-specialist"]),
    ),
    ("miss", "seo audt", First("seo-specialist")),
    // Typos: swapped, left out, added, replaced; five to ten letters.
    ("swap, 5", "slaes manager", First("sales-manager")),
    ("swap, 5", "evnet manager", First("event-manager")),
    ("swap, 5", "emial outreach", First("email-outreach")),
    ("swap, 6", "socail media", First("social-media")),
    ("swap, 7", "contnet creator", First("content-creator")),
    ("swap, 7", "wbesite", First("website-builder")),
    ("swap, 8", "stratgey", First("strategy")),
    ("swap, 8", "email outreahc", First("email-outreach")),
    ("swap, 8", "customer supprot", First("customer-support")),
    ("swap, 10", "seo specilaist", First("seo-specialist")),
    ("two swaps, 9", "anlaytcis", First("analytics")),
    ("left out, 6", "sales manger", First("sales-manager")),
    ("left out, 6", "websit builder", First("website-builder")),
    ("left out, 7", "strtegy", First("strategy")),
    ("left out, 7", "custmer suport", First("customer-support")),
    ("left out, 8", "analytcs", First("analytics")),
    ("left out, 8", "crm asistant", First("crm-assistant")),
    ("added, 10", "anallytics", First("analytics")),
    ("added, 9", "data insightss", First("data-insights")),
    ("replaced, 5", "sxles manager", First("sales-manager")),
    ("replaced, 8", "data insiphts", First("data-insights")),
    // Under five letters a word is taken as typed.
    ("short", "sxo", Nothing(None)),
    // The last word while it is typed.
    ("prefix", "anal", First("analytics")),
    ("prefix", "cust", First("customer-support")),
    ("prefix", "seo spec", First("seo-specialist")),
    ("prefix", "email out", First("email-outreach")),
    ("prefix", "sales mapp", First("sales-mapper")),
    ("prefix", "sales mana", First("sales-manager")),
    ("prefix", "linked", First("social-media")),
    ("prefix", "hash", First("social-media")),
    ("prefix", "forec", Top3(&["sales-manager", "data-insights"])),
    // The first keystroke stands for its most used words, though "s" alone
    // is a stop word.
    ("prefix", "s", Top3(&["strategy", "social-media"])),
    // Categories, by their labels' words.
    (
        "category",
        "marketing",
        Top3(&["social-media", "seo-specialist"]),
    ),
    ("category", "operations", First("event-manager")),
    ("category", "crm", First("crm-assistant")),
    ("category", "sales", Top3(&["sales-manager"])),
    // Tags.
    ("tag", "okr", First("strategy")),
    ("tag", "swot", First("strategy")),
    ("tag", "helpdesk", First("customer-support")),
    ("tag", "csv", First("data-insights")),
    ("tag", "copywriting", First("content-creator")),
    ("tag", "pipeline", First("sales-manager")),
    ("tag", "kpi", First("analytics")),
    // Synonyms.
    ("synonym", "mail", Top3(&["email-outreach"])),
    ("synonym", "search engine", Top3(&["seo-specialist"])),
    ("synonym", "customer relationship", First("crm-assistant")),
    (
        "synonym",
        "frequently asked questions",
        Top3(&["customer-support"]),
    ),
    ("synonym", "key performance indicator", Top3(&["analytics"])),
    // Several words.
    ("words", "plan a webinar", First("event-manager")),
    ("words", "blog post", First("content-creator")),
    ("words", "cold emails", First("email-outreach")),
    ("words", "deals at risk", First("sales-manager")),
    ("words", "brand voice", First("content-creator")),
    ("words", "meta descriptions", First("seo-specialist")),
    // Decoys: the name decides.
    ("decoy", "sales mapper", First("sales-mapper")),
    ("decoy", "sales manager", First("sales-manager")),
    ("decoy", "content curator", First("content-curator")),
    ("decoy", "social listening", First("social-listener")),
    ("decoy", "seo", First("seo-specialist")),
    // Nothing to find: a suggestion when one is near.
    ("nothing", "zzqqxx", Nothing(None)),
    ("nothing", "strtgy", Nothing(Some("strategy"))),
    // A private agent's words are not there to find or suggest.
    ("private", "quokka", Nothing(None)),
    ("private", "zygomorphic", Nothing(None)),
    ("private", "quokkas", Nothing(None)),
];

fn slugs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|agent| agent["slug"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn searches_find_the_agent_meant() {
    let app = TestApp::spawn().await;
    let mut sql = app.sql().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query(DECOYS), &mut sql)
        .await
        .expect("adding decoys");
    // The launch agents have been used, the decoys are new: use breaks
    // ties only (two agents of one category match its name equally).
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE agents SET runs_count = 100, runs_succeeded = 90 WHERE slug NOT IN \
             ('sales-mapper', 'social-listener', 'content-curator', 'market-researcher', \
              'keyword-planner', 'quokka-whisperer')",
        ),
        &mut sql,
    )
    .await
    .expect("counting runs");
    assert!(QUERIES.len() >= 40);

    let mut wrong = Vec::new();
    for (kind, q, want) in QUERIES {
        // Typed and then a space: the last word is whole, except where a
        // prefix is the point.
        let typed = if *kind == "prefix" {
            (*q).to_owned()
        } else {
            format!("{q} ")
        };
        // Letters and spaces only.
        let url = format!("/api/v1/agents?q={}", typed.replace(' ', "%20"));
        let (status, page) = app.get_json(&url).await;
        assert!(status.is_success(), "{q}: {status} {page}");
        let found = slugs(&page);
        let right = match want {
            First(slug) => found.first().map(String::as_str) == Some(*slug),
            Top3(slugs) => slugs
                .iter()
                .all(|slug| found.iter().take(3).any(|got| got == slug)),
            Nothing(suggestion) => found.is_empty() && page["suggestion"].as_str() == *suggestion,
        };
        if !right {
            let top: Vec<&str> = found.iter().take(5).map(String::as_str).collect();
            wrong.push(format!(
                "{kind}: {q:?} found {top:?}, suggested {}",
                page["suggestion"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        QUERIES.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn results_say_which_words_matched() {
    let app = TestApp::spawn().await;
    let (_, page) = app.get_json("/api/v1/agents?q=slaes%20manger%20").await;
    let matched: Vec<&str> = page["matched"]
        .as_array()
        .expect("matched")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        matched.contains(&"sales") && matched.contains(&"manager"),
        "{matched:?}"
    );
    assert_eq!(page["suggestion"], Value::Null);
    // While typed, the completions are among them.
    let (_, page) = app.get_json("/api/v1/agents?q=sales%20mana").await;
    assert!(
        page["matched"]
            .as_array()
            .expect("matched")
            .iter()
            .any(|word| word == "manager"),
        "{page}"
    );
}

/// What to_tsquery, LIKE and PostgreSQL's text treat specially, typed as a
/// search: each answers a page (or names `q`), never a server error.
#[tokio::test]
async fn hostile_queries_answer_a_page() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(60);
    let queries = [
        "'",
        "\\",
        "''''",
        ":*",
        "seo:*A",
        "a & b | !c",
        "(sales) <-> (manager)",
        "%_%",
        "💥 émail 数据",
        "ǅ ß İ",
        long.as_str(),
        "the of and",
        "s",
        "- - -",
    ];
    for q in queries {
        let response = app
            .http
            .get(app.url("/api/v1/agents"))
            .query(&[("q", q)])
            .send()
            .await
            .expect("a request");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(status, reqwest::StatusCode::OK, "{q:?}: {body}");
        assert!(body["items"].is_array(), "{q:?}: {body}");
    }
    // A NUL cannot be stored anywhere, so none is searched for: the
    // parameter is named (api/nul.rs), as in any other query string.
    let (status, body) = app.get_json("/api/v1/agents?q=seo%00audit").await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "q");
    // A one-letter stop word being typed ("o", "a", "i") finds agents by
    // the words it begins, never an empty page.
    for q in ["o", "a", "i", "t"] {
        let (status, page) = app.get_json(&format!("/api/v1/agents?q={q}")).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        assert!(!slugs(&page).is_empty(), "{q:?} while typing: {page}");
    }
    // A text of stop words alone lists every agent, most used first, and
    // pages through them all by its cursors.
    let mut seen = Vec::new();
    let mut path = "/api/v1/agents?q=the%20of%20&limit=5".to_owned();
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        seen.extend(slugs(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/agents?q=the%20of%20&limit=5&cursor={cursor}"),
            None => break,
        }
    }
    let (_, all) = app.get_json("/api/v1/agents?limit=100").await;
    assert_eq!(seen, slugs(&all), "the same agents in the same order");
    // That cursor is not one for a ranked search.
    let (_, page) = app.get_json("/api/v1/agents?q=the%20of%20&limit=5").await;
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let (status, body) = app
        .get_json(&format!(
            "/api/v1/agents?q=sales%20&limit=5&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // With the last word typed so far ("seo aud").
    let (status, page) = app.get_json("/api/v1/agents?q=seo%20aud").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["slug"], "seo-specialist", "{page}");
}
