//! Projects, their configuration, and their API key sets (publishable client, secret server
//! and super-secret admin keys; shown once, stored as hashes).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{FromRow, Row};

use crate::config::format::merge;
use crate::config::{Override, Overrides, ProjectConfig};
use crate::crypto::{random_hex, secret_hash};
use crate::domains::{is_frame_origin, Origin};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::validation::{array, boolean, nested, number, string, Field, Input, Shape};
use crate::{new_id, now_ms, Core};

pub const INTERNAL_PROJECT_ID: &str = "internal";

/// How the dashboard's own project starts out (Stack's `STACK_SEED_INTERNAL_PROJECT_*`
/// variables; sign-up closed by default).
#[derive(Clone, Debug, Default)]
pub struct InternalSeed {
    pub sign_up_enabled: bool,
    pub otp_enabled: bool,
    pub allow_localhost: bool,
    /// Providers the dashboard signs in with, on the server's shared keys (`github,google`).
    pub oauth_providers: Vec<String>,
    /// A first admin to create: email and password.
    pub admin: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct Project {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub owner_team_id: Option<String>,
    pub config: ProjectConfig,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: String,
    display_name: String,
    description: String,
    owner_team_id: Option<String>,
    created_at: i64,
}

impl ProjectRow {
    fn with(self, overrides: &Overrides) -> Project {
        Project {
            config: ProjectConfig::from_overrides(overrides),
            id: self.id,
            display_name: self.display_name,
            description: self.description,
            owner_team_id: self.owner_team_id,
            created_at: self.created_at,
        }
    }
}

impl Project {
    pub fn is_internal(&self) -> bool {
        self.id == INTERNAL_PROJECT_ID
    }

    /// Whether the hosted pages may send a browser to `url` (see
    /// [`ProjectConfig::is_trusted_redirect`]).
    pub fn is_trusted_redirect(&self, url: &str) -> bool {
        self.config.is_trusted_redirect(url)
    }

    /// The check every callback URL a client passes goes through (verification, password
    /// reset, magic link, OAuth and invitation links): Stack's `REDIRECT_URL_NOT_WHITELISTED`
    /// unless the project trusts it.
    pub fn check_callback_url(&self, url: &str) -> Result<()> {
        if self.is_trusted_redirect(url) {
            Ok(())
        } else {
            Err(Error::RedirectUrlNotWhitelisted)
        }
    }

    /// The admin view (`/internal/projects/current`).
    pub fn admin_view(&self) -> Value {
        json!({
            "id": self.id,
            "display_name": self.display_name,
            "description": self.description,
            "created_at_millis": self.created_at,
            "is_production_mode": false,
            "is_development_environment": false,
            "owner_team_id": self.owner_team_id,
            "onboarding_status": "completed",
            "logo_url": null,
            "logo_full_url": null,
            "logo_dark_mode_url": null,
            "logo_full_dark_mode_url": null,
            "config": crate::config::legacy::admin_fields(&self.config.tree),
        })
    }

    /// The client view (`/projects/current`): what a browser may know.
    pub fn client_view(&self) -> Value {
        json!({
            "id": self.id,
            "display_name": self.display_name,
            "config": crate::config::legacy::client_fields(&self.config.tree),
        })
    }
}

/// Lays legacy project fields (`{"sign_up_enabled": false, "domains": […]}`) over the
/// overrides — the environment's, and the project's for `require_publishable_client_key` — on
/// top of Stack's `creation` defaults for a new project, and checks the values Gatehouse acts
/// on, naming the legacy field that is wrong.
fn apply_legacy_settings(
    o: &mut Overrides,
    settings: &Value,
    creation: Option<Override>,
) -> Result<()> {
    let (env, project) = crate::config::legacy::overrides(settings);
    if let Some(defaults) = creation {
        o.environment = merge(&o.environment, &defaults);
    }
    o.environment = merge(&o.environment, &env);
    o.project = merge(&o.project, &project);
    for d in settings["domains"].as_array().into_iter().flatten() {
        let domain = d["domain"].as_str().unwrap_or_default();
        if Origin::parse(domain).is_none() {
            return Err(crate::validation::invalid(format!(
                "body.config.domains: {domain:?} must start with http:// or https://"
            )));
        }
    }
    for o in settings["allowed_frame_origins"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if !o.as_str().is_some_and(is_frame_origin) {
            return Err(crate::validation::invalid(format!(
                "body.config.allowed_frame_origins: {o} must be an origin such as https://app.example.com \
                 (scheme, host and port only; `*.` may start the host)"
            )));
        }
    }
    if let Some(url) = settings["after_sign_in_url"].as_str() {
        if !ProjectConfig::from_overrides(o).is_trusted_redirect(url) {
            return Err(crate::validation::invalid(
                "body.config.after_sign_in_url must be a path on this server or on one of the project's trusted domains",
            ));
        }
    }
    Ok(())
}

/// A project to create; `config` holds only the fields to change from the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectCreate {
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner_team_id: Option<String>,
    #[serde(default)]
    pub config: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectUpdate {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub config: Option<Value>,
}

impl Input for ProjectCreate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("display_name", string().defined().non_empty())
            .field("description", string().nullable())
            .field("owner_team_id", string().uuid().nullable())
            .field("config", config_shape().nullable())
    }
}

