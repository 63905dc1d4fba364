//! `/setup?token=…`: the one-time link a fresh server prints when nobody may sign up to its
//! dashboard yet. Its holder creates the first admin, who owns the dashboard's own project.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{action_error, AuthCard, Field, FormError, NewPasswordField};
use crate::server::{error_message, setup_link_rules, ClaimServer};

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = Memo::new(move |_| query.read().get("token").unwrap_or_default());
    let valid = Resource::new(move || token.get(), setup_link_rules);
    let action = ServerAction::<ClaimServer>::new();
    let error = action_error(action);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match valid.await {
                    Err(e) => view! { <AuthCard title="Set up Gatehouse" project="">
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                    Ok(None) => view! { <AuthCard title="Set up Gatehouse" project="">
                        <p>"This setup link does not work any more: the server already has an admin, or it was restarted and printed a new link."</p>
                        <p class="mt-5 text-sm text-muted"><a href="/">"Go to the dashboard"</a></p>
                    </AuthCard> }.into_any(),
                    Ok(Some((min, max))) => view! { <AuthCard title="Create the first admin" project="">
                        <p class="mb-4 text-sm text-muted">"You hold this server's setup link. The account you create here administers the dashboard, including who else may sign up to it."</p>
                        <ActionForm action=action attr:class="flex flex-col gap-4">
                            <input type="hidden" name="token" value=token.get()/>
                            <Field label="Email" name="email" kind="email" autocomplete="email"/>
                            <NewPasswordField label=format!("Password (at least {min} characters)") name="password"
                                min=min max=max/>
                            <FormError message=error/>
                            <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || action.pending().get()>
                                {move || if action.pending().get() { "Creating the admin…" } else { "Create admin" }}
                            </button>
                        </ActionForm>
                    </AuthCard> }.into_any(),
                }
            })}
        </Suspense>
    }
}
