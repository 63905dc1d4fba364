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
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let data = match data.await {
                    Ok(Some(d)) => d,
                    Ok(None) => return view! { <Redirect path=SIGN_IN/> }.into_any(),
                    Err(e) => return view! { <p class="form-error" role="alert">{error_message(&e)}</p> }.into_any(),
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
                    <div class="dashboard">
                        <header class="topbar">
                            <strong>"Gatehouse"</strong>
                            <span class="topbar-right"><span class="muted">{data.email}</span><ThemeToggle/></span>
                        </header>
                        <main class="content">
                            {new_keys}
                            <section class="panel" aria-labelledby="projects-heading">
                                <h1 id="projects-heading">"Projects"</h1>
                                <table class="table">
                                    <thead><tr><th>"Name"</th><th>"Project ID"</th><th>"Created"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </section>
                            <section class="panel" aria-labelledby="new-project-heading">
                                <h2 id="new-project-heading">"New project"</h2>
                                <ActionForm action=create attr:class="auth-form inline-form">
                                    <Field label="Project name" name="display_name"/>
                                    <FormError message=error/>
                                    <button type="submit" class="primary" disabled=move || create.pending().get()>
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
