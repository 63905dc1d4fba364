//! Who is asking: the project, the access type the keys prove, and the signed-in user; plus the
//! ways a user signs up and in (password, anonymous).

use serde::Deserialize;
use serde_json::json;
use sqlx::FromRow;

use crate::crypto;
use crate::error::{Error, Result};
use crate::events::{Change, Who};
use crate::projects::{KeyKind, Project, INTERNAL_PROJECT_ID};
use crate::rate_limits::{Action, Subject};
use crate::sessions::Tokens;
use crate::users::{parse_email, User, USER_SELECT};
use crate::validation::{string, Input, Shape};
use crate::{now_ms, Core};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessType {
    Client,
    Server,
    Admin,
}

impl AccessType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessType::Client => "client",
            AccessType::Server => "server",
            AccessType::Admin => "admin",
        }
    }
}

/// The authentication a request carries (from `X-Stack-*` / `X-Hexclave-*` headers or a
/// hosted page's session).
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub access_type: Option<String>,
    pub project_id: Option<String>,
    pub publishable_client_key: Option<String>,
    pub secret_server_key: Option<String>,
    pub super_secret_admin_key: Option<String>,
    pub admin_access_token: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub allow_anonymous_user: bool,
    /// `X-Stack-Allow-Restricted-User: true` (implied by allowing anonymous users).
    pub allow_restricted_user: bool,
}

/// An authenticated request.
#[derive(Clone, Debug)]
pub struct Auth {
    pub project: std::sync::Arc<Project>,
    pub access: AccessType,
    pub user: Option<User>,
    /// The session (refresh token id) of the access token, if any.
    pub session_id: Option<String>,
    pub refresh_token: Option<String>,
    /// The dashboard admin whose admin access token the request carries, if any.
    pub admin_id: Option<String>,
}

impl Auth {
    /// Who a change made by this request is recorded as (see [`crate::events`]).
    pub fn who(&self) -> crate::events::Who {
        use crate::events::Who;
        match (self.access, &self.user) {
            (AccessType::Admin, _) => Who::Admin(self.admin_id.clone()),
            (AccessType::Server, _) => Who::Server,
            (AccessType::Client, Some(u)) => Who::User(u.id.clone()),
            (AccessType::Client, None) => Who::Client,
        }
    }

    /// Fails with INSUFFICIENT_ACCESS_TYPE unless the access type is one of `allowed`.
    pub fn require(&self, allowed: &[AccessType]) -> Result<()> {
        if allowed.contains(&self.access) {
            Ok(())
        } else {
            Err(Error::InsufficientAccessType {
                actual: self.access.as_str(),
                allowed: allowed.iter().map(|a| a.as_str()).collect(),
            })
        }
    }

    pub fn require_server(&self) -> Result<()> {
        self.require(&[AccessType::Server, AccessType::Admin])
    }

    pub fn require_admin(&self) -> Result<()> {
        self.require(&[AccessType::Admin])
    }

    pub fn is_server(&self) -> bool {
        self.access != AccessType::Client
    }

    /// The signed-in user, for `me` endpoints.
    pub fn me(&self) -> Result<&User> {
        self.user.as_ref().ok_or(Error::CannotGetOwnUserWithoutUser)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSignIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordUpdate {
    pub old_password: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSet {
    pub password: String,
}

impl Input for PasswordSignIn {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("email", string().email().defined().non_empty())
            .field("password", password().defined())
    }
}

impl Input for PasswordUpdate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("old_password", password().defined())
            .field("new_password", password().defined())
    }
}

impl Input for PasswordSet {
    fn shape(_: bool) -> Shape {
        Shape::new().field("password", password().defined())
    }
}

/// Stack's password field: text of at most 70 characters; the project's rules (length,
/// PASSWORD_TOO_SHORT) are checked after the schema, by the core.
pub(crate) fn password() -> crate::validation::Field {
    string().max_chars(70)
}

/// A user by id, if the session named is theirs and live.
static LIVE_SESSION_USER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{USER_SELECT} WHERE u.project_id = $1 AND u.id = $2 AND EXISTS \
         (SELECT 1 FROM refresh_tokens r WHERE r.id = $3 AND r.user_id = u.id AND r.expires_at > $4)"
    )
});

