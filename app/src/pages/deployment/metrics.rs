//! The metrics panel: runs per minute with failures, and p50/p95 run
//! durations, over the last hour, as SVG charts.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::state::{METRICS_MINUTES, Page};
use crate::components::browser::now_minute;
use crate::components::deploy::duration_label;
use types::deploy::MetricsBucket;

/// Runs per minute with failures, and p50/p95 durations, over the last
/// hour: drawn from the metrics endpoint, moved on by the run events.
#[component]
pub(super) fn Metrics(page: Page) -> impl IntoView {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 100.0;
    let slot = WIDTH / f64::from(METRICS_MINUTES);
    // The window ends at the newest minute with runs, or now.
    let window = move || {
        let buckets = page.metrics.get();
        let end = buckets
            .last()
            .map(|bucket| bucket.minute)
            .into_iter()
            .chain(now_minute())
            .max();
        (buckets, end)
    };
    let index = move |minute: DateTime<Utc>, end: DateTime<Utc>| {
        let back = (end - minute).num_minutes();
        (back >= 0 && back < i64::from(METRICS_MINUTES))
            .then(|| i64::from(METRICS_MINUTES) - 1 - back)
    };
    let totals = move || {
        page.metrics.with(|buckets| {
            let runs: i64 = buckets.iter().map(|b| b.runs).sum();
            let failed: i64 = buckets.iter().map(|b| b.failed).sum();
            let latest = buckets.last().and_then(|b| b.p50_us.zip(b.p95_us));
            (runs, failed, latest)
        })
    };
    view! {
        <section class="panel metrics" data-testid="metrics">
            <h2>"Last hour"</h2>
            <div class="stats">
                <div class="stat"><span class="stat-label">"Runs"</span>
                    <span class="stat-value" data-testid="metric-runs">{move || totals().0}</span></div>
                <div class="stat"><span class="stat-label">"Error rate"</span>
                    <span class="stat-value" data-testid="metric-errors">{move || {
                        let (runs, failed, _) = totals();
                        if runs == 0 { "—".to_owned() } else { format!("{:.1} %", failed as f64 * 100.0 / runs as f64) }
                    }}</span></div>
                <div class="stat"><span class="stat-label">"p50 / p95 (latest minute)"</span>
                    <span class="stat-value">{move || match totals().2 {
                        Some((p50, p95)) => format!("{} / {}", duration_label(Some(p50)), duration_label(Some(p95))),
                        None => "—".to_owned(),
                    }}</span></div>
            </div>
            <div class="charts">
                <figure>
                    <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Runs per minute; failures in red" data-testid="chart-runs">
                        {move || {
                            let (buckets, end) = window();
                            let Some(end) = end else { return Vec::new() };
                            let most = buckets.iter().map(|b| b.runs).max().unwrap_or(1).max(1) as f64;
                            buckets.into_iter().filter_map(|bucket| {
                                let x = index(bucket.minute, end)? as f64 * slot;
                                let height = bucket.runs as f64 / most * HEIGHT;
                                let failed = bucket.failed as f64 / most * HEIGHT;
                                Some(view! {
                                    <g>
                                        <title>{format!("{}: {} runs, {} failed", crate::pages::time::minute(bucket.minute), bucket.runs, bucket.failed)}</title>
                                        <rect class="bar" x=x + 1.0 y=HEIGHT - height width=slot - 2.0 height=height />
                                        <rect class="bar-failed" x=x + 1.0 y=HEIGHT - failed width=slot - 2.0 height=failed />
                                    </g>
                                })
                            }).collect::<Vec<_>>()
                        }}
                    </svg>
                    <figcaption class="muted small">"Runs per minute (failures in red)"</figcaption>
                </figure>
                <figure>
                    <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Run duration p50 and p95 per minute" data-testid="chart-durations">
                        {move || {
                            let (buckets, end) = window();
                            let Some(end) = end else { return Vec::new() };
                            let most = buckets.iter().filter_map(|b| b.p95_us).max().unwrap_or(1).max(1) as f64;
                            let line = |pick: fn(&MetricsBucket) -> Option<i64>| {
                                buckets.iter().filter_map(|bucket| {
                                    let x = index(bucket.minute, end)? as f64 * slot + slot / 2.0;
                                    let y = HEIGHT - pick(bucket)? as f64 / most * (HEIGHT - 4.0);
                                    Some(format!("{x:.1},{y:.1}"))
                                }).collect::<Vec<_>>().join(" ")
                            };
                            vec![
                                view! { <polyline class="line-p95" points=line(|b| b.p95_us) /> },
                                view! { <polyline class="line-p50" points=line(|b| b.p50_us) /> },
                            ]
                        }}
                    </svg>
                    <figcaption class="muted small">"Duration per minute: p50 (solid), p95 (dashed); top = " {move || duration_label(page.metrics.with(|b| b.iter().filter_map(|b| b.p95_us).max()))}</figcaption>
                </figure>
            </div>
        </section>
    }
}
