//! Teams: the list and a form to start one, a team's members with roles,
//! invites and leaving, its audit log with filters, and the page an invite
//! link opens. The server decides every permission; controls only show
//! where they could work.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::time::minute as when;
use crate::api::teams::{
    accept_invite, change_member_role, create_invite, create_team, get_team, leave_team,
    list_invites, list_teams, remove_member, revoke_invite, team_audit_log,
};
use crate::auth::{RequireAuth, SignedInPage, use_auth};
use crate::components::form::{FieldError, FormError};
use crate::components::status::ErrorPanel;
use crate::remote::Remote;
use types::account::{
    AuditEvent, CreateInvite, CreateTeam, CreatedInvite, Member, Role, TeamDetail,
};
use types::error::ApiError;
use types::{InviteId, UserId};

/// Roles an invite or a role change can give (ownership too, for owners).
const ROLES: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

fn slug_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("slug").unwrap_or_default())
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    view! { <SignedInPage class="settings-page" title="Teams"><TeamList /><NewTeam /></SignedInPage> }
}

#[component]
fn TeamList() -> impl IntoView {
    let teams = Remote::new(list_teams);
    view! {
        <section class="panel">
            <h2>"Your teams"</h2>
            {teams.view("Loading teams…", |list| if list.is_empty() {
                        view! {
                            <p class="muted" data-testid="no-teams">"You are in no team yet. Start one below, or open an invite link."</p>
                        }.into_any()
                    } else { view! {
                            <ul class="team-list" data-testid="teams">
                                {list.into_iter().map(|team| view! {
                                    <li>
                                        <A href=format!("/teams/{}", team.slug)>{team.name}</A>
                                        <span class="badge">{team.role.as_str()}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                    }.into_any() })}
        </section>
    }
}

#[component]
fn NewTeam() -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let request = CreateTeam {
            name: name.get_untracked(),
            slug: None,
        };
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match create_team(request).await {
                Ok(team) => {
                    auth.load();
                    navigate(&format!("/teams/{}", team.slug), NavigateOptions::default());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="panel">
            <h2>"Start a team"</h2>
            <form class="stack" on:submit=create>
                <label>"Team name"
                    <input type="text" name="team-name" required maxlength="80" placeholder="Acme growth"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <FieldError error field="name" />
                <FieldError error field="slug" />
                <FormError error fields=&["name", "slug"] />
                <button class="button primary" type="submit">"Create team"</button>
            </form>
        </section>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let slug = slug_param();
    let team = Remote::new(move || get_team(slug.get()));
    view! {
        <RequireAuth>
            <div class="page settings-page">
                {team.view("Loading the team…", move |detail| view! {
                    <Team detail reload=Callback::new(move |()| team.reload()) />
                })}
            </div>
        </RequireAuth>
    }
}

#[component]
fn TeamTabs(slug: String, admin: bool) -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Team">
            <A href=format!("/teams/{slug}") exact=true>"Members"</A>
            {admin.then(|| view! { <A href=format!("/teams/{slug}/audit")>"Audit log"</A> })}
        </nav>
    }
}

#[component]
fn Team(detail: TeamDetail, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let me = auth
        .me
        .with_untracked(|me| me.as_ref().map(|me| me.user.id));
    let my_role = detail.workspace.role;
    let admin = my_role >= Role::Admin;
    let slug = detail.workspace.slug.clone();
    let error = RwSignal::new(None::<ApiError>);
    let navigate = use_navigate();

    let change = {
        let slug = slug.clone();
        move |user: UserId, role: Option<Role>| {
            let slug = slug.clone();
            error.set(None);
            leptos::task::spawn_local(async move {
                let changed = match role {
                    Some(role) => change_member_role(slug, user, role).await,
                    None => remove_member(slug, user).await,
                };
                match changed {
                    Ok(()) => reload.run(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let leave = {
        let slug = slug.clone();
        move |_| {
            let slug = slug.clone();
            let navigate = navigate.clone();
            error.set(None);
            leptos::task::spawn_local(async move {
                match leave_team(slug).await {
                    Ok(()) => {
                        auth.load();
                        navigate("/teams", NavigateOptions::default());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };

    view! {
        <h1>{detail.workspace.name.clone()}</h1>
        <p class="muted">"You are "<strong data-testid="my-role">{my_role.as_str()}</strong>" in this team."</p>
        <TeamTabs slug=slug.clone() admin />
        <section class="panel">
            <h2>"Members"</h2>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert" data-testid="team-error">{e.message}</p> })}
            <table class="table" data-testid="members">
                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Joined"</th><th></th></tr></thead>
                <tbody>{detail.members.into_iter().map(|member| {
                    let manage = admin && Some(member.user) != me;
                    view! { <MemberRow member manage my_role change=change.clone() /> }
                }).collect_view()}</tbody>
            </table>
            <button class="button" on:click=leave data-testid="leave-team">"Leave team"</button>
        </section>
        {admin.then(|| view! { <Invites slug=slug.clone() /> })}
    }
}

#[component]
fn MemberRow(
    member: Member,
    manage: bool,
    my_role: Role,
    change: impl Fn(UserId, Option<Role>) + Clone + 'static,
) -> impl IntoView {
    let user = member.user;
    let current = member.role;
    let handle = member.handle.clone();
    let role_cell = if manage {
        let change = change.clone();
        view! {
            <select aria-label=format!("Role of {}", member.handle) data-testid="member-role"
                on:change=move |ev| {
                    if let Some(role) = Role::parse(&event_target_value(&ev)) {
                        change(user, Some(role));
                    }
                }>
                {ROLES.into_iter().filter(|r| *r <= my_role || *r == current).map(|role| view! {
                    <option value=role.as_str() selected=role == current>{role.as_str()}</option>
                }).collect_view()}
            </select>
        }
        .into_any()
    } else {
        view! { <span class="badge">{current.as_str()}</span> }.into_any()
    };
    view! {
        <tr data-testid="member-row" data-handle=handle>
            <td>{member.display_name}<span class="muted small">" @"{member.handle}</span></td>
            <td>{member.email.unwrap_or_default()}</td>
            <td>{role_cell}</td>
            <td>{when(member.joined_at)}</td>
            <td>{manage.then(|| view! {
                <button class="button small" data-testid="remove-member" on:click=move |_| change(user, None)>"Remove"</button>
            })}</td>
        </tr>
    }
}

#[component]
fn Invites(slug: String) -> impl IntoView {
    let invites = {
        let slug = slug.clone();
        Remote::new(move || list_invites(slug.clone()))
    };
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Member);
    let created = RwSignal::new(None::<CreatedInvite>);
    let error = RwSignal::new(None::<ApiError>);

    let send = {
        let slug = slug.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            let request = CreateInvite {
                email: email.get_untracked(),
                role: role.get_untracked(),
            };
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                match create_invite(slug, request).await {
                    Ok(invite) => {
                        created.set(Some(invite));
                        email.set(String::new());
                        invites.reload();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let revoke = Callback::new(move |id: InviteId| {
        let slug = slug.clone();
        leptos::task::spawn_local(async move {
            match revoke_invite(slug, id).await {
                Ok(()) => invites.reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    });

    view! {
        <section class="panel">
            <h2>"Invite someone"</h2>
            <p class="muted small">"No email is sent: pass the link on yourself. It works once, for that address, for 7 days."</p>
            {move || created.get().map(|invite| view! {
                <div class="panel-notice" role="status" data-testid="invite-link">
                    <p>"Invite link for "<strong>{invite.invite.email}</strong>":"</p>
                    <code class="token">{invite.link}</code>
                </div>
            })}
            <form class="stack" on:submit=send>
                <label>"Email"
                    <input type="email" name="invite-email" required maxlength="254" placeholder="colleague@example.com"
                        prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) />
                </label>
                <FieldError error field="email" />
                <label>"Role"
                    <select name="invite-role" on:change=move |ev| {
                        if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r); }
                    }>
                        <option value="viewer">"viewer: sees everything, changes nothing"</option>
                        <option value="member" selected>"member: builds and runs agents"</option>
                        <option value="admin">"admin: also manages people and reads the audit log"</option>
                    </select>
                </label>
                <FieldError error field="role" />
                <FormError error fields=&["email", "role"] />
                <button class="button primary" type="submit">"Create invite link"</button>
            </form>
            <h3>"Pending invites"</h3>
            {invites.view("Loading invites…", move |list| if list.is_empty() {
                        view! { <p class="muted" data-testid="no-invites">"None."</p> }.into_any()
                    } else { view! {
                            <table class="table" data-testid="invites">
                                <thead><tr><th>"Email"</th><th>"Role"</th><th>"Expires"</th><th></th></tr></thead>
                                <tbody>{list.into_iter().map(|invite| {
                                    let id = invite.id;
                                    view! {
                                        <tr data-testid="invite-row">
                                            <td>{invite.email}</td>
                                            <td>{invite.role.as_str()}</td>
                                            <td>{when(invite.expires_at)}</td>
                                            <td><button class="button small" on:click=move |_| revoke.run(id)>"Revoke"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                    }.into_any() })}
        </section>
    }
}

/// Audit filters: the kinds of action a team's log holds.
const ACTION_FILTERS: [(&str, &str); 4] = [
    ("", "All actions"),
    ("member.", "Members and invites"),
    ("team.", "Team"),
    ("api_key.", "API keys"),
];

#[component]
pub fn TeamAuditPage() -> impl IntoView {
    let slug = slug_param();
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let actor_input = RwSignal::new(String::new());
    let events = RwSignal::new(Vec::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let loading = RwSignal::new(false);

    let fetch = move |cursor: Option<String>| {
        let (slug, action, by) = (
            slug.get_untracked(),
            action.get_untracked(),
            actor.get_untracked(),
        );
        let more = cursor.is_some();
        loading.set(true);
        leptos::task::spawn_local(async move {
            let (action, by) = (Some(action), Some(by));
            match team_audit_log(slug, action, by, Some(50), cursor).await {
                Ok(page) => {
                    error.set(None);
                    if more {
                        events.update(|list| list.extend(page.items));
                    } else {
                        events.set(page.items);
                    }
                    next.set(page.next_cursor);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    // Refetch from the top whenever the team or a filter changes.
    Effect::new(move |_| {
        slug.track();
        action.track();
        actor.track();
        fetch(None);
    });
    let apply_actor = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        actor.set(
            actor_input
                .get_untracked()
                .trim()
                .trim_start_matches('@')
                .to_owned(),
        );
    };

    view! {
        <RequireAuth>
            <div class="page settings-page">
                <h1>"Audit log"</h1>
                <TeamTabs slug=slug.get_untracked() admin=true />
                <section class="panel">
                    <form class="filters" on:submit=apply_actor>
                        <label>"Action"
                            <select data-testid="audit-action" on:change=move |ev| action.set(event_target_value(&ev))>
                                {ACTION_FILTERS.into_iter().map(|(value, label)| view! {
                                    <option value=value>{label}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label>"Actor"
                            <input type="search" data-testid="audit-actor" placeholder="handle"
                                prop:value=move || actor_input.get()
                                on:input=move |ev| actor_input.set(event_target_value(&ev)) />
                        </label>
                        <button class="button" type="submit">"Filter"</button>
                    </form>
                    {move || error.get().map(|error| view! { <ErrorPanel error /> })}
                    <table class="table" data-testid="audit">
                        <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"From"</th></tr></thead>
                        <tbody>
                            <For each=move || events.get() key=|event| event.id children=audit_row />
                        </tbody>
                    </table>
                    {move || (!loading.get() && error.with(Option::is_none) && events.with(Vec::is_empty)).then(|| view! {
                        <p class="muted" data-testid="audit-empty">"Nothing matches."</p>
                    })}
                    {move || next.get().map(|cursor| view! {
                        <button class="button" on:click=move |_| fetch(Some(cursor.clone()))>"Load older"</button>
                    })}
                </section>
            </div>
        </RequireAuth>
    }
}

fn audit_row(event: AuditEvent) -> impl IntoView {
    let action = event.action.clone();
    view! {
        <tr data-testid="audit-row" data-action=action>
            <td>{when(event.occurred_at)}</td>
            <td>{event.actor_handle.map(|h| format!("@{h}")).unwrap_or_else(|| "—".to_owned())}
                {event.actor_key.map(|_| view! { <span class="badge">"API key"</span> })}</td>
            <td><code>{event.action}</code></td>
            <td>{event.target_type}" "<span class="muted small">{event.target_id}</span>
                {(event.details.get() != "{}").then(|| view! { <code class="details">{event.details.get().to_owned()}</code> })}</td>
            <td title=event.user_agent>{event.ip}</td>
        </tr>
    }
}

#[component]
pub fn AcceptInvitePage() -> impl IntoView {
    view! {
        <RequireAuth>
            <AcceptInvite />
        </RequireAuth>
    }
}

#[component]
fn AcceptInvite() -> impl IntoView {
    let auth = use_auth();
    let params = use_params_map();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let accept = move |_| {
        let token = params.read_untracked().get("token").unwrap_or_default();
        let navigate = navigate.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match accept_invite(token).await {
                Ok(team) => {
                    auth.load();
                    auth.switch_to(team.id);
                    navigate(&format!("/teams/{}", team.slug), NavigateOptions::default());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
            <div class="page auth-page">
                <section class="panel auth-card">
                    <h1>"Join a team"</h1>
                    <p>"You were invited to a team on Agentdeck. Joining shows its agents and deployments, with the role the invite gives."</p>
                    <p class="muted small">{move || auth.me.with(|me| me.as_ref().map(|me| format!(
                        "You are signed in as {}. The invite must be for this address.",
                        me.user.email.clone().unwrap_or_default()
                    )))}</p>
                    {move || error.get().map(|e| view! {
                        <div class="panel panel-error" role="alert" data-testid="invite-error">{e.message}</div>
                    })}
                    <button class="button primary" data-testid="accept-invite" on:click=accept disabled=move || busy.get()>
                        "Accept invitation"
                    </button>
                </section>
            </div>
    }
}
