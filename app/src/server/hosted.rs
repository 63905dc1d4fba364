//! The hosted auth pages' server functions: sign-up, sign-in, sign-out, account settings.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// What a hosted page shows of its project.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProjectSummary {
    pub id: String,
    pub display_name: String,
    pub sign_up_enabled: bool,
    pub credential_enabled: bool,
    /// Sign-in by emailed code and link.
    pub magic_link_enabled: bool,
    /// The core's password rules, so the form can check as people type.
    pub password_min_length: usize,
    pub password_max_length: usize,
    /// Sign-in with a passkey (`auth.passkey.allowSignIn`).
    pub passkey_enabled: bool,
    /// The OAuth providers people may sign in with: (id, name people know it by).
    pub oauth_providers: Vec<(String, String)>,
}

/// The signed-in user, as the account page shows them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Me {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub profile_image_url: Option<String>,
    pub has_password: bool,
    pub can_delete_account: bool,
    /// The language of their emails (a tag like `de`); empty: the project's default texts.
    pub language: String,
}

/// One of the signed-in user's sessions.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub is_current: bool,
    /// Opened by a dashboard admin signing in as the user.
    pub is_impersonation: bool,
}

#[server(prefix = "/_sfn")]
pub async fn project_info(project_id: String) -> Result<ProjectSummary, ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let oauth_providers = gatehouse_core::oauth::providers_for(&project, "authenticate");
    Ok(ProjectSummary {
        id: project.id,
        display_name: project.display_name,
        sign_up_enabled: project.config.sign_up_enabled,
        credential_enabled: project.config.credential_enabled,
        magic_link_enabled: project.config.magic_link_enabled,
        passkey_enabled: project.config.passkey_enabled,
        password_min_length: gatehouse_core::passwords::PASSWORD_MIN_LENGTH,
        password_max_length: gatehouse_core::passwords::PASSWORD_MAX_LENGTH,
        oauth_providers,
    })
}

#[server(prefix = "/_sfn")]
pub async fn sign_in(
    project_id: String,
    email: String,
    password: String,
    after_auth_return_to: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    ssr::limit(&project, gatehouse_core::rate_limits::Action::SignIn).await?;
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let input = gatehouse_core::auth::PasswordSignIn { email, password };
    let signed_in = ssr::core().password_sign_in(&project, input).await;
    ssr::finish_sign_in(&project.id, signed_in, &target)
}

/// A proof-of-work puzzle for the sign-up form, where the project asks for one: the challenge
/// and its difficulty in bits.
#[server(prefix = "/_sfn")]
pub async fn sign_up_puzzle(project_id: String) -> Result<Option<(String, u32)>, ServerFnError> {
    let project = ssr::project(&project_id).await?;
    if !matches!(
        project.config.bot_challenge,
        gatehouse_core::config::limits::BotChallengeMode::ProofOfWork { .. }
    ) {
        return Ok(None);
    }
    let puzzle = ssr::core()
        .new_bot_challenge(&project)
        .await
        .map_err(ssr::shown)?;
    Ok(Some((
        puzzle["challenge"].as_str().unwrap_or_default().to_string(),
        puzzle["difficulty_bits"].as_u64().unwrap_or_default() as u32,
    )))
}

/// Signs up with a password. With `invitation` (the code of a team invitation mailed to this
/// address) the account is made even where sign-up is closed, its address already verified.
#[server(prefix = "/_sfn")]
pub async fn sign_up(
    project_id: String,
    email: String,
    password: String,
    after_auth_return_to: Option<String>,
    invitation: Option<String>,
    bot_challenge_token: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    ssr::limit(&project, gatehouse_core::rate_limits::Action::SignUp).await?;
    let bot_challenge_token = bot_challenge_token.filter(|t| !t.trim().is_empty());
    if bot_challenge_token.is_none()
        && matches!(
            project.config.bot_challenge,
            gatehouse_core::config::limits::BotChallengeMode::ProofOfWork { .. }
        )
        && invitation.as_deref().is_none_or(|c| c.trim().is_empty())
    {
        return Err(ServerFnError::new(
            "Signing up here needs JavaScript: your browser solves a small puzzle that keeps \
             bots out. Turn JavaScript on for this page and try again.",
        ));
    }
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let invitation = invitation.filter(|c| !c.trim().is_empty());
    // The verification email links to the hosted verification page; an invitation needs none.
    let input = gatehouse_core::sign_up::PasswordSignUp {
        email,
        password,
        verification_callback_url: invitation.is_none().then(|| {
            format!(
                "{}/handler/{}/email-verification",
                ssr::core().public_url,
                project.id
            )
        }),
        language: ssr::request_language(),
        country_code: ssr::request_country(),
        bot_challenge: gatehouse_core::bot_challenge::BotChallengeFields {
            bot_challenge_token,
            ..Default::default()
        },
        ..Default::default()
    };
    let core = ssr::core();
    let signed_in = match invitation {
        Some(code) => {
            core.password_sign_up_by_invitation(&project, input, code.trim())
                .await
        }
        None => core.password_sign_up(&project, None, input).await,
    };
    // The REST answer names the API; a person is told what to do.
    let signed_in = signed_in.map_err(|e| match e {
        gatehouse_core::Error::BotChallengeFailed(_) => gatehouse_core::Error::BotChallengeFailed(
            "Your browser's check against bots did not pass. Reload the page and try again.".into(),
        ),
        e => e,
    });
    ssr::finish_sign_in(&project.id, signed_in, &target)
}