impl Input for ProjectUpdate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("display_name", string().non_empty())
            .field("description", string().nullable())
            .field("config", config_shape())
    }
}

fn config_shape() -> Field {
    nested(config_fields())
}

/// The project settings Gatehouse has so far, under `config` in project bodies.
fn config_fields() -> Shape {
    let mut shape = Shape::new();
    for flag in [
        "allow_localhost",
        "sign_up_enabled",
        "credential_enabled",
        "magic_link_enabled",
        "passkey_enabled",
        "client_team_creation_enabled",
        "client_user_deletion_enabled",
        "allow_user_api_keys",
        "allow_team_api_keys",
        "create_team_on_sign_up",
    ] {
        shape = shape.field(flag, boolean());
    }
    let domain = Shape::new()
        .field("domain", string().url().defined())
        .field("handler_path", string().defined());
    let strings = |values: &[&str]| values.iter().map(|v| json!(v)).collect::<Vec<_>>();
    let provider = Shape::new()
        .field(
            "id",
            string()
                .defined()
                .one_of(&strings(crate::config::schema::STACK_OAUTH_PROVIDERS)),
        )
        .field(
            "type",
            string().defined().one_of(&strings(&["shared", "standard"])),
        )
        .field("client_id", string())
        .field("client_secret", string())
        .field("facebook_config_id", string())
        .field("microsoft_tenant_id", string())
        .field("apple_bundle_ids", array(string().defined()));
    let email = Shape::new()
        .field(
            "type",
            string().defined().one_of(&strings(&["shared", "standard"])),
        )
        .field("host", string())
        .field("port", number())
        .field("username", string())
        .field("password", string())
        .field("sender_name", string())
        .field("sender_email", string());
    let permissions = || array(nested(Shape::new().field("id", string().defined())));
    shape
        .field("domains", array(nested(domain)))
        .field("oauth_providers", array(nested(provider)))
        .field(
            "oauth_account_merge_strategy",
            string().one_of(&strings(&[
                "link_method",
                "raise_error",
                "allow_duplicates",
            ])),
        )
        .field("email_config", nested(email))
        .field("email_theme", string())
        .field("require_email_verification", boolean())
        .field("team_creator_default_permissions", permissions())
        .field("team_member_default_permissions", permissions())
        .field("user_default_permissions", permissions())
}

impl Input for ApiKeySetCreate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("description", string().defined())
            .field("expires_at_millis", number().defined())
            .field("has_publishable_client_key", boolean().defined())
            .field("has_secret_server_key", boolean().defined())
            .field("has_super_secret_admin_key", boolean().defined())
    }
}

