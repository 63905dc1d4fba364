//! Gatehouse's auth core: the domain (projects, users, teams, sessions, tokens), its storage
//! and its crypto. It knows nothing of HTTP or of pages; the REST API and the Leptos server
//! functions both call it, so each rule is written once, here.

pub mod accounts;
pub mod admins;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod bot_challenge;
pub mod cache;
pub mod cli_auth;
pub mod codes;
pub mod config;
pub mod counters;
pub use users::contact_channels;
pub mod crypto;
pub mod db;
pub mod domains;
pub mod emails;
pub mod error;
pub mod events;
pub mod images;
pub mod jobs;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
pub mod passwords;
pub mod patch;
pub mod payments;
pub mod projects;
pub mod rate_limits;
pub mod retention;
pub mod sessions;
pub mod setup;
pub mod sign_in_codes;
pub mod sign_up;
pub mod sign_up_rules;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod validation;
pub mod webhooks;

use std::sync::Arc;

pub use error::{Error, Result};

/// The checks of the config tree that capabilities above config own, run by config on every
/// change: the composition root passes them down, so config depends on none of them.
pub(crate) const CONFIG_CHECKS: &[config::TreeCheck] =
    &[emails::templates::check_config, sign_up_rules::check_config];

/// What every write transaction runs before it commits (see [`events::CommitHook`]): the
/// composition root hands them to the log, so the log depends on none of them.
pub(crate) const COMMIT_HOOKS: &[events::CommitHook] =
    &[webhooks::snapshot_objects, audit::write_entries];

/// Everything a request needs: the database, the token signer, and the caches in front of them.
/// One shared copy: every request's handlers and extractors clone it, so a clone is one count.
#[derive(Clone)]
pub struct Core(Arc<Parts>);

