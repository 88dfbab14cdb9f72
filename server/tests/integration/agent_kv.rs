//! The sandbox's `kv` capability over PostgreSQL: state outlives runs, each
//! deployment sees only its own keys, limits hold.

use std::sync::Arc;

use runtime::kv::KvStore;
use runtime::{Capabilities, HostContext, Limits, Runtime, RuntimeOptions};
use server::agent_kv::PgKv;
use uuid::Uuid;

use crate::support::TestDb;

fn sandbox() -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(runtime::build_cache_dir()),
        max_concurrent_runs: 8,
        ..RuntimeOptions::default()
    })
    .expect("the sandbox starts")
}

#[tokio::test]
async fn counter_agent_keeps_its_count_in_postgres_per_deployment() {
    let db = TestDb::new().await;
    let pool = server::db::pool(db.url(), 4).expect("building the pool");
    let sandbox = sandbox();
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../agents/examples/counter.js"
    ))
    .expect("the example exists");
    let agent = sandbox
        .prepare_javascript("counter.js", &source, &Limits::default())
        .await
        .expect("the example prepares");
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let host = |deployment: Uuid| {
        HostContext::new(Capabilities {
            kv: true,
            ..Capabilities::default()
        })
        .with_kv(Arc::new(PgKv::new(pool.clone(), deployment)))
    };

    let mut counts = Vec::new();
    for deployment in [first, first, second, first] {
        let outcome = sandbox
            .run(
                &agent,
                r#"{"name":"visits"}"#,
                &Limits::default(),
                host(deployment),
            )
            .await;
        let output: serde_json::Value =
            serde_json::from_str(outcome.output().expect("the counter runs")).expect("JSON");
        counts.push(output["count"].as_i64().expect("a count"));
    }
    assert_eq!(counts, [1, 2, 1, 3], "each deployment counts on its own");

    let store = PgKv::new(pool.clone(), first);
    assert_eq!(store.get("count:visits").await, Ok(Some("3".to_owned())));
    assert_eq!(
        store.keys("count:", 10).await,
        Ok(vec!["count:visits".to_owned()])
    );
}

#[tokio::test]
async fn keys_list_in_byte_order_with_literal_prefixes() {
    let db = TestDb::new().await;
    let pool = server::db::pool(db.url(), 2).expect("building the pool");
    let store = PgKv::new(pool.clone(), Uuid::new_v4());
    for key in ["b", "a_1", "a%2", "aZ", "a_0", "B"] {
        store.set(key, "1").await.expect("stored");
    }
    assert_eq!(
        store.keys("", 10).await.expect("listed"),
        ["B", "a%2", "aZ", "a_0", "a_1", "b"]
    );
    assert_eq!(
        store.keys("a_", 10).await.expect("listed"),
        ["a_0", "a_1"],
        "_ is not a wildcard"
    );
    assert_eq!(
        store.keys("a%", 10).await.expect("listed"),
        ["a%2"],
        "% is not a wildcard"
    );
    assert_eq!(store.keys("a", 2).await.expect("listed").len(), 2);

    store.set("b", "2").await.expect("overwritten");
    assert_eq!(store.get("b").await, Ok(Some("2".to_owned())));
    assert_eq!(store.delete("b").await, Ok(true));
    assert_eq!(store.delete("b").await, Ok(false));
    assert_eq!(store.get("b").await, Ok(None));
    let other = PgKv::new(pool, Uuid::new_v4());
    assert_eq!(
        other.keys("", 10).await,
        Ok(Vec::new()),
        "another deployment sees nothing"
    );
}

#[tokio::test]
async fn a_full_store_refuses_new_keys_but_updates_old_ones() {
    let db = TestDb::new().await;
    let pool = server::db::pool(db.url(), 2).expect("building the pool");
    let deployment = Uuid::new_v4();
    let mut conn = pool.get().await.expect("a connection");
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO agent_kv (deployment_id, key, value) \
             SELECT '{deployment}', 'k' || n, '0' FROM generate_series(1, {}) AS n",
            server::agent_kv::MAX_KEYS
        )),
        &mut conn,
    )
    .await
    .expect("filled");
    let store = PgKv::new(pool, deployment);
    let refused = store.set("one-more", "1").await.expect_err("full");
    assert!(refused.contains("full"), "{refused}");
    store
        .set("k1", "updated")
        .await
        .expect("an existing key can change");
    assert_eq!(store.get("k1").await, Ok(Some("updated".to_owned())));
}
