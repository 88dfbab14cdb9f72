//! One published version, as it was published: changelog, capabilities,
//! README and source. Versions never change, so a link to one is permanent.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::agents::get_version;
use crate::remote::Remote;
use types::market::VersionDetail;

#[component]
pub fn VersionPage() -> impl IntoView {
    let params = use_params_map();
    let version = Remote::new(move || {
        let params = params.read();
        get_version(
            params.get("slug").unwrap_or_default(),
            params.get("version").unwrap_or_default(),
        )
    });
    view! {
        <div class="page version-page">
            {version.view("Loading version…", |v: VersionDetail| {
                let back = format!("/agents/{}", v.agent.slug);
                let name = v.agent.name.clone();
                let back_label = format!("← {name}");
                view! {
                <A href=back attr:class="back">{back_label}</A>
                <h1 data-testid="version-title">{name}" "{v.version.clone()}</h1>
                <p class="muted">
                    "Published "{super::time::long_date(v.created_at)}" by "{v.published_by.display_name.clone()}
                    " · SHA-256 "<code>{v.content_hash.get(..12).unwrap_or_default().to_owned()}</code>
                </p>
                {(!v.changelog.is_empty()).then(|| view! { <section class="panel"><h2>"Changes"</h2><p>{v.changelog.clone()}</p></section> })}
                <section class="panel">
                    <h2>"Capabilities"</h2>
                    <ul>{v.manifest.capabilities.describe().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                    <p class="muted small">{v.manifest.limits.describe()}</p>
                </section>
                <section class="panel">
                    <h2>"Source"</h2>
                    {match v.source.clone() {
                        Some(source) => view! { <pre class="source" data-testid="version-source">{source}</pre> }.into_any(),
                        None => view! {
                            <p class="muted" data-testid="source-private">"This paid agent's source is its author's: you can run it, not read or fork it."</p>
                        }.into_any(),
                    }}
                </section>
                <section class="panel markdown" inner_html=v.readme_html.clone()></section>
                }
            })}
        </div>
    }
}
