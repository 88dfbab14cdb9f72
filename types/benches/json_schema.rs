//! Checking run inputs against input schemas (`types::json_schema`), as
//! every run start does before any sandbox work:
//! `cargo bench -p types --bench json_schema`.
//!
//! The schema is the launch Sales Manager's (objects, arrays of objects,
//! enums as patterns, dates, numbers); the inputs are its example (8
//! deals) and the same deals repeated to about 1 MiB, the largest input a
//! run takes. Compiling is measured too: a try or test run compiles its
//! schema each time.

#![expect(clippy::expect_used, reason = "a benchmark stops at its first failure")]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use std::hint::black_box;
use types::json_schema::Schema;

const MANIFEST: &str = include_str!("../../agents/launch/sales-manager/manifest.json");
const EXAMPLE: &str = include_str!("../../agents/launch/sales-manager/example.json");

fn inputs() -> (Value, Value, Value) {
    let manifest: Value = serde_json::from_str(MANIFEST).expect("manifest");
    let schema = manifest["input_schema"].clone();
    let example: Value = serde_json::from_str(EXAMPLE).expect("example");
    let small = example["input"].clone();
    let mut large = small.clone();
    let deals = small["deals"].as_array().expect("deals").clone();
    let mut all = Vec::new();
    while serde_json::to_string(&all).expect("json").len() < 1 << 20 {
        all.extend(deals.iter().cloned());
    }
    large["deals"] = Value::Array(all);
    (schema, small, large)
}

fn bench(c: &mut Criterion) {
    let (schema_json, small, large) = inputs();
    let schema = Schema::compile(&schema_json).expect("compiles");
    assert!(
        schema.accepts(&small),
        "{:?}",
        schema.check(&small, "input")
    );
    assert!(
        schema.accepts(&large),
        "{:?}",
        schema
            .check(&large, "input")
            .map_err(|v| v.into_iter().take(2).collect::<Vec<_>>())
    );
    let mut group = c.benchmark_group("json_schema");
    group.bench_function("compile (sales-manager)", |b| {
        b.iter(|| Schema::compile(black_box(&schema_json)))
    });
    group.bench_function("check the example (8 deals)", |b| {
        b.iter(|| schema.accepts(black_box(&small)))
    });
    group.bench_function("check 1 MiB of deals", |b| {
        b.iter(|| schema.accepts(black_box(&large)))
    });
    group.bench_function("report on 1 MiB with a bad deal", |b| {
        let mut bad = large.clone();
        bad["deals"][0]["amount"] = Value::String("lots".into());
        b.iter(|| schema.check(black_box(&bad), "input"))
    });
    // The most a hostile author and caller can make one check cost: 400
    // alternatives each walking 20,000 items, stopped at the budget.
    let branch =
        serde_json::json!({"type": "array", "items": {"type": "integer"}, "minItems": 30_000});
    let hostile =
        Schema::compile(&serde_json::json!({"anyOf": vec![branch; 400]})).expect("compiles");
    let many = serde_json::json!(vec![1; 20_000]);
    assert!(!hostile.accepts(&many));
    group.bench_function("a hostile schema stopped at the budget", |b| {
        b.iter(|| hostile.check(black_box(&many), "input"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
