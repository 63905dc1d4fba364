//! Sessions: a session is a refresh token (stored as a hash) that mints short-lived access
//! tokens. Revoking a session ends its access tokens at once, not at their expiry.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::analytics::NewEvent;
use crate::crypto::{random_token, secret_hash};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::tokens::{Audience, Claims, RestrictedReason, ACCESS_TOKEN_TTL_SECS};
use crate::users::{flag, User};
use crate::validation::{boolean, number, string, Input, Shape};
use crate::{new_id, now_ms, Core};

pub const DEFAULT_SESSION_MS: i64 = 1000 * 60 * 60 * 24 * 365;
pub const MAX_SESSION_MS: i64 = 1000 * 60 * 60 * 24 * 367;
const ACTIVITY_RESOLUTION_MS: i64 = 60_000;

/// What sign-in, sign-up and session creation hand back.
#[derive(Clone, Debug, Serialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionCreate {
    pub user_id: String,
    pub expires_in_millis: Option<i64>,
    pub is_impersonation: Option<bool>,
}

impl Input for SessionCreate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("user_id", string().user_id_or_me().defined())
            .field("expires_in_millis", number().max(MAX_SESSION_MS as f64))
            .field("is_impersonation", boolean())
    }
}

/// `GET /auth/sessions?user_id=`: whose sessions.
#[derive(Debug, Deserialize)]
pub struct SessionListQuery {
    pub user_id: String,
}

impl Input for SessionListQuery {
    fn shape(_: bool) -> Shape {
        Shape::new().field("user_id", string().user_id_or_me().defined())
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub is_impersonation: bool,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

impl sqlx::FromRow<'_, AnyRow> for Session {
    fn from_row(r: &AnyRow) -> sqlx::Result<Session> {
        Ok(Session {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            is_impersonation: flag(r, "is_impersonation")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    }
}

impl Session {
    pub fn view(&self, current_session_id: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "user_id": self.user_id,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "is_impersonation": self.is_impersonation,
            "is_current_session": current_session_id == Some(self.id.as_str()),
        })
    }
}

/// Stores a new refresh token; returns (session id, the token itself).
/// How long an admin's session as a user lasts.
pub const IMPERSONATION_MS: i64 = 60 * 60 * 1000;

/// How a person's own session was opened: by a sign-up or a sign-in, and with what method
/// (`password`, `otp`, `oauth`, `passkey`, `anonymous`). The session's record says so, and
/// analytics reads it from there.
#[derive(Clone, Copy, Debug)]
pub struct SignIn {
    pub method: &'static str,
    pub new_user: bool,
}

impl SignIn {
    /// A method name read back from storage, as one of the known ones.
    pub fn method_named(name: &str) -> &'static str {
        ["password", "otp", "oauth", "passkey", "anonymous"]
            .into_iter()
            .find(|m| *m == name)
            .unwrap_or("password")
    }
}

