//! A project's configuration: Stack's config tree.
//!
//! Settings are overrides at three levels — project, branch, environment — each a JSON object of
//! dotted keys (see [`format`]), laid in that order over Stack's defaults (see [`schema`]) to
//! make the rendered config every request reads. The legacy project fields are views of the
//! same tree (see [`legacy`]). Gatehouse has one branch and one environment per project.

pub mod format;
pub mod legacy;
pub mod limits;
pub mod schema;

use std::sync::Arc;

use serde_json::{json, Value};

pub use format::Override;
pub use schema::Level;

use crate::domains::{domain_matches, is_frame_origin, Origin};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::{now_ms, Core};

/// The permissions every team has without defining them.
pub const TEAM_SYSTEM_PERMISSIONS: [&str; 6] = [
    "$update_team",
    "$delete_team",
    "$read_members",
    "$remove_members",
    "$invite_members",
    "$manage_api_keys",
];

/// The rendered config, with the settings the core acts on read out once.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectConfig {
    pub allow_localhost: bool,
    pub sign_up_enabled: bool,
    pub credential_enabled: bool,
    pub magic_link_enabled: bool,
    pub passkey_enabled: bool,
    pub client_team_creation_enabled: bool,
    pub client_user_deletion_enabled: bool,
    pub create_team_on_sign_up: bool,
    pub require_publishable_client_key: bool,
    /// Users must verify their email before they count as full users.
    pub require_email_verification: bool,
    /// Trusted domains: (base URL, handler path), by base URL.
    pub domains: Vec<(String, String)>,
    /// Where the hosted pages send people after signing in when the link names no place.
    pub after_sign_in_url: Option<String>,
    /// Origins (`https://app.example.com`, `https://*.example.com`) whose pages may show this
    /// project's hosted pages in a frame. Empty: no site may (the default).
    pub allowed_frame_origins: Vec<String>,
    /// New passwords on the list of common ones are refused (`security.refuseCommonPasswords`).
    pub refuse_common_passwords: bool,
    /// How often attempts may be made, and when an account is locked (`security.rateLimits`,
    /// `security.lockout`).
    pub limits: limits::Limits,
    /// What a sign-up must pass (`security.botChallenge`).
    pub bot_challenge: limits::BotChallengeMode,
    /// The analytics app is on (`apps.installed.analytics.enabled`): events are taken and
    /// recorded, and queries and replays answer.
    pub analytics_enabled: bool,
    /// The whole rendered tree (`GET /internal/config`).
    pub tree: Arc<Value>,
}

impl ProjectConfig {
    pub fn from_overrides(overrides: &Overrides) -> ProjectConfig {
        let tree = format::render(&[
            &overrides.project,
            &overrides.branch,
            &overrides.environment,
        ]);
        let flag = |pointer: &str| tree.pointer(pointer) == Some(&Value::Bool(true));
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let legacy = legacy::admin_fields(&tree);
        ProjectConfig {
            allow_localhost: flag("/domains/allowLocalhost"),
            sign_up_enabled: flag("/auth/allowSignUp"),
            credential_enabled: flag("/auth/password/allowSignIn"),
            magic_link_enabled: flag("/auth/otp/allowSignIn"),
            passkey_enabled: flag("/auth/passkey/allowSignIn"),
            client_team_creation_enabled: flag("/teams/allowClientTeamCreation"),
            client_user_deletion_enabled: flag("/users/allowClientUserDeletion"),
            create_team_on_sign_up: flag("/teams/createPersonalTeamOnSignUp"),
            require_publishable_client_key: flag("/project/requirePublishableClientKey"),
            require_email_verification: flag("/onboarding/requireEmailVerification"),
            analytics_enabled: flag("/apps/installed/analytics/enabled"),
            domains: legacy["domains"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| {
                    Some((
                        d["domain"].as_str()?.into(),
                        d["handler_path"].as_str()?.into(),
                    ))
                })
                .collect(),
            after_sign_in_url: tree
                .pointer("/hostedPages/afterSignInUrl")
                .and_then(Value::as_str)
                .map(str::to_string),
            allowed_frame_origins: strings(&legacy::frame_origins(&tree)),
            refuse_common_passwords: flag("/security/refuseCommonPasswords"),
            limits: limits::Limits::from_tree(&tree),
            bot_challenge: limits::BotChallengeMode::from_tree(&tree),
            tree: Arc::new(tree),
        }
    }
}

impl ProjectConfig {
    /// Whether the hosted pages may send a browser to `url` after signing in: a path on this
    /// server, an origin among the project's trusted domains, or localhost when the project
    /// allows it. Anything else would make the pages an open redirect.
    pub fn is_trusted_redirect(&self, url: &str) -> bool {
        if url.starts_with('/') {
            // "//evil.test" and "/\evil.test" are other hosts to a browser.
            return !(url.starts_with("//") || url.starts_with("/\\"));
        }
        let Some(target) = Origin::parse(url) else {
            return false;
        };
        if self.allow_localhost && target.is_localhost() {
            return true;
        }
        self.domains
            .iter()
            .any(|(domain, _)| domain_matches(domain, &target))
    }
}

