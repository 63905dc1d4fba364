use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{created_keys, DashboardError, NewKeys, ProjectShell};
use crate::components::{action_error, format_utc, Field, FormError};
use crate::server::{
    load_project_settings, CreateKeySet, RevokeKeySet, SaveProjectSettings, SaveSecuritySettings,
};

/// A project's settings: how people sign in, where they may be sent, and its API keys.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let save = ServerAction::<SaveProjectSettings>::new();
    let save_security = ServerAction::<SaveSecuritySettings>::new();
    let revoke = ServerAction::<RevokeKeySet>::new();
    let create = ServerAction::<CreateKeySet>::new();
    // Re-read after a save, a revocation, or new keys (which arrive with a `created` query).
    let settings = Resource::new(
        move || {
            (
                project_id.get(),
                save.version().get() + save_security.version().get(),
                revoke.version().get(),
                query.read().get("created"),
            )
        },
        |(id, _, _, _)| load_project_settings(id),
    );
    let created = created_keys();
    let admins = super::admins::AdminsState::new(project_id);
    let save_error = action_error(save);
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let s = match settings.await {
                    Ok(s) => s,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let new_keys = created.await.map(|k| view! { <NewKeys keys=k/> });
                let id = s.id.clone();
                let key_rows = s.key_sets.into_iter().map(|k| {
                    let id = id.clone();
                    let keys = k.keys.into_iter().map(|(label, l4)| format!("{label} …{l4}")).collect::<Vec<_>>().join(", ");
                    view! {
                        <tr>
                            <td>{k.description}</td>
                            <td>{keys}</td>
                            <td>{format_utc(k.created_at)}</td>
                            <td>{if k.revoked {
                                view! { <span class="text-sm text-muted">"Revoked"</span> }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="project_id" value=id/>
                                        <input type="hidden" name="key_set_id" value=k.id/>
                                        <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink">"Revoke"</button>
                                    </ActionForm>
                                }.into_any()
                            }}</td>
                        </tr>
                    }
                }).collect_view();
                let check = |name: &'static str, label: &'static str, on: bool| view! {
                    <label class="flex items-center gap-2 text-sm"><input type="checkbox" name=name checked=on/>{label}</label>
                };
                let (id_save, id_create, id_admins) = (id.clone(), id.clone(), id.clone());
                let id_security = id.clone();
                let sec = s.security;
                let mode = sec.bot_challenge.clone();
                let option = move |value: &'static str, label: &'static str| {
                    let selected = mode == value;
                    view! { <option value=value selected=selected>{label}</option> }
                };
                view! {
                    <ProjectShell project_id=id project_name=s.display_name.clone() active="settings">
                        {new_keys}
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="settings-heading">
                            <h1 id="settings-heading">"Settings"</h1>
                            <ActionForm action=save attr:class="flex max-w-xl flex-col gap-4 [&_fieldset]:m-0 [&_fieldset]:flex [&_fieldset]:flex-col [&_fieldset]:gap-2 [&_fieldset]:rounded-lg [&_fieldset]:border [&_fieldset]:border-line [&_fieldset]:px-4 [&_fieldset]:py-3 [&_legend]:px-1 [&_legend]:text-sm [&_legend]:font-semibold">
                                <input type="hidden" name="project_id" value=id_save/>
                                <Field label="Project name" name="display_name" value=s.display_name/>
                                <fieldset>
                                    <legend>"Sign-in"</legend>
                                    {check("credential_enabled", "Email and password", s.credential_enabled)}
                                    {check("sign_up_enabled", "New users can sign up", s.sign_up_enabled)}
                                    {check("client_user_deletion_enabled", "Users can delete their own account", s.client_user_deletion_enabled)}
                                    {check("require_publishable_client_key", "Client requests need a publishable client key", s.require_publishable_client_key)}
                                </fieldset>
                                <fieldset>
                                    <legend>"Where people may be sent"</legend>
                                    {check("allow_localhost", "Allow localhost (for development)", s.allow_localhost)}
                                    <label class=crate::components::FIELD for="field-domains">
                                        <span>"Trusted domains, one per line (https://app.example.com)"</span>
                                        <textarea id="field-domains" name="domains" rows="3">{s.domains.join("\n")}</textarea>
                                    </label>
                                    <Field label="After sign-in, go to (a path or a trusted URL; empty: the account page)"
                                        name="after_sign_in_url" required=false value=s.after_sign_in_url/>
                                    <label class=crate::components::FIELD for="field-frame-origins">
                                        <span>"Sites that may show the hosted pages in a frame, one origin per line (empty: none may)"</span>
                                        <textarea id="field-frame-origins" name="allowed_frame_origins" rows="2">{s.allowed_frame_origins.join("\n")}</textarea>
                                    </label>
                                </fieldset>
                                <FormError message=save_error/>
                                {move || saved().then(|| view! { <p class="m-0 text-sm text-muted" role="status">"Saved."</p> })}
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || save.pending().get()>
                                    {move || if save.pending().get() { "Saving…" } else { "Save settings" }}
                                </button>
                            </ActionForm>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="security-heading">
                            <h2 id="security-heading">"Security"</h2>
                            <p class="mb-4 max-w-xl text-sm text-muted">"How sign-ups and sign-ins are guarded. Rate limits per address and per account are in the configuration (security.rateLimits); the README's Security section lists them."</p>
                            <ActionForm action=save_security attr:class="security-settings flex max-w-xl flex-col gap-4 [&_fieldset]:m-0 [&_fieldset]:flex [&_fieldset]:flex-col [&_fieldset]:gap-2 [&_fieldset]:rounded-lg [&_fieldset]:border [&_fieldset]:border-line [&_fieldset]:px-4 [&_fieldset]:py-3 [&_legend]:px-1 [&_legend]:text-sm [&_legend]:font-semibold">
                                <input type="hidden" name="project_id" value=id_security/>
                                <fieldset>
                                    <legend>"Passwords"</legend>
                                    {check("refuse_common_passwords", "Refuse the 17,950 passwords most often seen in breaches", sec.refuse_common_passwords)}
                                    <Field label="Failed sign-ins for one address before its password sign-in is paused (0: never)" name="lockout_failures" kind="number" value=sec.lockout_failures.to_string()/>
                                    <Field label="Pause, in minutes" name="lockout_minutes" kind="number" value=sec.lockout_minutes.to_string()/>
                                </fieldset>
                                <fieldset>
                                    <legend>"Check against bots at sign-up"</legend>
                                    <label class=crate::components::FIELD for="field-bot-challenge">
                                        <span>"Challenge"</span>
                                        <select id="field-bot-challenge" name="bot_challenge">
                                            {option("off", "None")}
                                            {option("proofOfWork", "Proof of work (Gatehouse's own, no third party)")}
                                            {option("turnstile", "Cloudflare Turnstile")}
                                        </select>
                                    </label>
                                    <Field label="Proof of work: difficulty in bits (18: under a second in a browser)" name="proof_of_work_bits" kind="number" value=sec.proof_of_work_bits.to_string()/>
                                    <Field label="Turnstile site key" name="turnstile_site_key" required=false value=sec.turnstile_site_key/>
                                    <Field label=if sec.turnstile_secret_set { "Turnstile secret key (set; empty keeps it)" } else { "Turnstile secret key" } name="turnstile_secret_key" kind="password" required=false value=String::new()/>
                                </fieldset>
                                <FormError message=action_error(save_security)/>
                                {move || save_security.value().get().is_some_and(|r| r.is_ok()).then(|| view! { <p class="m-0 text-sm text-muted" role="status">"Saved."</p> })}
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent">"Save security settings"</button>
                            </ActionForm>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="keys-list-heading">
                            <h2 id="keys-list-heading">"API keys"</h2>
                            <table class="w-full border-collapse text-sm [&_th]:border-b [&_th]:border-line [&_th]:p-2 [&_th]:text-left [&_th]:font-semibold [&_th]:text-muted [&_td]:border-b [&_td]:border-line [&_td]:p-2 [&_td]:[overflow-wrap:anywhere]">
                                <thead><tr><th>"Description"</th><th>"Keys"</th><th>"Created"</th><th></th></tr></thead>
                                <tbody>{key_rows}</tbody>
                            </table>
                            <ActionForm action=create attr:class="mt-4 flex flex-wrap gap-2 [&_input]:min-w-48 [&_input]:flex-1 [&_input]:rounded-lg [&_input]:border [&_input]:border-line [&_input]:bg-page [&_input]:px-2.5 [&_input]:py-1.5">
                                <input type="hidden" name="project_id" value=id_create/>
                                <label class="sr-only" for="key-description">"Description"</label>
                                <input id="key-description" type="text" name="description" placeholder="What the keys are for"/>
                                <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink">"Create keys"</button>
                            </ActionForm>
                        </section>
                        <super::admins::ProjectAdmins project_id=id_admins state=admins/>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