impl Core {
    /// Checks the credentials of a request. `Ok(None)` when no access type was given and no
    /// key either: some endpoints (welcome, JWKS) need none.
    pub async fn authenticate(&self, c: &Credentials) -> Result<Option<Auth>> {
        let has_key = c.publishable_client_key.is_some()
            || c.secret_server_key.is_some()
            || c.super_secret_admin_key.is_some()
            || c.admin_access_token.is_some();
        let Some(access_type) = c.access_type.as_deref() else {
            return if has_key {
                Err(Error::ProjectKeyWithoutAccessType)
            } else {
                Ok(None)
            };
        };
        let access = match access_type {
            "client" => AccessType::Client,
            "server" => AccessType::Server,
            "admin" => AccessType::Admin,
            other => return Err(Error::InvalidAccessType(other.into())),
        };
        let Some(project_id) = c.project_id.as_deref() else {
            return Err(Error::AccessTypeWithoutProjectId(access_type.into()));
        };
        let project = self
            .project_cached(project_id)
            .await?
            .ok_or_else(|| Error::CurrentProjectNotFound(project_id.into()))?;

        // An admin access token (a dashboard user's) grants every access type on projects
        // their teams own; otherwise the key of the access type must be present and valid.
        let admin_id = match &c.admin_access_token {
            Some(token) => Some(self.check_admin_access_token(&project, token).await?.id),
            None => None,
        };
        if admin_id.is_none() {
            match access {
                AccessType::Client => match &c.publishable_client_key {
                    Some(key) => {
                        if !self
                            .check_project_key(&project.id, KeyKind::PublishableClient, key)
                            .await?
                        {
                            return Err(Error::InvalidPublishableClientKey(project.id.clone()));
                        }
                    }
                    None if project.config.require_publishable_client_key => {
                        return Err(Error::PublishableClientKeyRequiredForProject(
                            project.id.clone(),
                        ))
                    }
                    None => {}
                },
                AccessType::Server => {
                    let key = c
                        .secret_server_key
                        .as_deref()
                        .ok_or(Error::ServerAuthenticationRequired)?;
                    if !self
                        .check_project_key(&project.id, KeyKind::SecretServer, key)
                        .await?
                    {
                        return Err(Error::InvalidSecretServerKey(project.id.clone()));
                    }
                }
                AccessType::Admin => {
                    let key = c
                        .super_secret_admin_key
                        .as_deref()
                        .ok_or(Error::AdminAuthenticationRequired)?;
                    if !self
                        .check_project_key(&project.id, KeyKind::SuperSecretAdmin, key)
                        .await?
                    {
                        return Err(Error::InvalidSuperSecretAdminKey(project.id.clone()));
                    }
                }
            }
        }

        let (user, session_id) = match &c.access_token {
            Some(token) => {
                let claims = self.signer.verify(token, &project.id, false)?;
                let user = self
                    .user_of_live_session(&project.id, &claims.sub, &claims.refresh_token_id)
                    .await?;
                let Some(user) = user else {
                    // The session was revoked (sign-out, password change, user deleted).
                    return Err(Error::AccessTokenExpired {
                        expired_at_millis: Some(claims.exp * 1000),
                        project_id: Some(project.id.clone()),
                        user_id: Some(claims.sub.clone()),
                        refresh_token_id: Some(claims.refresh_token_id.clone()),
                    });
                };
                if user.is_anonymous && !c.allow_anonymous_user {
                    return Err(Error::AnonymousAuthenticationNotAllowed);
                }
                if let Some(reason) = user.restricted_reason() {
                    if !(c.allow_restricted_user || c.allow_anonymous_user) {
                        return Err(Error::RestrictedUserNotAllowed(reason));
                    }
                }
                (Some(user), Some(claims.refresh_token_id.clone()))
            }
            None => (None, None),
        };
        Ok(Some(Auth {
            project,
            access,
            user,
            session_id,
            refresh_token: c.refresh_token.clone(),
            admin_id,
        }))
    }

