//! API keys of users and teams, for customers' own APIs: the app's backend checks a key its
//! user sends (`POST /user-api-keys/check`) and learns whose it is.
//!
//! A key has Stack's format, so secret scanners recognise leaked ones:
//! `sk_` (or `pk_` for public keys), 45 random characters, the key's id without dashes, `user` or
//! `team`, a flag character (self-hosted, public), the marker `574ck4u7h`, and a CRC-32 of all
//! that in hex. The whole key is shown once, at creation; only its SHA-256 is kept.

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use crate::crypto::secret_hash;
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::teams::Actor;
use crate::validation::{boolean, number, string, Input, Shape};
use crate::{new_id, now_ms, Core};

const MARKER: &str = "574ck4u7h";
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Whose keys: a user's or a team's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    User,
    Team,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::User => "user",
            KeyType::Team => "team",
        }
    }
}

/// The owner of keys: a user or a team, by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    User(String),
    Team(String),
}

impl Owner {
    pub fn key_type(&self) -> KeyType {
        match self {
            Owner::User(_) => KeyType::User,
            Owner::Team(_) => KeyType::Team,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: String,
    pub project_id: String,
    pub owner: Owner,
    pub description: String,
    pub last_four: String,
    pub is_public: bool,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

impl sqlx::FromRow<'_, AnyRow> for ApiKey {
    fn from_row(r: &AnyRow) -> sqlx::Result<ApiKey> {
        let user: Option<String> = r.try_get("user_id")?;
        let team: Option<String> = r.try_get("team_id")?;
        Ok(ApiKey {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            owner: match (user, team) {
                (Some(u), _) => Owner::User(u),
                (None, t) => Owner::Team(t.unwrap_or_default()),
            },
            description: r.try_get("description")?,
            last_four: r.try_get("last_four")?,
            is_public: r.try_get::<i64, _>("is_public")? != 0,
            expires_at: r.try_get("expires_at")?,
            revoked_at: r.try_get("revoked_at")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

const COLUMNS: &str = "id, project_id, user_id, team_id, description, last_four, is_public, expires_at, revoked_at, created_at";

impl ApiKey {
    /// Stack's view; `secret` is the whole key, given only in the answer to its creation.
    pub fn view(&self, secret: Option<&str>) -> Value {
        let mut v = json!({
            "id": self.id,
            "description": self.description,
            "is_public": self.is_public,
            "created_at_millis": self.created_at,
            "value": match secret {
                Some(s) => json!(s),
                None => json!({ "last_four": self.last_four }),
            },
        });
        if let Some(at) = self.expires_at {
            v["expires_at_millis"] = json!(at);
        }
        if let Some(at) = self.revoked_at {
            v["manually_revoked_at_millis"] = json!(at);
        }
        match &self.owner {
            Owner::User(id) => {
                v["user_id"] = json!(id);
                v["type"] = json!("user");
            }
            Owner::Team(id) => {
                v["team_id"] = json!(id);
                v["type"] = json!("team");
            }
        }
        v
    }

    pub fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at < now_ms())
    }
}

/// Whether the project has keys of this kind switched on (`apiKeys.enabled.user|team`).
pub fn enabled(project: &Project, key_type: KeyType) -> bool {
    project
        .config
        .tree
        .pointer(&format!("/apiKeys/enabled/{}", key_type.as_str()))
        == Some(&Value::Bool(true))
}

/// CRC-32 (IEEE), as Stack's keys carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A new key for the key `id`.
pub fn new_key(id: &str, key_type: KeyType, is_public: bool) -> String {
    let prefix = if is_public { "pk" } else { "sk" };
    // Bit 0: self-hosted (not Stack's cloud); bit 1: public.
    let flag = ALPHABET[1 + if is_public { 2 } else { 0 }] as char;
    let body = format!(
        "{prefix}_{}{}{}{flag}{MARKER}",
        crate::codes::random_base32(45),
        id.replace('-', ""),
        key_type.as_str()
    );
    let checksum = crc32(body.as_bytes());
    format!("{body}{checksum:08x}")
}

/// What a well-formed key says of itself (its id and type), if its checksum holds.
pub fn parse_key(key: &str) -> Option<(String, KeyType, bool)> {
    let (prefix, rest) = key.split_once('_')?;
    let ok = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if prefix.is_empty()
        || !ok(prefix)
        || rest.len() != 45 + 32 + 4 + 1 + MARKER.len() + 8
        || !ok(rest)
    {
        return None;
    }
    let (body, checksum) = key.split_at(key.len() - 8);
    if format!("{:08x}", crc32(body.as_bytes())) != checksum {
        return None;
    }
    let id = &rest[45..77];
    let key_type = match &rest[77..81] {
        "user" => KeyType::User,
        "team" => KeyType::Team,
        _ => return None,
    };
    if &rest[82..82 + MARKER.len()] != MARKER {
        return None;
    }
    let flag = ALPHABET.iter().position(|&c| c == rest.as_bytes()[81])?;
    let id = format!(
        "{}-{}-{}-{}-{}",
        &id[0..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..32]
    );
    Some((id, key_type, flag & 2 != 0))
}

/// `POST /user-api-keys` and `/team-api-keys`.
#[derive(Debug, Deserialize)]
pub struct ApiKeyCreate {
    pub description: String,
    pub expires_at_millis: Option<i64>,
    #[serde(default)]
    pub is_public: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
}

impl ApiKeyCreate {
    pub fn shape(key_type: KeyType) -> Shape {
        let shape = Shape::new()
            .field("description", string().defined())
            .field("expires_at_millis", number().nullable().defined())
            .field("is_public", boolean());
        match key_type {
            KeyType::User => shape.field("user_id", string().user_id_or_me().defined()),
            KeyType::Team => shape.field("team_id", string().uuid().defined()),
        }
    }
}

/// `PATCH /…-api-keys/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyUpdate {
    pub description: Option<String>,
    pub revoked: Option<bool>,
}

impl Input for ApiKeyUpdate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("description", string())
            .field("revoked", boolean().one_of(&[json!(true)]))
    }
}

impl Core {
    /// Stack's checks before anything is done with keys: the kind is switched on
    /// (`apiKeys.enabled.user|team`), and a browser's user manages only their own keys, or a
    /// team's where they hold `$manage_api_keys` (else the team's keys do not exist for them).
    async fn may_manage_keys(
        &self,
        project: &Project,
        actor: Actor<'_>,
        owner: &Owner,
    ) -> Result<()> {
        self.keys_enabled(project, owner.key_type())?;
        let Some(me) = actor.client_user(|| Error::UserAuthenticationRequired)? else {
            return Ok(());
        };
        match owner {
            Owner::User(id) if *id != me.id => Err(Error::Status(
                403,
                "Client can only manage their own api keys".into(),
            )),
            Owner::User(_) => Ok(()),
            Owner::Team(team) => {
                if self.is_team_member(team, &me.id).await?
                    && self
                        .has_team_permission(project, team, &me.id, "$manage_api_keys")
                        .await?
                {
                    Ok(())
                } else {
                    Err(Error::ApiKeyNotFound)
                }
            }
        }
    }

