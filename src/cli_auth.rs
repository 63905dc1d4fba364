//! CLI sign-in, as Stack's `/auth/cli*`: a terminal asks for a pair of codes, shows its person
//! a link with the login code, and polls with the polling code; the person, signed in in a
//! browser, confirms, and the terminal's next poll gets a session of its own.
//!
//! Where Stack hands the terminal the browser's own refresh token, Gatehouse (which keeps only
//! hashes of refresh tokens) opens a new session for the same user: it is listed, and ended,
//! apart from the browser's. Its token is kept sealed until the terminal takes it.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::codes::random_base32;
use crate::crypto::secret_hash;
use crate::error::{Error, Result};
use crate::events::Who;
use crate::projects::Project;
use crate::sessions::{insert_session, DEFAULT_SESSION_MS};
use crate::users::User;
use crate::validation::{number, string, Input, Shape};
use crate::{new_id, now_ms, Core};

/// Stack's default and longest wait for a confirmation.
const DEFAULT_WAIT_MS: i64 = 2 * 60 * 60 * 1000;
const MAX_WAIT_MS: i64 = 24 * 60 * 60 * 1000;

/// `POST /auth/cli`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliStart {
    pub expires_in_millis: Option<i64>,
    pub anon_refresh_token: Option<String>,
}

impl Input for CliStart {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("expires_in_millis", number().max(MAX_WAIT_MS as f64))
            .field("anon_refresh_token", string())
    }
}

/// `POST /auth/cli/poll`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliPoll {
    pub polling_code: String,
}

impl Input for CliPoll {
    fn shape(_: bool) -> Shape {
        Shape::new().field("polling_code", string().defined())
    }
}

/// `POST /auth/cli/complete`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliComplete {
    pub login_code: String,
    pub mode: Option<String>,
    pub refresh_token: Option<String>,
}

impl Input for CliComplete {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("login_code", string().defined())
            .field(
                "mode",
                string().one_of(&[
                    json!("check"),
                    json!("claim-anon-session"),
                    json!("complete"),
                ]),
            )
            .field("refresh_token", string())
    }
}

/// A new attempt: the terminal's codes and when they lapse.
#[derive(Debug)]
pub struct CliCodes {
    pub polling_code: String,
    pub login_code: String,
    pub expires_at: i64,
}

/// What a poll finds (Stack's statuses); `Success` carries the terminal's refresh token.
#[derive(Debug, PartialEq)]
pub enum CliPollStatus {
    Waiting,
    Success(String),
    Expired,
    Used,
}

fn invalid_login_code() -> Error {
    Error::Status(400, "Invalid login code or the code has expired".into())
}

impl Core {
    /// `POST /auth/cli`: a pair of codes; with `anon_refresh_token`, the terminal's anonymous
    /// session, which the browser may later take over (`claim-anon-session`).
    pub async fn start_cli_auth(&self, project: &Project, input: CliStart) -> Result<CliCodes> {
        let wait = input.expires_in_millis.unwrap_or(DEFAULT_WAIT_MS);
        if wait < 1 {
            return Err(crate::validation::invalid(
                "body.expires_in_millis must be greater than or equal to 1",
            ));
        }
        let anon = match &input.anon_refresh_token {
            None => None,
            Some(token) => {
                let Some((_, user)) = self.user_of_refresh_token(&project.id, token).await? else {
                    return Err(Error::Status(400, "Invalid anon refresh token".into()));
                };
                if !user.is_anonymous {
                    return Err(Error::Status(
                        400,
                        "The provided refresh token does not belong to an anonymous user".into(),
                    ));
                }
                Some(self.sealing.seal(token))
            }
        };
        let codes = CliCodes {
            polling_code: random_base32(45),
            login_code: random_base32(45),
            expires_at: now_ms() + wait,
        };
        sqlx::query(
            "INSERT INTO cli_auth_attempts (id, project_id, polling_code_hash, login_code_hash, anon_refresh_token, \
             refresh_token, completed_at, used_at, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, $6, $7)",
        )
        .bind(new_id())
        .bind(&project.id)
        .bind(secret_hash(&codes.polling_code))
        .bind(secret_hash(&codes.login_code))
        .bind(anon)
        .bind(codes.expires_at)
        .bind(now_ms())
        .execute(&self.db.pool)
        .await?;
        Ok(codes)
    }

    /// `POST /auth/cli/poll`: once confirmed, the terminal's refresh token, handed out once.
    pub async fn poll_cli_auth(
        &self,
        project: &Project,
        polling_code: &str,
    ) -> Result<CliPollStatus> {
        let row: Option<(String, Option<String>, Option<i64>, i64)> = sqlx::query_as(
            "SELECT id, refresh_token, used_at, expires_at FROM cli_auth_attempts \
             WHERE project_id = $1 AND polling_code_hash = $2",
        )
        .bind(&project.id)
        .bind(secret_hash(polling_code))
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((id, sealed, used_at, expires_at)) = row else {
            return Err(Error::InvalidPollingCode);
        };
        if expires_at < now_ms() {
            return Ok(CliPollStatus::Expired);
        }
        if used_at.is_some() {
            return Ok(CliPollStatus::Used);
        }
        let Some(sealed) = sealed else {
            return Ok(CliPollStatus::Waiting);
        };
        // Taken once: the sealed token goes with the first poll that sees it.
        let taken = sqlx::query(
            "UPDATE cli_auth_attempts SET used_at = $2, refresh_token = NULL WHERE id = $1 AND used_at IS NULL",
        )
        .bind(&id)
        .bind(now_ms())
        .execute(&self.db.pool)
        .await?;
        if taken.rows_affected() == 0 {
            return Ok(CliPollStatus::Used);
        }
        let token = self
            .sealing
            .open(&sealed)
            .ok_or_else(|| Error::internal("a CLI session does not open with this server's key"))?;
        Ok(CliPollStatus::Success(token))
    }

