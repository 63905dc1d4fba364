//! The dashboard's server functions for a project's users: the table, a user's page (profile,
//! metadata, sessions), deletion.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::*;

/// One page of a project's users, as the dashboard's table shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UsersPage {
    pub project_name: String,
    pub users: Vec<UserRow>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub signed_up_at: i64,
    pub last_active_at: i64,
}

/// A page of users for the dashboard: search on email, name or id; newest or oldest first by
/// sign-up or last activity; keyset pagination (fast at any depth).
#[server(prefix = "/_sfn")]
pub async fn project_users(
    project_id: String,
    query: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
) -> Result<UsersPage, ServerFnError> {
    use gatehouse_core::users::UserListQuery;
    let project = ssr::administered_project(&project_id).await?;
    let (order_by_last_active, desc) = match sort.as_deref().unwrap_or("newest") {
        "oldest" => (false, false),
        "active" => (true, true),
        _ => (false, true),
    };
    let list = UserListQuery {
        limit: Some(50),
        cursor: cursor.filter(|c| !c.is_empty()),
        order_by_last_active,
        desc,
        query,
        ..Default::default()
    };
    let page = ssr::core()
        .list_users(&project.id, &list)
        .await
        .map_err(ssr::shown)?;
    Ok(UsersPage {
        project_name: project.display_name,
        users: page.items.into_iter().map(ssr::user_row).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Everything the user page shows and edits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserDetail {
    pub project_name: String,
    pub id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub signed_up_at: i64,
    pub last_active_at: i64,
    pub client_metadata: String,
    pub client_read_only_metadata: String,
    pub server_metadata: String,
    pub sessions: Vec<SessionRow>,
    /// Signs in with a second factor (TOTP).
    pub mfa_enabled: bool,
    /// Password sign-in is paused after repeated failures, until then (epoch ms).
    pub locked_until: Option<i64>,
}

#[server(prefix = "/_sfn")]
pub async fn load_user_detail(
    project_id: String,
    user_id: String,
) -> Result<UserDetail, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let user = ssr::project_user(&project, &user_id).await?;
    let sessions = core
        .sessions_of_user(&project.id, &user.id, true)
        .await
        .map_err(ssr::shown)?;
    let locked_until = core
        .locked_until(&project.id, &user.id)
        .await
        .map_err(ssr::shown)?;
    Ok(UserDetail {
        locked_until,
        project_name: project.display_name,
        client_metadata: ssr::pretty_json(&user.client_metadata),
        client_read_only_metadata: ssr::pretty_json(&user.client_read_only_metadata),
        server_metadata: ssr::pretty_json(&user.server_metadata),
        mfa_enabled: user.totp_secret.is_some(),
        id: user.id,
        email: user.primary_email,
        display_name: user.display_name,
        signed_up_at: user.signed_up_at,
        last_active_at: user.last_active_at,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                is_current: false,
                is_impersonation: s.is_impersonation,
            })
            .collect(),
    })
}

/// Checks a metadata editor's text: empty means none; otherwise it must be JSON.
pub fn parse_metadata(label: &str, text: &str) -> Result<Option<serde_json::Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("{label} is not valid JSON: {e}."))
}

#[server(prefix = "/_sfn")]
#[allow(clippy::too_many_arguments)]
pub async fn save_user(
    project_id: String,
    user_id: String,
    display_name: String,
    email: String,
    client_metadata: String,
    client_read_only_metadata: String,
    server_metadata: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::users::UserUpdate;
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let user = ssr::project_user(&project, &user_id).await?;
    let meta = |label, text: &str| {
        parse_metadata(label, text).map_err(|m| ssr::shown(gatehouse_core::Error::Schema(vec![m])))
    };
    let update = UserUpdate {
        display_name: Some(ssr::non_empty(display_name)),
        primary_email: Some(ssr::non_empty(email)),
        client_metadata: Some(meta("Client metadata", &client_metadata)?),
        client_read_only_metadata: Some(meta(
            "Client read-only metadata",
            &client_read_only_metadata,
        )?),
        server_metadata: Some(meta("Server metadata", &server_metadata)?),
        ..Default::default()
    };
    core.update_user(&project, &user, update, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn revoke_user_session(
    project_id: String,
    user_id: String,
    session_id: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .delete_session(
            &project.id,
            &user_id,
            &session_id,
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)
}

#[server(prefix = "/_sfn")]
pub async fn remove_user(project_id: String, user_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .delete_user(&project.id, &user_id, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{}/users", project.id));
    Ok(())
}

/// Turns off a user's second factor (they lost their phone and their recovery codes).
#[server(prefix = "/_sfn")]
pub async fn reset_user_mfa(project_id: String, user_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let user = ssr::project_user(&project, &user_id).await?;
    ssr::core()
        .disable_totp(&project, &user, None, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// Lifts the pause on a user's password sign-in (a lockout after repeated failures).
#[server(prefix = "/_sfn")]
pub async fn unlock_user(project_id: String, user_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let user = ssr::project_user(&project, &user_id).await?;
    ssr::core()
        .unlock_user(&project.id, &user.id, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)
}

/// Signs the admin in as the user on the project's hosted pages: an impersonation session
/// (short-lived, shown to the user, recorded with the admin), then on to the user's account
/// page.
#[server(prefix = "/_sfn")]
pub async fn impersonate_user(project_id: String, user_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let tokens = ssr::core()
        .impersonate(&project, &user_id, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    ssr::set_session_cookie(&project.id, Some(&tokens.refresh_token));
    leptos_axum::redirect(&format!("/handler/{}/account-settings", project.id));
    Ok(())
}