    fn keys_enabled(&self, project: &Project, key_type: KeyType) -> Result<()> {
        if enabled(project, key_type) {
            return Ok(());
        }
        Err(Error::Status(
            400,
            match key_type {
                KeyType::User => "User API keys are not enabled for this project.",
                KeyType::Team => "Team API keys are not enabled for this project.",
            }
            .into(),
        ))
    }

    /// Creates a key; the answer carries the whole key, which is never shown again.
    pub async fn create_api_key(
        &self,
        project: &Project,
        actor: Actor<'_>,
        owner: Owner,
        input: ApiKeyCreate,
        who: &Who,
    ) -> Result<(ApiKey, String)> {
        self.may_manage_keys(project, actor, &owner).await?;
        match &owner {
            Owner::User(id) => {
                if self.user(&project.id, id).await?.is_none() {
                    return Err(Error::UserNotFound);
                }
            }
            Owner::Team(id) => {
                self.existing_team(&project.id, id).await?;
            }
        }
        let is_public = input.is_public.unwrap_or(false);
        let key = ApiKey {
            id: new_id(),
            project_id: project.id.clone(),
            owner,
            description: input.description,
            last_four: String::new(),
            is_public,
            expires_at: input.expires_at_millis,
            revoked_at: None,
            created_at: now_ms(),
        };
        let secret = new_key(&key.id, key.owner.key_type(), is_public);
        let key = ApiKey {
            last_four: secret[secret.len() - 4..].to_string(),
            ..key
        };
        let (user, team) = match &key.owner {
            Owner::User(u) => (Some(u.clone()), None),
            Owner::Team(t) => (None, Some(t.clone())),
        };
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO api_keys ({COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)"
        ))
        .bind(&key.id)
        .bind(&key.project_id)
        .bind(user)
        .bind(team)
        .bind(&key.description)
        .bind(&key.last_four)
        .bind(is_public as i64)
        .bind(key.expires_at)
        .bind(key.created_at)
        .bind(secret_hash(&secret))
        .execute(&mut *tx)
        .await?;
        record_key(&mut tx, &project.id, who, "api_key.created", &key).await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    /// An owner's keys, newest first.
    pub async fn list_api_keys(
        &self,
        project: &Project,
        actor: Actor<'_>,
        owner: &Owner,
    ) -> Result<Vec<ApiKey>> {
        self.may_manage_keys(project, actor, owner).await?;
        let (column, id) = match owner {
            Owner::User(id) => ("user_id", id),
            Owner::Team(id) => ("team_id", id),
        };
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE project_id = $1 AND {column} = $2 ORDER BY created_at DESC, id"
        ))
        .bind(&project.id)
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// One key by id, of the kind the path names.
    pub async fn api_key(
        &self,
        project: &Project,
        actor: Actor<'_>,
        key_type: KeyType,
        id: &str,
    ) -> Result<ApiKey> {
        self.keys_enabled(project, key_type)?;
        let key: Option<ApiKey> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE project_id = $1 AND id = $2"
        ))
        .bind(&project.id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        let key = key
            .filter(|k| k.owner.key_type() == key_type)
            .ok_or(Error::ApiKeyNotFound)?;
        self.may_manage_keys(project, actor, &key.owner).await?;
        Ok(key)
    }

    /// Changes the description, or revokes (for good). Public keys are not revoked.
    pub async fn update_api_key(
        &self,
        project: &Project,
        actor: Actor<'_>,
        key_type: KeyType,
        id: &str,
        input: ApiKeyUpdate,
        who: &Who,
    ) -> Result<ApiKey> {
        let mut key = self.api_key(project, actor, key_type, id).await?;
        if input.revoked == Some(true) && key.revoked_at.is_none() {
            if key.is_public {
                return Err(Error::Status(
                    400,
                    "Public API keys cannot be revoked: they are meant to be seen.".into(),
                ));
            }
            key.revoked_at = Some(now_ms());
        }
        if let Some(d) = input.description {
            key.description = d;
        }
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE api_keys SET description = $2, revoked_at = $3 WHERE id = $1")
            .bind(&key.id)
            .bind(&key.description)
            .bind(key.revoked_at)
            .execute(&mut *tx)
            .await?;
        record_key(&mut tx, &project.id, who, "api_key.updated", &key).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// `POST /…-api-keys/check`: whose key this is, or Stack's reason it is not good — not found,
    /// of the other kind, revoked, expired. One indexed read; a malformed key is refused without
    /// one.
    pub async fn check_api_key(
        &self,
        project: &Project,
        key_type: KeyType,
        secret: &str,
    ) -> Result<ApiKey> {
        self.keys_enabled(project, key_type)?;
        if parse_key(secret).is_none() {
            return Err(Error::ApiKeyNotFound);
        }
        let hash = secret_hash(secret);
        // Cached as sessions are: a change drops the copy (see `Caches::follow`).
        let key = match self.caches.api_keys.get(&hash) {
            Some(key) => key,
            None => {
                let generation = self.caches.api_keys.generation();
                let row = self
                    .db
                    .fetch_optional_hot(
                        sqlx::query(&format!(
                            "SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1"
                        ))
                        .bind(&hash),
                    )
                    .await?
                    .ok_or(Error::ApiKeyNotFound)?;
                let key = ApiKey::from_row(&row)?;
                self.caches.api_keys.fill(generation, hash, key.clone());
                key
            }
        };
        if key.project_id != project.id {
            return Err(Error::ApiKeyNotFound);
        }
        let actual = key.owner.key_type();
        if actual != key_type {
            return Err(Error::WrongApiKeyType {
                expected: key_type.as_str(),
                actual: actual.as_str(),
            });
        }
        if key.revoked_at.is_some() {
            return Err(Error::ApiKeyRevoked);
        }
        if key.is_expired() {
            return Err(Error::ApiKeyExpired);
        }
        Ok(key)
    }

    /// `POST /integrations/credential-scanning/revoke`: a secret scanner found a key in public;
    /// it is revoked and its owners (the user, or the team's key managers) are told by email.
    pub async fn revoke_leaked_api_key(&self, secret: &str) -> Result<()> {
        let key: ApiKey = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1"
        ))
        .bind(secret_hash(secret))
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(Error::ApiKeyNotFound)?;
        if key.is_public {
            return Err(Error::PublicApiKeyCannotBeRevoked);
        }
        if key.is_expired() {
            return Err(Error::ApiKeyExpired);
        }
        if key.revoked_at.is_some() {
            return Ok(());
        }
        let project = self
            .project_cached(&key.project_id)
            .await?
            .ok_or_else(|| Error::ProjectNotFound(key.project_id.clone()))?;
        let owners: Vec<String> = match &key.owner {
            Owner::User(id) => vec![id.clone()],
            Owner::Team(team) => {
                let q = crate::teams::permissions::GrantQuery {
                    team_id: Some(team.clone()),
                    permission_id: Some("$manage_api_keys".into()),
                    recursive: true,
                    ..Default::default()
                };
                self.list_permissions(
                    &project,
                    Actor::Server,
                    crate::teams::permissions::Scope::Team,
                    &q,
                )
                .await?
                .into_iter()
                .map(|g| g.user_id)
                .collect()
            }
        };
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(&key.id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        // Revoked on a secret scanner's report: Gatehouse's doing, no account's.
        record_key(&mut tx, &project.id, &Who::System, "api_key.updated", &key).await?;
        let html = format!(
            "<h2>API key revoked</h2><p>Your API key \"{}\" for {} was revoked because it was found in a public place.</p>\
             <p>Create a new key where you need one.</p>",
            minijinja::HtmlEscape(&key.description),
            minijinja::HtmlEscape(&project.display_name)
        );
        for user_id in owners {
            crate::emails::queue_email(
                &mut tx,
                &self.public_url,
                &project,
                crate::emails::NewEmail::notice(
                    crate::emails::Recipient::UserPrimaryEmail { user_id },
                    format!("API key revoked: {}", key.description),
                    html.clone(),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        self.jobs_written();
        Ok(())
    }
}

/// An API key's event (Gatehouse's kinds: Stack has no webhook for keys); never the secret.
async fn record_key(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    key: &ApiKey,
) -> Result<()> {
    let (owner_type, owner_id) = match &key.owner {
        Owner::User(id) => ("user", id),
        Owner::Team(id) => ("team", id),
    };
    let data = serde_json::json!({ "id": key.id, owner_type: owner_id });
    events::record(tx, project_id, who, Change::new(kind, &key.id, data)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_stacks_format_and_parse_back() {
        let id = "3f0c2b1a-9d8e-4c7b-a6f5-e4d3c2b1a090";
        let key = new_key(id, KeyType::Team, false);
        assert!(key.starts_with("sk_"));
        assert!(
            key.contains("3f0c2b1a9d8e4c7ba6f5e4d3c2b1a090team1574ck4u7h"),
            "{key}"
        );
        assert_eq!(key.len(), 3 + 45 + 32 + 4 + 1 + 9 + 8);
        assert_eq!(
            parse_key(&key),
            Some((id.to_string(), KeyType::Team, false))
        );
        let public = new_key(id, KeyType::User, true);
        assert!(public.starts_with("pk_"));
        assert_eq!(
            parse_key(&public),
            Some((id.to_string(), KeyType::User, true))
        );
        // One character changed: the checksum no longer holds.
        let mut broken = key.clone().into_bytes();
        broken[10] = if broken[10] == b'a' { b'b' } else { b'a' };
        assert_eq!(parse_key(&String::from_utf8(broken).unwrap()), None);
        assert_eq!(parse_key("sk_short"), None);
    }

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
