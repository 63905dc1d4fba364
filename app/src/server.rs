//! Server functions behind the hosted pages. Each body is a few lines over the core, the same
//! calls the REST API makes; the page's session is a refresh token in an HttpOnly cookie.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a hosted page shows of its project.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProjectSummary {
    pub id: String,
    pub display_name: String,
    pub sign_up_enabled: bool,
    pub credential_enabled: bool,
    /// The core's password rules, so the form can check as people type.
    pub password_min_length: usize,
    pub password_max_length: usize,
}

/// The signed-in user, as the account page shows them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Me {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub profile_image_url: Option<String>,
    pub has_password: bool,
    pub can_delete_account: bool,
}

/// One of the signed-in user's sessions.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub is_current: bool,
}

/// The message of a server function's error, for showing next to the form.
pub fn error_message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => format!("Something went wrong: {other}"),
    }
}

#[server(prefix = "/_sfn")]
pub async fn project_info(project_id: String) -> Result<ProjectSummary, ServerFnError> {
    let project = ssr::project(&project_id).await?;
    Ok(ProjectSummary {
        id: project.id,
        display_name: project.display_name,
        sign_up_enabled: project.config.sign_up_enabled,
        credential_enabled: project.config.credential_enabled,
        password_min_length: gatehouse_core::crypto::PASSWORD_MIN_LENGTH,
        password_max_length: gatehouse_core::crypto::PASSWORD_MAX_LENGTH,
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
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let input = gatehouse_core::auth::PasswordSignIn { email, password };
    let tokens = ssr::core()
        .password_sign_in(&project, input)
        .await
        .map_err(ssr::shown)?;
    ssr::set_session_cookie(&project.id, Some(&tokens.refresh_token));
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn sign_up(
    project_id: String,
    email: String,
    password: String,
    after_auth_return_to: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let input = gatehouse_core::auth::PasswordSignUp {
        email,
        password,
        verification_callback_url: None,
    };
    let tokens = ssr::core()
        .password_sign_up(&project, None, input)
        .await
        .map_err(ssr::shown)?;
    ssr::set_session_cookie(&project.id, Some(&tokens.refresh_token));
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn sign_out(project_id: String) -> Result<(), ServerFnError> {
    if let Some((session, user)) = ssr::page_user(&project_id).await? {
        ssr::core()
            .delete_session(&project_id, &user.id, &session.id)
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
    let sessions = ssr::core()
        .sessions_of_user(&project_id, &user.id, false)
        .await
        .map_err(ssr::shown)?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionRow {
            is_current: s.id == current.id,
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
        .revoke_other_session(&project_id, &user.id, &session_id, Some(&current.id))
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
    result.map_err(ssr::shown)
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
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let update = gatehouse_core::users::UserUpdate {
        display_name: Some(ssr::non_empty(display_name)),
        profile_image_url: Some(ssr::non_empty(profile_image_url)),
        ..Default::default()
    };
    ssr::core()
        .update_user(&project, &user, update, false)
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// A dashboard admin's view of their projects.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Dashboard {
    pub email: Option<String>,
    pub projects: Vec<ProjectRow>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProjectRow {
    pub id: String,
    pub display_name: String,
    pub created_at: i64,
}

/// A new project's keys: shown once, right after creation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NewProjectKeys {
    pub project_id: String,
    pub display_name: String,
    pub publishable_client_key: String,
    pub secret_server_key: String,
    pub super_secret_admin_key: String,
}

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
}

#[server(prefix = "/_sfn")]
pub async fn load_user_detail(
    project_id: String,
    user_id: String,
) -> Result<UserDetail, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let user = core
        .user(&project.id, &user_id)
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ssr::shown(gatehouse_core::Error::UserNotFound))?;
    let sessions = core
        .sessions_of_user(&project.id, &user.id, true)
        .await
        .map_err(ssr::shown)?;
    let pretty = |text: &Option<String>| match text
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
    {
        Some(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        None => String::new(),
    };
    Ok(UserDetail {
        project_name: project.display_name,
        client_metadata: pretty(&user.client_metadata),
        client_read_only_metadata: pretty(&user.client_read_only_metadata),
        server_metadata: pretty(&user.server_metadata),
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
    let user = core
        .user(&project.id, &user_id)
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ssr::shown(gatehouse_core::Error::UserNotFound))?;
    let meta = |label, text: &str| {
        parse_metadata(label, text).map_err(|m| ssr::shown(gatehouse_core::Error::Schema(m)))
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
    core.update_user(&project, &user, update, true)
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
        .delete_session(&project.id, &user_id, &session_id)
        .await
        .map_err(ssr::shown)
}

#[server(prefix = "/_sfn")]
pub async fn remove_user(project_id: String, user_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .delete_user(&project.id, &user_id)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{}/users", project.id));
    Ok(())
}

/// A project at a glance.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Overview {
    pub project_name: String,
    pub total_users: i64,
    /// Sign-ups per UTC day over the last 30 days, oldest first.
    pub sign_ups: Vec<i64>,
    pub first_day_ms: i64,
    pub recently_active: Vec<UserRow>,
}

#[server(prefix = "/_sfn")]
pub async fn project_overview(project_id: String) -> Result<Overview, ServerFnError> {
    const DAYS: i64 = 30;
    let project = ssr::administered_project(&project_id).await?;
    let stats = ssr::core()
        .project_stats(&project.id, DAYS)
        .await
        .map_err(ssr::shown)?;
    Ok(Overview {
        project_name: project.display_name,
        total_users: stats.total_users,
        sign_ups: stats.sign_ups_per_day,
        first_day_ms: (gatehouse_core::now_ms() / 86_400_000 - (DAYS - 1)) * 86_400_000,
        recently_active: stats
            .recently_active
            .into_iter()
            .map(ssr::user_row)
            .collect(),
    })
}

/// What the settings page shows and edits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProjectSettings {
    pub id: String,
    pub display_name: String,
    pub credential_enabled: bool,
    pub sign_up_enabled: bool,
    pub allow_localhost: bool,
    pub client_user_deletion_enabled: bool,
    pub require_publishable_client_key: bool,
    pub domains: Vec<String>,
    pub after_sign_in_url: String,
    pub key_sets: Vec<KeySetRow>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeySetRow {
    pub id: String,
    pub description: String,
    /// Last four characters of each key the set has, labelled.
    pub keys: Vec<(String, String)>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

#[server(prefix = "/_sfn")]
pub async fn load_project_settings(project_id: String) -> Result<ProjectSettings, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let sets = ssr::core()
        .api_key_sets(&project.id)
        .await
        .map_err(ssr::shown)?;
    let c = project.config;
    Ok(ProjectSettings {
        id: project.id,
        display_name: project.display_name,
        credential_enabled: c.credential_enabled,
        sign_up_enabled: c.sign_up_enabled,
        allow_localhost: c.allow_localhost,
        client_user_deletion_enabled: c.client_user_deletion_enabled,
        require_publishable_client_key: c.require_publishable_client_key,
        domains: c.domains.into_iter().map(|d| d.domain).collect(),
        after_sign_in_url: c.after_sign_in_url.unwrap_or_default(),
        key_sets: sets
            .into_iter()
            .map(|k| KeySetRow {
                keys: [
                    (
                        "Publishable client key",
                        &k.publishable_client_key_last_four,
                    ),
                    ("Secret server key", &k.secret_server_key_last_four),
                    (
                        "Super secret admin key",
                        &k.super_secret_admin_key_last_four,
                    ),
                ]
                .into_iter()
                .filter_map(|(label, l4)| l4.clone().map(|l4| (label.to_string(), l4)))
                .collect(),
                id: k.id,
                description: k.description,
                created_at: k.created_at,
                expires_at: k.expires_at,
                revoked: k.revoked_at.is_some(),
            })
            .collect(),
    })
}

/// Saves the settings form. Checkboxes send a value only when ticked; trusted domains come one
/// per line.
#[server(prefix = "/_sfn")]
#[allow(clippy::too_many_arguments)]
pub async fn save_project_settings(
    project_id: String,
    display_name: String,
    credential_enabled: Option<String>,
    sign_up_enabled: Option<String>,
    allow_localhost: Option<String>,
    client_user_deletion_enabled: Option<String>,
    require_publishable_client_key: Option<String>,
    domains: String,
    after_sign_in_url: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let domains: Vec<_> = domains
        .lines()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| serde_json::json!({ "domain": d, "handler_path": "/handler" }))
        .collect();
    let after = after_sign_in_url.trim();
    let config = serde_json::json!({
        "credential_enabled": credential_enabled.is_some(),
        "sign_up_enabled": sign_up_enabled.is_some(),
        "allow_localhost": allow_localhost.is_some(),
        "client_user_deletion_enabled": client_user_deletion_enabled.is_some(),
        "require_publishable_client_key": require_publishable_client_key.is_some(),
        "domains": domains,
        "after_sign_in_url": if after.is_empty() { None } else { Some(after) },
    });
    let update = gatehouse_core::projects::ProjectUpdate {
        display_name: Some(display_name),
        description: None,
        config: Some(config),
    };
    ssr::core()
        .update_project(&project, update)
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn create_key_set(project_id: String, description: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let (_, admin) = ssr::signed_in(gatehouse_core::projects::INTERNAL_PROJECT_ID).await?;
    let description = if description.trim().is_empty() {
        "Created in the dashboard".to_string()
    } else {
        description
    };
    let keys = ssr::new_key_set(&project.id, &description).await?;
    let flash = ssr::flash_keys(
        &admin.id,
        NewProjectKeys {
            project_id: project.id.clone(),
            display_name: description,
            ..keys
        },
    );
    leptos_axum::redirect(&format!(
        "/projects/{}/settings?created={flash}",
        project.id
    ));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn revoke_key_set(project_id: String, key_set_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .revoke_api_key_set(&project.id, &key_set_id)
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// The dashboard, or `None` when nobody is signed in to it.
#[server(prefix = "/_sfn")]
pub async fn dashboard_data() -> Result<Option<Dashboard>, ServerFnError> {
    use gatehouse_core::projects::INTERNAL_PROJECT_ID;
    let Some((_, admin)) = ssr::page_user(INTERNAL_PROJECT_ID).await? else {
        return Ok(None);
    };
    let projects = ssr::core()
        .projects_owned_by_user(&admin.id)
        .await
        .map_err(ssr::shown)?;
    Ok(Some(Dashboard {
        email: admin.primary_email,
        projects: projects
            .into_iter()
            .map(|p| ProjectRow {
                id: p.id,
                display_name: p.display_name,
                created_at: p.created_at,
            })
            .collect(),
    }))
}

/// Creates a project with a full key set, then sends the browser to the dashboard, where the
/// keys are shown once.
#[server(prefix = "/_sfn")]
pub async fn create_project(
    display_name: String,
    credential_enabled: Option<String>,
    sign_up_enabled: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::projects::{ProjectCreate, INTERNAL_PROJECT_ID};
    let (_, admin) = ssr::signed_in(INTERNAL_PROJECT_ID).await?;
    let core = ssr::core();
    // Checkboxes send a value only when ticked.
    let config = serde_json::json!({
        "credential_enabled": credential_enabled.is_some(),
        "sign_up_enabled": sign_up_enabled.is_some(),
    });
    let project = core
        .create_project(
            Some(&admin.id),
            ProjectCreate {
                display_name,
                config: Some(config),
                ..Default::default()
            },
        )
        .await
        .map_err(ssr::shown)?;
    let keys = ssr::new_key_set(&project.id, "Created with the project").await?;
    let shown_once = NewProjectKeys {
        display_name: project.display_name,
        ..keys
    };
    let flash = ssr::flash_keys(&admin.id, shown_once);
    leptos_axum::redirect(&format!("/?created={flash}"));
    Ok(())
}

/// The keys of a project just created, once; `None` afterwards or for anyone else.
#[server(prefix = "/_sfn")]
pub async fn take_new_project_keys(flash: String) -> Result<Option<NewProjectKeys>, ServerFnError> {
    use gatehouse_core::projects::INTERNAL_PROJECT_ID;
    let Some((_, admin)) = ssr::page_user(INTERNAL_PROJECT_ID).await? else {
        return Ok(None);
    };
    Ok(ssr::take_flash_keys(&admin.id, &flash))
}

/// A cookie of the request being served (server only).
#[cfg(feature = "ssr")]
pub(crate) fn request_cookie(name: &str) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let found = parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string());
    found
}

#[cfg(feature = "ssr")]
mod ssr {
    use gatehouse_core::projects::Project;
    use gatehouse_core::sessions::Session;
    use gatehouse_core::users::User;
    use gatehouse_core::{Core, Error};
    use http::header::SET_COOKIE;
    use http::HeaderValue;
    use leptos::prelude::*;

    pub fn core() -> Core {
        expect_context::<Core>()
    }

    /// New keys waiting to be shown to the admin who made them: kept in memory for a minute,
    /// handed out once.
    fn flashes() -> &'static gatehouse_core::cache::TtlCache<String, (String, super::NewProjectKeys)>
    {
        static FLASHES: std::sync::OnceLock<
            gatehouse_core::cache::TtlCache<String, (String, super::NewProjectKeys)>,
        > = std::sync::OnceLock::new();
        FLASHES.get_or_init(|| {
            gatehouse_core::cache::TtlCache::new(std::time::Duration::from_secs(60), 1000)
        })
    }

    pub fn user_row(u: User) -> super::UserRow {
        super::UserRow {
            id: u.id,
            email: u.primary_email,
            display_name: u.display_name,
            signed_up_at: u.signed_up_at,
            last_active_at: u.last_active_at,
        }
    }

    /// A full key set (all three keys) for a project, valid for a hundred years.
    pub async fn new_key_set(
        project_id: &str,
        description: &str,
    ) -> Result<super::NewProjectKeys, ServerFnError> {
        let keys = core()
            .create_api_key_set(
                project_id,
                gatehouse_core::projects::ApiKeySetCreate {
                    description: description.to_string(),
                    expires_at_millis: gatehouse_core::now_ms() + 100 * 365 * 24 * 3600 * 1000,
                    has_publishable_client_key: true,
                    has_secret_server_key: true,
                    has_super_secret_admin_key: true,
                },
            )
            .await
            .map_err(shown)?;
        Ok(super::NewProjectKeys {
            project_id: project_id.to_string(),
            display_name: description.to_string(),
            publishable_client_key: keys.publishable_client_key.unwrap_or_default(),
            secret_server_key: keys.secret_server_key.unwrap_or_default(),
            super_secret_admin_key: keys.super_secret_admin_key.unwrap_or_default(),
        })
    }

    pub fn flash_keys(user_id: &str, keys: super::NewProjectKeys) -> String {
        let id = gatehouse_core::crypto::random_token(16);
        flashes().insert(id.clone(), (user_id.to_string(), keys));
        id
    }

    pub fn take_flash_keys(user_id: &str, flash: &str) -> Option<super::NewProjectKeys> {
        let key = flash.to_string();
        let (owner, keys) = flashes().get(&key)?;
        if owner != user_id {
            return None;
        }
        flashes().remove(&key);
        Some(keys)
    }

    /// A core error as the person at the form should read it, with the core's HTTP status (a
    /// client's mistake is a 4xx, never a 500). Plain HTML form posts keep the redirect back
    /// to their page, which carries the error.
    pub fn shown(e: Error) -> ServerFnError {
        if let Error::Internal(cause) = &e {
            tracing::error!(%cause, "page action failed");
        }
        let plain_form = use_context::<http::request::Parts>().is_some_and(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.contains("text/html"))
        });
        if !plain_form {
            if let (Some(options), Ok(status)) = (
                use_context::<leptos_axum::ResponseOptions>(),
                http::StatusCode::from_u16(e.status()),
            ) {
                options.set_status(status);
            }
        }
        ServerFnError::new(e.message())
    }

    pub async fn project(id: &str) -> Result<Project, ServerFnError> {
        core()
            .project_cached(id)
            .await
            .map_err(shown)?
            .ok_or_else(|| shown(Error::ProjectNotFound(id.to_string())))
    }

    /// Where to go after signing in: the asked-for place if the project trusts it, else the
    /// account page. An untrusted target is refused, never followed.
    pub fn return_target(
        project: &Project,
        asked: Option<String>,
    ) -> Result<String, ServerFnError> {
        match asked.filter(|a| !a.is_empty()) {
            Some(url) if project.is_trusted_redirect(&url) => Ok(url),
            Some(url) => Err(shown(Error::UntrustedRedirect {
                url,
                project: project.display_name.clone(),
            })),
            None => Ok(project
                .config
                .after_sign_in_url
                .clone()
                .unwrap_or_else(|| format!("/handler/{}/account-settings", project.id))),
        }
    }

    fn cookie_name(project_id: &str) -> String {
        format!(
            "gatehouse_session_{}",
            project_id.replace(|c: char| !c.is_ascii_alphanumeric(), "")
        )
    }

    /// Sets (or, with `None`, clears) the page session cookie: HttpOnly, SameSite=Lax, Secure
    /// when the server is reached over https.
    pub fn set_session_cookie(project_id: &str, refresh_token: Option<&str>) {
        let secure = if core().public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        let value = match refresh_token {
            Some(token) => format!(
                "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}",
                cookie_name(project_id)
            ),
            None => format!(
                "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
                cookie_name(project_id)
            ),
        };
        if let (Some(options), Ok(value)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            HeaderValue::from_str(&value),
        ) {
            options.append_header(SET_COOKIE, value);
        }
    }

    /// A form field's text, trimmed; empty means none.
    pub fn non_empty(text: String) -> Option<String> {
        Some(text.trim().to_string()).filter(|t| !t.is_empty())
    }

    /// A project the signed-in dashboard user manages; anyone else is told it does not exist.
    pub async fn administered_project(project_id: &str) -> Result<Project, ServerFnError> {
        let (_, admin) = signed_in(gatehouse_core::projects::INTERNAL_PROJECT_ID).await?;
        let project = project(project_id).await?;
        if core()
            .administers(&admin.id, &project)
            .await
            .map_err(shown)?
        {
            Ok(project)
        } else {
            Err(shown(Error::ProjectNotFound(project_id.to_string())))
        }
    }

    /// Like [`page_user`], for actions that need someone signed in.
    pub async fn signed_in(project_id: &str) -> Result<(Session, User), ServerFnError> {
        page_user(project_id)
            .await?
            .ok_or_else(|| shown(Error::UserAuthenticationRequired))
    }

    /// The signed-in user of this project's hosted pages, from the session cookie.
    pub async fn page_user(project_id: &str) -> Result<Option<(Session, User)>, ServerFnError> {
        let token = super::request_cookie(&cookie_name(project_id));
        match token {
            Some(token) => core()
                .user_of_refresh_token(project_id, &token)
                .await
                .map_err(shown),
            None => Ok(None),
        }
    }
}
