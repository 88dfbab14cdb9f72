//! A creator's public page: who they are and the agents they publish.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::agents::get_creator;
use crate::components::agent_card::{AgentCard, runs_label};
use crate::remote::Remote;
use types::market::CreatorProfile;

#[component]
pub fn CreatorPage() -> impl IntoView {
    let params = use_params_map();
    let handle = Memo::new(move |_| params.read().get("handle").unwrap_or_default());
    let profile = Remote::new(move || get_creator(handle.get()));
    view! {
        <div class="page creator-page">
            {profile.view("Loading creator…", |profile: CreatorProfile| view! {
                <header class="agent-header">
                    <div>
                        <h1 data-testid="creator-name">{profile.author.display_name.clone()}</h1>
                        <p class="muted">
                            "@"{profile.author.handle.clone()}
                            " · joined "{super::time::long_date(profile.joined_at)}
                            " · "{runs_label(profile.total_runs)}
                        </p>
                    </div>
                </header>
                {if profile.agents.is_empty() {
                    view! { <p class="muted">"No public agents yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="grid" data-testid="agent-grid">
                            {profile.agents.into_iter().map(|agent| view! { <AgentCard agent /> }).collect_view()}
                        </div>
                    }.into_any()
                }}
            })}
        </div>
    }
}
