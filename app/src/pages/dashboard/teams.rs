//! The teams room: a project's teams (search, pages, a new team), and one team's members,
//! their permissions, invitations and metadata.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{action_error, encode_component, format_utc, Field, FormError};
use crate::components::{JsonField, PANEL, SMALL_BUTTON, TABLE};
use crate::server::{load_team, project_teams, AdminCreateTeam, AdminTeamAction, SaveTeam};

const BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink";
const INPUTS: &str = "[&_input]:min-w-48 [&_input]:flex-1 [&_input]:rounded-lg [&_input]:border [&_input]:border-line [&_input]:bg-page [&_input]:px-2.5 [&_input]:py-1.5";

#[component]
pub fn TeamsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let filters = Memo::new(move |_| {
        let q = query.read();
        (q.get("search").unwrap_or_default(), q.get("after"))
    });
    let create = ServerAction::<AdminCreateTeam>::new();
    let page = Resource::new(
        move || (project_id.get(), filters.get()),
        |(id, (search, after))| project_teams(id, Some(search), after),
    );
    let create_error = action_error(create);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let (search, _) = filters.get();
                let page = match page.await {
                    Ok(page) => page,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let next = page.next_after.map(|a| format!("?search={}&after={}", encode_component(&search), encode_component(&a)));
                let empty = page.teams.is_empty();
                let rows = page.teams.into_iter().map(|t| view! {
                    <tr>
                        <td><a href=format!("/projects/{id}/teams/{}", t.id)>{t.display_name}</a></td>
                        <td><code>{t.id}</code></td>
                        <td>{format_utc(t.created_at)}</td>
                    </tr>
                }).collect_view();
                view! {
                    <ProjectShell project_id=id.clone() project_name=page.project_name active="teams">
                        <section class=PANEL aria-labelledby="teams-heading">
                            <h1 id="teams-heading">"Teams"</h1>
                            <form method="get" class=format!("mb-4 flex flex-wrap gap-2 {INPUTS}") role="search">
                                <label class="sr-only" for="team-search">"Search teams"</label>
                                <input id="team-search" type="search" name="search" value=search placeholder="Search by name or ID"/>
                                <button type="submit" class=BUTTON>"Search"</button>
                            </form>
                            <table class=TABLE>
                                <thead><tr><th>"Name"</th><th>"Team ID"</th><th>"Created"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {empty.then(|| view! { <p class="text-sm text-muted">"No teams match."</p> })}
                            {next.map(|href| view! { <p class="mt-4 text-right"><a href=href rel="next">"Next page →"</a></p> })}
                        </section>
                        <section class=PANEL aria-labelledby="new-team-heading">
                            <h2 id="new-team-heading">"New team"</h2>
                            <ActionForm action=create attr:class="flex max-w-md flex-col gap-3">
                                <input type="hidden" name="project_id" value=id/>
                                <Field label="Name" name="display_name" autocomplete="off"/>
                                <FormError message=create_error/>
                                <button type="submit" class=BUTTON>"Create team"</button>
                            </ActionForm>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}

/// A one-button form posting a team action.
fn action_button(
    act: ServerAction<AdminTeamAction>,
    ids: (String, String),
    action: &'static str,
    target: String,
    permission: Option<String>,
    label: String,
) -> impl IntoView {
    let (project_id, team_id) = ids;
    view! {
        <ActionForm action=act attr:class="inline">
            <input type="hidden" name="project_id" value=project_id/>
            <input type="hidden" name="team_id" value=team_id/>
            <input type="hidden" name="action" value=action/>
            <input type="hidden" name="target" value=target/>
            {permission.map(|p| view! { <input type="hidden" name="permission" value=p/> })}
            <button type="submit" class=SMALL_BUTTON>{label}</button>
        </ActionForm>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let params = use_params_map();
    let ids = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("project_id").unwrap_or_default(),
            p.get("team_id").unwrap_or_default(),
        )
    });
    let save = ServerAction::<SaveTeam>::new();
    let act = ServerAction::<AdminTeamAction>::new();
    let keys = super::api_keys::OwnerKeysState::new("team", ids);
    let detail = Resource::new(
        move || (ids.get(), save.version().get(), act.version().get()),
        |((p, t), _, _)| load_team(p, t),
    );
    let (save_error, act_error) = (action_error(save), action_error(act));
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (project_id, team_id) = ids.get();
                let t = match detail.await {
                    Ok(t) => t,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let both = (project_id.clone(), team_id.clone());
                let members = t.members.iter().map(|m| {
                    let chips = m.permissions.iter().map(|p| view! {
                        <span class="permission inline-flex items-center gap-1 rounded-full border border-line px-2 py-0.5 text-xs">{p.clone()}
                            {action_button(act, both.clone(), "revoke", m.user_id.clone(), Some(p.clone()), "×".into())}
                        </span>
                    }).collect_view();
                    let options = t.permissions.iter().filter(|p| !m.permissions.contains(p))
                        .map(|p| view! { <option value=p.clone()>{p.clone()}</option> }).collect_view();
                    let (pid, tid, uid) = (project_id.clone(), team_id.clone(), m.user_id.clone());
                    view! {
                        <tr class="member" data-email=m.email.clone().unwrap_or_default()>
                            <td><a href=format!("/projects/{project_id}/users/{}", m.user_id)>{m.email.clone().unwrap_or_else(|| m.user_id.clone())}</a>
                                <br/><small class="text-muted">{m.name.clone().unwrap_or_default()}</small></td>
                            <td>{format_utc(m.joined_at)}</td>
                            <td><span class="flex flex-wrap gap-1">{chips}</span>
                                <ActionForm action=act attr:class="mt-1 inline-flex items-center gap-1">
                                    <input type="hidden" name="project_id" value=pid/>
                                    <input type="hidden" name="team_id" value=tid/>
                                    <input type="hidden" name="action" value="grant"/>
                                    <input type="hidden" name="target" value=uid/>
                                    <select name="permission" aria-label="Permission to grant" class="rounded-lg border border-line bg-page px-1 py-0.5 text-xs">{options}</select>
                                    <button type="submit" class=SMALL_BUTTON>"Grant"</button>
                                </ActionForm>
                            </td>
                            <td>{action_button(act, both.clone(), "remove", m.user_id.clone(), None, "Remove".into())}</td>
                        </tr>
                    }
                }).collect_view();
                let invitations = t.invitations.iter().map(|i| view! {
                    <li class="invitation flex items-center justify-between gap-2 text-sm">
                        <span>{i.email.clone()}" · until "{format_utc(i.expires_at)}</span>
                        {action_button(act, both.clone(), "withdraw", i.id.clone(), None, "Withdraw".into())}
                    </li>
                }).collect_view();
                let no_invitations = t.invitations.is_empty();
                let form = |action: &'static str, label: &'static str, field: &'static str, button: &'static str| {
                    let (pid, tid) = (project_id.clone(), team_id.clone());
                    view! {
                        <ActionForm action=act attr:class=format!("flex flex-wrap items-end gap-2 {INPUTS}")>
                            <input type="hidden" name="project_id" value=pid/>
                            <input type="hidden" name="team_id" value=tid/>
                            <input type="hidden" name="action" value=action/>
                            <Field label=label name="target" kind=field autocomplete="off" id=format!("team-{action}")/>
                            <button type="submit" class=BUTTON>{button}</button>
                        </ActionForm>
                    }
                };
                let add_form = form("add", "Add a user (ID or sign-in email)", "text", "Add member");
                let invite_form = form("invite", "Invite by email", "email", "Send invitation");
                let (p1, t1) = (project_id.clone(), team_id.clone());
                let keys_project = project_id.clone();
                view! {
                    <ProjectShell project_id=project_id.clone() project_name=t.project_name.clone() active="teams">
                        <section class=PANEL aria-labelledby="team-heading">
                            <h1 id="team-heading">{t.display_name.clone()}</h1>
                            <p class="text-sm text-muted">"Team ID "<code>{t.id.clone()}</code>" · created "{format_utc(t.created_at)}</p>
                            <ActionForm action=save attr:class="flex max-w-xl flex-col gap-4">
                                <input type="hidden" name="project_id" value=p1/>
                                <input type="hidden" name="team_id" value=t1/>
                                <Field label="Name" name="display_name" value=t.display_name.clone()/>
                                <Field label="Profile image URL" name="profile_image_url" kind="url" required=false value=t.profile_image_url.clone()/>
                                <JsonField label="Client metadata" name="client_metadata" value=t.client_metadata.clone()/>
                                <JsonField label="Client read-only metadata" name="client_read_only_metadata" value=t.client_read_only_metadata.clone()/>
                                <JsonField label="Server metadata" name="server_metadata" value=t.server_metadata.clone()/>
                                <FormError message=save_error/>
                                {move || saved().then(|| view! { <p class="m-0 text-sm text-muted" role="status">"Saved."</p> })}
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent">"Save team"</button>
                            </ActionForm>
                        </section>
                        <section class=PANEL aria-labelledby="members-heading">
                            <h2 id="members-heading">"Members"</h2>
                            <table class=TABLE>
                                <thead><tr><th>"User"</th><th>"Joined"</th><th>"Permissions (granted here)"</th><th></th></tr></thead>
                                <tbody>{members}</tbody>
                            </table>
                            <FormError message=act_error/>
                            <div class="mt-4">{add_form}</div>
                        </section>
                        <section class=PANEL aria-labelledby="invitations-heading">
                            <h2 id="invitations-heading">"Invitations"</h2>
                            <ul class="mb-3 flex flex-col gap-2">{invitations}</ul>
                            {no_invitations.then(|| view! { <p class="text-sm text-muted">"No pending invitations."</p> })}
                            {invite_form}
                        </section>
                        <super::api_keys::OwnerApiKeys project_id=keys_project state=keys/>
                        <section class="panel danger rounded-xl border border-danger bg-card px-6 py-5 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="delete-team-heading">
                            <h2 id="delete-team-heading">"Delete team"</h2>
                            <p class="text-sm text-muted">"Its memberships, permissions and invitations go with it."</p>
                            {action_button(act, both, "delete", String::new(), None, "Delete this team".into())}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
