//! The hosted pages' server functions for the flows that ride on emails: forgotten password,
//! sign-in by emailed code or link, and email verification. The links in those emails lead to
//! pages that use their code only when the person presses the button (a POST), so mail
//! scanners that open every link cannot spend it.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr;

/// `after_auth_return_to` carried in a query string.
#[cfg(feature = "ssr")]
fn return_query(return_to: &Option<String>) -> String {
    match return_to.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => format!(
            "after_auth_return_to={}",
            crate::pages::handler::url_encode(r)
        ),
        None => String::new(),
    }
}

#[cfg(feature = "ssr")]
fn page_url(project_id: &str, page: &str) -> String {
    format!("{}/handler/{project_id}/{page}", ssr::core().public_url)
}

/// Mails a reset link if the address has an account; the page says the same either way.
#[server(prefix = "/_sfn")]
pub async fn forgot_password(project_id: String, email: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    ssr::core()
        .request_password_reset(&project, &email, &page_url(&project.id, "password-reset"))
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/handler/{project_id}/forgot-password?sent=1"));
    Ok(())
}

/// Sets a new password with the code of a reset link; every session ends, so the person signs
/// in again.
#[server(prefix = "/_sfn")]
pub async fn reset_password(
    project_id: String,
    code: String,
    password: String,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    ssr::core()
        .reset_password(&project, &code, password)
        .await
        .map_err(ssr::shown)?;
    ssr::set_session_cookie(&project_id, None);
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/sign-in?done=password-reset"
    ));
    Ok(())
}

/// Mails a sign-in code and link, then shows the page that takes the code.
#[server(prefix = "/_sfn")]
pub async fn send_magic_link(
    project_id: String,
    email: String,
    after_auth_return_to: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    // Checked now, so the link does not lead somewhere the project does not trust.
    ssr::return_target(&project, after_auth_return_to.clone())?;
    let query = return_query(&after_auth_return_to);
    let callback = match query.as_str() {
        "" => page_url(&project.id, "magic-link-callback"),
        q => format!("{}?{q}", page_url(&project.id, "magic-link-callback")),
    };
    let email = email.trim().to_lowercase();
    let nonce = ssr::core()
        .send_sign_in_code(&project, &email, &callback)
        .await
        .map_err(ssr::shown)?;
    let mut next = format!(
        "/handler/{project_id}/magic-link?nonce={nonce}&email={}",
        crate::pages::handler::url_encode(&email)
    );
    if !query.is_empty() {
        next.push('&');
        next.push_str(&query);
    }
    leptos_axum::redirect(&next);
    Ok(())
}

/// Signs in with the code from the email: its six characters with the nonce the page holds,
/// or the whole code of the link.
#[server(prefix = "/_sfn")]
pub async fn magic_link_sign_in(
    project_id: String,
    code: String,
    nonce: Option<String>,
    after_auth_return_to: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let full = match nonce.filter(|n| !n.is_empty()) {
        Some(nonce) => format!("{}{nonce}", code.to_lowercase()),
        None => code,
    };
    let (tokens, _) = ssr::core()
        .sign_in_with_code(&project, &full)
        .await
        .map_err(ssr::shown)?;
    ssr::set_session_cookie(&project.id, Some(&tokens.refresh_token));
    leptos_axum::redirect(&target);
    Ok(())
}

/// Verifies the address a verification link was sent to.
#[server(prefix = "/_sfn")]
pub async fn verify_email(project_id: String, code: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    ssr::core()
        .verify_contact_channel(&project, &code)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/handler/{project_id}/email-verification?done=1"));
    Ok(())
}