impl std::ops::Deref for Core {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// What a [`Core`] is made of.
pub struct Parts {
    pub db: db::Db,
    pub signer: tokens::Signer,
    pub public_url: Arc<str>,
    pub(crate) caches: Arc<Caches>,
    /// Rung when this instance writes jobs, so its workers look at once (see [`jobs`]).
    pub(crate) jobs_written: tokio::sync::Notify,
    /// On SQLite, this instance's queue writes take turns here (see [`jobs`]).
    pub(crate) job_writes: tokio::sync::Mutex<()>,
    /// The server-wide SMTP server; `None`: emails of projects without their own go to the
    /// dev inbox (see [`emails`]).
    pub smtp: Option<Arc<emails::SmtpServer>>,
    /// The request header a trusted proxy puts the visitor's country in (`CF-IPCountry`…), for
    /// sign-up rules; `None`: the country is unknown.
    pub country_header: Option<Arc<str>>,
    /// Server-wide OAuth credentials and the development provider (see [`oauth`]).
    pub oauth: oauth::SharedKeys,
    /// Seals the provider tokens kept for connected accounts.
    pub sealing: crypto::SealingKey,
    /// The HTTP client for OAuth providers (see [`oauth`]).
    pub(crate) http: std::sync::OnceLock<reqwest::Client>,
    /// Server-wide webhook settings (see [`webhooks`]).
    pub webhooks: webhooks::WebhookSettings,
    /// The HTTP clients webhooks go out with (see [`webhooks::deliver`]).
    pub(crate) webhook_clients: webhooks::deliver::Clients,
    /// Whether attempts are counted against the projects' limits (see [`rate_limits`]).
    pub(crate) rate_limits_on: bool,
    /// Where Turnstile tokens are checked (see [`bot_challenge`]).
    pub(crate) turnstile_siteverify_url: Arc<str>,
    /// Where Stripe's API and Stripe.js are (see [`payments::stripe`]).
    pub stripe: payments::stripe::StripeUrls,
    /// Analytics events on their way to the database (see [`analytics`]).
    pub analytics: analytics::Ingest,
    /// What this process counts for its metrics.
    pub counters: counters::Counters,
    /// The connections analytics queries read on, made by the first query.
    pub(crate) analytics_reader: analytics::query::ReaderCell,
    /// Where session replays' events are kept as files, if not in the database.
    pub(crate) replay_dir: Option<std::path::PathBuf>,
}

/// Short-lived copies of what every request reads (see [`cache`]).
pub(crate) struct Caches {
    pub projects: cache::TtlCache<String, Arc<projects::Project>>,
    /// (project id, key kind, key hash) → whether the key is live.
    pub keys: cache::TtlCache<(String, projects::KeyKind, String), bool>,
    /// Session id → its user, for access-token checks.
    pub sessions: cache::TtlCache<String, users::User>,
    /// Key hash → the API key, for `…-api-keys/check`.
    pub api_keys: cache::TtlCache<String, api_keys::ApiKey>,
    /// Rate-limit buckets past their limit, until their window ends (epoch ms; see
    /// [`rate_limits`]): refusals read from memory, so that a flood writes nothing and the
    /// checks that pass (API keys) stay off the database.
    pub refused: cache::TtlCache<String, (error::Quota, i64)>,
}

const READ_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Settings the core is built from (the binary reads them from the environment).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub database_url: String,
    pub secret: Vec<u8>,
    pub public_url: String,
    /// Keys for the internal project (Stack's STACK_SEED_INTERNAL_PROJECT_* variables).
    pub seed_keys: Option<projects::SeedKeys>,
    /// How the dashboard's own project starts out (Stack's STACK_SEED_INTERNAL_PROJECT_*).
    pub internal_seed: setup::InternalSeed,
    /// The server-wide SMTP server (`GATEHOUSE_SMTP_URL` or Stack's `STACK_EMAIL_*`).
    pub smtp: Option<emails::SmtpServer>,
    /// How long a read cache keeps a copy (default a second): changes of this instance drop
    /// copies at once, other instances' changes within [`events::FOLLOW_INTERVAL`].
    pub read_cache_lifetime: Option<std::time::Duration>,
    /// `GATEHOUSE_COUNTRY_HEADER`: see [`Core::country_header`].
    pub country_header: Option<String>,
    /// Stack's `STACK_<PROVIDER>_CLIENT_ID` / `_SECRET` and `STACK_OAUTH_MOCK_URL`.
    pub oauth: oauth::SharedKeys,
    /// `GATEHOUSE_WEBHOOK_*`: see [`webhooks::WebhookSettings`].
    pub webhooks: webhooks::WebhookSettings,
    /// `GATEHOUSE_RATE_LIMITS=off`: no attempt is counted against a limit (load tests); lockouts
    /// still apply.
    pub rate_limits_off: bool,
    /// `GATEHOUSE_TURNSTILE_SITEVERIFY_URL`: where Turnstile tokens are checked; `None`:
    /// Cloudflare's.
    pub turnstile_siteverify_url: Option<String>,
    /// `GATEHOUSE_STRIPE_API_URL` / `GATEHOUSE_STRIPE_JS_URL`: see [`payments::stripe::StripeUrls`].
    pub stripe: payments::stripe::StripeUrls,
    /// Where session replays' events are kept as files; `None`: in the database (see
    /// [`analytics::replays`]).
    pub replay_dir: Option<std::path::PathBuf>,
}

