//! The hosted auth pages of a project, at `/handler/{project_id}/…`.

mod account;
mod account_emails;
mod email_links;
mod sign_in;
mod sign_out;
mod sign_up;

pub use account::AccountPage;
pub use email_links::{
    EmailVerificationPage, ForgotPasswordPage, MagicLinkCallbackPage, MagicLinkPage,
    PasswordResetPage,
};
pub use sign_in::SignInPage;
pub use sign_out::SignOutPage;
pub use sign_up::SignUpPage;

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

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

/// Percent-encodes a query value.
pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
