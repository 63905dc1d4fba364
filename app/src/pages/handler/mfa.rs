//! Two-factor authentication: the second step of a sign-in (`/mfa`), setting up an
//! authenticator app and showing recovery codes once (`/mfa-setup`), and the account page's
//! section. All plain forms: no JavaScript needed.

use leptos::prelude::*;

use super::{project_id, query, return_to, with_project, BUTTON};
use crate::components::{action_error, Field, FormError};
use crate::server::{
    error_message, mfa_enrolment, take_recovery_codes, DisableMfa, EnableMfa, NewRecoveryCodes,
    SecondFactor,
};

const SECTION: &str =
    "mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold";
const SECONDARY: &str =
    "secondary whitespace-nowrap rounded-lg border border-line px-4 py-2.5 font-semibold text-ink";

/// A 6-digit code from an authenticator app.
#[component]
fn CodeField(#[prop(into)] label: String, name: &'static str, id: &'static str) -> impl IntoView {
    view! {
        <label class=crate::components::FIELD for=id>
            <span>{label}</span>
            <input id=id name=name inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code" required/>
        </label>
    }
}

/// What both forms of the second-factor step carry: the project, the attempt, where to go.
#[component]
fn AttemptFields(project_id: String, attempt: String, return_to: String) -> impl IntoView {
    view! {
        <input type="hidden" name="project_id" value=project_id/>
        <input type="hidden" name="attempt" value=attempt/>
        <input type="hidden" name="after_auth_return_to" value=return_to/>
    }
}

/// `/handler/{project}/mfa?attempt=…`: a code from the app, or a recovery code.
#[component]
pub fn MfaPage() -> impl IntoView {
    let attempt = query("attempt");
    let return_to = return_to();
    let action = ServerAction::<SecondFactor>::new();
    let recovery = ServerAction::<SecondFactor>::new();
    with_project("Two-factor authentication", move |p| {
        let id = p.id.clone();
        view! {
            <p class="mb-4 text-sm">"Enter the 6-digit code your authenticator app shows for this account."</p>
            <ActionForm action=action attr:class="flex flex-col gap-4">
                <AttemptFields project_id=p.id.clone() attempt=attempt.get() return_to=return_to.get()/>
                <CodeField label="Code" name="totp" id="field-totp"/>
                <FormError message=action_error(action)/>
                <button type="submit" class=BUTTON>"Verify"</button>
            </ActionForm>
            <details class="mt-5 text-sm">
                <summary class="cursor-pointer">"Lost your phone? Use a recovery code"</summary>
                <ActionForm action=recovery attr:class="mt-3 flex flex-col gap-4">
                    <AttemptFields project_id=id attempt=attempt.get() return_to=return_to.get()/>
                    <Field label="Recovery code" name="recovery_code" autocomplete="off"/>
                    <FormError message=action_error(recovery)/>
                    <button type="submit" class=SECONDARY>"Sign in with a recovery code"</button>
                </ActionForm>
            </details>
        }
    })
}

