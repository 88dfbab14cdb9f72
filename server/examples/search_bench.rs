//! Marketplace search latency through the REST API over 10,000 generated
//! agents: `cargo run --release -p server --example search_bench`.
//!
//! Starts a private PostgreSQL (the machine's binaries) in a temporary
//! directory, migrates and seeds it, adds 10,000 published agents with
//! varied names, tags, summaries and READMEs, serves the real router on a
//! local port, and sends each query of a mix (plain words, typos of each
//! kind, prefixes, synonyms, filters, every sort, second pages) one at a
//! time over HTTP. Prints p50, p99 and max per kind and overall, and the
//! size of the search dictionary.
//!
//! With `SEARCH_BENCH_PLANS=<file>` PostgreSQL logs the plan of every
//! statement slower than 5 ms (`auto_explain`, with timings and buffers), and
//! the log is copied to `<file>` at the end: where to look when a query kind
//! slows down. `SEARCH_BENCH_ONLY=<word>[,<word>…]` sends only the kinds
//! whose description contains one of the words. `SEARCH_BENCH_HOLD=<file>`
//! creates `<file>` once the agents are generated, prints the database's
//! URL and waits until the file is deleted before it sends queries: time to
//! try statements in psql on the same data.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]

mod common;

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use server::config::Config;

const AGENTS: i64 = 10_000;
const ROUNDS: usize = 200;

/// Generated agents: names from word lists, so searches hit a realistic
/// share of rows; numbers make every name unique.
const GENERATE: &str = r#"
INSERT INTO agents (slug, owner_user_id, workspace_id, name, summary, readme, category, tags,
                    icon, price_credits, runs_count, runs_succeeded, published_at)
SELECT 'gen-' || i,
       u.id, w.id,
       name,
       'Helps ' || team || ' teams ' || verb || ' ' || thing || ' faster, with clear reports and fewer mistakes. '
           || 'Knows ' || coined || '.',
       '# ' || name || E'\n\n' || repeat('This agent ' || verb || ' ' || thing || ' for ' || team ||
           ' teams. It reads your input, checks it and answers with structured JSON. ', 6),
       (ARRAY['content','marketing','sales','analytics','strategy','web','operations','support'])[1 + i % 8],
       ARRAY[lower(thing), lower(team), (ARRAY['ai','automation','reports','gpt','crm','csv'])[1 + i % 6]],
       '🤖', i % 7, (i * 7919) % 100000, ((i * 7919) % 100000) * 9 / 10,
       now() - (i || ' minutes')::interval
