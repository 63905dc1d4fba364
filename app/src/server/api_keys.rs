//! API keys in the pages: the account page's keys (the user's own, and those of teams where they
//! hold `$manage_api_keys`: create, shown once, revoke) and the dashboard's view of a user's or
//! a team's keys. Each is a few lines over the core calls the REST API makes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyRow {
    pub id: String,
    pub description: String,
    pub last_four: String,
    pub is_public: bool,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    pub expired: bool,
}

impl KeyRow {
    /// What a list says of the key: revoked, expired, or until when it is good.
    pub fn state(&self) -> String {
        if self.revoked {
            "Revoked".into()
        } else if self.expired {
            "Expired".into()
        } else {
            self.expires_at
                .map(|at| format!("Until {}", crate::text::format_utc(at)))
                .unwrap_or_else(|| "No expiry".into())
        }
    }

    /// Whether revoking it means anything (public keys are meant to be seen).
    pub fn revocable(&self) -> bool {
        !self.revoked && !self.expired && !self.is_public
    }
}

#[cfg(feature = "ssr")]
fn key_row(k: gatehouse_core::api_keys::ApiKey) -> KeyRow {
    KeyRow {
        expired: k.is_expired(),
        revoked: k.revoked_at.is_some(),
        id: k.id,
        description: k.description,
        last_four: k.last_four,
        is_public: k.is_public,
        created_at: k.created_at,
        expires_at: k.expires_at,
    }
}

/// Keys of one owner, for a section of the page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyGroup {
    /// `me`, or the team's id.
    pub owner: String,
    pub label: String,
    pub keys: Vec<KeyRow>,
}

#[server(prefix = "/_sfn")]
pub async fn my_api_keys(project_id: String) -> Result<Vec<KeyGroup>, ServerFnError> {
    use gatehouse_core::api_keys::{enabled, KeyType, Owner};
    use gatehouse_core::teams::Actor;
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(vec![]);
    };
    let project = ssr::project(&project_id).await?;
    let core = ssr::core();
    let me = Actor::Client(Some(&user));
    let mut groups = vec![];
    if enabled(&project, KeyType::User) {
        let keys = core
            .list_api_keys(&project, me, &Owner::User(user.id.clone()))
            .await
            .map_err(ssr::shown)?;
        groups.push(KeyGroup {
            owner: "me".into(),
            label: "Your keys".into(),
            keys: keys.into_iter().map(key_row).collect(),
        });
    }
    if enabled(&project, KeyType::Team) {
        for team in core.teams_of_user(&user.id).await.map_err(ssr::shown)? {
            // Only teams where they may manage keys (the others' keys are not theirs to see).
            let manages = core
                .has_team_permission(&project, &team.id, &user.id, "$manage_api_keys")
                .await
                .map_err(ssr::shown)?;
            if !manages {
                continue;
            }
            let keys = core
                .list_api_keys(&project, me, &Owner::Team(team.id.clone()))
                .await
                .map_err(ssr::shown)?;
            groups.push(KeyGroup {
                owner: team.id,
                label: format!("Keys of {}", team.display_name),
                keys: keys.into_iter().map(key_row).collect(),
            });
        }
    }
    Ok(groups)
}

/// New keys wait here to be shown once: a minute at most, handed out once, to their creator.
#[cfg(feature = "ssr")]
fn new_keys() -> &'static gatehouse_core::cache::TtlCache<String, (String, String)> {
    static NEW: std::sync::OnceLock<gatehouse_core::cache::TtlCache<String, (String, String)>> =
        std::sync::OnceLock::new();
    NEW.get_or_init(|| {
        gatehouse_core::cache::TtlCache::new(std::time::Duration::from_secs(60), 1000)
    })
}