#[server(prefix = "/_sfn")]
pub async fn sign_out(project_id: String) -> Result<(), ServerFnError> {
    if let Some((session, user)) = ssr::page_user(&project_id).await? {
        ssr::core()
            .delete_session(
                &project_id,
                &user.id,
                &session.id,
                &gatehouse_core::events::Who::User(user.id.clone()),
            )
            .await
            .map_err(ssr::shown)?;
    }
    ssr::set_session_cookie(&project_id, None);
    leptos_axum::redirect(&format!("/handler/{project_id}/sign-in"));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn current_user(project_id: String) -> Result<Option<Me>, ServerFnError> {
    let project = ssr::project(&project_id).await?;
    Ok(ssr::page_user(&project_id).await?.map(|(_, u)| Me {
        has_password: u.password_hash.is_some(),
        language: u.language.clone().unwrap_or_default(),
        email: u.primary_email,
        display_name: u.display_name,
        profile_image_url: u.profile_image_url,
        can_delete_account: project.config.client_user_deletion_enabled,
    }))
}

#[server(prefix = "/_sfn")]
pub async fn my_sessions(project_id: String) -> Result<Vec<SessionRow>, ServerFnError> {
    let Some((current, user)) = ssr::page_user(&project_id).await? else {
        return Ok(vec![]);
    };
    // The user sees every session, an admin's as them too.
    let sessions = ssr::core()
        .sessions_of_user(&project_id, &user.id, true)
        .await
        .map_err(ssr::shown)?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionRow {
            is_current: s.id == current.id,
            is_impersonation: s.is_impersonation,
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
        })
        .collect())
}

#[server(prefix = "/_sfn")]
pub async fn revoke_session(project_id: String, session_id: String) -> Result<(), ServerFnError> {
    let (current, user) = ssr::signed_in(&project_id).await?;
    ssr::core()
        .revoke_other_session(
            &project_id,
            &user.id,
            &session_id,
            Some(&current.id),
            &gatehouse_core::events::Who::User(user.id.clone()),
        )
        .await
        .map_err(ssr::shown)
}

/// Changes the password (checking the old one), or sets one for a user who has none.
#[server(prefix = "/_sfn")]
pub async fn change_password(
    project_id: String,
    old_password: Option<String>,
    new_password: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::auth::{PasswordSet, PasswordUpdate};
    let (current, user) = ssr::signed_in(&project_id).await?;
    let core = ssr::core();
    let result = match old_password {
        Some(old_password) if user.password_hash.is_some() => {
            core.password_update(
                &user,
                Some(&current.id),
                PasswordUpdate {
                    old_password,
                    new_password,
                },
            )
            .await
        }
        _ => {
            core.password_set(
                &user,
                Some(&current.id),
                PasswordSet {
                    password: new_password,
                },
            )
            .await
        }
    };
    result.map_err(ssr::shown)?;
    // The page says so when it loads again (hosted pages are plain form posts).
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done=password"
    ));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn delete_account(project_id: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    ssr::core()
        .delete_own_account(&project, &user)
        .await
        .map_err(ssr::shown)?;
    ssr::set_session_cookie(&project_id, None);
    leptos_axum::redirect(&format!("/handler/{project_id}/sign-up"));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn update_profile(
    project_id: String,
    display_name: String,
    profile_image_url: String,
    language: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let update = gatehouse_core::users::UserUpdate {
        display_name: Some(ssr::non_empty(display_name)),
        profile_image_url: Some(ssr::non_empty(profile_image_url)),
        language: language.map(ssr::non_empty),
        ..Default::default()
    };
    ssr::core()
        .update_user(
            &project,
            &user,
            update,
            &gatehouse_core::events::Who::User(user.id.clone()),
        )
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// The hosted CLI confirmation: the signed-in user lets a terminal in (see the core's
/// `cli_auth`).
#[server(prefix = "/_sfn")]
pub async fn confirm_cli(project_id: String, login_code: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    ssr::core()
        .confirm_cli_auth(&project, login_code.trim(), &user)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/handler/{project_id}/cli-auth-confirm?done=1"));
    Ok(())
}
