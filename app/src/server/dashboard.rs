//! The dashboard's server functions: projects, their keys, users, overview and settings.

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
    let user = ssr::project_user(&project, &user_id).await?;
    let sessions = core
        .sessions_of_user(&project.id, &user.id, true)
        .await
        .map_err(ssr::shown)?;
    Ok(UserDetail {
        project_name: project.display_name,
        client_metadata: ssr::pretty_json(&user.client_metadata),
        client_read_only_metadata: ssr::pretty_json(&user.client_read_only_metadata),
        server_metadata: ssr::pretty_json(&user.server_metadata),
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
    pub allowed_frame_origins: Vec<String>,
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
        .patch_config_override(&project.id, level, &config_override)
        .await
        .map_err(ssr::shown)
}

/// A project's emails as the dashboard lists them: the outbox, and the dev inbox when no SMTP
/// server is configured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProjectEmails {
    pub id: String,
    pub display_name: String,
    /// Where emails go now: "the project's SMTP server", "the server's SMTP server", or `None`
    /// for the dev inbox.
    pub delivery: Option<String>,
    pub emails: Vec<EmailRow>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EmailRow {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub status: String,
    pub created_at: i64,
}

/// One email, whole.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EmailDetail {
    pub project_id: String,
    pub project_name: String,
    pub row: EmailRow,
    pub delivered_via: Option<String>,
    pub html: String,
    pub text: String,
    /// The links in it, to follow from the dashboard (a verification or sign-in link).
    pub links: Vec<String>,
    /// Each failed attempt: when, and the SMTP server's answer.
    pub errors: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
fn email_row(e: &gatehouse_core::emails::Email) -> EmailRow {
    EmailRow {
        id: e.id.clone(),
        to: e.to_addresses.join(", "),
        subject: e.subject.clone(),
        status: e.status.clone(),
        created_at: e.created_at,
    }
}

#[server(prefix = "/_sfn")]
pub async fn load_project_emails(project_id: String) -> Result<ProjectEmails, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let (emails, _) = core
        .outbox(
            &project.id,
            &gatehouse_core::emails::OutboxQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .map_err(ssr::shown)?;
    let delivery = if gatehouse_core::emails::SmtpServer::of_project(&project).is_some() {
        Some("the project's SMTP server".to_string())
    } else if core.smtp.is_some() {
        Some("the server's SMTP server".to_string())
    } else {
        None
    };
    Ok(ProjectEmails {
        id: project.id.clone(),
        display_name: project.display_name.clone(),
        delivery,
        emails: emails.iter().map(email_row).collect(),
    })
}

#[server(prefix = "/_sfn")]
pub async fn load_email(
    project_id: String,
    email_id: String,
) -> Result<EmailDetail, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let email = ssr::core()
        .email(&project.id, &email_id)
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ServerFnError::new("This email does not exist (any more)."))?;
    let links = email
        .text
        .split_whitespace()
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | '<' | '>' | ',' | '.'))
                .to_string()
        })
        .collect();
    let errors = email
        .send_attempt_errors
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["timestamp"].as_str().unwrap_or_default().to_string(),
                e["internal_message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    Ok(EmailDetail {
        project_id: project.id.clone(),
        project_name: project.display_name.clone(),
        row: email_row(&email),
        delivered_via: email.delivered_via.clone(),
        html: email.html.clone(),
        text: email.text.clone(),
        links,
        errors,
    })
}

/// The project's email templates, for the Emails room.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TemplateRow {
    pub id: String,
    pub name: String,
    /// Changed from the built-in text.
    pub edited: bool,
    /// Languages it has a translation in.
    pub languages: Vec<String>,
}

#[server(prefix = "/_sfn")]
pub async fn load_email_templates(project_id: String) -> Result<Vec<TemplateRow>, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let templates = project.config.tree["emails"]["templates"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    Ok(templates
        .into_iter()
        .map(|(id, t)| TemplateRow {
            name: t["displayName"]
                .as_str()
                .unwrap_or("Unnamed Template")
                .to_string(),
            edited: ["subject", "html", "text"]
                .iter()
                .any(|p| t[*p].is_string()),
            languages: t["translations"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            id,
        })
        .collect())
}

/// One template as the editor shows it, in the default texts or a language.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TemplateEditor {
    pub project_id: String,
    pub project_name: String,
    pub id: String,
    pub name: String,
    /// Empty: the default texts.
    pub language: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The template as it renders now.
    pub preview: TemplatePreview,
}

