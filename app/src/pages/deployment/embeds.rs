//! The Embeds panel: the deployment on other websites. Each embed with its
//! snippet to copy, its numbers over the last two weeks, a live preview on
//! demand (the frame, framed by this server's own page: the owner's
//! preview, which opens a visitor session, so never on load) and, for
//! members and up, its controls and the form that adds or edits one. A
//! secret is shown once, in its embed's card, when made or rotated.

use leptos::prelude::*;
use uuid::Uuid;

use super::state::Page;
use crate::api::embeds::{
    create_embed, delete_embed, get_embed_stats, list_embeds, replace_embed, rotate_embed_secret,
};
use crate::auth::use_auth;
use crate::components::browser::{confirm, copy, focus_first, origin, pause};
use crate::components::form::{FieldError, FormError};
use crate::pages::encode_component;
use crate::remote::Remote;
use types::account::Role;
use types::embed::{
    Embed, EmbedInput, EmbedLook, EmbedMode, EmbedPosition, EmbedSettings, EmbedStats, EmbedTheme,
    EmbedWithSecret,
};
use types::error::{ApiError, code};

/// The days the numbers and the chart cover.
const STATS_DAYS: i64 = 14;

/// The fields the server may blame, each shown under its input.
const FIELDS: &[&str] = &[
    "name",
    "allowed_origins",
    "input",
    "look.color",
    "look.title",
    "look.greeting",
    "per_visitor_minute",
    "per_visitor_day",
    "per_embed_minute",
    "daily_cap_credits",
];

/// What the form is open for.
#[derive(Clone, Debug, PartialEq)]
enum Editing {
    New,
    Existing(Box<Embed>),
}

/// A secret just made or rotated: shown once, in its embed's card.
#[derive(Clone, Debug, PartialEq)]
struct Fresh {
    made: bool,
    shown: EmbedWithSecret,
}

#[component]
pub(super) fn Embeds(page: Page) -> impl IntoView {
    let deployment = page.id;
    let embeds = Remote::new(move || list_embeds(deployment));
    let editing = RwSignal::new(None::<Editing>);
    let fresh = RwSignal::new(None::<Fresh>);
    let error = RwSignal::new(None::<ApiError>);
    let may_change = may_change(page);
    let saved = Callback::new(move |made: Option<EmbedWithSecret>| {
        editing.set(None);
        if let Some(shown) = made {
            fresh.set(Some(Fresh { made: true, shown }));
        }
        embeds.reload();
    });
    view! {
        <section class="panel embeds" data-embeds-panel data-testid="embeds">
            <h2>"Embeds"</h2>
            <p class="muted small">"This deployment on other websites, as a chat bubble or an inline form, shown only on the sites you allow. Visitors need no account; their runs are charged to this workspace, within the limits and daily cap you set here and the deployment's spend cap."</p>
            {embeds.view("Loading embeds…", move |list| if list.is_empty() {
                view! { <p class="muted small" data-testid="no-embeds">"No embeds."</p> }.into_any()
            } else {
                list.into_iter().map(|embed| view! {
                    <EmbedCard deployment embed may_change fresh editing error changed=Callback::new(move |()| embeds.reload()) />
                }).collect_view().into_any()
            })}
            <FormError error fields=&[] />
            {move || match editing.get() {
                Some(target) => view! { <EmbedForm deployment target editing saved /> }.into_any(),
                None => may_change.get().then(|| view! {
                    <button class="button" type="button" on:click=move |_| open_form(editing, Editing::New)>"Add embed"</button>
                }).into_any(),
            }}
        </section>
    }
}

/// Opens the form for `target` and takes the keyboard there.
fn open_form(editing: RwSignal<Option<Editing>>, target: Editing) {
    editing.set(Some(target));
    leptos::task::spawn_local(async {
        pause(0).await;
        focus_first("[data-embed-form] input[name=embed-name]");
    });
}

/// Whether the caller may change the deployment (its embeds, its
/// connections): a member or up of its workspace (the server checks
/// again; this only hides controls).
pub(super) fn may_change(page: Page) -> Signal<bool> {
    let auth = use_auth();
    let workspace = page.current.with_untracked(|d| d.workspace.clone());
    Signal::derive(move || {
        auth.me.with(|me| {
            me.as_ref().is_some_and(|me| {
                me.workspaces
                    .iter()
                    .any(|w| w.slug == workspace && w.role >= Role::Member)
            })
        })
    })
}