/// Creates a key for the user (`owner` = `me`) or one of their teams; `expires_in_days` empty
/// means never. The page then shows the whole key, once.
#[server(prefix = "/_sfn")]
pub async fn create_my_api_key(
    project_id: String,
    owner: String,
    description: String,
    expires_in_days: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::api_keys::{ApiKeyCreate, Owner};
    use gatehouse_core::teams::Actor;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let days =
        match ssr::non_empty(expires_in_days.unwrap_or_default()) {
            Some(d) => Some(d.parse::<u32>().ok().filter(|d| *d > 0).ok_or_else(|| {
                ServerFnError::new("Expiry: a number of days, or empty for never.")
            })?),
            None => None,
        };
    let owner = if owner == "me" {
        Owner::User(user.id.clone())
    } else {
        Owner::Team(owner)
    };
    let description = ssr::non_empty(description)
        .ok_or_else(|| ServerFnError::new("Say what the key is for."))?;
    let (_, secret) = ssr::core()
        .create_api_key(
            &project,
            Actor::Client(Some(&user)),
            owner,
            ApiKeyCreate {
                description,
                expires_at_millis: days
                    .map(|d| gatehouse_core::now_ms() + d as i64 * 24 * 3600 * 1000),
                is_public: Some(false),
                user_id: None,
                team_id: None,
            },
            &gatehouse_core::events::Who::User(user.id.clone()),
        )
        .await
        .map_err(ssr::shown)?;
    let flash = gatehouse_core::crypto::random_token(16);
    new_keys().insert(flash.clone(), (user.id, secret));
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?new_key={flash}#api-keys"
    ));
    Ok(())
}

/// The key just made, once, for the user who made it.
#[server(prefix = "/_sfn")]
pub async fn take_new_api_key(
    project_id: String,
    flash: String,
) -> Result<Option<String>, ServerFnError> {
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(None);
    };
    let Some((owner, secret)) = new_keys().get(&flash) else {
        return Ok(None);
    };
    if owner != user.id {
        return Ok(None);
    }
    new_keys().remove(&flash);
    Ok(Some(secret))
}

/// Revokes one of the user's keys, or a key of a team they manage keys of.
#[server(prefix = "/_sfn")]
pub async fn revoke_my_api_key(
    project_id: String,
    kind: String,
    key_id: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::Actor;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    ssr::core()
        .update_api_key(
            &project,
            Actor::Client(Some(&user)),
            key_type(&kind)?,
            &key_id,
            gatehouse_core::api_keys::ApiKeyUpdate {
                description: None,
                revoked: Some(true),
            },
            &gatehouse_core::events::Who::User(user.id.clone()),
        )
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done=key-revoked#api-keys"
    ));
    Ok(())
}

#[cfg(feature = "ssr")]
fn key_type(kind: &str) -> Result<gatehouse_core::api_keys::KeyType, ServerFnError> {
    use gatehouse_core::api_keys::KeyType;
    match kind {
        "user" => Ok(KeyType::User),
        "team" => Ok(KeyType::Team),
        other => Err(ServerFnError::new(format!("Unknown key kind {other:?}."))),
    }
}

/// A user's (`kind` = `user`) or team's keys, for the dashboard.
#[server(prefix = "/_sfn")]
pub async fn owner_api_keys(
    project_id: String,
    kind: String,
    owner_id: String,
) -> Result<Vec<KeyRow>, ServerFnError> {
    use gatehouse_core::api_keys::{KeyType, Owner};
    use gatehouse_core::teams::Actor;
    let project = ssr::administered_project(&project_id).await?;
    let kind = key_type(&kind)?;
    if !gatehouse_core::api_keys::enabled(&project, kind) {
        return Ok(vec![]);
    }
    let owner = match kind {
        KeyType::User => Owner::User(owner_id),
        KeyType::Team => Owner::Team(owner_id),
    };
    let keys = ssr::core()
        .list_api_keys(&project, Actor::Server, &owner)
        .await
        .map_err(ssr::shown)?;
    Ok(keys.into_iter().map(key_row).collect())
}

/// Revokes a key from the dashboard.
#[server(prefix = "/_sfn")]
pub async fn admin_revoke_api_key(
    project_id: String,
    kind: String,
    key_id: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::Actor;
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .update_api_key(
            &project,
            Actor::Server,
            key_type(&kind)?,
            &key_id,
            gatehouse_core::api_keys::ApiKeyUpdate {
                description: None,
                revoked: Some(true),
            },
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)?;
    Ok(())
}