/// A check of the rendered tree that belongs to a capability above config (a template that
/// must compile, a sign-up rule's condition): config runs every one of [`crate::CONFIG_CHECKS`]
/// on each change without depending on the capabilities that own them. `Err` is the refusal's
/// text (a 400).
pub type TreeCheck = fn(&Value) -> std::result::Result<(), String>;

/// A project's stored overrides, one per level (empty when never written).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub project: Override,
    pub branch: Override,
    pub environment: Override,
}

impl Overrides {
    pub fn get(&self, level: Level) -> &Override {
        match level {
            Level::Project => &self.project,
            Level::Branch => &self.branch,
            Level::Environment => &self.environment,
        }
    }
}

/// Reads override text as a client sends it (`config_string`): JSON, and an override `level`
/// may hold. Stack answers both failures with a plain 400.
pub fn parse_override(level: Level, text: &str) -> Result<Override> {
    let value: Value =
        serde_json::from_str(text).map_err(|_| Error::Status(400, "Invalid config JSON".into()))?;
    if let Some(reason) = format::override_error(level, &value) {
        return Err(Error::Status(400, reason));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::Status(
            400,
            "Config override must be a non-null object.".into(),
        )),
    }
}

/// The rules Gatehouse holds the settings it acts on to, beyond their types: trusted domains
/// are URLs (or wildcard patterns) with a handler path, frame origins are origins, and the
/// after-sign-in place is one the project trusts.
fn check_rendered(c: &ProjectConfig) -> Result<()> {
    let bad = |m: String| Err(Error::Status(400, m));
    let tree = &c.tree;
    if let Some(Value::Object(domains)) = tree.pointer("/domains/trustedDomains") {
        for (id, d) in domains {
            let at = format!("domains.trustedDomains.{id}");
            match d["baseUrl"].as_str() {
                Some(url) if url.contains(' ') => {
                    return bad(format!("{at}.baseUrl contains spaces"))
                }
                Some(url) if Origin::parse(url).is_none() => {
                    return bad(format!(
                        "{at}.baseUrl is not a valid URL or wildcard URL pattern"
                    ))
                }
                _ => {}
            }
            if !d["handlerPath"]
                .as_str()
                .is_some_and(|p| p.starts_with('/'))
            {
                return bad(format!("{at}.handlerPath: Handler path must start with /"));
            }
        }
    }
    if let Some(Value::Object(origins)) = tree.pointer("/hostedPages/frameOrigins") {
        for (id, o) in origins {
            if !o.as_str().is_some_and(is_frame_origin) {
                return bad(format!(
                    "hostedPages.frameOrigins.{id} must be an origin such as https://app.example.com \
                     (scheme, host and port only; `*.` may start the host)"
                ));
            }
        }
    }
    for check in crate::CONFIG_CHECKS {
        check(tree).map_err(|m| Error::Status(400, m))?;
    }
    if let Some(url) = &c.after_sign_in_url {
        if !c.is_trusted_redirect(url) {
            return bad(
                "hostedPages.afterSignInUrl must be a path on this server or on one of the project's trusted domains"
                    .into(),
            );
        }
    }
    Ok(())
}

