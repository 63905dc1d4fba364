//! Accounts at providers linked to users (Stack's "OAuth providers" of a user, and "connected
//! accounts"), and the provider tokens kept for them: sealed at rest, refreshed when expired,
//! handed to the app with the scopes it needs.

use oauth2::RefreshToken;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::flow::{token_error, ProviderTokenResponse};
use super::{provider_config, Profile};
use crate::crypto::SealingKey;
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::users::flag;
use crate::validation::{boolean, string, Input, Shape};
use crate::{new_id, now_ms, Core};

/// An access token this close to expiring is refreshed instead of handed out.
const EXPIRY_MARGIN_MS: i64 = 60_000;

/// A user's account at a provider.
#[derive(Clone, Debug, PartialEq)]
pub struct OAuthAccount {
    pub id: String,
    pub user_id: String,
    pub provider_id: String,
    pub account_id: String,
    pub email: Option<String>,
    pub allow_sign_in: bool,
    pub allow_connected_accounts: bool,
    pub created_at: i64,
}

const COLUMNS: &str = "id, user_id, provider_id, account_id, email, allow_sign_in, allow_connected_accounts, created_at";

impl sqlx::FromRow<'_, AnyRow> for OAuthAccount {
    fn from_row(r: &AnyRow) -> sqlx::Result<OAuthAccount> {
        Ok(OAuthAccount {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            provider_id: r.try_get("provider_id")?,
            account_id: r.try_get("account_id")?,
            email: r.try_get("email")?,
            allow_sign_in: flag(r, "allow_sign_in")?,
            allow_connected_accounts: flag(r, "allow_connected_accounts")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

/// The provider type (`github`, `oidc`…) of a project's provider id; the id itself when the
/// provider was removed from the config.
pub fn provider_type(project: &Project, provider_id: &str) -> String {
    provider_config(project, provider_id)
        .map(|p| p.provider_type)
        .unwrap_or_else(|| provider_id.to_string())
}

impl OAuthAccount {
    /// Stack's OAuth provider object; the account id only for servers.
    pub fn view(&self, project: &Project, server: bool) -> Value {
        let mut v = json!({
            "user_id": self.user_id,
            "id": self.id,
            "provider_config_id": self.provider_id,
            "type": provider_type(project, &self.provider_id),
            "allow_sign_in": self.allow_sign_in,
            "allow_connected_accounts": self.allow_connected_accounts,
        });
        if let Some(e) = &self.email {
            v["email"] = json!(e);
        }
        if server {
            v["account_id"] = json!(self.account_id);
        }
        v
    }

    /// Stack's connected account object.
    pub fn connected_view(&self) -> Value {
        json!({
            "user_id": self.user_id,
            "provider": self.provider_id,
            "provider_account_id": self.account_id,
        })
    }
}

/// The account a provider's account id signs in to, if any (accounts kept only for the app's
/// use do not sign in, as in Stack).
pub(crate) async fn find_account(
    core: &Core,
    project_id: &str,
    provider_id: &str,
    account_id: &str,
) -> Result<Option<OAuthAccount>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM oauth_accounts WHERE project_id = $1 AND provider_id = $2 AND account_id = $3 \
         AND allow_sign_in = 1 ORDER BY created_at LIMIT 1"
    ))
    .bind(project_id)
    .bind(provider_id)
    .bind(account_id)
    .fetch_optional(&core.db.pool)
    .await?)
}

/// Links an account at a provider to a user, for signing in and for the app's use.
pub(crate) async fn insert_account(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    provider_id: &str,
    profile: &Profile,
    who: &Who,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO oauth_accounts (id, project_id, user_id, provider_id, account_id, email, allow_sign_in, \
         allow_connected_accounts, created_at) VALUES ($1, $2, $3, $4, $5, $6, 1, 1, $7)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(user_id)
    .bind(provider_id)
    .bind(&profile.account_id)
    .bind(&profile.email)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    record_link(
        tx,
        project_id,
        who,
        "oauth_provider.created",
        &id,
        user_id,
        provider_id,
    )
    .await?;
    Ok(id)
}

/// A linked account's event (Gatehouse's kinds: Stack has no webhook for them); never a token.
async fn record_link(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    id: &str,
    user_id: &str,
    provider_id: &str,
) -> Result<()> {
    let data =
        serde_json::json!({ "id": id, "user_id": user_id, "provider_config_id": provider_id });
    events::record(tx, project_id, who, Change::new(kind, id, data)).await?;
    Ok(())
}

/// What a provider handed out for an account.
#[derive(Clone, Debug, Default)]
pub struct ProviderTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
}

