//! The pricing page: what a credit costs, what new accounts start with,
//! how runs are charged, the creators' share, spend caps and the models'
//! token prices, every number from the server's configuration.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::billing::get_pricing;
use crate::remote::Remote;
use types::billing::Pricing;

use super::wallet::money;

/// An example agent's price, in credits per run, for the worked example.
const EXAMPLE_PRICE: i64 = 5;

#[component]
pub fn PricingPage() -> impl IntoView {
    let pricing = Remote::new(get_pricing);
    view! {
        <div class="page pricing-page">
            <header>
                <h1>"Pricing"</h1>
                <p class="lede">"Pay per run, in credits. Runs that fail cost nothing."</p>
            </header>
            {pricing.view("Loading prices…", |pricing: Pricing| pricing_view(&pricing))}
        </div>
    }
}

fn pricing_view(pricing: &Pricing) -> impl IntoView + use<> {
    let credit = pricing.credit.clone();
    let credit_line = match &credit {
        Some(top_up) => format!(
            "One credit costs {}. Buy from {} to {} credits at a time in your wallet.",
            money(top_up.cents_per_credit, &top_up.currency),
            top_up.min_credits,
            top_up.max_credits,
        ),
        None => "Credits are not for sale on this server: no payment provider is configured. \
                 Every account has its starter credits."
            .to_owned(),
    };
    let share = pricing.creator_share_percent;
    let creator_credits = EXAMPLE_PRICE * share / 100;
    let example_cost = credit
        .as_ref()
        .map(|t| {
            format!(
                " ({})",
                money(EXAMPLE_PRICE * t.cents_per_credit, &t.currency)
            )
        })
        .unwrap_or_default();
    let models = pricing.models.clone();
    view! {
        <section class="panel" data-testid="pricing-credits">
            <h2>"Credits"</h2>
            <p data-testid="credit-price">{credit_line}</p>
            <p data-testid="starter-credits">
                "Every new account starts with " <strong>{pricing.starter_credits}" credits"</strong> "."
            </p>
        </section>
        <section class="panel">
            <h2>"Runs"</h2>
            <ul>
                <li>"Each agent shows its price in credits per run; free agents cost nothing."</li>
                <li>"A run's price is held when it starts and charged only if it succeeds. A run that fails, times out or is cancelled is given back in full."</li>
                <li>"Agents of your own workspace run free."</li>
                <li>"Trying an agent on its page is free for its free tries, then costs a run."</li>
            </ul>
        </section>
        <section class="panel" data-testid="creator-share">
            <h2>"Creators"</h2>
            <p>
                "Creators earn " <strong>{share}"%"</strong> " of every paid run of their agents; the platform keeps "
                {100 - share}"%. An agent priced at " {EXAMPLE_PRICE} " credits a run" {example_cost}
                " earns its creator " {creator_credits} " credits per successful run."
            </p>
        </section>
        <section class="panel">
            <h2>"Spend caps"</h2>
            <p>
                "Give a deployment, or an API key, a monthly cap in credits. A run that would pass it is refused "
                "before it starts (HTTP 402, " <code>"spend_cap_reached"</code> "), so a loop or a leaked key "
                "cannot spend more than you allowed. Caps count calendar months in UTC."
            </p>
        </section>
        {(!models.is_empty()).then(|| view! {
            <section class="panel" data-testid="model-prices">
                <h2>"Language models"</h2>
                <p class="muted">"Agents that call a model through Agentdeck pay for the tokens used, in credits per 1,000 tokens, rounded up to a whole credit once per run. A deployment with its own provider key pays its provider instead."</p>
                <table class="table">
                    <thead><tr><th>"Model"</th><th>"Input"</th><th>"Output"</th></tr></thead>
                    <tbody>
                        {models.into_iter().map(|m| view! {
                            <tr>
                                <td><code>{m.model}</code></td>
                                <td>{m.input_credits_per_1k}</td>
                                <td>{m.output_credits_per_1k}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        })}
        <p><A href="/">"Find an agent"</A> " · " <A href="/wallet">"Your wallet"</A></p>
    }
}
