use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{DashboardError, ProjectShell};
use crate::components::{action_error, format_utc, Field, FormError, JsonField};
use crate::server::{
    load_user_access, load_user_detail, ImpersonateUser, RemoveUser, ResetUserMfa,
    RevokeUserSession, SaveUser, SetUserPermission, UnlockUser,
};

/// One user of a project: profile, metadata (JSON, checked as you type and again on save),
/// sessions, deletion.
#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let ids = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("project_id").unwrap_or_default(),
            p.get("user_id").unwrap_or_default(),
        )
    });
    let save = ServerAction::<SaveUser>::new();
    let revoke = ServerAction::<RevokeUserSession>::new();
    let remove = ServerAction::<RemoveUser>::new();
    let reset_mfa = ServerAction::<ResetUserMfa>::new();
    let impersonate = ServerAction::<ImpersonateUser>::new();
    let unlock = ServerAction::<UnlockUser>::new();
    let detail = Resource::new(
        move || {
            (
                ids.get(),
                save.version().get(),
                revoke.version().get(),
                reset_mfa.version().get(),
                unlock.version().get(),
            )
        },
        |((project_id, user_id), _, _, _, _)| load_user_detail(project_id, user_id),
    );
    let keys = super::api_keys::OwnerKeysState::new("user", ids);
    let linked = super::user_oauth::LinkedAccountsState::new(ids);
    let permission = ServerAction::<SetUserPermission>::new();
    let access = Resource::new(
        move || (ids.get(), permission.version().get()),
        |((project_id, user_id), _)| load_user_access(project_id, user_id),
    );
    let permission_error = action_error(permission);
    let save_error = action_error(save);
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (project_id, user_id) = ids.get();
                let u = match detail.await {
                    Ok(u) => u,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let sessions = u.sessions.into_iter().map(|s| {
                    let (project_id, user_id) = (project_id.clone(), user_id.clone());
                    view! {
                        <li class="session flex items-center justify-between gap-3 text-sm">
                            <span>"Signed in "{format_utc(s.created_at)}
                                {s.is_impersonation.then(|| view! { " "<span class="badge rounded-full border border-line px-2 py-0.5 text-xs font-semibold">"Admin, as this user"</span> })}
                                <br/><small>"Last used "{format_utc(s.last_used_at)}</small></span>
                            <ActionForm action=revoke>
                                <input type="hidden" name="project_id" value=project_id/>
                                <input type="hidden" name="user_id" value=user_id/>
                                <input type="hidden" name="session_id" value=s.id/>
                                <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink">"Revoke"</button>
                            </ActionForm>
                        </li>
                    }
                }).collect_view();
                let access = match access.await {
                    Ok(a) => a,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let teams = access.teams.iter().map(|t| view! {
                    <li class="user-team text-sm">
                        <a href=format!("/projects/{project_id}/teams/{}", t.id)>{t.display_name.clone()}</a>
                        <span class="ml-2 text-xs text-muted">{t.permissions.join(", ")}</span>
                    </li>
                }).collect_view();
                let no_teams = access.teams.is_empty();
                let granted = access.project_permissions.clone();
                let project_permissions = access.grantable.clone().into_iter().map(|p| {
                    let held = granted.contains(&p);
                    let (pid, uid, shown) = (project_id.clone(), user_id.clone(), p.clone());
                    view! {
                        <li class="flex items-center gap-2 text-sm">
                            <ActionForm action=permission attr:class="inline">
                                <input type="hidden" name="project_id" value=pid/>
                                <input type="hidden" name="user_id" value=uid/>
                                <input type="hidden" name="permission" value=p/>
                                {(!held).then(|| view! { <input type="hidden" name="grant" value="1"/> })}
                                <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-2 py-0.5 text-xs font-semibold text-ink">{if held { "Revoke" } else { "Grant" }}</button>
                            </ActionForm>
                            <code>{shown}</code>{held.then(|| view! { <span class="text-xs text-muted">"(granted)"</span> })}
                        </li>
                    }
                }).collect_view();
                let no_project_permissions = access.grantable.is_empty();
                let (p1, u1, p2, u2) = (project_id.clone(), user_id.clone(), project_id.clone(), user_id.clone());
                let (p3, u3, p4, u4) = (project_id.clone(), user_id.clone(), project_id.clone(), user_id.clone());
                let mfa_enabled = u.mfa_enabled;
                let locked_until = u.locked_until;
                let (p5, u5) = (project_id.clone(), user_id.clone());
                let keys_project = project_id.clone();
                let (linked_project, linked_user) = (project_id.clone(), user_id.clone());
                let title = u.email.clone().unwrap_or_else(|| u.id.clone());
                view! {
                    <ProjectShell project_id=project_id.clone() project_name=u.project_name active="users">
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="user-heading">
                            <h1 id="user-heading">{title}</h1>
                            <p class="text-sm text-muted">"User ID "<code>{u.id.clone()}</code>" · signed up "{format_utc(u.signed_up_at)}
                                " · last active "{format_utc(u.last_active_at)}</p>
                            <ActionForm action=save attr:class="flex max-w-xl flex-col gap-4 [&_fieldset]:m-0 [&_fieldset]:flex [&_fieldset]:flex-col [&_fieldset]:gap-2 [&_fieldset]:rounded-lg [&_fieldset]:border [&_fieldset]:border-line [&_fieldset]:px-4 [&_fieldset]:py-3 [&_legend]:px-1 [&_legend]:text-sm [&_legend]:font-semibold">
                                <input type="hidden" name="project_id" value=p1/>
                                <input type="hidden" name="user_id" value=u1/>
                                <Field label="Display name" name="display_name" required=false value=u.display_name.unwrap_or_default()/>
                                <Field label="Email" name="email" kind="email" required=false value=u.email.unwrap_or_default()/>
                                <JsonField label="Client metadata" name="client_metadata" value=u.client_metadata/>
                                <JsonField label="Client read-only metadata" name="client_read_only_metadata" value=u.client_read_only_metadata/>
                                <JsonField label="Server metadata" name="server_metadata" value=u.server_metadata/>
                                <FormError message=save_error/>
                                {move || saved().then(|| view! { <p class="m-0 text-sm text-muted" role="status">"Saved."</p> })}
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || save.pending().get()>
                                    {move || if save.pending().get() { "Saving…" } else { "Save user" }}
                                </button>
                            </ActionForm>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="user-access-heading">
                            <h2 id="user-access-heading">"Teams and permissions"</h2>
                            <ul class="mb-4 flex flex-col gap-1">{teams}</ul>
                            {no_teams.then(|| view! { <p class="text-sm text-muted">"In no team."</p> })}
                            <h3 class="mb-2 text-sm font-semibold">"Project permissions"</h3>
                            <ul class="flex flex-col gap-1">{project_permissions}</ul>
                            {no_project_permissions.then(|| view! { <p class="text-sm text-muted">"The project defines no project permissions yet (see Permissions)."</p> })}
                            <FormError message=permission_error/>
                        </section>
                        <super::user_oauth::UserLinkedAccounts project_id=linked_project user_id=linked_user state=linked/>
                        <super::api_keys::OwnerApiKeys project_id=keys_project state=keys/>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="user-sessions-heading">
                            <h2 id="user-sessions-heading">"Sessions"</h2>
                            <ul class="flex flex-col gap-2 [&_small]:text-muted">{sessions}</ul>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="user-security-heading">
                            <h2 id="user-security-heading">"Sign-in and security"</h2>
                            <p class="mfa-state mb-3 text-sm">{if mfa_enabled {
                                "Two-factor authentication is on (an authenticator app and recovery codes)."
                            } else {
                                "Two-factor authentication is off."
                            }}</p>
                            {mfa_enabled.then(|| view! {
                                <ActionForm action=reset_mfa attr:class="mb-4 flex max-w-sm flex-col gap-3">
                                    <input type="hidden" name="project_id" value=p3/>
                                    <input type="hidden" name="user_id" value=u3/>
                                    <label class="flex items-center gap-2 text-sm"><input type="checkbox" required/>" They lost their authenticator app and recovery codes"</label>
                                    <FormError message=action_error(reset_mfa)/>
                                    <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-4 py-2 text-sm font-semibold text-ink">"Turn off two-factor authentication"</button>
                                </ActionForm>
                            })}
                            {locked_until.map(|until| view! {
                                <div class="lockout mb-4 rounded-lg border border-danger px-4 py-3">
                                    <p class="mb-2 text-sm">"Password sign-in is paused until "{format_utc(until)}" after repeated failed attempts. The user was told by email."</p>
                                    <ActionForm action=unlock>
                                        <input type="hidden" name="project_id" value=p5/>
                                        <input type="hidden" name="user_id" value=u5/>
                                        <FormError message=action_error(unlock)/>
                                        <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-4 py-2 text-sm font-semibold text-ink">"Unlock password sign-in"</button>
                                    </ActionForm>
                                </div>
                            })}
                            <p class="mb-3 text-sm text-muted">"Sign in as this user to see what they see: a session of an hour on the project's hosted pages, listed to them and recorded as yours."</p>
                            <ActionForm action=impersonate>
                                <input type="hidden" name="project_id" value=p4/>
                                <input type="hidden" name="user_id" value=u4/>
                                <FormError message=action_error(impersonate)/>
                                <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-4 py-2 text-sm font-semibold text-ink">"Sign in as this user"</button>
                            </ActionForm>
                        </section>
                        <section class="panel danger rounded-xl border border-danger bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="remove-heading">
                            <h2 id="remove-heading">"Delete user"</h2>
                            <ActionForm action=remove attr:class="flex max-w-sm flex-col gap-4">
                                <input type="hidden" name="project_id" value=p2/>
                                <input type="hidden" name="user_id" value=u2/>
                                <label class="flex items-center gap-2 text-sm"><input type="checkbox" required/>" Delete this user and their sessions"</label>
                                <button type="submit" class="whitespace-nowrap rounded-lg bg-danger px-4 py-2.5 font-semibold text-white">"Delete user"</button>
                            </ActionForm>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
