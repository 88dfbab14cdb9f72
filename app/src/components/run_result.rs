//! A run's output or error, logs and cost, as the agent page's "Try it"
//! and the editor's test runs show it.

use leptos::prelude::*;
use types::market::RunReport;

/// A run's output or error, logs and cost.
#[component]
pub fn RunResult(report: RunReport) -> impl IntoView {
    let mut stats = format!(
        "{} ms · {} fuel · {} KiB memory",
        report.duration_us / 1000,
        report.fuel_used,
        report.peak_memory_bytes >> 10
    );
    if report.llm.calls > 0 {
        stats.push_str(&format!(
            " · {} model {} ({} + {} tokens, {} credits)",
            report.llm.calls,
            if report.llm.calls == 1 {
                "call"
            } else {
                "calls"
            },
            report.llm.input_tokens,
            report.llm.output_tokens,
            report.llm.credits
        ));
    }
    if report.charged_credits > 0 {
        stats.push_str(&format!(
            " · try charged {} credits",
            report.charged_credits
        ));
    }
    view! {
        <div class="run-result" data-testid="run-result">
            {match (report.output, report.error) {
                (Some(output), _) => view! {
                    <h3>"Output"</h3>
                    <pre class="output" data-testid="run-output">{output}</pre>
                }.into_any(),
                (None, Some(failure)) => {
                    let at = failure.line.map(|line| format!(" (line {line}, column {})", failure.column.unwrap_or(1)));
                    view! {
                        <div class="panel panel-error" role="alert" data-testid="run-error">
                            <strong>{failure.code}</strong>": "{failure.message}{at}
                        </div>
                    }.into_any()
                }
                _ => ().into_any(),
            }}
            {(!report.output_problems.is_empty()).then(|| view! {
                <div class="panel panel-warning" data-testid="output-problems">
                    <strong>"The output does not meet the output schema"</strong>
                    <ul class="problems">
                        {report.output_problems.into_iter().map(|problem| view! {
                            <li><code>{problem.path}</code>" "{problem.message}</li>
                        }).collect_view()}
                    </ul>
                </div>
            })}
            <p class="muted small" data-testid="run-stats">{stats}</p>
            {(!report.logs.is_empty()).then(|| view! {
                <h3>"Logs"</h3>
                <ol class="logs" data-testid="run-logs">
                    {report.logs.into_iter().map(|line| view! {
                        <li class=format!("log-{}", line.level)>
                            <span class="muted">{line.at_ms}" ms "</span>{line.message}
                        </li>
                    }).collect_view()}
                </ol>
            })}
            {report.logs_truncated.then(|| view! { <p class="muted small">"Some log lines were dropped: the log budget ran out."</p> })}
        </div>
    }
}
