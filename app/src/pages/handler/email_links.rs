//! The hosted pages of the flows that ride on emails: forgot password, reset password, sign-in
//! by emailed code or link, and email verification. A link's code is used only when the person
//! presses the button, never on loading the page.

use leptos::prelude::*;

use super::{query, return_to, with_project, with_return, BUTTON};
use crate::components::{action_error, Field, FormError, NewPasswordField};
use crate::server::{ForgotPassword, MagicLinkSignIn, ResetPassword, SendMagicLink, VerifyEmail};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let sent = query("sent");
    let action = ServerAction::<ForgotPassword>::new();
    let error = action_error(action);
    with_project("Reset your password", move |p| {
        let back = format!("/handler/{}/sign-in", p.id);
        if sent.get_untracked() == "1" {
            return view! {
                <p role="status">"If an account signs in with that address, a link to choose a new password is on its way. It works for a day."</p>
                <p class="mt-5 text-sm text-muted"><a href=back>"Back to sign in"</a></p>
            }.into_any();
        }
        view! {
            <ActionForm action=action attr:class="flex flex-col gap-4">
                <input type="hidden" name="project_id" value=p.id/>
                <p class="m-0 text-sm text-muted">"We'll email you a link to choose a new password."</p>
                <Field label="Email" name="email" kind="email" autocomplete="email"/>
                <FormError message=error/>
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>"Email me a link"</button>
            </ActionForm>
            <p class="mt-5 text-sm text-muted"><a href=back>"Back to sign in"</a></p>
        }.into_any()
    })
}

#[component]
pub fn PasswordResetPage() -> impl IntoView {
    let code = query("code");
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action);
    with_project("Choose a new password", move |p| {
        let again = format!("/handler/{}/forgot-password", p.id);
        view! {
            <ActionForm action=action attr:class="flex flex-col gap-4">
                <input type="hidden" name="project_id" value=p.id.clone()/>
                <input type="hidden" name="code" value=code.get_untracked()/>
                <NewPasswordField label=format!("New password (at least {} characters)", p.password_min_length) name="password"
                    min=p.password_min_length max=p.password_max_length/>
                <FormError message=error/>
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>"Set the new password"</button>
            </ActionForm>
            <p class="mt-5 text-sm text-muted"><a href=again>"Ask for a new link"</a></p>
        }
    })
}

/// Sign-in by email: the address first, then the code from the email.
#[component]
pub fn MagicLinkPage() -> impl IntoView {
    let nonce = query("nonce");
    let email = query("email");
    let return_to = return_to();
    let send = ServerAction::<SendMagicLink>::new();
    let sign_in = ServerAction::<MagicLinkSignIn>::new();
    let (send_error, sign_in_error) = (action_error(send), action_error(sign_in));
    with_project("Sign in with email", move |p| {
        if !p.magic_link_enabled {
            return view! { <p>"Signing in by email is turned off for this project."</p> }
                .into_any();
        }
        let password_link = p.credential_enabled.then(|| {
            with_return(
                format!("/handler/{}/sign-in", p.id),
                &return_to.get_untracked(),
            )
        });
        if nonce.get_untracked().is_empty() {
            return view! {
                <ActionForm action=send attr:class="flex flex-col gap-4">
                    <input type="hidden" name="project_id" value=p.id/>
                    <input type="hidden" name="after_auth_return_to" value=return_to.get_untracked()/>
                    <p class="m-0 text-sm text-muted">"We'll email you a code and a link that sign you in."</p>
                    <Field label="Email" name="email" kind="email" autocomplete="email"/>
                    <FormError message=send_error/>
                    <button type="submit" class=BUTTON disabled=move || send.pending().get()>"Email me a code"</button>
                </ActionForm>
                {password_link.map(|href| view! { <p class="mt-5 text-sm text-muted"><a href=href>"Sign in with a password"</a></p> })}
            }.into_any();
        }
        let other = with_return(
            format!("/handler/{}/magic-link", p.id),
            &return_to.get_untracked(),
        );
        view! {
            <p class="mb-4 text-sm">{format!("We emailed a code to {}. Enter it here, or follow the link in the email.", email.get_untracked())}</p>
            <ActionForm action=sign_in attr:class="flex flex-col gap-4">
                <input type="hidden" name="project_id" value=p.id.clone()/>
                <input type="hidden" name="nonce" value=nonce.get_untracked()/>
                <input type="hidden" name="after_auth_return_to" value=return_to.get_untracked()/>
                <Field label="Code" name="code" kind="text" autocomplete="one-time-code"/>
                <FormError message=sign_in_error/>
                <button type="submit" class=BUTTON disabled=move || sign_in.pending().get()>"Sign in"</button>
            </ActionForm>
            <p class="mt-5 text-sm text-muted"><a href=other>"Use another address"</a></p>
        }.into_any()
    })
}

/// Where the sign-in link leads: one button, so that opening the link alone signs nobody in.
#[component]
pub fn MagicLinkCallbackPage() -> impl IntoView {
    let code = query("code");
    let return_to = return_to();
    let action = ServerAction::<MagicLinkSignIn>::new();
    let error = action_error(action);
    with_project("Sign in", move |p| {
        view! {
            <ActionForm action=action attr:class="flex flex-col gap-4">
                <input type="hidden" name="project_id" value=p.id.clone()/>
                <input type="hidden" name="code" value=code.get_untracked()/>
                <input type="hidden" name="after_auth_return_to" value=return_to.get_untracked()/>
                <p class="m-0">{format!("Continue to sign in to {}.", p.display_name)}</p>
                <FormError message=error/>
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>"Continue"</button>
            </ActionForm>
        }
    })
}

/// Where the verification link leads: the address is verified when the button is pressed.
#[component]
pub fn EmailVerificationPage() -> impl IntoView {
    let code = query("code");
    let done = query("done");
    let action = ServerAction::<VerifyEmail>::new();
    let error = action_error(action);
    with_project("Verify your email", move |p| {
        if done.get_untracked() == "1" {
            return view! {
                <p role="status">"Your email address is verified. Thank you!"</p>
                <p class="mt-5 text-sm text-muted"><a href=format!("/handler/{}/account-settings", p.id)>"Go to your account"</a></p>
            }.into_any();
        }
        view! {
            <ActionForm action=action attr:class="flex flex-col gap-4">
                <input type="hidden" name="project_id" value=p.id/>
                <input type="hidden" name="code" value=code.get_untracked()/>
                <p class="m-0">"Confirm that this email address is yours."</p>
                <FormError message=error/>
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>"Verify my email"</button>
            </ActionForm>
        }.into_any()
    })
}
