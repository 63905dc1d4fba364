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
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
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
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="users-heading">
                            <h1 id="users-heading">"Users"</h1>
                            <form method="get" class="mb-4 flex flex-wrap gap-2 [&_input]:min-w-48 [&_input]:flex-1 [&_input]:rounded-lg [&_input]:border [&_input]:border-line [&_input]:bg-page [&_input]:px-2.5 [&_input]:py-1.5 [&_select]:rounded-lg [&_select]:border [&_select]:border-line [&_select]:bg-page [&_select]:px-2.5 [&_select]:py-1.5" role="search">
                                <label class="sr-only" for="user-search">"Search users"</label>
                                <input id="user-search" type="search" name="query" value=text placeholder="Search by email, name or ID"/>
                                <label class="sr-only" for="user-sort">"Sort"</label>
                                <select id="user-sort" name="sort">
                                    {sorts.into_iter().map(|(value, label)| view! {
                                        <option value=value selected={value == sort}>{label}</option>
                                    }).collect_view()}
                                </select>
                                <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink">"Search"</button>
                            </form>
                            <table class="w-full border-collapse text-sm [&_th]:border-b [&_th]:border-line [&_th]:p-2 [&_th]:text-left [&_th]:font-semibold [&_th]:text-muted [&_td]:border-b [&_td]:border-line [&_td]:p-2 [&_td]:[overflow-wrap:anywhere]">
                                <thead><tr><th>"Email"</th><th>"Name"</th><th>"User ID"</th><th>"Signed up"</th><th>"Last active"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {empty.then(|| view! { <p class="text-sm text-muted">"No users match."</p> })}
                            {next.map(|href| view! { <p class="mt-4 text-right"><a href=href rel="next">"Next page →"</a></p> })}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