FROM generate_series(1, $1) AS i
CROSS JOIN LATERAL (SELECT
    (ARRAY['Smart','Quick','Deep','Friendly','Precise','Turbo','Clever','Handy','Bright','Steady'])[1 + i % 10] AS adjective,
    (ARRAY['Summarizer','Translator','Researcher','Writer','Analyst','Planner','Scheduler','Auditor',
           'Classifier','Extractor','Forecaster','Recruiter','Negotiator','Optimizer','Moderator',
           'Tutor','Reviewer','Designer','Marketer','Assistant'])[1 + (i / 10) % 20] AS role,
    (ARRAY['invoices','emails','tickets','leads','contracts','reports','keywords','articles',
           'meetings','surveys','datasets','campaigns','resumes','orders','reviews'])[1 + i % 15] AS thing,
    (ARRAY['finance','support','sales','marketing','legal','product','hr','ops'])[1 + i % 8] AS team,
    (ARRAY['summarises','sorts','checks','drafts','translates','scores','cleans'])[1 + i % 7] AS verb
) words
CROSS JOIN LATERAL (SELECT adjective || ' ' || role || ' ' || i AS name,
    -- A word of its own (nine letters from its number's hash), so the
    -- search dictionary has as many words as a real catalogue's.
    translate(substr(md5(i::text), 1, 9), '0123456789', 'ghijklmnop') AS coined) named
CROSS JOIN (SELECT id FROM users WHERE handle = 'agentdeck') u
CROSS JOIN (SELECT id FROM workspaces WHERE slug = 'agentdeck') w
"#;

/// Each kind of query the marketplace sends, as a query string.
fn queries() -> Vec<(&'static str, &'static str)> {
    vec![
        ("browse (popular)", ""),
        ("word", "q=summarizer"),
        ("one-letter typo", "q=summarizr"),
        ("two letters swapped", "q=sumamrizer"),
        ("two typos, ten letters", "q=sumarizre"),
        ("typo, two words", "q=quick+translatr"),
        ("the last word typed so far", "q=summ"),
        ("the first keystroke", "q=s"),
        (
            "ten long words with typos (the most a query counts)",
            "q=summarizr+transaltor+reserchers+forecastr+negotiatr+moderatorr+classifir+extractr+recruitr+optimizr",
        ),
        ("a typo, then a prefix", "q=qiuck+transl"),
        ("synonym", "q=mail"),
        ("category word", "q=marketing"),
        ("nothing near: did you mean", "q=smrzr"),
        ("two words", "q=invoices+finance"),
        ("no match", "q=zzzzqqq"),
        ("a word in every README", "q=structured"),
        ("category + sort rating", "category=sales&sort=rating"),
        ("tags", "tags=csv"),
        ("free only, newest", "free=true&sort=newest"),
        ("price range, name", "min_price=2&max_price=4&sort=name"),
        ("search + category", "q=analyst&category=analytics"),
        ("a common word + category", "q=summarizer&category=web"),
    ]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let mut db = common::private_postgres(&runtime);
    runtime.block_on(async {
        if std::env::var_os("SEARCH_BENCH_PLANS").is_some() {
            log_slow_plans(&db.admin_url).await;
        }
        let config = Config::from_lookup(|name| match name {
            "AGENTDECK_DATA_DIR" => Some(db.dir.path().display().to_string()),
            // One client sends every request: the per-IP limit would stop it.
            "AGENTDECK_API_LIMIT" => Some("1000000/60".to_owned()),
            _ => None,
        })
        .expect("configuration");
        let state = server::prepare(&config, &db.database_url)
            .await
            .expect("migrating and seeding");
        let mut conn = AsyncPgConnection::establish(&db.database_url)
            .await
            .expect("connecting");
        let started = Instant::now();
        diesel::sql_query(GENERATE)
            .bind::<diesel::sql_types::BigInt, _>(AGENTS)
            .execute(&mut conn)
            .await
            .expect("generating agents");
        diesel::sql_query("ANALYZE agents, search_words, search_word_variants")
            .execute(&mut conn)
            .await
            .expect("analyzing");
        println!(
            "generated {AGENTS} agents in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        #[derive(diesel::QueryableByName)]
        struct Dictionary {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            words: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            variants: i64,
        }
        let dictionary: Dictionary = diesel::sql_query(
            "SELECT (SELECT count(*) FROM search_words) AS words, \
                    (SELECT count(*) FROM search_word_variants) AS variants",
        )
        .get_result(&mut conn)
        .await
        .expect("the dictionary's size");
        println!(
            "search dictionary: {} words, {} deletion variants",
            dictionary.words, dictionary.variants
        );

        if let Some(hold) = std::env::var_os("SEARCH_BENCH_HOLD") {
            std::fs::write(&hold, b"delete me to go on\n").expect("the hold file");
            println!(
                "holding: psql {}; delete {hold:?} to go on",
                db.database_url
            );
            while std::path::Path::new(&hold).exists() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("the address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::new();

        let mut all = Vec::new();
        println!("| Query | p50 ms | p99 ms | max ms | results |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        let only: Vec<String> = std::env::var("SEARCH_BENCH_ONLY")
            .unwrap_or_default()
            .split(',')
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect();
        let chosen = |kind: &str| only.is_empty() || only.iter().any(|word| kind.contains(word));
        for (kind, query) in queries().into_iter().filter(|(kind, _)| chosen(kind)) {
            let url = format!("{base}/api/v1/agents?limit=24&{query}");
            // Warm up connections and plans.
            for _ in 0..10 {
                http.get(&url)
                    .send()
                    .await
                    .expect("warm-up")
                    .bytes()
                    .await
                    .ok();
            }
            let mut times = Vec::with_capacity(ROUNDS);
            let mut results = 0;
            for _ in 0..ROUNDS {
                let sent = Instant::now();
                let response = http.get(&url).send().await.expect("request");
                assert!(
                    response.status().is_success(),
                    "{url}: {}",
                    response.status()
                );
                let body: serde_json::Value = response.json().await.expect("json");
                times.push(sent.elapsed());
                results = body["items"].as_array().map_or(0, Vec::len);
            }
            times.sort();
            println!(
                "| {kind} (`{query}`) | {} | {} | {} | {results} |",
                ms(common::percentile(&times, 0.5)),
                ms(common::percentile(&times, 0.99)),
                ms(*times.last().expect("times"))
            );
            all.extend(times);
        }
        // Second pages, through the cursor of the first.
        if !chosen("second page") {
            report(all);
            let _ = stop.send(());
            let _ = serving.await;
            return;
        }
        let first: serde_json::Value = http
            .get(format!("{base}/api/v1/agents?limit=24&q=writer"))
            .send()
            .await
            .expect("first page")
            .json()
            .await
            .expect("json");
        let cursor = first["next_cursor"].as_str().expect("a second page");
        let url = format!("{base}/api/v1/agents?limit=24&q=writer&cursor={cursor}");
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let sent = Instant::now();
            let response = http.get(&url).send().await.expect("request");
            assert!(response.status().is_success());
            response.bytes().await.expect("body");
            times.push(sent.elapsed());
        }
        times.sort();
        println!(
            "| second page of `q=writer` | {} | {} | {} | 24 |",
            ms(common::percentile(&times, 0.5)),
            ms(common::percentile(&times, 0.99)),
            ms(*times.last().expect("times"))
        );
        all.extend(times);
        report(all);
        let _ = stop.send(());
        let _ = serving.await;
    });
    drop(runtime);
    db.postgres.stop().expect("stopping PostgreSQL");
    if let Some(file) = std::env::var_os("SEARCH_BENCH_PLANS") {
        std::fs::copy(db.dir.path().join("postgres.log"), file).expect("copying the log");
    }
}

/// Prints the percentiles of every request sent.
fn report(mut all: Vec<Duration>) {
    all.sort();
    println!(
        "\nall {} requests: p50 {} ms, p99 {} ms, max {} ms",
        all.len(),
        ms(common::percentile(&all, 0.5)),
        ms(common::percentile(&all, 0.99)),
        ms(*all.last().expect("times"))
    );
}

/// Has every new session log the plans of its slow statements.
async fn log_slow_plans(admin_url: &str) {
    let mut admin = AsyncPgConnection::establish(admin_url)
        .await
        .expect("connecting");
    for statement in [
        // Loaded here first so that its settings are known.
        "LOAD 'auto_explain'",
        "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'",
        "ALTER SYSTEM SET auto_explain.log_min_duration = '5ms'",
        "ALTER SYSTEM SET auto_explain.log_analyze = on",
        "ALTER SYSTEM SET auto_explain.log_buffers = on",
        "SELECT pg_reload_conf()",
    ] {
        diesel::sql_query(statement)
            .execute(&mut admin)
            .await
            .expect(statement);
    }
}
