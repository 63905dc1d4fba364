//! The dashboard's server functions for projects: the list, new projects and their keys shown
//! once, a project's overview, settings and key sets, and its config tree.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::*;

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
    pub allowed_frame_origins: Vec<String>,
    pub key_sets: Vec<KeySetRow>,
    pub security: SecuritySettings,
}

/// The settings against abuse, as the settings page's security form edits them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SecuritySettings {
    pub refuse_common_passwords: bool,
    /// Failed sign-ins before a lockout (0: never), and its length in minutes.
    pub lockout_failures: u32,
    pub lockout_minutes: u32,
    /// `off`, `proofOfWork` or `turnstile`.
    pub bot_challenge: String,
    pub proof_of_work_bits: u32,
    pub turnstile_site_key: String,
    /// Whether a Turnstile secret is set (never shown).
    pub turnstile_secret_set: bool,
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
    let security = &c.tree["security"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let number = |v: &serde_json::Value| v.as_u64().unwrap_or_default() as u32;
    let security = SecuritySettings {
        refuse_common_passwords: c.refuse_common_passwords,
        lockout_failures: c.limits.lockout.max_failures,
        lockout_minutes: c.limits.lockout.cool_down_s.div_ceil(60),
        bot_challenge: text(&security["botChallenge"]["mode"]),
        proof_of_work_bits: number(&security["botChallenge"]["proofOfWorkBits"]),
        turnstile_site_key: text(&security["botChallenge"]["turnstileSiteKey"]),
        turnstile_secret_set: !text(&security["botChallenge"]["turnstileSecretKey"]).is_empty(),
    };
    Ok(ProjectSettings {
        security,
        id: project.id,
        display_name: project.display_name,
        credential_enabled: c.credential_enabled,
        sign_up_enabled: c.sign_up_enabled,
        allow_localhost: c.allow_localhost,
        client_user_deletion_enabled: c.client_user_deletion_enabled,
        require_publishable_client_key: c.require_publishable_client_key,
        domains: c.domains.into_iter().map(|(d, _)| d).collect(),
        after_sign_in_url: c.after_sign_in_url.unwrap_or_default(),
        allowed_frame_origins: c.allowed_frame_origins,
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

/// Saves the settings form. Checkboxes send a value only when ticked; trusted domains and
/// framing origins come one per line.
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
    allowed_frame_origins: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let domains: Vec<_> = lines(&domains)
        .into_iter()
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
        "allowed_frame_origins": lines(&allowed_frame_origins),
    });
    let update = gatehouse_core::projects::ProjectUpdate {
        display_name: Some(display_name),
        description: None,
        config: Some(config),
    };
    ssr::core()
        .update_project(&project, update, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// Saves the security form into the config tree (`security.*`, environment level). An empty
/// Turnstile secret keeps the one set.
#[server(prefix = "/_sfn")]
#[allow(clippy::too_many_arguments)]
pub async fn save_security_settings(
    project_id: String,
    refuse_common_passwords: Option<String>,
    lockout_failures: String,
    lockout_minutes: String,
    bot_challenge: String,
    proof_of_work_bits: String,
    turnstile_site_key: String,
    turnstile_secret_key: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let whole = |label: &str, text: &str, max: u64| -> Result<u64, ServerFnError> {
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                ssr::shown(gatehouse_core::Error::Status(
                    400,
                    format!("{label} must be a whole number up to {max}."),
                ))
            })
    };
    let mut over = serde_json::json!({
        "security.refuseCommonPasswords": refuse_common_passwords.is_some(),
        "security.lockout.maxFailures": whole("Failed sign-ins before a lockout", &lockout_failures, 1000)?,
        "security.lockout.coolDownSeconds": whole("The lockout's minutes", &lockout_minutes, 10_080)?.max(1) * 60,
        "security.botChallenge.mode": bot_challenge,
        "security.botChallenge.proofOfWorkBits": whole("The puzzle's difficulty", &proof_of_work_bits, 32)?.max(1),
        "security.botChallenge.turnstileSiteKey": turnstile_site_key.trim(),
    });
    if !turnstile_secret_key.trim().is_empty() {
        over["security.botChallenge.turnstileSecretKey"] = turnstile_secret_key.trim().into();
    }
    if bot_challenge == "turnstile"
        && (turnstile_site_key.trim().is_empty()
            || (turnstile_secret_key.trim().is_empty()
                && !matches!(
                    project.config.bot_challenge,
                    gatehouse_core::config::limits::BotChallengeMode::Turnstile { .. }
                )))
    {
        return Err(ssr::shown(gatehouse_core::Error::Status(
            400,
            "Turnstile needs the site key and the secret key from Cloudflare's dashboard.".into(),
        )));
    }
    ssr::configure(&project, over).await
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
    let flash = ssr::flash(
        &admin.id,
        ssr::Flash::Keys(NewProjectKeys {
            project_id: project.id.clone(),
            display_name: description,
            ..keys
        }),
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
        .update_api_key_set(
            &project.id,
            &key_set_id,
            None,
            true,
            &ssr::acting_admin().await?,
        )
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
        .create_project_for(
            &admin.id,
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
    let flash = ssr::flash(&admin.id, ssr::Flash::Keys(shown_once));
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
    Ok(match ssr::take_flash(&admin.id, &flash) {
        Some(ssr::Flash::Keys(keys)) => Some(keys),
        _ => None,
    })
}

/// The advanced settings room: the rendered config tree and the override stored at each level.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProjectConfigView {
    pub id: String,
    pub display_name: String,
    /// The rendered config, as indented JSON.
    pub rendered: String,
    /// (level, its stored override as indented JSON), project first.
    pub overrides: Vec<(String, String)>,
}

#[server(prefix = "/_sfn")]
pub async fn load_project_config(project_id: String) -> Result<ProjectConfigView, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let overrides = ssr::core()
        .config_overrides(&project.id)
        .await
        .map_err(ssr::shown)?;
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    Ok(ProjectConfigView {
        rendered: pretty(&project.config.tree),
        overrides: gatehouse_core::config::Level::ALL
            .into_iter()
            .map(|l| {
                (
                    l.as_str().to_string(),
                    pretty(&serde_json::Value::Object(overrides.get(l).clone())),
                )
            })
            .collect(),
        id: project.id,
        display_name: project.display_name,
    })
}

/// Lays an override (dotted keys or nested objects) over the one stored at `level`, as
/// `PATCH /internal/config/override/{level}` does.
#[server(prefix = "/_sfn")]
pub async fn save_config_override(
    project_id: String,
    level: String,
    config_override: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let level = gatehouse_core::config::Level::parse(&level)
        .ok_or_else(|| ServerFnError::new("Choose the project, branch or environment level."))?;
    ssr::core()
        .patch_config_override(
            &project.id,
            &ssr::acting_admin().await?,
            level,
            &config_override,
        )
        .await
        .map_err(ssr::shown)
}
