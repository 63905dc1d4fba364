//! Server functions behind the pages. Each body is a few lines over the core, the same calls
//! the REST API makes; a page's session is a refresh token in an HttpOnly cookie.

mod api_keys;
mod dashboard;
mod dashboard_analytics;
mod dashboard_audit;
mod dashboard_emails;
mod dashboard_payments;
mod dashboard_sign_up_rules;
mod dashboard_teams;
mod dashboard_users;
mod dashboard_webhooks;
mod hosted;
mod hosted_emails;
mod hosted_mfa;
mod hosted_passkeys;
mod hosted_payments;
mod hosted_teams;
mod oauth;
mod setup;

pub use api_keys::*;
pub use dashboard::*;
pub use dashboard_analytics::*;
pub use dashboard_audit::*;
pub use dashboard_emails::*;
pub use dashboard_payments::*;
pub use dashboard_sign_up_rules::*;
pub use dashboard_teams::*;
pub use dashboard_users::*;
pub use dashboard_webhooks::*;
pub use hosted::*;
pub use hosted_emails::*;
pub use hosted_mfa::*;
pub use hosted_passkeys::*;
pub use hosted_payments::*;
pub use hosted_teams::*;
pub use oauth::*;
pub use setup::*;
#[cfg(feature = "ssr")]
pub use ssr::{cookie_name as session_cookie_name, session_cookie};

use leptos::prelude::*;

