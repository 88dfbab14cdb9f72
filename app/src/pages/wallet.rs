//! The wallet of a workspace (`/wallet?workspace=<slug>`, the active one
//! by default): its balance, held and earned credits, buying more, what its
//! runs cost and its agents earned by day and agent, and every ledger line,
//! with a CSV export.

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::billing::{get_checkout, get_usage, get_wallet, ledger_lines, start_checkout};
use crate::auth::{RequireAuth, use_auth};
use crate::components::browser::go_to;
use crate::components::form::FormError;
use crate::remote::Remote;
use types::CheckoutId;
use types::billing::{Checkout, LedgerLine, StartCheckout, TopUp, UsageRow};
use types::error::ApiError;

#[component]
pub fn WalletPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let workspace = Memo::new(move |_| {
        query
            .with(|q| q.get("workspace"))
            .filter(|slug| !slug.is_empty())
            .or_else(|| auth.active_workspace().map(|w| w.slug))
    });
    view! {
        <RequireAuth>
            <div class="page wallet-page" data-testid="wallet-page">
                {move || workspace.get().map(|slug| view! { <WalletOf slug /> })}
            </div>
        </RequireAuth>
    }
}

#[component]
fn WalletOf(slug: String) -> impl IntoView {
    let wallet = {
        let slug = slug.clone();
        Remote::new(move || get_wallet(Some(slug.clone())))
    };
    let query = use_query_map();
    let checkout = query.with_untracked(|q| q.get("checkout"));
    let cancelled = query.with_untracked(|q| q.get("cancelled").is_some());
    let history = History::new(slug.clone());
    // A purchase credited: new balance, new lines.
    let paid = Callback::new(move |()| {
        wallet.reload();
        history.reload();
    });
    view! {
        <h1>"Credits · " {slug.clone()}</h1>
        {checkout.map(|id| view! { <CheckoutReturn id cancelled paid /> })}
        {wallet.view("Loading the wallet…", move |wallet| view! {
            <section class="panel">
                <div class="stats">
                    <div class="stat"><span class="stat-label">"Balance"</span>
                        <span class="stat-value" data-testid="balance">{wallet.balance}</span></div>
                    <div class="stat"><span class="stat-label">"Held for runs in flight"</span>
                        <span class="stat-value" data-testid="held">{wallet.held}</span></div>
                    <div class="stat"><span class="stat-label">"Earned by its agents"</span>
                        <span class="stat-value" data-testid="earnings">{wallet.earnings}</span></div>
                </div>
                <p class="muted small">
                    "A paid run holds its price when it starts and is charged only if it succeeds; "
                    "anything else gives the credits back."
                </p>
            </section>
            <BuyCredits slug=wallet.workspace.clone() top_up=wallet.top_up.clone() />
        })}
        <UsageCharts slug=slug.clone() />
        <HistoryView history />
    }
}