/// One embed: what it is, its snippet, its numbers, its preview and (for
/// members and up) its controls.
#[component]
fn EmbedCard(
    deployment: Uuid,
    embed: Embed,
    may_change: Signal<bool>,
    fresh: RwSignal<Option<Fresh>>,
    editing: RwSignal<Option<Editing>>,
    error: RwSignal<Option<ApiError>>,
    changed: Callback<()>,
) -> impl IntoView {
    let id = embed.id.clone();
    let settings = embed.settings.clone();
    let enabled = settings.enabled;
    let previewing = RwSignal::new(false);
    let copied = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let name = StoredValue::new(settings.name.clone());
    let key = StoredValue::new(id.clone());
    let toggle = {
        let settings = settings.clone();
        move |_| {
            let mut settings = settings.clone();
            settings.enabled = !enabled;
            let embed = key.get_value();
            busy.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                match replace_embed(deployment, embed, settings).await {
                    Ok(_) => changed.run(()),
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        }
    };
    let rotate = move |_| {
        let question = format!(
            "Rotate the secret of “{}”? User claims signed with the current secret are refused from now on.",
            name.get_value()
        );
        if !confirm(&question) {
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match rotate_embed_secret(deployment, key.get_value()).await {
                Ok(shown) => fresh.set(Some(Fresh { made: false, shown })),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let remove = move |_| {
        let question = format!(
            "Delete the embed “{}”? Its snippet stops working at once on every site, and its conversations are deleted.",
            name.get_value()
        );
        if !confirm(&question) {
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match delete_embed(deployment, key.get_value()).await {
                Ok(()) => {
                    fresh.update(|shown| {
                        if shown
                            .as_ref()
                            .is_some_and(|f| f.shown.embed.id == key.get_value())
                        {
                            *shown = None;
                        }
                    });
                    changed.run(());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let edit = {
        let embed = embed.clone();
        move |_| open_form(editing, Editing::Existing(Box::new(embed.clone())))
    };
    let snippet = embed.snippet.clone();
    let preview_src = format!("/embed/{id}?origin={}", encode_component(&origin()));
    let preview_title = format!("Preview of the embed “{}”", settings.name);
    let own_secret = {
        let id = id.clone();
        move || fresh.get().filter(|f| f.shown.embed.id == id)
    };
    view! {
        <article class="embed-card" data-embed-row=id.clone() data-enabled=enabled.to_string()>
            <header class="embed-head">
                <h3>{settings.name.clone()}</h3>
                <span class={if enabled { "badge" } else { "badge warn" }}>{if enabled { "On" } else { "Off" }}</span>
                <span class="tag">{settings.input.as_str()}</span>
                <span class="tag">{mode_label(settings.look.mode)}</span>
            </header>
            {move || own_secret().map(|f| view! { <Secret fresh=f dismiss=Callback::new(move |()| fresh.set(None)) /> })}
            <p class="small"><span class="muted">"Allowed on: "</span>
                {settings.allowed_origins.iter().map(|o| view! { <code>{o.clone()}</code>" " }).collect_view()}
                {settings.development.then(|| view! { <span class="muted">"and localhost (development mode)"</span> })}
            </p>
            <div class="embed-snippet">
                <pre class="output"><code data-snippet>{snippet.clone()}</code></pre>
                <button class="button small" type="button" on:click=move |_| {
                    copy(&snippet);
                    copied.set(true);
                }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            </div>
            <EmbedNumbers deployment embed=id.clone() cap=settings.daily_cap_credits />
            <div class="actions">
                <button class="button small" type="button" aria-pressed=move || previewing.get().to_string()
                    on:click=move |_| previewing.update(|on| *on = !*on)>
                    {move || if previewing.get() { "Hide preview" } else { "Preview" }}</button>
                {move || may_change.get().then(|| view! {
                    <button class="button small" type="button" disabled=move || busy.get() on:click=toggle.clone()>{if enabled { "Turn off" } else { "Turn on" }}</button>
                    <button class="button small" type="button" on:click=edit.clone()>"Edit"</button>
                    <button class="button small" type="button" disabled=move || busy.get() on:click=rotate>"Rotate secret"</button>
                    <button class="button small danger" type="button" disabled=move || busy.get() on:click=remove>"Delete"</button>
                })}
            </div>
            {move || previewing.get().then(|| view! {
                <iframe class="embed-preview" data-embed-preview src=preview_src.clone() title=preview_title.clone()
                    width="360" height="520"></iframe>
                <p class="muted small">"This opens a visitor session as this site; messages sent here run the agent and count like any other."</p>
            })}
        </article>
    }
}

fn mode_label(mode: EmbedMode) -> &'static str {
    match mode {
        EmbedMode::Bubble => "bubble",
        EmbedMode::Inline => "inline",
    }
}

/// A secret just made or rotated, with what it is for.
#[component]
fn Secret(fresh: Fresh, dismiss: Callback<()>) -> impl IntoView {
    let secret = fresh.shown.secret.clone();
    view! {
        <div class="panel panel-notice" role="status" data-testid="embed-secret-notice">
            <p>{if fresh.made { "Embed made. Paste its snippet (below) into your site's pages. " } else { "Secret rotated. " }}
                "Copy the secret now: it will not be shown again."</p>
            <code class="token" data-embed-secret>{fresh.shown.secret.clone()}</code>
            <p class="small">"The secret signs " <code>"user"</code> " claims from your site's backend, so the agent knows who is signed in: "
                <code>"<user>.<expiry>.<hex HMAC-SHA256 of \"<user>.<expiry>\">"</code>
                " (expiry in Unix seconds, at most 7 days ahead), passed as the snippet's " <code>"data-user"</code> ". Keep it on your server, never in a page."</p>
            <div class="actions">
                <button class="button small" type="button" on:click=move |_| copy(&secret)>"Copy secret"</button>
                <button class="button small" type="button" on:click=move |_| dismiss.run(())>"I have copied it"</button>
            </div>
        </div>
    }
}

/// An embed's numbers over `STATS_DAYS` days: totals, today's spend
/// against the daily cap, and views and runs by day.
#[component]
fn EmbedNumbers(deployment: Uuid, embed: String, cap: Option<i64>) -> impl IntoView {
    let stats = Remote::new(move || get_embed_stats(deployment, embed.clone(), Some(STATS_DAYS)));
    view! {
        <div class="embed-numbers" data-testid="embed-numbers">
            {stats.view("Loading numbers…", move |stats| view! {
                <dl class="embed-totals">
                    <div><dt>"Views"</dt><dd data-testid="embed-views">{stats.views}</dd></div>
                    <div><dt>"Runs"</dt><dd data-testid="embed-runs">{stats.runs}</dd></div>
                    <div><dt>"Failures"</dt><dd>{stats.failures}</dd></div>
                    <div><dt>"Credits spent"</dt><dd>{stats.spent_credits}</dd></div>
                    <div><dt>"Spent today"</dt><dd data-testid="embed-today">{stats.spent_today}
                        <span class="muted small">{match cap { Some(cap) => format!(" of {cap}"), None => " · no cap".to_owned() }}</span></dd></div>
                </dl>
                <DayChart stats />
            })}
        </div>
    }
}

/// Views (light) and runs (failures in red) by day, as SVG bars.
#[component]
fn DayChart(stats: EmbedStats) -> impl IntoView {
    const WIDTH: f64 = 280.0;
    const HEIGHT: f64 = 60.0;
    let slot = WIDTH / stats.days.len().max(1) as f64;
    let most = stats
        .days
        .iter()
        .map(|day| day.views.max(day.runs))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bar = |count: i64| count as f64 / most * HEIGHT;
    let span = match (stats.days.first(), stats.days.last()) {
        (Some(first), Some(last)) => format!("{} to {}", first.day, last.day),
        _ => String::new(),
    };
    view! {
        <figure class="embed-chart">
            <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img"
                aria-label="Views and runs by day; failures in red" data-testid="embed-chart">
                {stats.days.iter().enumerate().map(|(i, day)| {
                    let x = i as f64 * slot;
                    view! {
                        <g>
                            <title>{format!("{}: {} views, {} runs, {} failed, {} credits", day.day, day.views, day.runs, day.failures, day.spent_credits)}</title>
                            <rect class="bar-views" x=x + 1.0 y=HEIGHT - bar(day.views) width=slot - 2.0 height=bar(day.views) />
                            <rect class="bar" x=x + slot * 0.25 y=HEIGHT - bar(day.runs) width=slot * 0.5 height=bar(day.runs) />
                            <rect class="bar-failed" x=x + slot * 0.25 y=HEIGHT - bar(day.failures) width=slot * 0.5 height=bar(day.failures) />
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="muted small">"Views (light) and runs (failures in red) by day (UTC), " {span}</figcaption>
        </figure>
    }
}

/// The form's fields as typed; numbers stay text until saved, so a
/// half-typed one is not lost.
#[derive(Clone, Copy)]
struct Draft {
    name: RwSignal<String>,
    origins: RwSignal<String>,
    development: RwSignal<bool>,
    input: RwSignal<EmbedInput>,
    mode: RwSignal<EmbedMode>,
    position: RwSignal<EmbedPosition>,
    color: RwSignal<String>,
    theme: RwSignal<EmbedTheme>,
    title: RwSignal<String>,
    greeting: RwSignal<String>,
    per_visitor_minute: RwSignal<String>,
    per_visitor_day: RwSignal<String>,
    per_embed_minute: RwSignal<String>,
    daily_cap: RwSignal<String>,
    enabled: RwSignal<bool>,
}

impl Draft {
    fn new(settings: &EmbedSettings) -> Self {
        let look = &settings.look;
        Self {
            name: RwSignal::new(settings.name.clone()),
            origins: RwSignal::new(settings.allowed_origins.join("\n")),
            development: RwSignal::new(settings.development),
            input: RwSignal::new(settings.input),
            mode: RwSignal::new(look.mode),
            position: RwSignal::new(look.position),
            color: RwSignal::new(look.color.clone()),
            theme: RwSignal::new(look.theme),
            title: RwSignal::new(look.title.clone()),
            greeting: RwSignal::new(look.greeting.clone().unwrap_or_default()),
            per_visitor_minute: RwSignal::new(settings.per_visitor_minute.to_string()),
            per_visitor_day: RwSignal::new(settings.per_visitor_day.to_string()),
            per_embed_minute: RwSignal::new(settings.per_embed_minute.to_string()),
            daily_cap: RwSignal::new(
                settings
                    .daily_cap_credits
                    .map(|cap| cap.to_string())
                    .unwrap_or_default(),
            ),
            enabled: RwSignal::new(settings.enabled),
        }
    }

    /// The settings as typed, or the field that is not a number.
    fn settings(self) -> Result<EmbedSettings, ApiError> {
        let number = |field: &'static str, text: RwSignal<String>| {
            text.get_untracked()
                .trim()
                .parse::<i32>()
                .map_err(|_| invalid(field, "must be a whole number"))
        };
        let daily_cap_credits = match self.daily_cap.get_untracked().trim() {
            "" => None,
            cap => Some(cap.parse::<i64>().map_err(|_| {
                invalid(
                    "daily_cap_credits",
                    "must be a whole number of credits, or empty for no daily cap",
                )
            })?),
        };
        let greeting = self.greeting.get_untracked();
        Ok(EmbedSettings {
            name: self.name.get_untracked(),
            allowed_origins: self
                .origins
                .get_untracked()
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
            development: self.development.get_untracked(),
            input: self.input.get_untracked(),
            look: EmbedLook {
                mode: self.mode.get_untracked(),
                position: self.position.get_untracked(),
                color: self.color.get_untracked(),
                theme: self.theme.get_untracked(),
                title: self.title.get_untracked(),
                greeting: (!greeting.trim().is_empty()).then_some(greeting),
            },
            per_visitor_minute: number("per_visitor_minute", self.per_visitor_minute)?,
            per_visitor_day: number("per_visitor_day", self.per_visitor_day)?,
            per_embed_minute: number("per_embed_minute", self.per_embed_minute)?,
            daily_cap_credits,
            enabled: self.enabled.get_untracked(),
        })
    }
}

fn invalid(field: &'static str, message: &str) -> ApiError {
    ApiError {
        field: Some(field.to_owned()),
        ..ApiError::new(code::INVALID_PARAMETER, format!("{field}: {message}"))
    }
}

/// A new embed's settings: the DTO's own defaults, as the REST API fills
/// the fields a request leaves out.
fn new_settings() -> Result<EmbedSettings, ApiError> {
    serde_json::from_value(serde_json::json!({ "name": "", "allowed_origins": [] }))
        .map_err(|e| ApiError::new(code::INVALID_PARAMETER, e.to_string()))
}

/// Adds an embed, or edits `target`'s settings; `saved` gets the secret
/// of one just made.
#[component]
fn EmbedForm(
    deployment: Uuid,
    target: Editing,
    editing: RwSignal<Option<Editing>>,
    saved: Callback<Option<EmbedWithSecret>>,
) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let (settings, existing, heading) = match target {
        Editing::New => (new_settings(), None, "Add an embed".to_owned()),
        Editing::Existing(embed) => {
            let heading = format!("Edit “{}”", embed.settings.name);
            (Ok(embed.settings), Some(embed.id), heading)
        }
    };
    let draft = match settings {
        Ok(settings) => Draft::new(&settings),
        Err(e) => {
            error.set(Some(e));
            return view! { <FormError error fields=&[] /> }.into_any();
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let settings = match draft.settings() {
            Ok(settings) => settings,
            Err(e) => return error.set(Some(e)),
        };
        let existing = existing.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = match existing {
                None => create_embed(deployment, settings).await.map(Some),
                Some(embed) => replace_embed(deployment, embed, settings)
                    .await
                    .map(|_| None),
            };
            busy.set(false);
            match answer {
                Ok(made) => saved.run(made),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let text = |signal: RwSignal<String>| {
        (
            move || signal.get(),
            move |ev: leptos::ev::Event| signal.set(event_target_value(&ev)),
        )
    };
    let (name_value, name_input) = text(draft.name);
    let (origins_value, origins_input) = text(draft.origins);
    let (color_value, color_input) = text(draft.color);
    let (title_value, title_input) = text(draft.title);
    let (greeting_value, greeting_input) = text(draft.greeting);
    let (pvm_value, pvm_input) = text(draft.per_visitor_minute);
    let (pvd_value, pvd_input) = text(draft.per_visitor_day);
    let (pem_value, pem_input) = text(draft.per_embed_minute);
    let (cap_value, cap_input) = text(draft.daily_cap);
    view! {
        <form class="embed-form" on:submit=submit data-embed-form data-testid="embed-form">
            <h3>{heading}</h3>
            <label>"Name"
                <input type="text" name="embed-name" required maxlength="80" placeholder="Shop assistant"
                    prop:value=name_value on:input=name_input />
            </label>
            <FieldError error field="name" />
            <label>"Allowed origins (one per line)"
                <textarea name="embed-origins" rows="3" spellcheck="false" placeholder="https://shop.example.com\nhttps://*.example.com"
                    prop:value=origins_value on:input=origins_input></textarea>
            </label>
            <p class="muted small">"The sites that may show it, scheme and host only: " <code>"https://shop.example.com"</code> ", or " <code>"https://*.example.com"</code> " for its subdomains. Up to 20."</p>
            <FieldError error field="allowed_origins" />
            <label class="check"><input type="checkbox" name="embed-development" prop:checked=move || draft.development.get()
                on:change=move |ev| draft.development.set(event_target_checked(&ev)) />
                " Development mode"</label>
            <p class="muted small">"Also allows " <code>"http://localhost"</code> " and " <code>"http://127.0.0.1"</code> " (any port, or the one you list), to try it on your machine. Turn it off before going live."</p>
            <label>"Input"
                <select name="embed-input" on:change=move |ev| draft.input.set(EmbedInput::parse(&event_target_value(&ev)))>
                    <option value="chat" prop:selected=move || draft.input.get() == EmbedInput::Chat>"Chat: each message is a run with {\"message\": …}"</option>
                    <option value="form" prop:selected=move || draft.input.get() == EmbedInput::Form>"Form: made from the agent's input schema"</option>
                </select>
            </label>
            <FieldError error field="input" />
            <fieldset class="embed-fieldset">
                <legend>"Look"</legend>
                <label>"Mode"
                    <select name="embed-mode" on:change=move |ev| draft.mode.set(if event_target_value(&ev) == "inline" { EmbedMode::Inline } else { EmbedMode::Bubble })>
                        <option value="bubble" prop:selected=move || draft.mode.get() == EmbedMode::Bubble>"Bubble: a button in a corner"</option>
                        <option value="inline" prop:selected=move || draft.mode.get() == EmbedMode::Inline>"Inline: where the snippet is"</option>
                    </select>
                </label>
                <label>"Position"
                    <select name="embed-position" on:change=move |ev| draft.position.set(if event_target_value(&ev) == "bottom-left" { EmbedPosition::BottomLeft } else { EmbedPosition::BottomRight })>
                        <option value="bottom-right" prop:selected=move || draft.position.get() == EmbedPosition::BottomRight>"Bottom right"</option>
                        <option value="bottom-left" prop:selected=move || draft.position.get() == EmbedPosition::BottomLeft>"Bottom left"</option>
                    </select>
                </label>
                <div><label>"Colour"
                    <input type="color" name="embed-color" prop:value=color_value on:input=color_input />
                </label><FieldError error field="look.color" /></div>
                <label>"Theme"
                    <select name="embed-theme" on:change=move |ev| draft.theme.set(if event_target_value(&ev) == "dark" { EmbedTheme::Dark } else { EmbedTheme::Light })>
                        <option value="light" prop:selected=move || draft.theme.get() == EmbedTheme::Light>"Light"</option>
                        <option value="dark" prop:selected=move || draft.theme.get() == EmbedTheme::Dark>"Dark"</option>
                    </select>
                </label>
                <div class="wide"><label>"Title"
                    <input type="text" name="embed-title" required maxlength="60" prop:value=title_value on:input=title_input />
                </label><FieldError error field="look.title" /></div>
                <div class="wide"><label>"Greeting (optional)"
                    <textarea name="embed-greeting" rows="2" maxlength="500" placeholder="Hello! Ask me about our teas."
                        prop:value=greeting_value on:input=greeting_input></textarea>
                </label><FieldError error field="look.greeting" /></div>
            </fieldset>
            <fieldset class="embed-fieldset">
                <legend>"Limits"</legend>
                <div><label>"Messages per visitor a minute"
                    <input type="number" name="embed-per-visitor-minute" min="1" max="60" required prop:value=pvm_value on:input=pvm_input />
                </label><FieldError error field="per_visitor_minute" /></div>
                <div><label>"Messages per visitor a day"
                    <input type="number" name="embed-per-visitor-day" min="1" max="10000" required prop:value=pvd_value on:input=pvd_input />
                </label><FieldError error field="per_visitor_day" /></div>
                <div><label>"Messages from all visitors a minute"
                    <input type="number" name="embed-per-embed-minute" min="1" max="6000" required prop:value=pem_value on:input=pem_input />
                </label><FieldError error field="per_embed_minute" /></div>
                <div><label>"Daily cap in credits"
                    <input type="number" name="embed-daily-cap" min="0" placeholder="none" prop:value=cap_value on:input=cap_input />
                </label><FieldError error field="daily_cap_credits" /></div>
                <p class="wide muted small">"The daily cap is the most its runs may cost in a UTC day (price and model tokens). Empty: none; the deployment's monthly cap and the wallet still apply."</p>
            </fieldset>
            <label class="check"><input type="checkbox" name="embed-enabled" prop:checked=move || draft.enabled.get()
                on:change=move |ev| draft.enabled.set(event_target_checked(&ev)) />
                " Enabled: shown on the allowed sites"</label>
            <FormError error fields=FIELDS />
            <div class="actions">
                <button class="button primary" type="submit" disabled=move || busy.get()>"Save"</button>
                <button class="button" type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
            </div>
        </form>
    }
    .into_any()
}
