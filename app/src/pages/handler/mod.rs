//! The hosted auth pages of a project, at `/handler/{project_id}/…`.

mod account;
mod account_api_keys;
mod account_emails;
mod account_oauth;
mod account_payments;
mod account_teams;
mod cli_auth;
mod email_links;
mod mfa;
mod passkeys;
mod purchase;
mod sign_in;
mod sign_out;
mod sign_up;
mod team_invitation;

pub use account::AccountPage;
pub use cli_auth::CliAuthConfirmPage;
pub use email_links::{
    EmailVerificationPage, ForgotPasswordPage, MagicLinkCallbackPage, MagicLinkPage,
    PasswordResetPage,
};
pub use mfa::{MfaPage, MfaSetupPage};
pub use purchase::PurchasePage;
pub use sign_in::SignInPage;
pub use sign_out::SignOutPage;
pub use sign_up::SignUpPage;
pub use team_invitation::TeamInvitationPage;

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::AuthCard;
use crate::server::{error_message, project_info};
pub(crate) use crate::text::url_encode;

pub(crate) const BUTTON: &str = "primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60";

/// A query parameter of the page.
pub(crate) fn query(name: &'static str) -> Memo<String> {
    let q = use_query_map();
    Memo::new(move |_| q.read().get(name).unwrap_or_default())
}

/// A page of one project: its card, or why it cannot be shown.
pub(crate) fn with_project<V: IntoView + 'static>(
    title: &'static str,
    body: impl Fn(crate::server::ProjectSummary) -> V + Send + Sync + Clone + 'static,
) -> impl IntoView {
    let project_id = project_id();
    let info = Resource::new(move || project_id.get(), project_info);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || {
                let body = body.clone();
                Suspend::new(async move {
                    match info.await {
                        Err(e) => view! { <AuthCard title=title project="">
                            <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                        </AuthCard> }.into_any(),
                        Ok(p) => {
                            let name = p.display_name.clone();
                            view! { <AuthCard title=title project=name>{body(p)}</AuthCard> }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// The project id in the path.
pub(crate) fn project_id() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("project_id").unwrap_or_default())
}

/// `after_auth_return_to` from the query, passed on through the forms.
pub(crate) fn return_to() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("after_auth_return_to").unwrap_or_default())
}

/// Appends the return target to a link between the sign-in and sign-up pages.
pub(crate) fn with_return(path: String, return_to: &str) -> String {
    if return_to.is_empty() {
        path
    } else {
        format!("{path}?after_auth_return_to={}", url_encode(return_to))
    }
}

/// "Continue with …" for each provider of the project: plain links (see the server's
/// `hosted_oauth`), so they work without JavaScript. The flow's errors come back as `?error=`.
#[component]
pub(crate) fn OAuthButtons(
    project: crate::server::ProjectSummary,
    return_to: String,
) -> impl IntoView {
    let error = query("error");
    let links: Vec<(String, String)> = project
        .oauth_providers
        .iter()
        .map(|(id, title)| {
            (
                with_return(format!("/handler/{}/oauth/{id}", project.id), &return_to),
                format!("Continue with {title}"),
            )
        })
        .collect();
    let any = !links.is_empty();
    view! {
        {move || (!error.get().is_empty()).then(|| view! {
            <p class="form-error mb-4 text-sm text-danger" role="alert">{error.get()}</p>
        })}
        {any.then(|| view! {
            <div class="oauth-buttons mb-5 flex flex-col gap-2">
                {links.into_iter().map(|(href, label)| view! {
                    <a class="rounded-lg border border-line px-4 py-2.5 text-center font-semibold no-underline hover:bg-line/30" href=href>{label}</a>
                }).collect_view()}
            </div>
        })}
    }
}
