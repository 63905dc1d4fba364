//! The audit room: the project's audit log, newest first — what happened, who did it (a user,
//! an admin, a key, Gatehouse itself), from which address and browser, with the request's id —
//! searched by text, kind and actor with a plain GET form (the search lives in the URL), a page
//! at a time; and how long entries are kept. Nothing here edits an entry: nothing can.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{
    action_error, encode_component, format_utc, FormError, FIELD, PANEL, TABLE,
};
use crate::server::{load_audit, AuditRow, SaveRetention};

const BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink";

/// The kinds a search narrows to, by family (a kind's name up to its dot).
const FAMILIES: [(&str, &str); 14] = [
    ("session.", "Sessions: sign-ins, sign-ups, sign-outs"),
    ("sign_in.", "Failed sign-ins"),
    ("user.", "Users: changes, lockouts"),
    ("contact_channel.", "Email addresses"),
    ("team.", "Teams"),
    ("team_membership.", "Team members"),
    ("team_permission.", "Team permissions"),
    ("project_permission.", "Project permissions"),
    ("api_key.", "API keys"),
    ("project_api_key.", "Project keys"),
    ("config.", "Configuration"),
    ("project.", "Project"),
    ("webhook_endpoint.", "Webhook endpoints"),
    ("oauth_provider.", "Connected accounts"),
];

fn actor_of(project_id: &str, e: &AuditRow) -> AnyView {
    let who = match e.actor_type.as_str() {
        "user" => "User",
        "admin" => "Admin",
        "server" => "Server key",
        "client" => "Visitor",
        _ => "Gatehouse",
    };
    match (&e.actor_id, e.actor_type.as_str()) {
        (Some(id), "user") => {
            let href = format!("/projects/{project_id}/users/{id}");
            view! { <span>{who}" "<a href=href class="font-mono text-xs">{id.clone()}</a></span> }
                .into_any()
        }
        (Some(id), _) => {
            view! { <span>{who}" "<span class="font-mono text-xs">{id.clone()}</span></span> }
                .into_any()
        }
        (None, _) => view! { <span>{who}</span> }.into_any(),
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let search = Memo::new(move |_| {
        let q = query.read();
        let text = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
        (
            text("q"),
            text("kind"),
            text("actor_id"),
            q.get("cursor").and_then(|c| c.parse::<i64>().ok()),
        )
    });
    let retention = ServerAction::<SaveRetention>::new();
    let data = Resource::new(
        move || (project_id.get(), search.get(), retention.version().get()),
        |(id, (q, kind, actor, cursor), _)| load_audit(id, q, kind, actor, cursor),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let (q, kind, actor, cursor) = search.get();
                let searching = q.is_some() || kind.is_some() || actor.is_some();
                let options = FAMILIES.iter().map(|(value, label)| {
                    let selected = kind.as_deref() == Some(*value);
                    view! { <option value=*value selected=selected>{*label}</option> }
                }).collect_view();
                let rows = v.entries.iter().map(|e| view! {
                    <tr class="audit-entry" data-kind=e.kind.clone()>
                        <td class="whitespace-nowrap text-xs">{format_utc(e.at)}</td>
                        <td>
                            <div class="font-semibold">{e.summary.clone()}</div>
                            <div class="font-mono text-xs text-muted">{e.kind.clone()}" · "{e.object_id.clone()}</div>
                            <details class="text-xs"><summary class="cursor-pointer text-muted">"Details"</summary>
                                <pre class="whitespace-pre-wrap break-all">{e.data.clone()}</pre>
                                <div class="text-muted">"Browser: "{e.user_agent.clone().unwrap_or_else(|| "—".into())}</div>
                                <div class="text-muted">"Request: "<span class="font-mono">{e.request_id.clone().unwrap_or_else(|| "—".into())}</span></div>
                            </details>
                        </td>
                        <td>{actor_of(&id, e)}</td>
                        <td class="whitespace-nowrap font-mono text-xs">{e.ip.clone().unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }).collect_view();
                let empty = v.entries.is_empty();
                // The next page keeps the search.
                let older = v.next_cursor.map(|c| {
                    let mut href = format!("/projects/{id}/audit?cursor={c}");
                    for (key, value) in [("q", &q), ("kind", &kind), ("actor_id", &actor)] {
                        if let Some(value) = value {
                            href.push_str(&format!("&{key}={}", encode_component(value)));
                        }
                    }
                    view! { <a href=href class=BUTTON rel="next">"Older entries"</a> }
                });
                let newest = cursor.map(|_| view! { <a href=format!("/projects/{id}/audit") class=BUTTON>"Newest entries"</a> });
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name.clone() active="audit">
                        <section class=PANEL aria-labelledby="audit-heading">
                            <h1 id="audit-heading">"Audit log"</h1>
                            <p class="text-sm text-muted">"Every change to this project — sign-ins and failed ones, password and two-factor changes, ended sessions, admins' actions, keys, configuration, permissions — with who made it and from where. Entries cannot be edited or deleted; they are kept for "{v.retention_days}" days."</p>
                            <form method="get" action=format!("/projects/{id}/audit") class="flex flex-wrap items-end gap-2" role="search">
                                <label class=FIELD>"Search"<input name="q" type="search" value=q.clone().unwrap_or_default() placeholder="an email, id, address…"/></label>
                                <label class=FIELD>"Kind"
                                    <select name="kind">
                                        <option value="">"Everything"</option>
                                        {options}
                                    </select>
                                </label>
                                <label class=FIELD>"Actor id"<input name="actor_id" value=actor.clone().unwrap_or_default()/></label>
                                <button type="submit" class=BUTTON>"Search"</button>
                            </form>
                            {if empty {
                                let text = if searching { "No entries match this search." } else { "Nothing has happened in this project yet. Sign-ins, changes and admins' actions appear here as they happen." };
                                view! { <p class="text-sm text-muted">{text}</p> }.into_any()
                            } else {
                                view! {
                                    <table class=TABLE>
                                        <thead><tr><th>"When"</th><th>"What"</th><th>"Who"</th><th>"Address"</th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                }.into_any()
                            }}
                            <div class="flex gap-2">{newest}{older}</div>
                        </section>
                        <section class=PANEL aria-labelledby="audit-settings-heading">
                            <h2 id="audit-settings-heading">"Settings"</h2>
                            <ActionForm action=retention attr:class="flex flex-wrap items-end gap-2">
                                <input type="hidden" name="log" value="audit"/>
                                <input type="hidden" name="project_id" value=id.clone()/>
                                <label class=FIELD>"Keep entries for (days)"<input name="retention_days" type="number" min="1" max="3650" value=v.retention_days.to_string()/></label>
                                <button type="submit" class=BUTTON>"Save"</button>
                                <FormError message=action_error(retention)/>
                            </ActionForm>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
