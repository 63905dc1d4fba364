//! The setup link's server functions: check the link, create the first dashboard admin.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr;

/// The password rules (min, max length) for the form while the setup link still works (the
/// server has no admin, and the token is the live one); `None` once it does not.
#[server(prefix = "/_sfn")]
pub async fn setup_link_rules(token: String) -> Result<Option<(usize, usize)>, ServerFnError> {
    let valid = ssr::core()
        .setup_token_is_valid(&token)
        .await
        .map_err(ssr::shown)?;
    Ok(valid.then_some((
        gatehouse_core::passwords::PASSWORD_MIN_LENGTH,
        gatehouse_core::passwords::PASSWORD_MAX_LENGTH,
    )))
}

/// Creates the first admin with the setup link's token and signs them in to the dashboard.
#[server(prefix = "/_sfn", endpoint = "claim_server")]
pub async fn claim_server(
    token: String,
    email: String,
    password: String,
) -> Result<(), ServerFnError> {
    let tokens = ssr::core()
        .claim_with_setup_token(&token, &email, &password)
        .await
        .map_err(ssr::shown)?;
    ssr::set_session_cookie(
        gatehouse_core::projects::INTERNAL_PROJECT_ID,
        Some(&tokens.refresh_token),
    );
    leptos_axum::redirect("/");
    Ok(())
}