/// Buying credits: to the payment provider's checkout and back.
#[component]
fn BuyCredits(slug: String, top_up: Option<TopUp>) -> impl IntoView {
    let Some(top_up) = top_up else {
        return view! {
            <section class="panel"><h2>"Buy credits"</h2>
                <p class="muted" data-testid="no-top-up">"Buying credits is not set up on this server."</p>
            </section>
        }
        .into_any();
    };
    let credits = RwSignal::new((top_up.min_credits.max(1000)).to_string());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let price = {
        let top_up = top_up.clone();
        move || {
            credits
                .with(|c| c.trim().parse::<i64>().ok())
                .map(|n| money(n * top_up.cents_per_credit, &top_up.currency))
                .unwrap_or_default()
        }
    };
    let buy = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(amount) = credits.with_untracked(|c| c.trim().parse::<i64>()) else {
            return;
        };
        let request = StartCheckout {
            credits: amount,
            workspace: Some(slug.clone()),
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match start_checkout(request).await {
                Ok(Checkout { url: Some(url), .. }) => go_to(&url),
                Ok(_) => busy.set(false),
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <section class="panel">
            <h2>"Buy credits"</h2>
            <form class="inline-form" on:submit=buy>
                <label>"Credits"
                    <input type="number" name="credits" min=top_up.min_credits max=top_up.max_credits step="1"
                        prop:value=move || credits.get() on:input=move |ev| credits.set(event_target_value(&ev)) />
                </label>
                <span class="muted" data-testid="top-up-price">{price}</span>
                <button class="button primary" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Opening checkout…" } else { "Buy" }}
                </button>
            </form>
            <FormError error fields=&["credits"] />
            <p class="muted small">"You pay with the payment provider; the credits arrive as soon as it confirms."</p>
        </section>
    }
    .into_any()
}

/// Back from the provider: whether the payment arrived (asked again every
/// two seconds for a minute while it is still open).
#[component]
fn CheckoutReturn(id: String, cancelled: bool, paid: Callback<()>) -> impl IntoView {
    let state = RwSignal::new(None::<Checkout>);
    // A checkout id that is no id is no checkout: nothing to wait for.
    if let (false, Ok(id)) = (cancelled, id.parse::<CheckoutId>()) {
        leptos::task::spawn_local(async move {
            for _ in 0..30 {
                if let Ok(checkout) = get_checkout(id).await {
                    let done = checkout.status != "open";
                    if state.try_set(Some(checkout.clone())).is_some() {
                        return; // the page is gone
                    }
                    if done {
                        if checkout.status == "paid" {
                            paid.run(());
                        }
                        return;
                    }
                }
                crate::components::browser::pause(2_000).await;
            }
        });
    }
    view! {
        <p class="notice" role="status" data-testid="checkout-status">{move || {
            if cancelled {
                return "Payment cancelled: nothing was charged.".to_owned();
            }
            match state.get() {
                Some(c) if c.status == "paid" => format!("Payment received: {} credits added.", c.credits),
                Some(c) if c.status == "expired" => "The checkout expired before it was paid.".to_owned(),
                _ => "Waiting for the payment provider to confirm the payment…".to_owned(),
            }
        }}</p>
    }
}

/// Spent and earned credits per day, as bars, and per agent.
#[component]
fn UsageCharts(slug: String) -> impl IntoView {
    let days = RwSignal::new(30_i64);
    let usage = Remote::new(move || get_usage(Some(slug.clone()), Some(days.get())));
    view! {
        <section class="panel" data-testid="usage">
            <div class="panel-head">
                <h2>"Usage"</h2>
                <select aria-label="Period" on:change=move |ev| {
                    if let Ok(n) = event_target_value(&ev).parse() { days.set(n) }
                }>
                    <option value="7">"Last 7 days"</option>
                    <option value="30" selected>"Last 30 days"</option>
                    <option value="90">"Last 90 days"</option>
                </select>
            </div>
            {usage.view("Loading usage…", |usage| {
                let since = NaiveDate::parse_from_str(&usage.since, "%Y-%m-%d").ok();
                view! {
                    <div class="charts">
                        <UsageChart title="Spent on runs" testid="chart-spent" rows=usage.spent.clone() since days=usage.days />
                        <UsageChart title="Earned by its agents" testid="chart-earned" rows=usage.earned.clone() since days=usage.days />
                    </div>
                }
            })}
        </section>
    }
}

#[component]
fn UsageChart(
    title: &'static str,
    testid: &'static str,
    rows: Vec<UsageRow>,
    since: Option<NaiveDate>,
    days: i64,
) -> impl IntoView {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 100.0;
    let slot = WIDTH / days.max(1) as f64;
    let mut per_day = vec![(0_i64, Vec::<String>::new()); days.max(0) as usize];
    for row in &rows {
        let day = NaiveDate::parse_from_str(&row.day, "%Y-%m-%d").ok();
        if let Some(index) = day
            .zip(since)
            .map(|(day, since)| (day - since).num_days())
            .filter(|i| (0..days).contains(i))
        {
            let (total, agents) = &mut per_day[index as usize];
            *total += row.credits;
            agents.push(format!("{}: {}", row.agent_name, row.credits));
        }
    }
    let most = per_day.iter().map(|(t, _)| *t).max().unwrap_or(0).max(1) as f64;
    let total: i64 = rows.iter().map(|r| r.credits).sum();
    let runs: i64 = rows.iter().map(|r| r.runs).sum();
    // Per agent, most first.
    let mut agents: Vec<(String, i64, i64)> = Vec::new();
    for row in &rows {
        match agents
            .iter_mut()
            .find(|(name, _, _)| *name == row.agent_name)
        {
            Some(agent) => {
                agent.1 += row.credits;
                agent.2 += row.runs;
            }
            None => agents.push((row.agent_name.clone(), row.credits, row.runs)),
        }
    }
    agents.sort_by_key(|agent| std::cmp::Reverse(agent.1));
    let bars = per_day
        .into_iter()
        .enumerate()
        .filter(|(_, (credits, _))| *credits > 0)
        .map(|(i, (credits, agents))| {
            let height = credits as f64 / most * HEIGHT;
            let day = since
                .and_then(|s| s.checked_add_days(chrono::Days::new(i as u64)))
                .map(|d| d.format("%b %-d").to_string())
                .unwrap_or_default();
            view! {
                <g>
                    <title>{format!("{day}: {credits} credits ({})", agents.join(", "))}</title>
                    <rect class="bar" x=i as f64 * slot + 1.0 y=HEIGHT - height width=(slot - 2.0).max(1.0) height=height />
                </g>
            }
        })
        .collect_view();
    view! {
        <figure data-testid=testid data-total=total>
            <figcaption><strong>{title}</strong> " · " {total} " credits over " {runs} " runs"</figcaption>
            <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=format!("{title} per day")>
                {bars}
            </svg>
            {if agents.is_empty() {
                view! { <p class="muted small">"Nothing in this period."</p> }.into_any()
            } else {
                view! {
                    <table class="table compact">
                        <thead><tr><th>"Agent"</th><th>"Runs"</th><th>"Credits"</th></tr></thead>
                        <tbody>{agents.into_iter().map(|(name, credits, runs)| {
                            let label = name.clone();
                            view! { <tr data-agent=name><td>{label}</td><td>{runs}</td><td>{credits}</td></tr> }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </figure>
    }
}

/// The ledger lines read so far, newest first, and where to read on.
#[derive(Clone, Copy)]
struct History {
    slug: StoredValue<String>,
    lines: RwSignal<Vec<LedgerLine>>,
    cursor: RwSignal<Option<String>>,
    error: RwSignal<Option<ApiError>>,
    loading: RwSignal<bool>,
    /// Bumped by every read: only the latest read's answer is taken (a
    /// reload after a payment overtakes an "older lines" read).
    generation: StoredValue<u64>,
}

impl History {
    fn new(slug: String) -> Self {
        let history = Self {
            slug: StoredValue::new(slug),
            lines: RwSignal::new(Vec::new()),
            cursor: RwSignal::new(None),
            error: RwSignal::new(None),
            loading: RwSignal::new(false),
            generation: StoredValue::new(0),
        };
        history.reload();
        history
    }

    fn reload(self) {
        self.read(None);
    }

    fn more(self) {
        if let Some(cursor) = self.cursor.get_untracked() {
            self.read(Some(cursor));
        }
    }

    fn read(self, cursor: Option<String>) {
        let workspace = Some(self.slug.get_value());
        let more = cursor.is_some();
        self.loading.set(true);
        self.generation.update_value(|g| *g += 1);
        let generation = self.generation.get_value();
        leptos::task::spawn_local(async move {
            let answer = ledger_lines(workspace, cursor, Some(50)).await;
            if self.generation.try_get_value() != Some(generation) {
                return; // overtaken, or the page is gone
            }
            self.loading.set(false);
            match answer {
                Ok(page) => {
                    self.error.set(None);
                    self.lines.update(|lines| {
                        if !more {
                            lines.clear();
                        }
                        lines.extend(page.items);
                    });
                    self.cursor.set(page.next_cursor);
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }
}

#[component]
fn HistoryView(history: History) -> impl IntoView {
    let csv = format!(
        "/api/v1/ledger.csv?workspace={}",
        super::encode_component(&history.slug.get_value())
    );
    let error = history.error;
    view! {
        <section class="panel" data-testid="ledger">
            <div class="panel-head">
                <h2>"History"</h2>
                <a class="button small" href=csv download data-testid="export-csv" rel="external">"Export CSV"</a>
            </div>
            <FormError error fields=&[] />
            {move || if history.lines.with(Vec::is_empty) && !history.loading.get() {
                view! { <p class="muted">"No movements yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"When"</th><th>"What"</th><th>"Account"</th><th>"Credits"</th><th>"Agent"</th><th>"Run"</th></tr></thead>
                        <tbody>{move || history.lines.get().into_iter().map(|line| view! {
                            <tr data-testid="ledger-line" data-kind=line.kind.clone()>
                                <td>{super::time::second(line.at)}</td>
                                <td>{line.memo.clone()}</td>
                                <td>{line.account.clone()}</td>
                                <td class=if line.amount < 0 { "amount out" } else { "amount in" }>
                                    {if line.amount > 0 { format!("+{}", line.amount) } else { line.amount.to_string() }}
                                </td>
                                <td>{line.agent.clone().unwrap_or_default()}</td>
                                <td>{line.run.map(|run| view! {
                                    <a href=format!("/runs/{run}")>"run"</a>
                                })}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            {move || history.cursor.get().is_some().then(|| view! {
                <button class="button small" data-testid="ledger-more" on:click=move |_| history.more()
                    disabled=move || history.loading.get()>"Older lines"</button>
            })}
        </section>
    }
}

/// An amount in a currency's smallest unit, for people.
pub(crate) fn money(cents: i64, currency: &str) -> String {
    let whole = format!("{}.{:02}", cents / 100, cents % 100);
    match currency {
        "usd" => format!("${whole}"),
        "eur" => format!("€{whole}"),
        "gbp" => format!("£{whole}"),
        other => format!("{whole} {}", other.to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_reads_as_people_write_it() {
        assert_eq!(money(1000, "usd"), "$10.00");
        assert_eq!(money(5, "eur"), "€0.05");
        assert_eq!(money(12345, "chf"), "123.45 CHF");
    }
}
