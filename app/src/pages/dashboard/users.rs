use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{encode_component, format_utc};
use crate::server::project_users;

/// A project's users: search, sort, and pages that stay fast however deep they go. The controls
/// are a plain GET form and links, so they work without JavaScript.
#[component]
pub fn UsersPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let filters = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("query").unwrap_or_default(),
            q.get("sort").unwrap_or_else(|| "newest".into()),
            q.get("cursor"),
        )
    });
    let page = Resource::new(
        move || (project_id.get(), filters.get()),
        |(id, (text, sort, cursor))| project_users(id, Some(text), Some(sort), cursor),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let (text, sort, _) = filters.get();
                let page = match page.await {
                    Ok(page) => page,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let next = page.next_cursor.map(|c| format!(
                    "?query={}&sort={}&cursor={}", encode_component(&text), encode_component(&sort), encode_component(&c)
                ));
                let empty = page.users.is_empty();
                let rows = page.users.into_iter().map(|u| view! {
                    <tr>
                        <td><a href=format!("/projects/{id}/users/{}", u.id)>{u.email.unwrap_or_else(|| "(no email)".into())}</a></td>
                        <td>{u.display_name.unwrap_or_default()}</td>
                        <td><code>{u.id}</code></td>
                        <td>{format_utc(u.signed_up_at)}</td>
                        <td>{format_utc(u.last_active_at)}</td>
                    </tr>
                }).collect_view();
                let sorts = [("newest", "Newest first"), ("oldest", "Oldest first"), ("active", "Recently active")];
                view! {
                    <ProjectShell project_id=id project_name=page.project_name active="users">
                        <section class="panel" aria-labelledby="users-heading">
                            <h1 id="users-heading">"Users"</h1>
                            <form method="get" class="toolbar" role="search">
                                <label class="sr-only" for="user-search">"Search users"</label>
                                <input id="user-search" type="search" name="query" value=text placeholder="Search by email, name or ID"/>
                                <label class="sr-only" for="user-sort">"Sort"</label>
                                <select id="user-sort" name="sort">
                                    {sorts.into_iter().map(|(value, label)| view! {
                                        <option value=value selected={value == sort}>{label}</option>
                                    }).collect_view()}
                                </select>
                                <button type="submit" class="secondary small">"Search"</button>
                            </form>
                            <table class="table">
                                <thead><tr><th>"Email"</th><th>"Name"</th><th>"User ID"</th><th>"Signed up"</th><th>"Last active"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {empty.then(|| view! { <p class="muted">"No users match."</p> })}
                            {next.map(|href| view! { <p class="pager"><a href=href rel="next">"Next page →"</a></p> })}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