/// Keys handed in from outside (Stack's seed variables) for the internal project.
#[derive(Clone, Debug)]
pub struct SeedKeys {
    pub publishable_client_key: String,
    pub secret_server_key: String,
    pub super_secret_admin_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySetCreate {
    pub description: String,
    pub expires_at_millis: i64,
    pub has_publishable_client_key: bool,
    pub has_secret_server_key: bool,
    pub has_super_secret_admin_key: bool,
}

/// A key set as listed: the keys themselves are gone, only their last four characters remain.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiKeySet {
    pub id: String,
    pub project_id: String,
    pub description: String,
    pub publishable_client_key_last_four: Option<String>,
    pub secret_server_key_last_four: Option<String>,
    pub super_secret_admin_key_last_four: Option<String>,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

impl ApiKeySet {
    pub fn view(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "description": self.description,
            "expires_at_millis": self.expires_at,
            "created_at_millis": self.created_at,
        });
        if let Some(at) = self.revoked_at {
            v["manually_revoked_at_millis"] = json!(at);
        }
        for (field, last_four) in [
            (
                "publishable_client_key",
                &self.publishable_client_key_last_four,
            ),
            ("secret_server_key", &self.secret_server_key_last_four),
            (
                "super_secret_admin_key",
                &self.super_secret_admin_key_last_four,
            ),
        ] {
            if let Some(l4) = last_four {
                v[field] = json!({ "last_four": l4 });
            }
        }
        v
    }
}

/// A freshly created key set: the only moment the keys are visible.
#[derive(Clone, Debug, Serialize)]
pub struct NewApiKeySet {
    pub id: String,
    pub description: String,
    pub expires_at_millis: i64,
    pub created_at_millis: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publishable_client_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_server_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub super_secret_admin_key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    PublishableClient,
    SecretServer,
    SuperSecretAdmin,
}

impl KeyKind {
    fn hash_column(self) -> &'static str {
        match self {
            KeyKind::PublishableClient => "publishable_client_key_hash",
            KeyKind::SecretServer => "secret_server_key_hash",
            KeyKind::SuperSecretAdmin => "super_secret_admin_key_hash",
        }
    }
}