pub(crate) async fn insert_session(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    expires_in_ms: i64,
    is_impersonation: bool,
    who: &Who,
    sign_in: Option<SignIn>,
) -> Result<(String, String)> {
    let id = new_id();
    let token = random_token(32);
    let now = now_ms();
    sqlx::query(
        "INSERT INTO refresh_tokens (id, project_id, user_id, token_hash, is_impersonation, created_at, last_used_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(user_id)
    .bind(secret_hash(&token))
    .bind(is_impersonation as i64)
    .bind(now)
    .bind(now + expires_in_ms)
    .execute(&mut **tx)
    .await?;
    // An admin's session as the user says so in the record (who opened it, and that it is one).
    let mut data = json!({ "id": id, "user_id": user_id, "is_impersonation": is_impersonation });
    if let Some(s) = sign_in {
        data["method"] = json!(s.method);
        data["new_user"] = json!(s.new_user);
    }
    events::record(
        tx,
        project_id,
        who,
        Change::new("session.created", &id, data),
    )
    .await?;
    Ok((id, token))
}

/// A session's event (Gatehouse's kinds: Stack has no webhook for sessions); its object is the
/// session (refresh token) id, never the token.
async fn record_session(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    session_id: &str,
    user_id: &str,
) -> Result<()> {
    let data = json!({ "id": session_id, "user_id": user_id });
    let change = Change::new(kind, session_id, data);
    events::record(tx, project_id, who, change).await?;
    Ok(())
}

/// Ends a user's sessions (a new password, a reset), all of them or all but `keep`.
pub(crate) async fn end_sessions(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    keep: Option<&str>,
    who: &Who,
) -> Result<()> {
    let ended: Vec<(String,)> = sqlx::query_as(
        "DELETE FROM refresh_tokens WHERE project_id = $1 AND user_id = $2 AND id <> $3 RETURNING id",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .fetch_all(&mut **tx)
    .await?;
    for (id,) in ended {
        record_session(tx, project_id, who, "session.deleted", &id, user_id).await?;
    }
    Ok(())
}

/// A live session by its refresh token's hash, with what its access token says of the user:
/// no more (a token needs no metadata, team or linked accounts, and the project is at hand).
const REFRESH_SELECT: &str = "SELECT r.id AS session_id, r.created_at AS session_created_at, r.last_used_at, u.id, u.display_name, \
     u.primary_email, u.primary_email_verified, u.selected_team_id, u.signed_up_at, u.is_anonymous, \
     u.restricted_by_admin, u.totp_secret FROM refresh_tokens r JOIN users u ON u.id = r.user_id \
     WHERE r.project_id = $1 AND r.token_hash = $2 AND r.expires_at > $3";

/// Who an access token is for: its claims about the user.
pub struct Subject {
    pub id: String,
    pub project_id: String,
    pub display_name: Option<String>,
    pub primary_email: Option<String>,
    pub primary_email_verified: bool,
    pub selected_team_id: Option<String>,
    pub signed_up_at: i64,
    pub is_anonymous: bool,
    pub requires_totp_mfa: bool,
    pub restricted_reason: Option<&'static str>,
}

impl From<&User> for Subject {
    fn from(u: &User) -> Subject {
        Subject {
            id: u.id.clone(),
            project_id: u.project_id.clone(),
            display_name: u.display_name.clone(),
            primary_email: u.primary_email.clone(),
            primary_email_verified: u.primary_email_verified,
            selected_team_id: u.selected_team_id.clone(),
            signed_up_at: u.signed_up_at,
            is_anonymous: u.is_anonymous,
            requires_totp_mfa: u.totp_secret.is_some(),
            restricted_reason: u.restricted_reason(),
        }
    }
}

impl Core {
    /// Signs an access token for the user of a session.
    pub fn access_token(&self, user: impl Into<Subject>, session_id: &str) -> Result<String> {
        let user: Subject = user.into();
        let audience = if user.is_anonymous {
            Audience::Anonymous
        } else if user.restricted_reason.is_some() {
            Audience::Restricted
        } else {
            Audience::User
        };
        let now = now_ms() / 1000;
        let reason = user.restricted_reason;
        let claims = Claims {
            exp: now + ACCESS_TOKEN_TTL_SECS,
            iat: now,
            iss: self.signer.issuer(&user.project_id, audience),
            aud: self.signer.audience(&user.project_id, audience),
            sub: user.id,
            project_id: user.project_id,
            branch_id: "main".into(),
            refresh_token_id: session_id.into(),
            role: "authenticated".into(),
            name: user.display_name,
            email: user.primary_email,
            email_verified: user.primary_email_verified,
            selected_team_id: user.selected_team_id,
            signed_up_at: user.signed_up_at / 1000,
            is_anonymous: user.is_anonymous,
            is_restricted: reason.is_some(),
            restricted_reason: reason.map(|r| RestrictedReason { kind: r.into() }),
            requires_totp_mfa: user.requires_totp_mfa,
        };
        self.signer.sign(&claims, audience)
    }

    /// Opens a session for a user the caller has already created or checked.
    pub async fn create_session(
        &self,
        project: &Project,
        input: SessionCreate,
        who: &Who,
    ) -> Result<Tokens> {
        let expires_in = input.expires_in_millis.unwrap_or(DEFAULT_SESSION_MS);
        if !(1..=MAX_SESSION_MS).contains(&expires_in) {
            return Err(crate::validation::invalid(format!(
                "body.expires_in_millis must be less than or equal to {MAX_SESSION_MS}"
            )));
        }
        let user = self
            .user(&project.id, &input.user_id)
            .await?
            .ok_or_else(|| Error::UserIdDoesNotExist(input.user_id.clone()))?;
        self.open_session(
            &user,
            expires_in,
            input.is_impersonation.unwrap_or(false),
            who,
        )
        .await
    }

    pub(crate) async fn open_session(
        &self,
        user: &User,
        expires_in: i64,
        is_impersonation: bool,
        who: &Who,
    ) -> Result<Tokens> {
        let tx = self.begin().await?;
        self.commit_with_session(
            tx,
            &user.project_id,
            user.id.clone(),
            expires_in,
            is_impersonation,
            Some(who),
            None,
        )
        .await
    }

    /// Ends a sign-up or sign-in: opens the session in the caller's transaction (so a user is
    /// never left without the session they asked for), commits, and signs the tokens.
    pub(crate) async fn commit_with_session(
        &self,
        mut tx: Tx,
        project_id: &str,
        user_id: String,
        expires_in: i64,
        is_impersonation: bool,
        who: Option<&Who>,
        sign_in: Option<SignIn>,
    ) -> Result<Tokens> {
        // Signing in (or up), the user opens their own session.
        let who = who.cloned().unwrap_or_else(|| Who::User(user_id.clone()));
        let (session_id, refresh_token) = insert_session(
            &mut tx,
            project_id,
            &user_id,
            expires_in,
            is_impersonation,
            &who,
            sign_in,
        )
        .await?;
        tx.commit().await?;
        let user = self
            .user(project_id, &user_id)
            .await?
            .ok_or(Error::UserNotFound)?;
        Ok(Tokens {
            access_token: self.access_token(&user, &session_id)?,
            refresh_token,
            user_id,
        })
    }

    /// A dashboard admin signs in as a user: a session marked as impersonation, short-lived,
    /// listed to the user among their sessions, and recorded with the admin who opened it.
    pub async fn impersonate(
        &self,
        project: &Project,
        user_id: &str,
        admin: &Who,
    ) -> Result<Tokens> {
        let user = self
            .user(&project.id, user_id)
            .await?
            .ok_or_else(|| Error::UserIdDoesNotExist(user_id.to_string()))?;
        self.open_session(&user, IMPERSONATION_MS, true, admin)
            .await
    }

    /// Trades a refresh token for a fresh access token.
    pub async fn refresh(&self, project: &Project, refresh_token: &str) -> Result<String> {
        let now = now_ms();
        // One read, on a lane of its own (see `db::Lanes`).
        let row = self
            .db
            .fetch_optional_hot(
                sqlx::query(REFRESH_SELECT)
                    .bind(&project.id)
                    .bind(secret_hash(refresh_token))
                    .bind(now),
            )
            .await?
            .ok_or(Error::RefreshTokenNotFoundOrExpired)?;
        let session_id: String = row.try_get("session_id")?;
        let last_used_at: i64 = row.try_get("last_used_at")?;
        let is_anonymous = flag(&row, "is_anonymous")?;
        let primary_email_verified = flag(&row, "primary_email_verified")?;
        let user = Subject {
            id: row.try_get("id")?,
            project_id: project.id.clone(),
            display_name: row.try_get("display_name")?,
            primary_email: row.try_get("primary_email")?,
            primary_email_verified,
            selected_team_id: row.try_get("selected_team_id")?,
            signed_up_at: row.try_get("signed_up_at")?,
            is_anonymous,
            requires_totp_mfa: row.try_get::<Option<String>, _>("totp_secret")?.is_some(),
            restricted_reason: crate::users::restriction(
                is_anonymous,
                project.config.require_email_verification && !primary_email_verified,
                flag(&row, "restricted_by_admin")?,
            ),
        };
        // Activity is recorded to the minute: refreshing is frequent, and a write per refresh
        // would serialise them all behind the database's write lock. So is `$token-refresh`: a
        // session's first refresh, then at most one a minute (an SDK refreshes every few minutes;
        // only a loop or many tabs refresh faster, and their events would say nothing more).
        let session_created_at: i64 = row.try_get("session_created_at")?;
        if now - last_used_at >= ACTIVITY_RESOLUTION_MS || last_used_at == session_created_at {
            if project.config.analytics_enabled {
                let data = json!({ "refresh_token_id": session_id, "is_anonymous": is_anonymous, "ip_info": null });
                let mut event = NewEvent::system("$token-refresh", Some(&user.id), data);
                event.refresh_token_id = Some(session_id.clone());
                self.track(project, event);
            }
            let mut tx = self.begin().await?;
            sqlx::query("UPDATE refresh_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(&session_id)
                // Never the creation time again, so the first refresh is told from the next.
                .bind(now.max(session_created_at + 1))
                .execute(&mut *tx)
                .await?;
            crate::users::touch_last_active(&mut *tx, &user.id, now).await?;
            tx.commit().await?;
        }
        self.access_token(user, &session_id)
    }

    /// The session a refresh token belongs to, if it is live.
    pub async fn session_of_refresh_token(
        &self,
        project_id: &str,
        refresh_token: &str,
    ) -> Result<Option<Session>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, is_impersonation, created_at, last_used_at, expires_at FROM refresh_tokens \
             WHERE project_id = $1 AND token_hash = $2 AND expires_at > $3",
        )
        .bind(project_id)
        .bind(secret_hash(refresh_token))
        .bind(now_ms())
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// The user behind a hosted page's session cookie (a refresh token), if it is live.
    pub async fn user_of_refresh_token(
        &self,
        project_id: &str,
        refresh_token: &str,
    ) -> Result<Option<(Session, User)>> {
        let Some(session) = self
            .session_of_refresh_token(project_id, refresh_token)
            .await?
        else {
            return Ok(None);
        };
        Ok(self
            .user(project_id, &session.user_id)
            .await?
            .map(|u| (session, u)))
    }

    pub async fn sessions_of_user(
        &self,
        project_id: &str,
        user_id: &str,
        include_impersonation: bool,
    ) -> Result<Vec<Session>> {
        let filter = if include_impersonation {
            ""
        } else {
            " AND is_impersonation = 0"
        };
        Ok(sqlx::query_as(&format!(
            "SELECT id, user_id, is_impersonation, created_at, last_used_at, expires_at FROM refresh_tokens \
             WHERE project_id = $1 AND user_id = $2 AND expires_at > $3{filter} ORDER BY created_at DESC, id"
        ))
        .bind(project_id)
        .bind(user_id)
        .bind(now_ms())
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// Ends another of a user's sessions; the one in use ends by signing out instead.
    pub async fn revoke_other_session(
        &self,
        project_id: &str,
        user_id: &str,
        session_id: &str,
        current_session_id: Option<&str>,
        who: &Who,
    ) -> Result<()> {
        if current_session_id == Some(session_id) {
            return Err(Error::CannotDeleteCurrentSession);
        }
        self.delete_session(project_id, user_id, session_id, who)
            .await
    }

    /// Ends the session a refresh token belongs to.
    pub(crate) async fn revoke_refresh_token(&self, refresh_token: &str, who: &Who) -> Result<()> {
        let mut tx = self.begin().await?;
        let ended: Option<(String, String, String)> = sqlx::query_as(
            "DELETE FROM refresh_tokens WHERE token_hash = $1 RETURNING id, project_id, user_id",
        )
        .bind(secret_hash(refresh_token))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id, project_id, user_id)) = ended {
            record_session(&mut tx, &project_id, who, "session.deleted", &id, &user_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends one of a user's sessions.
    pub async fn delete_session(
        &self,
        project_id: &str,
        user_id: &str,
        session_id: &str,
        who: &Who,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "DELETE FROM refresh_tokens WHERE project_id = $1 AND user_id = $2 AND id = $3",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::RefreshTokenNotFoundOrExpired);
        }
        record_session(
            &mut tx,
            project_id,
            who,
            "session.deleted",
            session_id,
            user_id,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
