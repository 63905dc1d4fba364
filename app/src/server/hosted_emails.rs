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
        Some(r) => format!("after_auth_return_to={}", crate::text::url_encode(r)),
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
    ssr::limit(&project, gatehouse_core::rate_limits::Action::SendCode).await?;
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
    ssr::limit(&project, gatehouse_core::rate_limits::Action::VerifyCode).await?;
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
    ssr::limit(&project, gatehouse_core::rate_limits::Action::SendCode).await?;
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
        crate::text::url_encode(&email)
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
    ssr::limit(&project, gatehouse_core::rate_limits::Action::VerifyCode).await?;
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let full = match nonce.filter(|n| !n.is_empty()) {
        Some(nonce) => format!("{}{nonce}", code.to_lowercase()),
        None => code,
    };
    let signed_in = ssr::core()
        .sign_in_with_code(&project, None, &full, ssr::request_country().as_deref())
        .await
        .map(|(tokens, _)| tokens);
    ssr::finish_sign_in(&project.id, signed_in, &target)
}

/// Verifies the address a verification link was sent to.
#[server(prefix = "/_sfn")]
pub async fn verify_email(project_id: String, code: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    ssr::limit(&project, gatehouse_core::rate_limits::Action::VerifyCode).await?;
    ssr::core()
        .verify_contact_channel(&project, &code)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/handler/{project_id}/email-verification?done=1"));
    Ok(())
}

/// One of the signed-in user's email addresses, as account settings lists them.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct EmailAddressRow {
    pub id: String,
    pub value: String,
    pub is_primary: bool,
    pub is_verified: bool,
    pub used_for_auth: bool,
}

/// One notification category and whether the user takes its emails.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct NotificationRow {
    pub name: String,
    pub enabled: bool,
    pub can_disable: bool,
}

#[server(prefix = "/_sfn")]
pub async fn my_emails(project_id: String) -> Result<Vec<EmailAddressRow>, ServerFnError> {
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(vec![]);
    };
    let channels = ssr::core()
        .contact_channels(&project_id, &user.id)
        .await
        .map_err(ssr::shown)?;
    Ok(channels
        .into_iter()
        .map(|c| EmailAddressRow {
            id: c.id,
            value: c.value,
            is_primary: c.is_primary,
            is_verified: c.is_verified,
            used_for_auth: c.used_for_auth,
        })
        .collect())
}

/// Adds an address to the account and mails it a verification link.
#[server(prefix = "/_sfn")]
pub async fn add_email(project_id: String, email: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let core = ssr::core();
    let channel = core
        .create_contact_channel(
            &project,
            gatehouse_core::contact_channels::ChannelCreate {
                user_id: user.id.clone(),
                value: gatehouse_core::users::parse_email(&email, "email").map_err(ssr::shown)?,
                used_for_auth: false,
                is_primary: false,
                is_verified: false,
            },
            &gatehouse_core::events::Who::User(user.id.clone()),
        )
        .await
        .map_err(ssr::shown)?;
    core.send_channel_verification(
        &project,
        &channel,
        &page_url(&project.id, "email-verification"),
    )
    .await
    .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done=email-sent"
    ));
    Ok(())
}

/// What a button beside an address does: `verify` (mail a link again), `primary`,
/// `sign-in-on`, `sign-in-off` or `remove`.
#[server(prefix = "/_sfn")]
pub async fn email_action(
    project_id: String,
    channel_id: String,
    action: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::contact_channels::ChannelUpdate;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let core = ssr::core();
    let update = |u: ChannelUpdate| {
        let (core, project, user, id) = (
            core.clone(),
            project.clone(),
            user.clone(),
            channel_id.clone(),
        );
        async move {
            let who = gatehouse_core::events::Who::User(user.id.clone());
            core.update_contact_channel(&project, &user.id, &id, u, &who)
                .await
                .map(|_| ())
        }
    };
    let done = match action.as_str() {
        "verify" => {
            let channel = core
                .contact_channel(&project.id, &user.id, &channel_id)
                .await
                .map_err(ssr::shown)?;
            core.send_channel_verification(
                &project,
                &channel,
                &page_url(&project.id, "email-verification"),
            )
            .await
            .map_err(ssr::shown)?;
            "email-sent"
        }
        "primary" => {
            update(ChannelUpdate {
                is_primary: Some(true),
                ..Default::default()
            })
            .await
            .map_err(ssr::shown)?;
            "email"
        }
        "sign-in-on" | "sign-in-off" => {
            let on = action == "sign-in-on";
            update(ChannelUpdate {
                used_for_auth: Some(on),
                ..Default::default()
            })
            .await
            .map_err(ssr::shown)?;
            "email"
        }
        "remove" => {
            let who = gatehouse_core::events::Who::User(user.id.clone());
            core.delete_contact_channel(&project, &user.id, &channel_id, &who)
                .await
                .map_err(ssr::shown)?;
            "email"
        }
        other => return Err(ServerFnError::new(format!("Unknown action {other:?}."))),
    };
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done={done}"
    ));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn my_notifications(project_id: String) -> Result<Vec<NotificationRow>, ServerFnError> {
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(vec![]);
    };
    let prefs = ssr::core()
        .notification_preferences(&project_id, &user.id)
        .await
        .map_err(ssr::shown)?;
    Ok(prefs
        .into_iter()
        .map(|p| NotificationRow {
            name: p.category.name.to_string(),
            enabled: p.enabled,
            can_disable: p.category.can_disable,
        })
        .collect())
}

/// Saves the notification form: a ticked box (named after the category) keeps its emails coming.
#[server(prefix = "/_sfn")]
pub async fn save_notifications(
    project_id: String,
    marketing: Option<String>,
) -> Result<(), ServerFnError> {
    let (_, user) = ssr::signed_in(&project_id).await?;
    ssr::core()
        .set_notification_preference(
            &project_id,
            &user.id,
            gatehouse_core::emails::MARKETING,
            marketing.is_some(),
        )
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done=notifications"
    ));
    Ok(())
}