fn last_four(key: &str) -> String {
    key.chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

const PROJECT_COLUMNS: &str = "id, display_name, description, owner_team_id, created_at";
const KEY_SET_COLUMNS: &str = "id, project_id, description, publishable_client_key_last_four, secret_server_key_last_four, super_secret_admin_key_last_four, expires_at, revoked_at, created_at";
const FAR_FUTURE_MS: i64 = 253_402_300_799_000; // 9999-12-31

impl Core {
    /// The check of every callback URL a client passes (verification, password reset, magic
    /// link, OAuth and invitation links): this server's own pages, or a place the project
    /// trusts; otherwise Stack's `REDIRECT_URL_NOT_WHITELISTED`.
    pub fn check_callback_url(&self, project: &Project, url: &str) -> Result<()> {
        let own = url
            .strip_prefix(&*self.public_url)
            .is_some_and(|rest| rest.starts_with('/'));
        if own {
            Ok(())
        } else {
            project.check_callback_url(url)
        }
    }

    /// A project as every request sees it: at most a second old.
    pub async fn project_cached(&self, id: &str) -> Result<Option<Arc<Project>>> {
        if let Some(p) = self.caches.projects.get(id) {
            return Ok(Some(p));
        }
        let generation = self.caches.projects.generation();
        let project = self.project(id).await?.map(Arc::new);
        if let Some(p) = &project {
            self.caches
                .projects
                .fill(generation, id.to_string(), p.clone());
        }
        Ok(project)
    }

    /// A project with its config, in one read on a lane of the hot reads (see `db::Lanes`):
    /// the cache's refill is on every request's path, and must not queue behind the pool's
    /// writers.
    pub async fn project(&self, id: &str) -> Result<Option<Project>> {
        let rows = self
            .db
            .fetch_all_hot(
                sqlx::query(
                    "SELECT p.id, p.display_name, p.description, p.owner_team_id, p.created_at, \
                     o.level, o.body FROM projects p \
                     LEFT JOIN config_overrides o ON o.project_id = p.id WHERE p.id = $1",
                )
                .bind(id),
            )
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut overrides = Vec::new();
        for row in &rows {
            let level: Option<String> = row.try_get("level")?;
            let body: Option<String> = row.try_get("body")?;
            if let (Some(level), Some(body)) = (level, body) {
                overrides.push((level, body));
            }
        }
        Ok(Some(
            ProjectRow::from_row(first)?.with(&crate::config::overrides_from_rows(overrides)?),
        ))
    }

    /// Projects owned by any team the user belongs to (the dashboard's project list).
    pub async fn projects_owned_by_user(&self, user_id: &str) -> Result<Vec<Project>> {
        let rows: Vec<ProjectRow> = sqlx::query_as(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE owner_team_id IN \
             (SELECT team_id FROM team_members WHERE user_id = $1) ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut projects = Vec::with_capacity(rows.len());
        for row in rows {
            let overrides = self.config_overrides(&row.id).await?;
            projects.push(row.with(&overrides));
        }
        Ok(projects)
    }

    /// The first admin's team takes the dashboard's own project, where no team owns it yet.
    pub(crate) async fn give_internal_project_to(&self, team_id: &str, who: &Who) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE projects SET owner_team_id = $1 WHERE id = $2 AND owner_team_id IS NULL",
        )
        .bind(team_id)
        .bind(INTERNAL_PROJECT_ID)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            let change = Change::new("project.updated", INTERNAL_PROJECT_ID, json!({}));
            events::record(&mut tx, INTERNAL_PROJECT_ID, who, change).await?;
        }
        tx.commit().await
    }

    /// The dashboard's own project, which start-up makes.
    pub(crate) async fn internal_project(&self) -> Result<Project> {
        self.project(INTERNAL_PROJECT_ID)
            .await?
            .ok_or_else(|| Error::internal("the internal project is missing"))
    }

    /// Creates a project owned by `owner_team_id` (a team of the internal project, whose
    /// members administer it; see [`Core::create_project_for`]), or by no team (made from the
    /// CLI: reachable with its keys only).
    pub async fn create_project(
        &self,
        owner_team_id: Option<String>,
        input: ProjectCreate,
        who: &Who,
    ) -> Result<Project> {
        let display_name = input.display_name.trim().to_string();
        if display_name.is_empty() {
            return Err(crate::validation::invalid(
                "body.display_name must not be empty",
            ));
        }
        // As Stack's project creation: localhost is trusted unless the request says otherwise.
        let mut settings = json!({ "allow_localhost": true });
        if let Some(Value::Object(given)) = &input.config {
            for (k, v) in given {
                settings[k] = v.clone();
            }
        }
        let row = ProjectRow {
            id: new_id(),
            display_name,
            description: input.description.unwrap_or_default(),
            owner_team_id,
            created_at: now_ms(),
        };
        self.insert_project(row, &settings, who).await
    }

    /// Writes a new project and its starting configuration (Stack's creation defaults plus the
    /// legacy `settings` given) in one transaction.
    async fn insert_project(
        &self,
        row: ProjectRow,
        settings: &Value,
        who: &Who,
    ) -> Result<Project> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO projects (id, display_name, description, owner_team_id, config, created_at) VALUES ($1, $2, $3, $4, '{}', $5)")
            .bind(&row.id)
            .bind(&row.display_name)
            .bind(&row.description)
            .bind(&row.owner_team_id)
            .bind(row.created_at)
            .execute(&mut *tx)
            .await?;
        let change = Change::new("project.created", &row.id, json!({}));
        events::record(&mut tx, &row.id, who, change).await?;
        let config = crate::config::change_overrides_in(&mut tx, &row.id, who, |o| {
            apply_legacy_settings(
                o,
                settings,
                Some(crate::config::legacy::creation_defaults()),
            )
        })
        .await?;
        tx.commit().await?;
        Ok(Project {
            config,
            id: row.id,
            display_name: row.display_name,
            description: row.description,
            owner_team_id: row.owner_team_id,
            created_at: row.created_at,
        })
    }

    /// Deletes a project and everything in it (its users, teams, keys, emails… go with it by
    /// the tables' cascades). The dashboard's own project cannot be deleted.
    pub async fn delete_project(&self, project: &Project, who: &Who) -> Result<()> {
        if project.id == INTERNAL_PROJECT_ID {
            return Err(Error::Status(
                400,
                "The dashboard's own project (internal) cannot be deleted.".into(),
            ));
        }
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(&project.id)
            .execute(&mut *tx)
            .await?;
        // The log outlives the project (no foreign key): its last event says it went.
        let change = Change::new("project.deleted", &project.id, json!({}));
        events::record(&mut tx, &project.id, who, change).await?;
        tx.commit().await?;
        self.caches
            .sessions
            .retain(|_, u| u.project_id != project.id);
        self.caches
            .api_keys
            .retain(|_, k| k.project_id != project.id);
        Ok(())
    }

    pub async fn update_project(
        &self,
        project: &Project,
        input: ProjectUpdate,
        who: &Who,
    ) -> Result<Project> {
        let mut p = project.clone();
        if let Some(name) = input.display_name {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(crate::validation::invalid(
                    "body.display_name must not be empty",
                ));
            }
            p.display_name = name;
        }
        if let Some(d) = input.description {
            p.description = d;
        }
        let mut tx = self.begin().await?;
        // As with config, a change that changes nothing writes nothing.
        if (&p.display_name, &p.description) != (&project.display_name, &project.description) {
            sqlx::query("UPDATE projects SET display_name = $2, description = $3 WHERE id = $1")
                .bind(&p.id)
                .bind(&p.display_name)
                .bind(&p.description)
                .execute(&mut *tx)
                .await?;
            let change = Change::new("project.updated", &p.id, json!({}));
            events::record(&mut tx, &p.id, who, change).await?;
        }
        if let Some(update) = &input.config {
            p.config = crate::config::change_overrides_in(&mut tx, &p.id, who, |o| {
                apply_legacy_settings(o, update, None)
            })
            .await?;
        }
        tx.commit().await?;
        Ok(p)
    }

    /// The internal project owns the dashboard. Created on first start with Stack's defaults
    /// (plus magic links, client team creation and a personal team for every user).
    pub async fn ensure_internal_project(
        &self,
        seed: Option<&SeedKeys>,
        internal: &InternalSeed,
    ) -> Result<()> {
        self.adopt_legacy_settings().await?;
        if self.project(INTERNAL_PROJECT_ID).await?.is_none() {
            let row = ProjectRow {
                id: INTERNAL_PROJECT_ID.into(),
                display_name: "Gatehouse Dashboard".into(),
                description: "The project that owns the dashboard and its admins".into(),
                owner_team_id: None,
                created_at: now_ms(),
            };
            let settings = json!({
                "sign_up_enabled": internal.sign_up_enabled,
                "magic_link_enabled": internal.otp_enabled,
                "allow_localhost": internal.allow_localhost,
                "client_team_creation_enabled": true,
                "create_team_on_sign_up": true,
                "oauth_providers": internal.oauth_providers.iter()
                    .map(|id| json!({ "id": id, "type": "shared" }))
                    .collect::<Vec<_>>(),
            });
            match self.insert_project(row, &settings, &Who::System).await {
                Ok(_) => tracing::info!("created the internal project"),
                // Another instance starting at the same moment created it first.
                Err(_) if self.project(INTERNAL_PROJECT_ID).await?.is_some() => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(seed) = seed {
            let exists: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM api_key_sets WHERE publishable_client_key_hash = $1",
            )
            .bind(secret_hash(&seed.publishable_client_key))
            .fetch_optional(&self.db.pool)
            .await?;
            if exists.is_none() {
                self.insert_key_set(
                    INTERNAL_PROJECT_ID,
                    "Seed keys from the environment",
                    FAR_FUTURE_MS,
                    Some(seed.publishable_client_key.clone()),
                    Some(seed.secret_server_key.clone()),
                    Some(seed.super_secret_admin_key.clone()),
                    &Who::System,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Projects written before the config tree kept their settings as one JSON object of
    /// legacy fields in `projects.config`; each becomes overrides once, on the first start.
    async fn adopt_legacy_settings(&self) -> Result<()> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, config FROM projects WHERE config <> '{}'")
                .fetch_all(&self.db.pool)
                .await?;
        for (id, old) in rows {
            let settings: Value = serde_json::from_str(&old).unwrap_or_else(|_| json!({}));
            let mut tx = self.begin().await?;
            crate::config::change_overrides_in(&mut tx, &id, &Who::System, |o| {
                apply_legacy_settings(
                    o,
                    &settings,
                    Some(crate::config::legacy::creation_defaults()),
                )
            })
            .await?;
            sqlx::query("UPDATE projects SET config = '{}' WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(project = %id, "moved the project's settings into its config tree");
        }
        Ok(())
    }

    pub async fn create_api_key_set(
        &self,
        project_id: &str,
        input: ApiKeySetCreate,
        who: &Who,
    ) -> Result<NewApiKeySet> {
        if !(input.has_publishable_client_key
            || input.has_secret_server_key
            || input.has_super_secret_admin_key)
        {
            return Err(crate::validation::invalid("at least one of has_publishable_client_key, has_secret_server_key and has_super_secret_admin_key must be true."));
        }
        if input.expires_at_millis <= now_ms() {
            return Err(crate::validation::invalid(
                "body.expires_at_millis must be in the future.",
            ));
        }
        self.insert_key_set(
            project_id,
            &input.description,
            input.expires_at_millis,
            input
                .has_publishable_client_key
                .then(|| format!("pck_{}", random_hex(24))),
            input
                .has_secret_server_key
                .then(|| format!("ssk_{}", random_hex(24))),
            input
                .has_super_secret_admin_key
                .then(|| format!("sak_{}", random_hex(24))),
            who,
        )
        .await
    }

    async fn insert_key_set(
        &self,
        project_id: &str,
        description: &str,
        expires_at: i64,
        pck: Option<String>,
        ssk: Option<String>,
        sak: Option<String>,
        who: &Who,
    ) -> Result<NewApiKeySet> {
        let set = NewApiKeySet {
            id: new_id(),
            description: description.into(),
            expires_at_millis: expires_at,
            created_at_millis: now_ms(),
            publishable_client_key: pck,
            secret_server_key: ssk,
            super_secret_admin_key: sak,
        };
        let hash = |k: &Option<String>| k.as_deref().map(secret_hash);
        let l4 = |k: &Option<String>| k.as_deref().map(last_four);
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO api_key_sets (id, project_id, description, publishable_client_key_hash, publishable_client_key_last_four, \
             secret_server_key_hash, secret_server_key_last_four, super_secret_admin_key_hash, super_secret_admin_key_last_four, \
             expires_at, revoked_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11)",
        )
        .bind(&set.id)
        .bind(project_id)
        .bind(&set.description)
        .bind(hash(&set.publishable_client_key))
        .bind(l4(&set.publishable_client_key))
        .bind(hash(&set.secret_server_key))
        .bind(l4(&set.secret_server_key))
        .bind(hash(&set.super_secret_admin_key))
        .bind(l4(&set.super_secret_admin_key))
        .bind(set.expires_at_millis)
        .bind(set.created_at_millis)
        .execute(&mut *tx)
        .await?;
        record_key_set(&mut tx, project_id, who, "project_api_key.created", &set.id).await?;
        tx.commit().await?;
        Ok(set)
    }

    pub async fn api_key_sets(&self, project_id: &str) -> Result<Vec<ApiKeySet>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {KEY_SET_COLUMNS} FROM api_key_sets WHERE project_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(project_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// Stack's key-set update: a new description, and/or revoked (for good).
    pub async fn update_api_key_set(
        &self,
        project_id: &str,
        id: &str,
        description: Option<&str>,
        revoke: bool,
        who: &Who,
    ) -> Result<ApiKeySet> {
        let mut tx = self.begin().await?;
        if let Some(d) = description {
            sqlx::query(
                "UPDATE api_key_sets SET description = $3 WHERE project_id = $1 AND id = $2",
            )
            .bind(project_id)
            .bind(id)
            .bind(d)
            .execute(&mut *tx)
            .await?;
        }
        if revoke {
            sqlx::query("UPDATE api_key_sets SET revoked_at = $3 WHERE project_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(project_id)
                .bind(id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        let set: Option<ApiKeySet> = sqlx::query_as(&format!(
            "SELECT {KEY_SET_COLUMNS} FROM api_key_sets WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let set = set.ok_or(Error::ApiKeyNotFound)?;
        record_key_set(&mut tx, project_id, who, "project_api_key.updated", id).await?;
        tx.commit().await?;
        Ok(set)
    }

    /// True when `key` is a live key of that kind for the project.
    pub async fn check_project_key(
        &self,
        project_id: &str,
        kind: KeyKind,
        key: &str,
    ) -> Result<bool> {
        let cache_key = (project_id.to_string(), kind, secret_hash(key));
        if let Some(live) = self.caches.keys.get(&cache_key) {
            return Ok(live);
        }
        let generation = self.caches.keys.generation();
        let row = self
            .db
            .fetch_optional_hot(
                sqlx::query(&format!(
                    "SELECT id FROM api_key_sets WHERE project_id = $1 AND {} = $2 AND revoked_at IS NULL AND expires_at > $3",
                    kind.hash_column()
                ))
                .bind(project_id)
                .bind(&cache_key.2)
                .bind(now_ms()),
            )
            .await?;
        self.caches.keys.fill(generation, cache_key, row.is_some());
        Ok(row.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Probe(ProjectConfig);

    impl Probe {
        fn is_trusted_redirect(&self, url: &str) -> bool {
            self.0.is_trusted_redirect(url)
        }
    }

    fn project(domains: &[&str], allow_localhost: bool) -> Probe {
        let trusted: serde_json::Map<String, Value> = domains
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("d{i}"), json!({ "baseUrl": d })))
            .collect();
        let mut env = Override::new();
        env.insert("domains.allowLocalhost".into(), json!(allow_localhost));
        env.insert("domains.trustedDomains".into(), Value::Object(trusted));
        Probe(ProjectConfig::from_overrides(&Overrides {
            environment: env,
            ..Overrides::default()
        }))
    }

    #[test]
    fn trusted_domains_may_be_patterns_as_in_stack() {
        let p = project(
            &[
                "https://*.acme.test",
                "https://**.deep.test",
                "http://api-*.dev.test:8080",
            ],
            false,
        );
        for ok in [
            "https://app.acme.test/cb",
            "https://www.acme.test",
            "https://a.b.c.deep.test/x",
            "https://x.deep.test:443/",
            "http://api-v2.dev.test:8080/cb",
        ] {
            assert!(p.is_trusted_redirect(ok), "{ok} should be trusted");
        }
        for bad in [
            "https://acme.test/",          // * is one label, not none
            "https://a.b.acme.test/",      // nor two
            "http://app.acme.test/",       // another scheme
            "https://app.acme.test:8443/", // a port the pattern does not name
            "https://deep.test/",
            "http://api.dev.test:8080/",
            "http://api-v2.dev.test:9090/",
            "https://app.acme.test.evil.test/",
        ] {
            assert!(!p.is_trusted_redirect(bad), "{bad} should not be trusted");
        }
        assert!(crate::domains::host_matches("*.*.org", "mail.example.org"));
        assert!(!crate::domains::host_matches("*.*.org", "example.org"));
    }

    #[test]
    fn any_loopback_address_is_localhost() {
        let p = project(&[], true);
        assert!(p.is_trusted_redirect("http://127.4.5.6:3000/"));
        assert!(!p.is_trusted_redirect("http://127.0.0.1.evil.test/"));
        assert!(!project(&[], false).is_trusted_redirect("http://localhost/"));
    }

    #[test]
    fn redirects_go_only_to_trusted_places() {
        let p = project(&["https://app.acme.test"], true);
        for ok in [
            "/handler/p/account-settings",
            "https://app.acme.test/after?x=1",
            "https://APP.acme.test:443/",
            "http://localhost:3000/cb",
            "http://127.0.0.1/",
            "http://[::1]:8080/x",
        ] {
            assert!(p.is_trusted_redirect(ok), "{ok}");
        }
        for bad in [
            "https://evil.test/",
            "//evil.test/x",
            "/\\evil.test",
            "https://app.acme.test.evil.test/",
            "https://app.acme.test@evil.test/",
            "http://app.acme.test/",
            "https://app.acme.test:8443/",
            "javascript:alert(1)",
            "evil.test",
            "",
        ] {
            assert!(!p.is_trusted_redirect(bad), "{bad}");
        }
        assert!(!project(&[], false).is_trusted_redirect("http://localhost:3000/"));
    }
}

/// A project key set's event (Gatehouse's own kind: Stack sends no webhook for them); it names
/// the set, never its keys.
async fn record_key_set(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    id: &str,
) -> Result<()> {
    let change = Change::new(kind, id, json!({ "id": id }));
    events::record(tx, project_id, who, change).await?;
    Ok(())
}
