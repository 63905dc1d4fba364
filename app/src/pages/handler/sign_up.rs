use leptos::prelude::*;

use super::{project_id, query, return_to, with_return, OAuthButtons};
use crate::components::{action_error, AuthCard, Field, FormError, NewPasswordField};
use crate::server::{error_message, project_info, sign_up_puzzle, SignUp};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let project_id = project_id();
    let return_to = return_to();
    // The code of a team invitation, which opens sign-up to the address it was sent to.
    let invitation = query("invitation");
    let info = Resource::new(move || project_id.get(), project_info);
    // The check against bots, where the project asks for one (solved by the page's script).
    let puzzle = Resource::new(move || project_id.get(), sign_up_puzzle);
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Err(e) => view! { <AuthCard title="Create your account" project="">
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                    Ok(p) if !p.credential_enabled || (!p.sign_up_enabled && invitation.get().is_empty()) => view! {
                        <AuthCard title="Create your account" project=p.display_name.clone()>
                            <p>{format!("{} is not taking new sign-ups with a password right now.", p.display_name)}</p>
                            <p class="mt-5 text-sm text-muted">"Already have an account? "
                                <a href=with_return(format!("/handler/{}/sign-in", p.id), &return_to.get())>"Sign in"</a>
                            </p>
                        </AuthCard>
                    }.into_any(),
                    Ok(p) => {
                        let puzzle = puzzle.await.ok().flatten().map(|(challenge, bits)| view! {
                            <div class="pow text-sm" data-pow-challenge=challenge data-pow-bits=bits.to_string()>
                                <input type="hidden" name="bot_challenge_token" value=""/>
                                // Replaced by the page's script as it starts: what shows without one.
                                <p class="m-0 text-muted" data-pow-status aria-live="polite">"Signing up here needs JavaScript: your browser solves a small puzzle that keeps bots out. Turn JavaScript on for this page, or sign in another way."</p>
                            </div>
                        });
                        let sign_in_link = with_return(format!("/handler/{}/sign-in", p.id), &return_to.get());
                        let buttons = view! { <OAuthButtons project=p.clone() return_to=return_to.get()/> };
                        view! {
                        <AuthCard title="Create your account" project=p.display_name>
                            {buttons}
                            <ActionForm action=action attr:class="flex flex-col gap-4">
                                <input type="hidden" name="project_id" value=p.id/>
                                <input type="hidden" name="after_auth_return_to" value=return_to.get()/>
                                <input type="hidden" name="invitation" value=invitation.get()/>
                                <Field label="Email" name="email" kind="email" autocomplete="email"/>
                                <NewPasswordField label=format!("Password (at least {} characters)", p.password_min_length) name="password"
                                    min=p.password_min_length max=p.password_max_length/>
                                {puzzle}
                                <FormError message=error/>
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || action.pending().get()>
                                    {move || if action.pending().get() { "Creating your account…" } else { "Sign up" }}
                                </button>
                            </ActionForm>
                            <p class="mt-5 text-sm text-muted">"Already have an account? "<a href=sign_in_link>"Sign in"</a></p>
                        </AuthCard>
                    }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