impl Core {
    pub async fn config_overrides(&self, project_id: &str) -> Result<Overrides> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT level, body FROM config_overrides WHERE project_id = $1")
                .bind(project_id)
                .fetch_all(&self.db.pool)
                .await?;
        overrides_from_rows(rows)
    }

    /// Replaces the override at `level` (`PUT /internal/config/override/{level}`). A branch
    /// override says where it came from (`source`), as Stack asks.
    pub async fn set_config_override(
        &self,
        project_id: &str,
        who: &Who,
        level: Level,
        text: &str,
        source: Option<&Value>,
    ) -> Result<()> {
        let new = parse_override(level, text)?;
        if level == Level::Branch && source.is_none() {
            return Err(Error::Status(
                400,
                "source is required for branch level config".into(),
            ));
        }
        let mut tx = self.begin().await?;
        change_overrides_in(&mut tx, project_id, who, |o| {
            *o.at(level) = new;
            Ok(())
        })
        .await?;
        if let Some(source) = source {
            write_source(&mut tx, project_id, level, source).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Where the branch override was pushed from (`unlinked` when it is edited here).
    pub async fn config_source(&self, project_id: &str) -> Result<Value> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT source FROM config_overrides WHERE project_id = $1 AND level = 'branch'",
        )
        .bind(project_id)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row
            .and_then(|(s,)| s)
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_else(|| json!({ "type": "unlinked" })))
    }

    /// Marks the branch override as edited here from now on.
    pub async fn unlink_config_source(&self, project_id: &str, who: &Who) -> Result<()> {
        let mut tx = self.begin().await?;
        write_source(
            &mut tx,
            project_id,
            Level::Branch,
            &json!({ "type": "unlinked" }),
        )
        .await?;
        let change = Change::new(
            "config.updated",
            project_id,
            json!({ "levels": ["branch"] }),
        );
        events::record(&mut tx, project_id, who, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lays `text` over the override at `level` (`PATCH …/override/{level}`).
    pub async fn patch_config_override(
        &self,
        project_id: &str,
        who: &Who,
        level: Level,
        text: &str,
    ) -> Result<()> {
        let over = parse_override(level, text)?;
        self.change_overrides(project_id, who, |o| {
            let merged = format::merge(o.get(level), &over);
            *o.at(level) = merged;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Removes keys (and what lies below them) from the override at `level`.
    pub async fn reset_config_keys(
        &self,
        project_id: &str,
        who: &Who,
        level: Level,
        keys: &[String],
    ) -> Result<()> {
        self.change_overrides(project_id, who, |o| {
            let rest = format::remove_keys(o.get(level), keys);
            *o.at(level) = rest;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Puts `value` at `key` in the override at `level`, in place of whatever was there (and
    /// below it), in one change: a refused value leaves the old one as it was.
    pub async fn replace_config_key(
        &self,
        project_id: &str,
        who: &Who,
        level: Level,
        key: &str,
        value: Value,
    ) -> Result<()> {
        let over = parse_override(level, &json!({ key: value }).to_string())?;
        self.change_overrides(project_id, who, |o| {
            let rest = format::remove_keys(o.get(level), &[key.to_string()]);
            *o.at(level) = format::merge(&rest, &over);
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Reads the project's overrides, lets `change` edit them, checks the result and writes
    /// the levels that changed — all in one transaction, so that two admins saving at once
    /// both land rather than one undoing the other.
    pub async fn change_overrides(
        &self,
        project_id: &str,
        who: &Who,
        change: impl FnOnce(&mut Overrides) -> Result<()>,
    ) -> Result<ProjectConfig> {
        let mut tx = self.begin().await?;
        let config = change_overrides_in(&mut tx, project_id, who, change).await?;
        tx.commit().await?;
        Ok(config)
    }
}

impl Overrides {
    fn at(&mut self, level: Level) -> &mut Override {
        match level {
            Level::Project => &mut self.project,
            Level::Branch => &mut self.branch,
            Level::Environment => &mut self.environment,
        }
    }
}

pub(crate) fn overrides_from_rows(rows: Vec<(String, String)>) -> Result<Overrides> {
    let mut o = Overrides::default();
    for (level, body) in rows {
        if let Some(level) = Level::parse(&level) {
            *o.at(level) = serde_json::from_str(&body).map_err(Error::internal)?;
        }
    }
    Ok(o)
}

/// [`Core::change_overrides`] inside a transaction of the caller's (project creation).
pub(crate) async fn change_overrides_in(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    change: impl FnOnce(&mut Overrides) -> Result<()>,
) -> Result<ProjectConfig> {
    // Touching the project row first makes concurrent changes take turns (a row lock on
    // PostgreSQL, the write lock on SQLite) before anyone reads.
    let touched = sqlx::query("UPDATE projects SET config = config WHERE id = $1")
        .bind(project_id)
        .execute(&mut **tx)
        .await?;
    if touched.rows_affected() == 0 {
        return Err(Error::ProjectNotFound(project_id.into()));
    }
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT level, body FROM config_overrides WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&mut **tx)
            .await?;
    let before = overrides_from_rows(rows)?;
    let mut after = before.clone();
    change(&mut after)?;
    let config = ProjectConfig::from_overrides(&after);
    check_rendered(&config)?;
    let changed: Vec<&str> = Level::ALL
        .into_iter()
        .filter(|l| before.get(*l) != after.get(*l))
        .map(Level::as_str)
        .collect();
    if !changed.is_empty() {
        let change = Change::new("config.updated", project_id, json!({ "levels": changed }));
        events::record(tx, project_id, who, change).await?;
    }
    for level in Level::ALL {
        if before.get(level) == after.get(level) {
            continue;
        }
        let body = Value::Object(after.get(level).clone()).to_string();
        sqlx::query(
            "INSERT INTO config_overrides (project_id, level, body, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, level) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(level.as_str())
        .bind(body)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    }
    Ok(config)
}

async fn write_source(tx: &mut Tx, project_id: &str, level: Level, source: &Value) -> Result<()> {
    sqlx::query(
        "INSERT INTO config_overrides (project_id, level, body, source, updated_at) VALUES ($1, $2, '{}', $3, $4) \
         ON CONFLICT (project_id, level) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(level.as_str())
    .bind(source.to_string())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