    /// The pending attempt of a login code: its id and sealed anonymous session.
    async fn pending_cli_auth(
        &self,
        project: &Project,
        login_code: &str,
    ) -> Result<(String, Option<String>)> {
        let row: Option<(String, Option<String>, Option<String>, Option<i64>, i64)> = sqlx::query_as(
            "SELECT id, anon_refresh_token, refresh_token, used_at, expires_at FROM cli_auth_attempts \
             WHERE project_id = $1 AND login_code_hash = $2",
        )
        .bind(&project.id)
        .bind(secret_hash(login_code))
        .fetch_optional(&self.db.pool)
        .await?;
        match row {
            Some((id, anon, None, None, expires_at)) if expires_at >= now_ms() => Ok((id, anon)),
            _ => Err(invalid_login_code()),
        }
    }

    /// The anonymous session the terminal started with, if it is still an anonymous user's.
    async fn cli_anonymous_session(
        &self,
        project: &Project,
        sealed: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(token) = sealed.and_then(|s| self.sealing.open(s)) else {
            return Ok(None);
        };
        Ok(
            match self.user_of_refresh_token(&project.id, &token).await? {
                Some((_, user)) if user.is_anonymous => Some(token),
                _ => None,
            },
        )
    }

    /// `POST /auth/cli/complete`: `check` (is there an anonymous session to take over?),
    /// `claim-anon-session` (take it: its tokens, once), or `complete` (the browser's session
    /// confirms the terminal). Answers Stack's bodies.
    pub async fn complete_cli_auth(&self, project: &Project, input: CliComplete) -> Result<Value> {
        let (id, anon) = self.pending_cli_auth(project, &input.login_code).await?;
        match input.mode.as_deref().unwrap_or("complete") {
            "check" => {
                let state = match self.cli_anonymous_session(project, anon.as_deref()).await? {
                    Some(_) => "anonymous",
                    None => "none",
                };
                Ok(json!({ "cli_session_state": state }))
            }
            "claim-anon-session" => {
                let no_session =
                    || Error::Status(400, "No anonymous session associated with this code".into());
                let token = self
                    .cli_anonymous_session(project, anon.as_deref())
                    .await?
                    .ok_or_else(no_session)?;
                let claimed = sqlx::query(
                    "UPDATE cli_auth_attempts SET anon_refresh_token = NULL WHERE id = $1 AND anon_refresh_token = $2 \
                     AND refresh_token IS NULL AND used_at IS NULL",
                )
                .bind(&id)
                .bind(&anon)
                .execute(&self.db.pool)
                .await?;
                if claimed.rows_affected() == 0 {
                    return Err(no_session());
                }
                let access_token = self.refresh(project, &token).await?;
                Ok(json!({ "access_token": access_token, "refresh_token": token }))
            }
            _ => {
                let browser = input.refresh_token.ok_or_else(|| {
                    Error::Status(
                        400,
                        "refresh_token is required when mode is 'complete'".into(),
                    )
                })?;
                let Some((_, user)) = self.user_of_refresh_token(&project.id, &browser).await?
                else {
                    return Err(Error::Status(400, "Invalid refresh token".into()));
                };
                self.confirm_cli_auth_for(project, &id, &user).await?;
                Ok(json!({ "success": true }))
            }
        }
    }

    /// The hosted confirmation page: the signed-in user lets the terminal in.
    pub async fn confirm_cli_auth(
        &self,
        project: &Project,
        login_code: &str,
        user: &User,
    ) -> Result<()> {
        let (id, _) = self.pending_cli_auth(project, login_code).await?;
        self.confirm_cli_auth_for(project, &id, user).await
    }

    /// Opens the terminal's session and keeps it, sealed, for its next poll: both or neither.
    async fn confirm_cli_auth_for(&self, project: &Project, id: &str, user: &User) -> Result<()> {
        let mut tx = self.begin().await?;
        let who = Who::User(user.id.clone());
        let (_, refresh_token) = insert_session(
            &mut tx,
            &project.id,
            &user.id,
            DEFAULT_SESSION_MS,
            false,
            &who,
            None,
        )
        .await?;
        let claimed = sqlx::query(
            "UPDATE cli_auth_attempts SET refresh_token = $2, anon_refresh_token = NULL, completed_at = $3 \
             WHERE id = $1 AND refresh_token IS NULL AND used_at IS NULL AND expires_at > $3",
        )
        .bind(id)
        .bind(self.sealing.seal(&refresh_token))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(invalid_login_code());
        }
        tx.commit().await
    }
}
