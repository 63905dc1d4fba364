use leptos::prelude::*;

use super::project_id;
use crate::components::{action_error, format_utc, AuthCard, Field, FormError, NewPasswordField};
use crate::server::{
    current_user, error_message, my_sessions, project_info, ChangePassword, DeleteAccount,
    RevokeSession, SignOut, UpdateProfile,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let project_id = project_id();
    let update = ServerAction::<UpdateProfile>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let revoke = ServerAction::<RevokeSession>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let info = Resource::new(move || project_id.get(), project_info);
    let email_state = super::account_emails::AccountEmailState::new(project_id);
    let teams_state = super::account_teams::AccountTeamsState::new(project_id);
    let keys_state = super::account_api_keys::AccountKeysState::new(project_id);
    let oauth_state = super::account_oauth::AccountOAuthState::new(project_id);
    // Made here, with the page, like the sections' other states: a resource first made inside
    // the page's Suspense can leave the server's render waiting.
    let mfa = Resource::new(move || project_id.get(), crate::server::mfa_state);
    let passkeys_state = super::passkeys::AccountPasskeysState::new(project_id);
    let payments_state = super::account_payments::AccountPaymentsState::new(project_id);
    // What the last form post did, when it says (`?done=password` after a password change).
    let query = leptos_router::hooks::use_query_map();
    let done = Memo::new(move |_| query.read().get("done"));
    // Re-read after every change that alters what is shown.
    let me = Resource::new(
        move || {
            (
                project_id.get(),
                update.version().get(),
                change_password.version().get(),
            )
        },
        |(id, _, _)| current_user(id),
    );
    let sessions = Resource::new(
        move || {
            (
                project_id.get(),
                revoke.version().get(),
                change_password.version().get(),
            )
        },
        |(id, _, _)| my_sessions(id),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let project = match info.await {
                    Ok(p) => p,
                    Err(e) => return view! { <AuthCard title="Account settings" project="">
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                };
                let user = match me.await {
                    Ok(Some(user)) => user,
                    Ok(None) => return view! {
                        <AuthCard title="Account settings" project=project.display_name.clone()>
                            <p>"You are not signed in."</p>
                            <p class="mt-5 text-sm text-muted"><a href=format!("/handler/{}/sign-in", project.id)>"Sign in"</a></p>
                        </AuthCard>
                    }.into_any(),
                    Err(e) => return view! { <AuthCard title="Account settings" project=project.display_name.clone()>
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                };
                let sessions = sessions.await.unwrap_or_default();
                let id = project.id.clone();
                let password_changed = move || done.get().as_deref() == Some("password");
                let session_items = sessions.into_iter().map(|s| {
                    let id = id.clone();
                    view! {
                        <li class="session flex items-center justify-between gap-3 text-sm">
                            <span>
                                "Signed in "{format_utc(s.created_at)}<br/>
                                <small>"Last used "{format_utc(s.last_used_at)}</small>
                                {s.is_impersonation.then(|| view! {
                                    <br/><small class="impersonation font-semibold">"Opened by an administrator, as you"</small>
                                })}
                            </span>
                            {if s.is_current {
                                view! { <span class="badge whitespace-nowrap rounded-full border border-line px-2 py-0.5 text-xs font-semibold">"This device"</span> }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="project_id" value=id/>
                                        <input type="hidden" name="session_id" value=s.id/>
                                        <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink">"Revoke"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                        </li>
                    }
                }).collect_view();
                let delete_section = user.can_delete_account.then(|| { let id = id.clone(); view! {
                    <section class="danger mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="delete-heading">
                        <h2 id="delete-heading">"Delete account"</h2>
                        <ActionForm action=delete attr:class="flex flex-col gap-4">
                            <input type="hidden" name="project_id" value=id/>
                            <label class="flex items-center gap-2 text-sm"><input type="checkbox" required/>" I understand this cannot be undone"</label>
                            <FormError message=action_error(delete)/>
                            <button type="submit" class="whitespace-nowrap rounded-lg bg-danger px-4 py-2.5 font-semibold text-white">"Delete my account"</button>
                        </ActionForm>
                    </section>
                }});
                let old_password = user.has_password.then(|| view! {
                    <Field label="Current password" name="old_password" kind="password" autocomplete="current-password"/>
                });
                let (id_profile, id_password, id_emails, id_notify, id_teams, id_keys, id_oauth, id_mfa, id_sign_out, id_payments) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone(), id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
                let passkeys = project.passkey_enabled.then(|| view! { <super::passkeys::AccountPasskeys project_id=id done=done state=passkeys_state/> });
                let password_heading = if user.has_password { "Change password" } else { "Set a password" };
                let display_name = user.display_name.clone().unwrap_or_default();
                let image_url = user.profile_image_url.clone().unwrap_or_default();
                let avatar = user.profile_image_url.clone().map(|src| view! {
                    <img src=src alt="" class="avatar h-12 w-12 rounded-full border border-line object-cover"/>
                });
                view! {
                    <AuthCard title="Account settings" project=project.display_name.clone()>
                        <div class="mb-4 flex items-center gap-3">{avatar}
                            <p class="signed-in-as text-sm text-muted">"Signed in as "<strong>{user.email.clone()}</strong></p></div>

                        <section class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="profile-heading">
                            <h2 id="profile-heading">"Profile"</h2>
                            <ActionForm action=update attr:class="flex flex-col gap-4">
                                <input type="hidden" name="project_id" value=id_profile/>
                                <Field label="Display name" name="display_name" autocomplete="name" required=false
                                    value=display_name/>
                                <Field label="Profile image URL" name="profile_image_url" kind="url" required=false value=image_url/>
                                <Field label="Language of your emails (a tag such as de or pt-BR; empty: the default)" name="language" required=false value=user.language.clone()/>
                                <FormError message=action_error(update)/>
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || update.pending().get()>
                                    {move || if update.pending().get() { "Saving…" } else { "Save" }}
                                </button>
                            </ActionForm>
                        </section>

                        <super::account_emails::AccountEmails project_id=id_emails done=done state=email_state/>

                        <super::account_teams::AccountTeams project_id=id_teams done=done state=teams_state/>

                        <super::account_oauth::AccountConnectedAccounts project_id=id_oauth state=oauth_state/>

                        <super::account_api_keys::AccountApiKeys project_id=id_keys state=keys_state/>

                        <super::account_payments::AccountPayments project_id=id_payments done=done state=payments_state/>

                        <section class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="password-heading">
                            <h2 id="password-heading">{password_heading}</h2>
                            <ActionForm action=change_password attr:class="flex flex-col gap-4">
                                <input type="hidden" name="project_id" value=id_password/>
                                {old_password}
                                <NewPasswordField label="New password" name="new_password"
                                    min=project.password_min_length max=project.password_max_length/>
                                <FormError message=action_error(change_password)/>
                                {move || password_changed().then(|| view! {
                                    <p class="m-0 text-sm text-muted" role="status">"Password changed. Your other sessions were signed out."</p>
                                })}
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || change_password.pending().get()>
                                    {move || if change_password.pending().get() { "Changing…" } else { "Change password" }}
                                </button>
                            </ActionForm>
                        </section>

                        {passkeys}

                        <super::mfa::AccountMfa project_id=id_mfa done=done state=mfa/>

                        <section class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="sessions-heading">
                            <h2 id="sessions-heading">"Active sessions"</h2>
                            <ul class="flex flex-col gap-2 [&_small]:text-muted">{session_items}</ul>
                            <FormError message=action_error(revoke)/>
                        </section>

                        <super::account_emails::AccountNotifications project_id=id_notify done=done state=email_state/>

                        {delete_section}

                        <ActionForm action=sign_out attr:class="mt-4">
                            <input type="hidden" name="project_id" value=id_sign_out/>
                            <button type="submit" class="secondary w-full whitespace-nowrap rounded-lg border border-line px-4 py-2.5 font-semibold text-ink">"Sign out"</button>
                        </ActionForm>
                    </AuthCard>
                }.into_any()
            })}
        </Suspense>
    }
}