/// The message of a server function's error, for showing next to the form.
pub fn error_message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => format!("Something went wrong: {other}"),
    }
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

    /// Secrets waiting to be shown once to the person who made them (new keys, recovery
    /// codes): kept in memory for a minute, handed out once, only to their owner.
    #[derive(Clone)]
    pub enum Flash {
        Keys(super::NewProjectKeys),
        RecoveryCodes(Vec<String>),
    }

    fn flashes() -> &'static gatehouse_core::cache::TtlCache<String, (String, Flash)> {
        static FLASHES: std::sync::OnceLock<
            gatehouse_core::cache::TtlCache<String, (String, Flash)>,
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
                &acting_admin().await?,
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

    /// Keeps `secret` for `owner` (a user id); the id to fetch it with.
    pub fn flash(owner: &str, secret: Flash) -> String {
        let id = gatehouse_core::crypto::random_token(16);
        flashes().insert(id.clone(), (owner.to_string(), secret));
        id
    }

    /// The secret kept under `id`, if `owner` kept it; gone once taken.
    pub fn take_flash(owner: &str, id: &str) -> Option<Flash> {
        let key = id.to_string();
        let (kept_by, secret) = flashes().get(&key)?;
        if kept_by != owner {
            return None;
        }
        flashes().remove(&key);
        Some(secret)
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

    /// The browser's first language (`Accept-Language`), as a tag such as `de` or `pt-BR`.
    pub fn request_language() -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        let header = parts
            .headers
            .get(http::header::ACCEPT_LANGUAGE)?
            .to_str()
            .ok()?;
        let first = header.split(',').next()?.split(';').next()?.trim();
        let ok = !first.is_empty()
            && first != "*"
            && first.len() <= 35
            && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        ok.then(|| first.to_string())
    }

    /// The visitor's country, where the server is configured to read it (sign-up rules).
    pub fn request_country() -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        core().request_country(|name| parts.headers.get(name)?.to_str().ok())
    }

    /// Counts an attempt at `action` from the visitor's address against the project's limits
    /// (see `gatehouse_core::rate_limits`; the REST door counts the same way).
    pub async fn limit(
        project: &Project,
        action: gatehouse_core::rate_limits::Action,
    ) -> Result<(), ServerFnError> {
        use gatehouse_core::rate_limits::{ClientIp, Subject};
        let ip = use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<ClientIp>().copied());
        if let Some(ClientIp(ip)) = ip {
            core()
                .limit(project, action, Subject::Ip(ip))
                .await
                .map_err(shown)?;
        }
        Ok(())
    }

    /// Lays `over` (dotted keys) on the project's environment override, as the acting admin.
    pub async fn configure(
        project: &Project,
        over: serde_json::Value,
    ) -> Result<(), ServerFnError> {
        core()
            .patch_config_override(
                &project.id,
                &acting_admin().await?,
                gatehouse_core::config::Level::Environment,
                &over.to_string(),
            )
            .await
            .map_err(shown)
    }

    pub async fn project(id: &str) -> Result<Project, ServerFnError> {
        core()
            .project_cached(id)
            .await
            .map_err(shown)?
            .map(std::sync::Arc::unwrap_or_clone)
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

    pub fn cookie_name(project_id: &str) -> String {
        format!(
            "gatehouse_session_{}",
            project_id.replace(|c: char| !c.is_ascii_alphanumeric(), "")
        )
    }

    /// The `Set-Cookie` value of the page session (`None` clears it): HttpOnly, SameSite=Lax,
    /// Secure when the server is reached over https.
    pub fn session_cookie(
        public_url: &str,
        project_id: &str,
        refresh_token: Option<&str>,
    ) -> String {
        let secure = if public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        match refresh_token {
            Some(token) => format!(
                "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}",
                cookie_name(project_id)
            ),
            None => format!(
                "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
                cookie_name(project_id)
            ),
        }
    }

    /// Ends a hosted sign-in or sign-up: the session cookie and on to `target`, or, where the
    /// user has a second factor, on to the page that asks for it.
    pub fn finish_sign_in(
        project_id: &str,
        signed_in: Result<gatehouse_core::sessions::Tokens, Error>,
        target: &str,
    ) -> Result<(), ServerFnError> {
        let next = signed_in_next(project_id, signed_in, target)?;
        leptos_axum::redirect(&next);
        Ok(())
    }

    /// [`finish_sign_in`] without the redirect, for a page's script that goes on itself: the
    /// session cookie set, and where to go (`target`, or the second-factor page).
    pub fn signed_in_next(
        project_id: &str,
        signed_in: Result<gatehouse_core::sessions::Tokens, Error>,
        target: &str,
    ) -> Result<String, ServerFnError> {
        match signed_in {
            Ok(tokens) => {
                set_session_cookie(project_id, Some(&tokens.refresh_token));
                Ok(target.to_string())
            }
            Err(Error::MultiFactorAuthenticationRequired(attempt)) => {
                Ok(super::second_factor_url(project_id, &attempt, Some(target)))
            }
            Err(e) => Err(shown(e)),
        }
    }

    /// Sets (or, with `None`, clears) the page session cookie.
    pub fn set_session_cookie(project_id: &str, refresh_token: Option<&str>) {
        let value = session_cookie(&core().public_url, project_id, refresh_token);
        if let (Some(options), Ok(value)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            HeaderValue::from_str(&value),
        ) {
            options.append_header(SET_COOKIE, value);
        }
    }

    /// A user of a project the dashboard user manages; USER_NOT_FOUND otherwise.
    pub async fn project_user(project: &Project, user_id: &str) -> Result<User, ServerFnError> {
        core()
            .user(&project.id, user_id)
            .await
            .map_err(shown)?
            .ok_or_else(|| shown(Error::UserNotFound))
    }

    /// Stored JSON (metadata) laid out for an editor; empty when there is none.
    pub fn pretty_json(text: &Option<String>) -> String {
        text.as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
            .unwrap_or_default()
    }

    /// A form field's text, trimmed; empty means none.
    pub fn non_empty(text: String) -> Option<String> {
        Some(text.trim().to_string()).filter(|t| !t.is_empty())
    }

    /// The signed-in dashboard admin, as changes they make are recorded.
    pub async fn acting_admin() -> Result<gatehouse_core::events::Who, ServerFnError> {
        let (_, admin) = signed_in(gatehouse_core::projects::INTERNAL_PROJECT_ID).await?;
        Ok(gatehouse_core::events::Who::Admin(Some(admin.id)))
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
