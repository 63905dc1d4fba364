use leptos::prelude::*;

use super::passkeys::PasskeySignIn;
use super::{project_id, return_to, with_return, OAuthButtons};
use crate::components::{action_error, AuthCard, Field, FormError};
use crate::server::{error_message, project_info, SignIn};

#[component]
pub fn SignInPage() -> impl IntoView {
    let project_id = project_id();
    let return_to = return_to();
    let done = {
        let q = leptos_router::hooks::use_query_map();
        Memo::new(move |_| q.read().get("done").unwrap_or_default())
    };
    let info = Resource::new(move || project_id.get(), project_info);
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Err(e) => view! { <AuthCard title="Sign in" project="">
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                    Ok(p) if !p.credential_enabled => {
                        let magic = p.magic_link_enabled.then(|| with_return(format!("/handler/{}/magic-link", p.id), &return_to.get()));
                        let buttons = view! { <OAuthButtons project=p.clone() return_to=return_to.get()/> };
                        let passkey = p.passkey_enabled.then(|| view! { <PasskeySignIn project_id=p.id.clone() return_to=return_to.get()/> });
                        view! { <AuthCard title="Sign in" project=p.display_name>
                            {passkey}
                            {buttons}
                            <p>"Signing in with a password is turned off for this project."</p>
                            {magic.map(|href| view! { <p class="mt-5"><a href=href>"Sign in with a code by email"</a></p> })}
                        </AuthCard> }.into_any()
                    }
                    Ok(p) => {
                        let sign_up_link = p.sign_up_enabled.then(|| with_return(format!("/handler/{}/sign-up", p.id), &return_to.get()));
                        let magic = p.magic_link_enabled.then(|| with_return(format!("/handler/{}/magic-link", p.id), &return_to.get()));
                        let forgot = format!("/handler/{}/forgot-password", p.id);
                        let reset_done = done.get() == "password-reset";
                        let buttons = view! { <OAuthButtons project=p.clone() return_to=return_to.get()/> };
                        let passkey = p.passkey_enabled.then(|| view! { <PasskeySignIn project_id=p.id.clone() return_to=return_to.get()/> });
                        // With passkeys on, the browser may offer them in the address field's autofill.
                        let email_autocomplete = if p.passkey_enabled { "email webauthn" } else { "email" };
                        view! {
                        <AuthCard title="Sign in" project=p.display_name>
                            {passkey}
                            {buttons}
                            {reset_done.then(|| view! { <p class="mb-4 text-sm" role="status">"Your password is changed. Sign in with the new one."</p> })}
                            <ActionForm action=action attr:class="flex flex-col gap-4">
                                <input type="hidden" name="project_id" value=p.id/>
                                <input type="hidden" name="after_auth_return_to" value=return_to.get()/>
                                <Field label="Email" name="email" kind="email" autocomplete=email_autocomplete/>
                                <Field label="Password" name="password" kind="password" autocomplete="current-password"/>
                                <FormError message=error/>
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || action.pending().get()>
                                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                                </button>
                            </ActionForm>
                            <p class="mt-4 text-sm"><a href=forgot>"Forgot your password?"</a></p>
                            {magic.map(|href| view! { <p class="mt-2 text-sm"><a href=href>"Sign in with a code by email"</a></p> })}
                            {sign_up_link.map(|href| view! {
                                <p class="mt-5 text-sm text-muted">"No account yet? "<a href=href>"Sign up"</a></p>
                            })}
                        </AuthCard>
                    }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