#[server(prefix = "/_sfn")]
pub async fn load_email_template(
    project_id: String,
    template_id: String,
    language: String,
) -> Result<TemplateEditor, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let language = language.trim().to_string();
    let sources = gatehouse_core::emails::template_for(
        &project,
        &template_id,
        (!language.is_empty()).then_some(language.as_str()),
    )
    .map_err(ssr::shown)?;
    let name = project.config.tree["emails"]["templates"][&template_id]["displayName"]
        .as_str()
        .unwrap_or("Template")
        .to_string();
    let preview = preview_email_template(
        project.id.clone(),
        sources.subject.clone(),
        sources.html.clone(),
        sources.text.clone(),
    )
    .await?;
    Ok(TemplateEditor {
        project_id: project.id.clone(),
        project_name: project.display_name.clone(),
        id: template_id,
        name,
        language,
        subject: sources.subject,
        html: sources.html,
        text: sources.text,
        preview,
    })
}

/// A template rendered with example values, as it would look in the project's theme.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TemplatePreview {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Why it cannot be rendered, if it cannot.
    pub error: Option<String>,
}

#[server(prefix = "/_sfn")]
pub async fn preview_email_template(
    project_id: String,
    subject: String,
    html: String,
    text: String,
) -> Result<TemplatePreview, ServerFnError> {
    use gatehouse_core::emails::templates;
    let project = ssr::administered_project(&project_id).await?;
    let example = "https://app.example.com/handler/link?code=example";
    let variables = serde_json::json!({
        "otp": "K4Q9ZT", "magicLink": example, "emailVerificationLink": example, "passwordResetLink": example,
        "teamDisplayName": "Acme Team", "teamInvitationLink": example, "signInInvitationLink": example,
        "productName": "Pro plan", "amount": "$9.00", "receiptLink": example, "invoiceUrl": example,
        "failureReason": "the card was declined",
    });
    let theme = project.config.tree["emails"]["selectedThemeId"]
        .as_str()
        .map(str::to_string);
    let rendered = templates::render(
        &subject,
        &html,
        &text,
        theme.as_deref(),
        &templates::Scope {
            project_display_name: &project.display_name,
            user_display_name: Some("Ada Lovelace"),
            variables: &variables,
            unsubscribe_link: None,
        },
    );
    Ok(match rendered {
        Ok(r) => TemplatePreview {
            subject: r.subject,
            html: r.html,
            text: r.text,
            error: None,
        },
        Err(e) => TemplatePreview {
            subject: String::new(),
            html: String::new(),
            text: String::new(),
            error: Some(e.message()),
        },
    })
}

/// Saves a template's texts: the default ones, or a language's (`language` a tag like `de`).
#[server(prefix = "/_sfn")]
pub async fn save_email_template(
    project_id: String,
    template_id: String,
    language: String,
    subject: String,
    html: String,
    text: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let language = language.trim().to_string();
    let parts = serde_json::json!({ "subject": subject, "html": html, "text": text });
    let key = if language.is_empty() {
        format!("emails.templates.{template_id}")
    } else {
        format!("emails.templates.{template_id}.translations.{language}")
    };
    let over = if language.is_empty() {
        // Into the existing entry, keeping its name and translations.
        serde_json::json!({
            format!("{key}.subject"): subject,
            format!("{key}.html"): html,
            format!("{key}.text"): text,
        })
    } else {
        serde_json::json!({ key: parts })
    };
    ssr::core()
        .patch_config_override(
            &project.id,
            gatehouse_core::config::Level::Environment,
            &over.to_string(),
        )
        .await
        .map_err(ssr::shown)?;
    let lang = if language.is_empty() {
        String::new()
    } else {
        format!("?language={language}&saved=1")
    };
    leptos_axum::redirect(&format!(
        "/projects/{project_id}/emails/templates/{template_id}{}",
        if lang.is_empty() {
            "?saved=1".to_string()
        } else {
            lang
        }
    ));
    Ok(())
}