impl Core {
    /// Connects, migrates, and makes sure the internal project exists.
    pub async fn start(settings: &Settings) -> Result<Core> {
        let db = db::Db::connect(&settings.database_url).await?;
        let lifetime = settings.read_cache_lifetime.unwrap_or(READ_CACHE_TTL);
        let core = Core(Arc::new(Parts {
            db,
            signer: tokens::Signer::new(&settings.secret, &settings.public_url),
            public_url: settings.public_url.trim_end_matches('/').into(),
            caches: Arc::new(Caches {
                projects: cache::TtlCache::new(lifetime, 10_000),
                keys: cache::TtlCache::new(lifetime, 10_000),
                sessions: cache::TtlCache::new(lifetime, 100_000),
                api_keys: cache::TtlCache::new(lifetime, 100_000),
                refused: cache::TtlCache::new(std::time::Duration::from_secs(24 * 3600), 100_000),
            }),
            jobs_written: tokio::sync::Notify::new(),
            job_writes: tokio::sync::Mutex::new(()),
            smtp: settings.smtp.clone().map(Arc::new),
            country_header: settings.country_header.as_deref().map(Arc::from),
            oauth: settings.oauth.clone(),
            sealing: crypto::SealingKey::derive(&settings.secret),
            http: Default::default(),
            webhooks: settings.webhooks.clone(),
            webhook_clients: Default::default(),
            rate_limits_on: !settings.rate_limits_off,
            turnstile_siteverify_url: settings
                .turnstile_siteverify_url
                .as_deref()
                .unwrap_or("https://challenges.cloudflare.com/turnstile/v0/siteverify")
                .into(),
            stripe: settings.stripe.clone(),
            analytics: Default::default(),
            counters: Default::default(),
            analytics_reader: Default::default(),
            replay_dir: settings.replay_dir.clone(),
        }));
        core.ensure_internal_project(settings.seed_keys.as_ref(), &settings.internal_seed)
            .await?;
        if let Some((email, password)) = &settings.internal_seed.admin {
            core.seed_first_admin(email, password).await?;
        }
        Ok(core)
    }
}

impl Caches {
    /// The one place the read caches learn of changes: each committed event drops what was
    /// copied from the rows it changed. This instance's transactions call it as they commit
    /// (see [`events::Tx`]), so this instance never serves the old state; changes made by other
    /// instances arrive through [`Core::follow_other_instances`].
    pub(crate) fn follow(&self, changes: &[events::Changed]) {
        for c in changes {
            let kind = c.kind.as_str();
            // A signed-in user's copy carries their fields, channels, linked accounts and
            // selected team, so any change naming the user drops their sessions (an ended
            // session's event names its user too).
            let user = if kind.starts_with("user.") {
                Some(c.object_id.as_str())
            } else {
                c.data.get("user_id").and_then(serde_json::Value::as_str)
            };
            if let Some(user) = user {
                self.sessions.retain(|_, u| u.id != user);
            }
            match kind {
                // Users carry their selected team's name and picture.
                "team.updated" | "team.deleted" => self
                    .sessions
                    .retain(|_, u| u.selected_team_id.as_deref() != Some(c.object_id.as_str())),
                "project.updated"
                | "project.deleted"
                | "config.updated"
                | "project_api_key.created"
                | "project_api_key.updated" => self.forget_project_settings(&c.project_id),
                k if k.starts_with("api_key.") => {
                    self.api_keys.retain(|_, key| key.id != c.object_id)
                }
                _ => {}
            }
        }
    }

    /// Drops a project's copy and its key checks.
    fn forget_project_settings(&self, project_id: &str) {
        self.projects.remove(&project_id.to_string());
        self.keys.retain(|(p, _, _), _| p != project_id);
    }

    /// Drops everything copied of one project (when too much of it changed to go event by
    /// event).
    pub(crate) fn forget_project(&self, project_id: &str) {
        self.forget_project_settings(project_id);
        self.sessions.retain(|_, u| u.project_id != project_id);
        self.api_keys.retain(|_, k| k.project_id != project_id);
    }
}

/// Milliseconds since the Unix epoch: the one time format in storage and on the wire.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An ISO 8601 time in UTC with milliseconds, as Stack writes times in text.
pub fn iso_time(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Text made safe to put in HTML, in an element or a quoted attribute.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Parses `s` as a UUID, the only form of user, team and session ids.
pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_as_iso_8601() {
        assert_eq!(super::iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::iso_time(1_764_460_800_123),
            "2025-11-30T00:00:00.123Z"
        );
    }
}