/// Keeps an account's new tokens, sealed. A new refresh token replaces the old ones of the
/// same scopes.
pub(crate) async fn store_tokens(
    tx: &mut Tx,
    key: &SealingKey,
    account_id: &str,
    tokens: &ProviderTokens,
) -> Result<()> {
    let scopes = tokens.scopes.join(" ");
    let now = now_ms();
    let insert = "INSERT INTO oauth_tokens (id, oauth_account_id, kind, sealed_token, scopes, expires_at, created_at) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7)";
    sqlx::query(insert)
        .bind(new_id())
        .bind(account_id)
        .bind("access")
        .bind(key.seal(&tokens.access_token))
        .bind(&scopes)
        .bind(tokens.expires_at)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    if let Some(refresh) = &tokens.refresh_token {
        sqlx::query(
            "DELETE FROM oauth_tokens WHERE oauth_account_id = $1 AND kind = 'refresh' AND scopes = $2",
        )
        .bind(account_id)
        .bind(&scopes)
        .execute(&mut **tx)
        .await?;
        sqlx::query(insert)
            .bind(new_id())
            .bind(account_id)
            .bind("refresh")
            .bind(key.seal(refresh))
            .bind(&scopes)
            .bind(Option::<i64>::None)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    // Expired access tokens are of no more use.
    sqlx::query("DELETE FROM oauth_tokens WHERE oauth_account_id = $1 AND kind = 'access' AND expires_at < $2")
        .bind(account_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `POST /oauth-providers`'s body (server access).
#[derive(Clone, Debug, Deserialize)]
pub struct OAuthAccountCreate {
    pub user_id: String,
    pub provider_config_id: String,
    pub email: Option<String>,
    pub allow_sign_in: bool,
    pub allow_connected_accounts: bool,
    pub account_id: String,
}

impl Input for OAuthAccountCreate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("user_id", string().user_id_or_me().defined())
            .field("provider_config_id", string().defined())
            .field("email", string().email())
            .field("allow_sign_in", boolean().defined())
            .field("allow_connected_accounts", boolean().defined())
            .field("account_id", string().defined())
    }
}

/// `PATCH /oauth-providers/{user_id}/{id}`'s body; email and account id for servers only.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthAccountUpdate {
    pub allow_sign_in: Option<bool>,
    pub allow_connected_accounts: Option<bool>,
    pub email: Option<String>,
    pub account_id: Option<String>,
}

impl Input for OAuthAccountUpdate {
    fn shape(server: bool) -> Shape {
        let shape = Shape::new()
            .field("allow_sign_in", boolean())
            .field("allow_connected_accounts", boolean());
        if server {
            shape
                .field("email", string().email())
                .field("account_id", string())
        } else {
            shape
        }
    }
}

