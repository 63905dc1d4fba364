//! Passkeys on the hosted pages. The browser's part (WebAuthn) is `public/hosted.js`, which
//! calls the four functions with fixed endpoints below; naming and removing are plain forms.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr;

/// One of the signed-in user's passkeys.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A challenge and its code, as JSON text `{options_json, code}` for the script.
#[server(prefix = "/_sfn", endpoint = "passkey-sign-in-options")]
pub async fn passkey_sign_in_options(project_id: String) -> Result<String, ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (options, code) = ssr::core()
        .initiate_passkey_authentication(&project)
        .await
        .map_err(ssr::shown)?;
    Ok(serde_json::json!({ "options_json": options, "code": code }).to_string())
}

/// Signs in with the browser's answer; returns where to go next (the return target, or the
/// second-factor page).
#[server(prefix = "/_sfn", endpoint = "passkey-sign-in")]
pub async fn passkey_sign_in(
    project_id: String,
    response: String,
    code: String,
    after_auth_return_to: Option<String>,
) -> Result<String, ServerFnError> {
    use gatehouse_core::Error;
    let project = ssr::project(&project_id).await?;
    ssr::limit(&project, gatehouse_core::rate_limits::Action::SignIn).await?;
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let authentication_response = serde_json::from_str(&response).map_err(|_| {
        ssr::shown(Error::PasskeyAuthenticationFailed(
            "The browser's answer is not JSON.".into(),
        ))
    })?;
    let input = gatehouse_core::passkeys::PasskeySignIn {
        authentication_response,
        code,
    };
    let signed_in = ssr::core()
        .passkey_sign_in(&project, input)
        .await
        .map(|(tokens, _)| tokens);
    ssr::signed_in_next(&project.id, signed_in, &target)
}

/// A registration challenge for the signed-in user, as JSON text `{options_json, code}`.
#[server(prefix = "/_sfn", endpoint = "passkey-registration-options")]
pub async fn passkey_registration_options(project_id: String) -> Result<String, ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let (options, code) = ssr::core()
        .initiate_passkey_registration(&project, &user)
        .await
        .map_err(ssr::shown)?;
    Ok(serde_json::json!({ "options_json": options, "code": code }).to_string())
}

/// Keeps the browser's new passkey for the signed-in user.
#[server(prefix = "/_sfn", endpoint = "passkey-register")]
pub async fn passkey_register(
    project_id: String,
    credential: String,
    code: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::Error;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let credential = serde_json::from_str(&credential).map_err(|_| {
        ssr::shown(Error::PasskeyRegistrationFailed(
            "The browser's answer is not JSON.".into(),
        ))
    })?;
    let input = gatehouse_core::passkeys::PasskeyRegister { credential, code };
    ssr::core()
        .register_passkey(&project, &user, input, ssr::request_country().as_deref())
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn my_passkeys(project_id: String) -> Result<Vec<PasskeyRow>, ServerFnError> {
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(vec![]);
    };
    let rows = ssr::core().user_passkeys(&user).await.map_err(ssr::shown)?;
    Ok(rows
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        })
        .collect())
}

#[server(prefix = "/_sfn")]
pub async fn rename_passkey(
    project_id: String,
    passkey_id: String,
    name: String,
) -> Result<(), ServerFnError> {
    let (_, user) = ssr::signed_in(&project_id).await?;
    ssr::core()
        .rename_passkey(&user, &passkey_id, &name)
        .await
        .map_err(ssr::shown)
}

#[server(prefix = "/_sfn")]
pub async fn remove_passkey(project_id: String, passkey_id: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    ssr::core()
        .delete_passkey(&project, &user, &passkey_id)
        .await
        .map_err(ssr::shown)
}