    /// The user of a live session (a copy the record of changes drops: see `Caches::follow`).
    async fn user_of_live_session(
        &self,
        project_id: &str,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<User>> {
        if let Some(user) = self.caches.sessions.get(session_id) {
            if user.id == user_id && user.project_id == project_id {
                return Ok(Some(user));
            }
        }
        if !crate::is_uuid(user_id) {
            return Ok(None);
        }
        let generation = self.caches.sessions.generation();
        let row = self
            .db
            .fetch_optional_hot(
                sqlx::query(&LIVE_SESSION_USER)
                    .bind(project_id)
                    .bind(user_id)
                    .bind(session_id)
                    .bind(now_ms()),
            )
            .await?;
        let user = row.as_ref().map(User::from_row).transpose()?;
        let user = self.apply_project_rules(user).await?;
        if let Some(u) = &user {
            self.caches
                .sessions
                .fill(generation, session_id.to_string(), u.clone());
        }
        Ok(user)
    }

    /// An admin access token is an internal-project access token of a user who belongs to the
    /// team that owns `project`.
    async fn check_admin_access_token(&self, project: &Project, token: &str) -> Result<User> {
        let claims = self.signer.verify(token, INTERNAL_PROJECT_ID, true)?;
        let user = self
            .user_of_live_session(INTERNAL_PROJECT_ID, &claims.sub, &claims.refresh_token_id)
            .await?
            .ok_or(Error::AdminAccessTokenExpired(Some(claims.exp * 1000)))?;
        if self.administers(&user.id, project).await? {
            Ok(user)
        } else {
            Err(Error::AdminAccessTokenIsNotAdmin)
        }
    }

    /// Whether a dashboard user may manage `project`: they belong to the team that owns it.
    pub async fn administers(&self, user_id: &str, project: &Project) -> Result<bool> {
        match &project.owner_team_id {
            Some(team) => self.is_team_member(team, user_id).await,
            None => Ok(false),
        }
    }

    /// Signs in with email and password. Every failure looks the same from outside, and takes
    /// as long as a real check.
    pub async fn password_sign_in(
        &self,
        project: &Project,
        input: PasswordSignIn,
    ) -> Result<Tokens> {
        if !project.config.credential_enabled {
            return Err(Error::PasswordAuthenticationNotEnabled);
        }
        let email = parse_email(&input.email, "body.email")?;
        // Counted by the address typed, so that an unknown address is refused as a known one.
        self.check_lockout(project, &email).await?;
        self.limit(project, Action::SignIn, Subject::Account(&email))
            .await?;
        let user = self.user_by_auth_email(&project.id, &email).await?;
        let Some((user, hash)) = user.and_then(|u| u.password_hash.clone().map(|h| (u, h))) else {
            crypto::burn_password_check(input.password).await;
            self.record_failed_sign_in(project, None, &email, "password", "unknown_email")
                .await?;
            self.count_failed_sign_in(project, &email, None).await?;
            return Err(Error::EmailPasswordMismatch);
        };
        if !crypto::verify_password(input.password, hash).await? {
            self.record_failed_sign_in(
                project,
                Some(&user.id),
                &email,
                "password",
                "wrong_password",
            )
            .await?;
            self.count_failed_sign_in(project, &email, Some(&user))
                .await?;
            return Err(Error::EmailPasswordMismatch);
        }
        crate::users::touch_last_active(&self.db.pool, &user.id, now_ms()).await?;
        let tx = self.begin().await?;
        self.commit_sign_in(tx, &project.id, user.id, false, "password")
            .await
    }

    /// Records a failed sign-in in the log (the audit log and analytics read it): its method,
    /// why, the address typed and the account it was for, if any (as the change's object, not
    /// in its data: a change naming a user in its data drops their cached sessions).
    pub(crate) async fn record_failed_sign_in(
        &self,
        project: &Project,
        user_id: Option<&str>,
        email: &str,
        method: &str,
        reason: &str,
    ) -> Result<()> {
        let data = json!({ "method": method, "reason": reason, "email": email });
        let change = Change::new("sign_in.failed", user_id.unwrap_or(""), data);
        let mut tx = self.begin().await?;
        crate::events::record(&mut tx, &project.id, &Who::Client, change).await?;
        tx.commit().await
    }

    /// Changes the signed-in user's password; their other sessions end.
    pub async fn password_update(
        &self,
        user: &User,
        current_session: Option<&str>,
        input: PasswordUpdate,
    ) -> Result<()> {
        let hash = user
            .password_hash
            .clone()
            .ok_or(Error::UserDoesNotHavePassword)?;
        if !crypto::verify_password(input.old_password, hash).await? {
            return Err(Error::PasswordConfirmationMismatch);
        }
        self.check_new_password(user, &input.new_password).await?;
        self.store_password(user, current_session, input.new_password)
            .await
    }

    /// Gives a password to a user who has none (signed up another way).
    pub async fn password_set(
        &self,
        user: &User,
        current_session: Option<&str>,
        input: PasswordSet,
    ) -> Result<()> {
        if user.password_hash.is_some() {
            return Err(Error::Status(
                400,
                "User already has a password set.".into(),
            ));
        }
        self.check_new_password(user, &input.password).await?;
        self.store_password(user, current_session, input.password)
            .await
    }

    /// [`crate::passwords::check_new_password`] under the rules of the user's project.
    async fn check_new_password(&self, user: &User, password: &str) -> Result<()> {
        let project = self
            .project_cached(&user.project_id)
            .await?
            .ok_or_else(|| Error::internal("a user without a project"))?;
        crate::passwords::check_new_password(&project.config, password)
    }

    async fn store_password(
        &self,
        user: &User,
        keep_session: Option<&str>,
        password: String,
    ) -> Result<()> {
        let hash = crypto::hash_password(password).await?;
        let mut tx = self.begin().await?;
        let who = crate::events::Who::User(user.id.clone());
        crate::users::set_password_hash(&mut tx, &user.project_id, &user.id, &hash, &who).await?;
        crate::sessions::end_sessions(&mut tx, &user.project_id, &user.id, keep_session, &who)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