impl Core {
    /// A project's provider accounts, of one user or of all (oldest first).
    pub async fn oauth_accounts(
        &self,
        project_id: &str,
        user_id: Option<&str>,
    ) -> Result<Vec<OAuthAccount>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM oauth_accounts WHERE project_id = $1 AND ($2 IS NULL OR user_id = $2) \
             ORDER BY created_at, id"
        ))
        .bind(project_id)
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// One of a user's provider accounts; Stack's 404 otherwise.
    pub async fn oauth_account(
        &self,
        project_id: &str,
        user_id: &str,
        id: &str,
    ) -> Result<OAuthAccount> {
        let found: Option<OAuthAccount> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM oauth_accounts WHERE project_id = $1 AND user_id = $2 AND id = $3"
        ))
        .bind(project_id)
        .bind(user_id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        found.ok_or_else(|| {
            Error::Status(
                404,
                format!("OAuth provider {id} for user {user_id} not found"),
            )
        })
    }

    /// Stack's rules for a user's provider accounts: one account per provider may sign in, an
    /// account is linked to a user once, and an account id signs in to one user at most.
    async fn check_account_rules(
        &self,
        project_id: &str,
        user_id: &str,
        provider_id: &str,
        account_id: &str,
        allow_sign_in: bool,
        except: Option<&str>,
    ) -> Result<()> {
        let others: Vec<OAuthAccount> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM oauth_accounts WHERE project_id = $1 AND (user_id = $2 OR account_id = $3)"
        ))
        .bind(project_id)
        .bind(user_id)
        .bind(account_id)
        .fetch_all(&self.db.pool)
        .await?;
        let others: Vec<&OAuthAccount> = others
            .iter()
            .filter(|a| Some(a.id.as_str()) != except)
            .collect();
        let same_user_and_type =
            |a: &&&OAuthAccount| a.user_id == user_id && a.provider_id == provider_id;
        if allow_sign_in
            && others
                .iter()
                .filter(same_user_and_type)
                .any(|a| a.allow_sign_in)
        {
            return Err(Error::Status(
                400,
                "The same provider type with sign-in enabled already exists for this user.".into(),
            ));
        }
        if others
            .iter()
            .filter(same_user_and_type)
            .any(|a| a.account_id == account_id)
        {
            return Err(Error::Status(
                400,
                "The same provider type with the same account ID already exists for this user."
                    .into(),
            ));
        }
        if allow_sign_in
            && others.iter().any(|a| {
                a.account_id == account_id && a.allow_sign_in && a.provider_id == provider_id
            })
        {
            return Err(Error::OAuthProviderAccountIdAlreadyUsedForSignIn);
        }
        Ok(())
    }

    /// `POST /oauth-providers` (server access): links an account by hand.
    pub async fn create_oauth_account(
        &self,
        project: &Project,
        user_id: &str,
        input: &OAuthAccountCreate,
        who: &Who,
    ) -> Result<OAuthAccount> {
        self.user(&project.id, user_id)
            .await?
            .ok_or_else(|| Error::UserIdDoesNotExist(user_id.into()))?;
        if provider_config(project, &input.provider_config_id).is_none() {
            return Err(Error::Status(
                404,
                format!(
                    "OAuth provider {} not found or not configured",
                    input.provider_config_id
                ),
            ));
        }
        self.check_account_rules(
            &project.id,
            user_id,
            &input.provider_config_id,
            &input.account_id,
            input.allow_sign_in,
            None,
        )
        .await?;
        let id = new_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO oauth_accounts (id, project_id, user_id, provider_id, account_id, email, allow_sign_in, \
             allow_connected_accounts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&project.id)
        .bind(user_id)
        .bind(&input.provider_config_id)
        .bind(&input.account_id)
        .bind(&input.email)
        .bind(input.allow_sign_in as i64)
        .bind(input.allow_connected_accounts as i64)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let provider = &input.provider_config_id;
        record_link(
            &mut tx,
            &project.id,
            who,
            "oauth_provider.created",
            &id,
            user_id,
            provider,
        )
        .await?;
        tx.commit().await?;
        self.oauth_account(&project.id, user_id, &id).await
    }

    /// `PATCH /oauth-providers/{user_id}/{id}`.
    pub async fn update_oauth_account(
        &self,
        project: &Project,
        user_id: &str,
        id: &str,
        input: &OAuthAccountUpdate,
        who: &Who,
    ) -> Result<OAuthAccount> {
        let mut a = self.oauth_account(&project.id, user_id, id).await?;
        if let Some(v) = input.allow_sign_in {
            a.allow_sign_in = v;
        }
        if let Some(v) = input.allow_connected_accounts {
            a.allow_connected_accounts = v;
        }
        if let Some(v) = &input.email {
            a.email = Some(v.clone());
        }
        if let Some(v) = &input.account_id {
            a.account_id = v.clone();
        }
        self.check_account_rules(
            &project.id,
            user_id,
            &a.provider_id,
            &a.account_id,
            a.allow_sign_in,
            Some(id),
        )
        .await?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE oauth_accounts SET allow_sign_in = $2, allow_connected_accounts = $3, email = $4, account_id = $5 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(a.allow_sign_in as i64)
        .bind(a.allow_connected_accounts as i64)
        .bind(&a.email)
        .bind(&a.account_id)
        .execute(&mut *tx)
        .await?;
        let provider = &a.provider_id;
        record_link(
            &mut tx,
            &project.id,
            who,
            "oauth_provider.updated",
            id,
            user_id,
            provider,
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// `DELETE /oauth-providers/{user_id}/{id}`: unlinks the account; its tokens go with it.
    pub async fn delete_oauth_account(
        &self,
        project: &Project,
        user_id: &str,
        id: &str,
        who: &Who,
    ) -> Result<()> {
        let account = self.oauth_account(&project.id, user_id, id).await?;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM oauth_accounts WHERE project_id = $1 AND id = $2")
            .bind(&project.id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let provider = &account.provider_id;
        record_link(
            &mut tx,
            &project.id,
            who,
            "oauth_provider.deleted",
            id,
            user_id,
            provider,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /connected-accounts/{user_id}`: the accounts the app may use.
    pub async fn connected_accounts(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<Vec<OAuthAccount>> {
        Ok(self
            .oauth_accounts(project_id, Some(user_id))
            .await?
            .into_iter()
            .filter(|a| a.allow_connected_accounts)
            .collect())
    }

    /// `POST /connected-accounts/{user_id}/{provider_id}[/{account_id}]/access-token`: a
    /// provider access token carrying every scope asked for, refreshed if the kept one expired.
    pub async fn provider_access_token(
        &self,
        project: &Project,
        user_id: &str,
        provider_id: &str,
        account_id: Option<&str>,
        scope: Option<&str>,
    ) -> Result<String> {
        let provider = provider_config(project, provider_id)
            .ok_or(Error::OAuthProviderNotFoundOrNotEnabled)?;
        if provider.is_shared && !self.oauth.allow_shared_access_tokens {
            return Err(Error::OAuthAccessTokenNotAvailableWithSharedOAuthKeys);
        }
        let accounts: Vec<OAuthAccount> = self
            .connected_accounts(&project.id, user_id)
            .await?
            .into_iter()
            .filter(|a| a.provider_id == provider_id)
            .filter(|a| account_id.is_none_or(|id| a.account_id == id))
            .collect();
        if accounts.is_empty() {
            return Err(Error::OAuthConnectionNotConnectedToUser);
        }
        let wanted: Vec<&str> = scope.unwrap_or_default().split_whitespace().collect();
        let covers = |scopes: &str| {
            let have: Vec<&str> = scopes.split_whitespace().collect();
            wanted.iter().all(|w| have.contains(w))
        };
        let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        let sql = format!(
            "SELECT id, oauth_account_id, kind, sealed_token, scopes, expires_at FROM oauth_tokens \
             WHERE oauth_account_id IN ({}) ORDER BY created_at DESC",
            (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        );
        let rows = sqlx::query(&sql);
        let rows = ids
            .iter()
            .fold(rows, |q, id| q.bind(*id))
            .fetch_all(&self.db.pool)
            .await?;
        let now = now_ms();
        let field = |r: &AnyRow, c: &str| r.try_get::<String, _>(c).unwrap_or_default();
        for r in &rows {
            let live = r
                .try_get::<Option<i64>, _>("expires_at")
                .ok()
                .flatten()
                .is_none_or(|at| at > now + EXPIRY_MARGIN_MS);
            if field(r, "kind") == "access" && live && covers(&field(r, "scopes")) {
                if let Some(token) = self.sealing.open(&field(r, "sealed_token")) {
                    return Ok(token);
                }
            }
        }
        let client = self.oauth_client(&provider).await?;
        for r in rows.iter().filter(|r| field(r, "kind") == "refresh") {
            let scopes = field(r, "scopes");
            if !covers(&scopes) {
                continue;
            }
            let Some(refresh) = self.sealing.open(&field(r, "sealed_token")) else {
                continue;
            };
            let answer: std::result::Result<ProviderTokenResponse, _> = client
                .oauth2()?
                .exchange_refresh_token(&RefreshToken::new(refresh))
                .request_async(&client.http)
                .await;
            match answer {
                Ok(answer) => {
                    let mut tokens = ProviderTokens::from(&answer);
                    tokens.scopes = scopes.split_whitespace().map(str::to_string).collect();
                    let mut tx = self.begin().await?;
                    store_tokens(
                        &mut tx,
                        &self.sealing,
                        &field(r, "oauth_account_id"),
                        &tokens,
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(tokens.access_token);
                }
                Err(oauth2::RequestTokenError::ServerResponse(_)) => {
                    // Revoked or expired at the provider: of no more use.
                    sqlx::query("DELETE FROM oauth_tokens WHERE id = $1")
                        .bind(field(r, "id"))
                        .execute(&self.db.pool)
                        .await?;
                }
                Err(e) => {
                    return Err(Error::OAuthAccessTokenNotAvailable {
                        provider: provider_id.into(),
                        details: token_error(e).message(),
                    })
                }
            }
        }
        Err(Error::OAuthConnectionDoesNotHaveRequiredScope)
    }

    /// Fills in the provider accounts users show (`oauth_providers`), for a project that has
    /// providers configured (one query for all of them).
    pub(crate) async fn attach_oauth_links(
        &self,
        project: &Project,
        users: &mut [crate::users::User],
    ) -> Result<()> {
        attach_links(&self.db.pool, project, users).await
    }
}

/// Fills in the users' linked accounts, read with `db` (the pool, or a transaction that has
/// not committed yet).
pub(crate) async fn attach_links<'c, E>(
    db: E,
    project: &Project,
    users: &mut [crate::users::User],
) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    if users.is_empty() || !super::has_providers(project) {
        return Ok(());
    }
    let q = format!(
        "SELECT user_id, provider_id, account_id, email FROM oauth_accounts WHERE project_id = $1 \
         AND user_id IN ({}) ORDER BY created_at, id",
        (2..=users.len() + 1)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = users
        .iter()
        .fold(sqlx::query(&q).bind(&project.id), |q, u| q.bind(&u.id))
        .fetch_all(db)
        .await?;
    for r in rows {
        let user_id: String = r.try_get("user_id")?;
        if let Some(u) = users.iter_mut().find(|u| u.id == user_id) {
            u.oauth_providers.push(crate::users::OAuthLink {
                id: r.try_get("provider_id")?,
                account_id: r.try_get("account_id")?,
                email: r.try_get("email")?,
            });
        }
    }
    Ok(())
}