/// `/handler/{project}/mfa-setup`: a QR code and a first code to confirm; with `?codes=`, the
/// recovery codes just made, shown this once.
#[component]
pub fn MfaSetupPage() -> impl IntoView {
    let project_id = project_id();
    let codes = query("codes");
    let enable = ServerAction::<EnableMfa>::new();
    let shown = Resource::new(
        move || (project_id.get(), codes.get()),
        |(id, flash)| async move {
            if flash.is_empty() {
                Ok(None)
            } else {
                take_recovery_codes(id, flash).await
            }
        },
    );
    let enrolment = Resource::new(move || project_id.get(), mfa_enrolment);
    with_project("Two-factor authentication", move |p| {
        let account = format!("/handler/{}/account-settings", p.id);
        let id = p.id.clone();
        view! {
            <Suspense fallback=|| ()>
                {move || {
                    let (account, id) = (account.clone(), id.clone());
                    Suspend::new(async move {
                        if let Ok(Some(codes)) = shown.await {
                            let items = codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view();
                            return view! {
                                <div class="recovery-codes">
                                    <p class="mb-3 text-sm">"Two-factor authentication is on. Keep these recovery codes somewhere safe: each signs you in once if you lose your phone. They are shown only this once."</p>
                                    <ul class="mb-4 grid grid-cols-2 gap-2 font-mono text-sm">{items}</ul>
                                    <p class="text-sm"><a href=account>"Back to account settings"</a></p>
                                </div>
                            }.into_any();
                        }
                        match enrolment.await {
                            Err(e) => view! {
                                <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                                <p class="mt-4 text-sm"><a href=format!("/handler/{id}/sign-in")>"Sign in"</a></p>
                            }.into_any(),
                            Ok(e) => view! {
                                <ol class="mb-4 flex list-decimal flex-col gap-2 pl-5 text-sm">
                                    <li>"Scan this code with an authenticator app (Google Authenticator, 1Password, Authy…)."</li>
                                    <li>"Enter the 6-digit code the app then shows."</li>
                                </ol>
                                <div class="qr mx-auto mb-3 w-52" inner_html=e.qr_svg></div>
                                <p class="mb-4 text-center text-xs text-muted">"Or type this key: "<code class="break-all">{e.key.clone()}</code>
                                    " "<button type="button" class="font-semibold text-accent" data-copy=e.key hidden>"Copy"</button></p>
                                <ActionForm action=enable attr:class="flex flex-col gap-4">
                                    <input type="hidden" name="project_id" value=id/>
                                    <input type="hidden" name="secret" value=e.secret/>
                                    <CodeField label="Code from the app" name="code" id="field-code"/>
                                    <FormError message=action_error(enable)/>
                                    <button type="submit" class=BUTTON>"Turn on"</button>
                                </ActionForm>
                                <p class="mt-4 text-sm"><a href=account>"Cancel"</a></p>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        }
    })
}

/// The account page's section: on or off, recovery codes left, new codes, turning it off.
#[component]
pub fn AccountMfa(
    project_id: String,
    done: Memo<Option<String>>,
    state: Resource<Result<Option<crate::server::MfaStatus>, ServerFnError>>,
) -> impl IntoView {
    let disable = ServerAction::<DisableMfa>::new();
    let regenerate = ServerAction::<NewRecoveryCodes>::new();
    view! {
        <section class=SECTION aria-labelledby="mfa-heading">
            <h2 id="mfa-heading">"Two-factor authentication"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let id = project_id.clone();
                    Suspend::new(async move {
                        match state.await {
                            Ok(Some(s)) if s.enabled => { let id2 = id.clone(); view! {
                                <p class="mb-3 text-sm">"On: signing in asks for a code from your authenticator app. "
                                    {format!("{} recovery code{} left.", s.recovery_codes_left, if s.recovery_codes_left == 1 { "" } else { "s" })}</p>
                                <ActionForm action=regenerate attr:class="mb-4">
                                    <input type="hidden" name="project_id" value=id2/>
                                    <FormError message=action_error(regenerate)/>
                                    <button type="submit" class=SECONDARY>"Make new recovery codes"</button>
                                </ActionForm>
                                <ActionForm action=disable attr:class="flex flex-col gap-4">
                                    <input type="hidden" name="project_id" value=id/>
                                    <CodeField label="Code from your app, to turn it off" name="code" id="field-mfa-off"/>
                                    <FormError message=action_error(disable)/>
                                    <button type="submit" class=SECONDARY>"Turn off"</button>
                                </ActionForm>
                            }.into_any() }
                            Ok(_) => view! {
                                {(done.get().as_deref() == Some("mfa-off")).then(|| view! {
                                    <p class="mb-3 text-sm" role="status">"Two-factor authentication is off."</p>
                                })}
                                <p class="mb-3 text-sm">"Off. Ask for a code from an authenticator app each time you sign in."</p>
                                <a class="inline-block rounded-lg border border-line px-4 py-2.5 font-semibold no-underline" href=format!("/handler/{id}/mfa-setup")>"Set up an authenticator app"</a>
                            }.into_any(),
                            Err(e) => view! { <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}
