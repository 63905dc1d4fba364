use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::{created_keys, NewKeys};
use crate::components::{action_error, format_utc, Field, FormError, ThemeToggle};
use crate::server::{dashboard_data, error_message, CreateProject};

const SIGN_IN: &str = "/handler/internal/sign-in?after_auth_return_to=%2F";

#[component]
pub fn DashboardHome() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let data = Resource::new(move || create.version().get(), |_| dashboard_data());
    let created = created_keys();
    let error = action_error(create);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let data = match data.await {
                    Ok(Some(d)) => d,
                    Ok(None) => return view! { <Redirect path=SIGN_IN/> }.into_any(),
                    Err(e) => return view! { <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p> }.into_any(),
                };
                let new_keys = created.await.map(|k| view! { <NewKeys keys=k/> });
                let rows = data.projects.into_iter().map(|p| view! {
                    <tr>
                        <td><a href=format!("/projects/{}/overview", p.id)>{p.display_name}</a></td>
                        <td><code>{p.id}</code></td>
                        <td>{format_utc(p.created_at)}</td>
                    </tr>
                }).collect_view();
                view! {
                    <div class="min-h-screen">
                        <header class="flex flex-wrap items-center justify-between gap-2 border-b border-line bg-card px-4 py-3 sm:px-6">
                            <strong>"Gatehouse"</strong>
                            <span class="flex flex-wrap items-center gap-2 sm:gap-4"><span class="text-sm text-muted">{data.email}</span><ThemeToggle/></span>
                        </header>
                        <main class="mx-auto flex w-full max-w-5xl min-w-0 flex-1 flex-col gap-5 px-4 py-6">
                            {new_keys}
                            <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="projects-heading">
                                <h1 id="projects-heading">"Projects"</h1>
                                <table class="w-full border-collapse text-sm [&_th]:border-b [&_th]:border-line [&_th]:p-2 [&_th]:text-left [&_th]:font-semibold [&_th]:text-muted [&_td]:border-b [&_td]:border-line [&_td]:p-2 [&_td]:[overflow-wrap:anywhere]">
                                    <thead><tr><th>"Name"</th><th>"Project ID"</th><th>"Created"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </section>
                            <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="new-project-heading">
                                <h2 id="new-project-heading">"New project"</h2>
                                <ActionForm action=create attr:class="flex max-w-sm flex-col gap-4">
                                    <Field label="Project name" name="display_name"/>
                                    <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="credential_enabled" checked/>"Sign-in with email and password"</label>
                                    <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="sign_up_enabled" checked/>"New users can sign up"</label>
                                    <FormError message=error/>
                                    <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || create.pending().get()>
                                        {move || if create.pending().get() { "Creating…" } else { "Create project" }}
                                    </button>
                                </ActionForm>
                            </section>
                        </main>
                    </div>
                }.into_any()
            })}
        </Suspense>
    }
}
