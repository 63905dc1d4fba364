//! The permissions room: team and project permission definitions, each shown as the tree of
//! what it contains; new ones, changes (a new id renames it everywhere), deletion; and the
//! permissions granted by default to team creators, team members and new users.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{DashboardError, ProjectShell};
use crate::components::{action_error, Field, FormError};
use crate::components::{PANEL, SMALL_BUTTON};
use crate::server::{
    load_permissions, DeletePermission, PermissionRow, SaveDefaultPermissions, SavePermission,
};

const BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink";

/// What `id` contains, as nested lists (a definition saved with a cycle is refused, but the
/// depth is bounded anyway).
fn tree(id: &str, all: &[PermissionRow], depth: usize) -> AnyView {
    let Some(row) = all.iter().find(|r| r.id == id) else {
        return ().into_any();
    };
    if row.contained.is_empty() || depth > 8 {
        return ().into_any();
    }
    let items = row
        .contained
        .iter()
        .map(|c| view! { <li><code>{c.clone()}</code>{tree(c, all, depth + 1)}</li> })
        .collect_view();
    view! { <ul class="ml-4 list-disc text-xs">{items}</ul> }.into_any()
}

#[component]
fn Definitions(
    project_id: String,
    scope: &'static str,
    rows: Vec<PermissionRow>,
    save: ServerAction<SavePermission>,
    delete: ServerAction<DeletePermission>,
) -> impl IntoView {
    let all = rows.clone();
    let items = rows
        .into_iter()
        .map(|r| {
            let contains = tree(&r.id, &all, 0);
            let description = r.description.clone();
            let editor = (!r.system).then(|| {
                let (pid, pid2, id, id2) = (project_id.clone(), project_id.clone(), r.id.clone(), r.id.clone());
                let contained = r.contained.join(" ");
                view! {
                    <details class="mt-1">
                        <summary class="cursor-pointer text-xs text-muted">"Edit"</summary>
                        <ActionForm action=save attr:class="mt-2 flex max-w-xl flex-col gap-2">
                            <input type="hidden" name="project_id" value=pid/>
                            <input type="hidden" name="scope" value=scope/>
                            <input type="hidden" name="old_id" value=id.clone()/>
                            <Field label="ID" name="id" value=id.clone() id=format!("{scope}-id-{id}")/>
                            <Field label="Description" name="description" required=false value=description id=format!("{scope}-description-{id}")/>
                            <Field label="Contains (IDs, separated by spaces)" name="contained" required=false value=contained id=format!("{scope}-contained-{id}")/>
                            <button type="submit" class=BUTTON>"Save"</button>
                        </ActionForm>
                        <ActionForm action=delete attr:class="mt-2">
                            <input type="hidden" name="project_id" value=pid2/>
                            <input type="hidden" name="scope" value=scope/>
                            <input type="hidden" name="id" value=id2/>
                            <button type="submit" class=SMALL_BUTTON>"Delete (and every grant of it)"</button>
                        </ActionForm>
                    </details>
                }
            });
            view! {
                <li class="permission-definition border-b border-line py-2" data-id=r.id.clone()>
                    <code class="font-semibold">{r.id.clone()}</code>
                    {r.system.then(|| view! { <span class="ml-2 text-xs text-muted">"(system)"</span> })}
                    <span class="ml-2 text-sm text-muted">{r.description.clone()}</span>
                    {contains}
                    {editor}
                </li>
            }
        })
        .collect_view();
    let label = if scope == "team" {
        "New team permission"
    } else {
        "New project permission"
    };
    view! {
        <ul class="mb-4">{items}</ul>
        <details>
            <summary class="cursor-pointer text-sm font-semibold">{label}</summary>
            <ActionForm action=save attr:class="mt-2 flex max-w-xl flex-col gap-2">
                <input type="hidden" name="project_id" value=project_id/>
                <input type="hidden" name="scope" value=scope/>
                <Field label="ID (lower-case letters, digits, _ and :)" name="id" id=format!("{scope}-new-id")/>
                <Field label="Description" name="description" required=false id=format!("{scope}-new-description")/>
                <Field label="Contains (IDs, separated by spaces)" name="contained" required=false id=format!("{scope}-new-contained")/>
                <button type="submit" class=BUTTON>"Create permission"</button>
            </ActionForm>
        </details>
    }
}

#[component]
pub fn PermissionsPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let save = ServerAction::<SavePermission>::new();
    let delete = ServerAction::<DeletePermission>::new();
    let defaults = ServerAction::<SaveDefaultPermissions>::new();
    let view_data = Resource::new(
        move || {
            (
                project_id.get(),
                save.version().get(),
                delete.version().get(),
                defaults.version().get(),
            )
        },
        |(id, ..)| load_permissions(id),
    );
    let errors = (
        action_error(save),
        action_error(delete),
        action_error(defaults),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let v = match view_data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let base = id.clone();
                let default_form = move |which: &'static str, label: &'static str, ids: Vec<String>| {
                    let pid = base.clone();
                    view! {
                        <ActionForm action=defaults attr:class="flex flex-wrap items-end gap-2">
                            <input type="hidden" name="project_id" value=pid/>
                            <input type="hidden" name="which" value=which/>
                            <Field label=label name="ids" required=false value=ids.join(" ") id=format!("defaults-{which}")/>
                            <button type="submit" class=BUTTON>"Save"</button>
                        </ActionForm>
                    }
                };
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name.clone() active="permissions">
                        <section class=PANEL aria-labelledby="permissions-heading">
                            <h1 id="permissions-heading">"Permissions"</h1>
                            <p class="text-sm text-muted">"A permission contains others: whoever holds it holds them too. Apps check them with "<code>"user.hasPermission(team, id)"</code>" or "<code>"GET /team-permissions?recursive=true"</code>"."</p>
                            <FormError message=errors.0/>
                            <FormError message=errors.1/>
                            <h2 class="mt-4">"Team permissions"</h2>
                            <Definitions project_id=id.clone() scope="team" rows=v.team.clone() save=save delete=delete/>
                            <h2 class="mt-6">"Project permissions"</h2>
                            <Definitions project_id=id.clone() scope="project" rows=v.project.clone() save=save delete=delete/>
                        </section>
                        <section class=PANEL aria-labelledby="defaults-heading">
                            <h2 id="defaults-heading">"Granted by default"</h2>
                            <div class="flex flex-col gap-3">
                                {default_form("teamCreator", "To whoever creates a team (team permissions)", v.team_creator.clone())}
                                {default_form("teamMember", "To whoever joins a team (team permissions)", v.team_member.clone())}
                                {default_form("signUp", "To every new user (project permissions)", v.sign_up.clone())}
                            </div>
                            <FormError message=errors.2/>
                            {move || defaults.value().get().is_some_and(|r| r.is_ok()).then(|| view! { <p class="m-0 mt-2 text-sm text-muted" role="status">"Saved the default grants."</p> })}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
