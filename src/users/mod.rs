//! Users: creation, reading (server and client views), updates with Stack's metadata write
//! rules, deletion; finding them (pages, search, figures) is in [`list`].

pub mod contact_channels;
mod list;

pub use list::{Page, ProjectStats, UserListParams, UserListQuery, MAX_PAGE};

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use crate::crypto;
use crate::db::is_unique_violation;
use crate::db::{json_or_null, json_text};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::patch;
use crate::projects::Project;
use crate::validation::{boolean, picture_and_metadata, string, Input, Shape};
use crate::{new_id, now_ms, Core};

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub project_id: String,
    pub primary_email: Option<String>,
    pub primary_email_verified: bool,
    pub primary_email_auth_enabled: bool,
    pub display_name: Option<String>,
    pub profile_image_url: Option<String>,
    pub password_hash: Option<String>,
    pub client_metadata: Option<String>,
    pub client_read_only_metadata: Option<String>,
    pub server_metadata: Option<String>,
    pub selected_team_id: Option<String>,
    pub is_anonymous: bool,
    /// Signs in with emailed codes (Stack's OTP auth method).
    pub otp_auth_enabled: bool,
    /// The TOTP secret, sealed (see [`crate::mfa`]); `Some`: sign-in asks for a second factor.
    pub totp_secret: Option<String>,
    /// Has a passkey (see [`crate::passkeys`], which keeps it so).
    pub passkey_auth_enabled: bool,
    pub restricted_by_admin: bool,
    pub restricted_by_admin_reason: Option<String>,
    pub restricted_by_admin_private_details: Option<String>,
    pub signed_up_at: i64,
    pub last_active_at: i64,
    // The selected team, joined in the same query.
    pub team_display_name: Option<String>,
    pub team_profile_image_url: Option<String>,
    pub team_client_metadata: Option<String>,
    pub team_client_read_only_metadata: Option<String>,
    pub team_server_metadata: Option<String>,
    pub team_created_at: Option<i64>,
    /// The language emails to them are written in, when a template has it (`de`, `pt-BR`).
    pub language: Option<String>,
    /// How their sign-up looked (see [`crate::sign_up_rules::risk`]).
    pub risk_scores: RiskScores,
    /// The project requires a verified email (`onboarding.requireEmailVerification`); not a
    /// column: set by the core as it loads users (see [`Core::apply_project_rules`]).
    pub email_verification_required: bool,
    /// The user's accounts at the project's OAuth providers; not a column: filled in by the
    /// core as it loads users of projects with providers (see [`Core::apply_project_rules`]).
    pub oauth_providers: Vec<OAuthLink>,
}

/// One of a user's accounts at a provider, as user objects list them.
#[derive(Clone, Debug, PartialEq)]
pub struct OAuthLink {
    /// The project's provider id (`github`).
    pub id: String,
    pub account_id: String,
    pub email: Option<String>,
}

pub(crate) const USER_SELECT: &str = "SELECT u.id, u.project_id, u.primary_email, u.primary_email_verified, \
    u.primary_email_auth_enabled, u.display_name, u.profile_image_url, u.password_hash, u.client_metadata, \
    u.client_read_only_metadata, u.server_metadata, u.selected_team_id, u.is_anonymous, u.otp_auth_enabled, u.totp_secret, u.passkey_auth_enabled, u.restricted_by_admin, \
    u.restricted_by_admin_reason, u.restricted_by_admin_private_details, u.signed_up_at, u.last_active_at, u.language, \
    u.risk_bot, u.risk_free_trial_abuse, \
    t.display_name AS team_display_name, t.profile_image_url AS team_profile_image_url, \
    t.client_metadata AS team_client_metadata, t.client_read_only_metadata AS team_client_read_only_metadata, \
    t.server_metadata AS team_server_metadata, t.created_at AS team_created_at \
    FROM users u LEFT JOIN teams t ON t.id = u.selected_team_id";

impl sqlx::FromRow<'_, AnyRow> for User {
    fn from_row(r: &AnyRow) -> sqlx::Result<User> {
        Ok(User {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            primary_email: r.try_get("primary_email")?,
            primary_email_verified: flag(r, "primary_email_verified")?,
            primary_email_auth_enabled: flag(r, "primary_email_auth_enabled")?,
            display_name: r.try_get("display_name")?,
            profile_image_url: r.try_get("profile_image_url")?,
            password_hash: r.try_get("password_hash")?,
            client_metadata: r.try_get("client_metadata")?,
            client_read_only_metadata: r.try_get("client_read_only_metadata")?,
            server_metadata: r.try_get("server_metadata")?,
            selected_team_id: r.try_get("selected_team_id")?,
            is_anonymous: flag(r, "is_anonymous")?,
            otp_auth_enabled: flag(r, "otp_auth_enabled")?,
            totp_secret: r.try_get("totp_secret")?,
            passkey_auth_enabled: flag(r, "passkey_auth_enabled")?,
            restricted_by_admin: flag(r, "restricted_by_admin")?,
            restricted_by_admin_reason: r.try_get("restricted_by_admin_reason")?,
            restricted_by_admin_private_details: r
                .try_get("restricted_by_admin_private_details")?,
            signed_up_at: r.try_get("signed_up_at")?,
            last_active_at: r.try_get("last_active_at")?,
            team_display_name: r.try_get("team_display_name")?,
            team_profile_image_url: r.try_get("team_profile_image_url")?,
            team_client_metadata: r.try_get("team_client_metadata")?,
            team_client_read_only_metadata: r.try_get("team_client_read_only_metadata")?,
            team_server_metadata: r.try_get("team_server_metadata")?,
            team_created_at: r.try_get("team_created_at")?,
            language: r.try_get("language")?,
            risk_scores: RiskScores {
                bot: r.try_get::<i64, _>("risk_bot")?.clamp(0, 100) as u8,
                free_trial_abuse: r.try_get::<i64, _>("risk_free_trial_abuse")?.clamp(0, 100) as u8,
            },
            email_verification_required: false,
            oauth_providers: Vec::new(),
        })
    }
}

/// Stack's sign-up risk scores, each 0 (no sign of it) to 100.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RiskScores {
    pub bot: u8,
    pub free_trial_abuse: u8,
}

/// Keeps what the sign-up's risk assessment found on the new (or upgraded) account.
pub(crate) async fn set_sign_up_risk(
    tx: &mut Tx,
    user_id: &str,
    risk: RiskScores,
    email_base: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET risk_bot = $2, risk_free_trial_abuse = $3, sign_up_email_base = $4 \
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(risk.bot as i64)
    .bind(risk.free_trial_abuse as i64)
    .bind(email_base)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Reads a 0/1 flag column as a bool.
pub(crate) fn flag(row: &AnyRow, column: &str) -> sqlx::Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// Why a user is restricted, if they are (see [`User::restricted_reason`]).
pub(crate) fn restriction(
    is_anonymous: bool,
    unverified_where_required: bool,
    restricted_by_admin: bool,
) -> Option<&'static str> {
    if is_anonymous {
        Some("anonymous")
    } else if unverified_where_required {
        // Before an admin's restriction: this one the user can lift.
        Some("email_not_verified")
    } else if restricted_by_admin {
        Some("restricted_by_administrator")
    } else {
        None
    }
}

impl User {
    /// Why the user is restricted, if they are: anonymous users, users who have not verified
    /// their email where the project requires it, and users an admin restricted.
    pub fn restricted_reason(&self) -> Option<&'static str> {
        restriction(
            self.is_anonymous,
            self.email_verification_required && !self.primary_email_verified,
            self.restricted_by_admin,
        )
    }

    fn team_view(&self, server: bool) -> Value {
        let (Some(id), Some(name)) = (&self.selected_team_id, &self.team_display_name) else {
            return Value::Null;
        };
        let mut v = json!({
            "id": id,
            "display_name": name,
            "profile_image_url": self.team_profile_image_url,
            "client_metadata": json_or_null(&self.team_client_metadata),
            "client_read_only_metadata": json_or_null(&self.team_client_read_only_metadata),
        });
        if server {
            v["created_at_millis"] = json!(self.team_created_at);
            v["server_metadata"] = json_or_null(&self.team_server_metadata);
        }
        v
    }

    /// What a server (or admin) sees.
    pub fn server_view(&self) -> Value {
        let mut v = self.client_view();
        v["selected_team"] = self.team_view(true);
        v["primary_email_auth_enabled"] = json!(self.primary_email_auth_enabled);
        v["server_metadata"] = json_or_null(&self.server_metadata);
        v["last_active_at_millis"] = json!(self.last_active_at);
        v["restricted_by_admin_private_details"] = json!(self.restricted_by_admin_private_details);
        v["country_code"] = Value::Null;
        v["risk_scores"] = json!({ "sign_up": {
            "bot": self.risk_scores.bot,
            "free_trial_abuse": self.risk_scores.free_trial_abuse,
        } });
        v
    }

    /// What the signed-in user sees of themselves.
    pub fn client_view(&self) -> Value {
        let reason = self.restricted_reason();
        json!({
            "id": self.id,
            "primary_email": self.primary_email,
            "primary_email_verified": self.primary_email_verified,
            "display_name": self.display_name,
            "client_metadata": json_or_null(&self.client_metadata),
            "client_read_only_metadata": json_or_null(&self.client_read_only_metadata),
            "profile_image_url": self.profile_image_url,
            "signed_up_at_millis": self.signed_up_at,
            "has_password": self.password_hash.is_some(),
            // Stack's: a password or emailed codes (`users/crud.tsx`).
            "auth_with_email": self.password_hash.is_some() || self.otp_auth_enabled,
            "oauth_providers": self.oauth_providers.iter().map(|p| json!({
                "id": p.id, "account_id": p.account_id, "email": p.email,
            })).collect::<Vec<_>>(),
            "selected_team_id": self.selected_team_id,
            "selected_team": self.team_view(false),
            "requires_totp_mfa": self.totp_secret.is_some(),
            "otp_auth_enabled": self.otp_auth_enabled,
            "passkey_auth_enabled": self.passkey_auth_enabled,
            "is_anonymous": self.is_anonymous,
            "is_restricted": reason.is_some(),
            "restricted_reason": reason.map(|r| json!({ "type": r })),
            "restricted_by_admin": self.restricted_by_admin,
            "restricted_by_admin_reason": self.restricted_by_admin_reason,
        })
    }
}

/// Trims, lowercases and checks an email address; `field` names it in the error. The check is
/// yup's `email()`, as in Stack's server API (`emailSchema`): an address the server creates or
/// imports may have any domain (`ada@localhost`). Forms where people type their own address add
/// Stack's strict rule in their shapes (`string().strict_email()`).
pub fn parse_email(raw: &str, field: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.len() <= 254 && crate::validation::looks_like_email(&email) {
        Ok(email)
    } else {
        Err(crate::validation::invalid(format!(
            "{field} must be a valid email"
        )))
    }
}

/// Emailed-code sign-in turned on for a user only where the project allows it (Stack's text).
pub(crate) fn check_otp_allowed(project: &Project, on: bool) -> Result<()> {
    if on && !project.config.magic_link_enabled {
        return Err(Error::Status(
            400,
            "OTP auth not enabled in the project".into(),
        ));
    }
    Ok(())
}

pub(crate) fn check_display_name(name: &Option<String>) -> Result<()> {
    if name.as_ref().is_some_and(|n| n.chars().count() > 256) {
        return Err(crate::validation::invalid(
            "body.display_name must be at most 256 characters",
        ));
    }
    Ok(())
}

pub(crate) fn check_url(url: &Option<String>, field: &str) -> Result<()> {
    if let Some(u) = url {
        let ok =
            u.starts_with("https://") || u.starts_with("http://") || u.starts_with("data:image/");
        if !ok {
            return Err(crate::validation::invalid(format!(
                "body.{field} is not a valid URL"
            )));
        }
    }
    Ok(())
}

/// A reason or private details only on a user restricted by an admin (Stack's wording).
pub(crate) fn check_restriction(
    restricted: bool,
    reason: &Option<String>,
    details: &Option<String>,
) -> Result<()> {
    for (field, set) in [
        ("restricted_by_admin_reason", reason.is_some()),
        ("restricted_by_admin_private_details", details.is_some()),
    ] {
        if set && !restricted {
            return Err(crate::validation::invalid(format!(
                "{field} must be null when restricted_by_admin is not true"
            )));
        }
    }
    Ok(())
}

/// Stack's `passkey_auth_enabled` in a user body: true only by adding a passkey, false removes
/// every passkey (Stack's wording for the refusal).
pub(crate) fn check_passkey_flag(on: Option<bool>) -> Result<()> {
    if on == Some(true) {
        return Err(Error::Status(
            400,
            "Cannot manually enable passkey auth, it is enabled iff there is a passkey auth method"
                .into(),
        ));
    }
    Ok(())
}

/// `POST /users` (server access).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub primary_email: Option<String>,
    pub primary_email_verified: Option<bool>,
    pub primary_email_auth_enabled: Option<bool>,
    pub display_name: Option<String>,
    pub profile_image_url: Option<String>,
    pub password: Option<String>,
    pub password_hash: Option<String>,
    pub client_metadata: Option<Value>,
    pub client_read_only_metadata: Option<Value>,
    pub server_metadata: Option<Value>,
    pub is_anonymous: Option<bool>,
    pub restricted_by_admin: Option<bool>,
    pub restricted_by_admin_reason: Option<String>,
    pub restricted_by_admin_private_details: Option<String>,
    pub otp_auth_enabled: Option<bool>,
    pub totp_secret_base64: Option<String>,
    pub passkey_auth_enabled: Option<bool>,
}

impl Input for UserCreate {
    /// Stack's server create schema, as far as Gatehouse has the fields.
    fn shape(_: bool) -> Shape {
        user_fields(Shape::new(), true)
            .field("is_anonymous", boolean())
            .field("restricted_by_admin", boolean())
            .field("restricted_by_admin_reason", string().nullable())
            .field("restricted_by_admin_private_details", string().nullable())
    }
}

/// The fields user create and update share; `server` adds those only server access may set.
fn user_fields(shape: Shape, server: bool) -> Shape {
    let shape = picture_and_metadata(
        shape.field("display_name", string().nullable().max_chars(256)),
        server,
    );
    let shape = shape.field("primary_email", string().email().nullable().non_empty());
    let shape = if server {
        shape
            .field("primary_email_verified", boolean())
            .field("primary_email_auth_enabled", boolean())
            .field("passkey_auth_enabled", boolean())
            .field("password", string().nullable().max_chars(70))
            .field("password_hash", string().non_empty())
    } else {
        shape.field("passkey_auth_enabled", boolean())
    };
    shape
        .field("otp_auth_enabled", boolean())
        .field("totp_secret_base64", string().nullable())
}

/// `PATCH /users/{id}` and `PATCH /users/me`. Absent fields stay as they are; `null` clears.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default, deserialize_with = "patch::nullable")]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub profile_image_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub client_metadata: Option<Option<Value>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub selected_team_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub primary_email: Option<Option<String>>,
    /// Gatehouse's own, not in Stack's body: the language of the user's emails, set through
    /// [`LanguageUpdate`] where a request asks for Gatehouse's fields.
    #[serde(skip)]
    pub language: Option<Option<String>>,
    // Server access only, from here on.
    #[serde(default, deserialize_with = "patch::nullable")]
    pub client_read_only_metadata: Option<Option<Value>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub server_metadata: Option<Option<Value>>,
    pub primary_email_verified: Option<bool>,
    pub primary_email_auth_enabled: Option<bool>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub password: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub is_anonymous: Option<bool>,
    pub restricted_by_admin: Option<bool>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub restricted_by_admin_reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub restricted_by_admin_private_details: Option<Option<String>>,
    pub otp_auth_enabled: Option<bool>,
    /// A new TOTP secret (second factor on), or `null` (off).
    #[serde(default, deserialize_with = "patch::nullable")]
    pub totp_secret_base64: Option<Option<String>>,
    /// `false` removes every passkey; `true` is refused (a passkey is added, not switched on).
    pub passkey_auth_enabled: Option<bool>,
}

impl Input for UserUpdate {
    /// Stack's update schema: for client access only what the user owns.
    fn shape(server: bool) -> Shape {
        let shape =
            user_fields(Shape::new(), server).field("selected_team_id", string().uuid().nullable());
        if server {
            shape
                .field("is_anonymous", boolean().one_of(&[Value::Bool(false)]))
                .field("restricted_by_admin", boolean())
                .field("restricted_by_admin_reason", string().nullable())
                .field("restricted_by_admin_private_details", string().nullable())
        } else {
            shape
        }
    }
}

impl UserUpdate {
    /// Client access may change only what the user owns: name, picture, client metadata,
    /// selected team and email.
    pub fn check_client_allowed(&self) -> Result<()> {
        let server_only = [
            (
                "client_read_only_metadata",
                self.client_read_only_metadata.is_some(),
            ),
            ("server_metadata", self.server_metadata.is_some()),
            (
                "primary_email_verified",
                self.primary_email_verified.is_some(),
            ),
            (
                "primary_email_auth_enabled",
                self.primary_email_auth_enabled.is_some(),
            ),
            ("password", self.password.is_some()),
            ("password_hash", self.password_hash.is_some()),
            ("is_anonymous", self.is_anonymous.is_some()),
            ("restricted_by_admin", self.restricted_by_admin.is_some()),
            (
                "restricted_by_admin_reason",
                self.restricted_by_admin_reason.is_some(),
            ),
            (
                "restricted_by_admin_private_details",
                self.restricted_by_admin_private_details.is_some(),
            ),
        ];
        if let Some((field, _)) = server_only.iter().find(|(_, set)| *set) {
            return Err(crate::validation::invalid(format!(
                "body contains unknown properties: {field}"
            )));
        }
        Ok(())
    }
}

impl Core {
    pub async fn user(&self, project_id: &str, user_id: &str) -> Result<Option<User>> {
        if !crate::is_uuid(user_id) {
            return Ok(None);
        }
        let user = sqlx::query_as(&format!(
            "{USER_SELECT} WHERE u.project_id = $1 AND u.id = $2"
        ))
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(&self.db.pool)
        .await?;
        self.apply_project_rules(user).await
    }

    /// Marks loaded users with the project's rules that shape how they are seen (a verified
    /// email required).
    pub(crate) async fn apply_project_rules(&self, user: Option<User>) -> Result<Option<User>> {
        let Some(mut u) = user else { return Ok(None) };
        if let Some(p) = self.project_cached(&u.project_id).await? {
            u.email_verification_required = p.config.require_email_verification;
            self.attach_oauth_links(&p, std::slice::from_mut(&mut u))
                .await?;
        }
        Ok(Some(u))
    }

    pub async fn user_by_auth_email(&self, project_id: &str, email: &str) -> Result<Option<User>> {
        let user = sqlx::query_as(&format!(
            "{USER_SELECT} WHERE u.project_id = $1 AND u.id = (SELECT c.user_id FROM contact_channels c \
             WHERE c.project_id = $1 AND c.type = 'email' AND c.value = $2 AND c.used_for_auth = 1)"
        ))
        .bind(project_id)
        .bind(email)
        .fetch_optional(&self.db.pool)
        .await?;
        self.apply_project_rules(user).await
    }

    /// Checks an update and works out the user it makes (hashing a new password), writing
    /// nothing; whether the password changed comes with it. A user (or a browser) may change
    /// only what the user owns ([`UserUpdate::check_client_allowed`]); server and admin anything.
    /// The update is written by [`write_user_update`] (see `Core::update_user`).
    pub(crate) async fn prepare_user_update(
        &self,
        project: &Project,
        user: &User,
        input: UserUpdate,
        who: &Who,
    ) -> Result<(User, bool)> {
        // A user (or a browser) may change only what the user owns; server and admin anything.
        let server = matches!(who, Who::Server | Who::Admin(_) | Who::System);
        if !server {
            input.check_client_allowed()?;
        }
        check_passkey_flag(input.passkey_auth_enabled)?;
        let mut u = user.clone();
        if input.passkey_auth_enabled == Some(false) {
            u.passkey_auth_enabled = false;
        }
        if let Some(otp) = input.otp_auth_enabled {
            check_otp_allowed(project, otp)?;
            u.otp_auth_enabled = otp;
        }
        if let Some(secret) = input.totp_secret_base64 {
            u.totp_secret = secret
                .map(|s| self.seal_totp_secret(&s, "body.totp_secret_base64"))
                .transpose()?;
        }
        if let Some(language) = input.language {
            let language = language
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty());
            if let Some(bad) = language
                .as_ref()
                .and_then(|l| language_rule("body.language", &json!(l)))
            {
                return Err(crate::validation::invalid(bad));
            }
            u.language = language;
        }
        if let Some(name) = input.display_name {
            check_display_name(&name)?;
            u.display_name = name;
        }
        if let Some(url) = input.profile_image_url {
            check_url(&url, "profile_image_url")?;
            u.profile_image_url = url;
        }
        if let Some(m) = input.client_metadata {
            u.client_metadata = json_text(m);
        }
        if let Some(m) = input.client_read_only_metadata {
            u.client_read_only_metadata = json_text(m);
        }
        if let Some(m) = input.server_metadata {
            u.server_metadata = json_text(m);
        }
        if let Some(team) = input.selected_team_id {
            if let Some(team_id) = &team {
                if !self.is_team_member(team_id, &u.id).await? {
                    return Err(Error::TeamNotFound(team_id.clone()));
                }
            }
            u.selected_team_id = team;
        }
        if let Some(email) = input.primary_email {
            let email = email
                .map(|e| parse_email(&e, "body.primary_email"))
                .transpose()?;
            if email != u.primary_email {
                // A new address is unproven until verified.
                u.primary_email_verified = false;
            }
            u.primary_email = email;
        }
        if let Some(v) = input.primary_email_verified {
            u.primary_email_verified = v;
        }
        if let Some(v) = input.primary_email_auth_enabled {
            u.primary_email_auth_enabled = v;
        }
        let mut password_changed = false;
        if let Some(pw) = input.password {
            u.password_hash = match pw {
                Some(pw) => {
                    crate::passwords::check_new_password(&project.config, &pw)?;
                    Some(crypto::hash_password(pw).await?)
                }
                None => None,
            };
            password_changed = true;
        } else if let Some(hash) = input.password_hash {
            crypto::check_importable_hash(&hash)?;
            u.password_hash = Some(hash);
            password_changed = true;
        }
        if let Some(anon) = input.is_anonymous {
            if anon && !u.is_anonymous {
                return Err(crate::validation::invalid(
                    "body.is_anonymous must be one of the following values: false",
                ));
            }
            u.is_anonymous = anon;
        }
        if let Some(r) = input.restricted_by_admin {
            u.restricted_by_admin = r;
            if !r {
                u.restricted_by_admin_reason = None;
                u.restricted_by_admin_private_details = None;
            }
        }
        if let Some(r) = input.restricted_by_admin_reason {
            u.restricted_by_admin_reason = r;
        }
        if let Some(r) = input.restricted_by_admin_private_details {
            u.restricted_by_admin_private_details = r;
        }
        check_restriction(
            u.restricted_by_admin,
            &u.restricted_by_admin_reason,
            &u.restricted_by_admin_private_details,
        )?;
        Ok((u, password_changed))
    }

    /// A user deleting themselves (client access, or the hosted account page): only where the
    /// project allows it.
    pub async fn delete_own_account(&self, project: &Project, user: &User) -> Result<()> {
        if !project.config.client_user_deletion_enabled {
            return Err(Error::Status(
                400,
                "Client user deletion is not enabled for this project".into(),
            ));
        }
        self.delete_user(&project.id, &user.id, &Who::User(user.id.clone()))
            .await
    }

    /// Deletes a user; the event names the teams they were in (Stack's `user.deleted`).
    pub async fn delete_user(&self, project_id: &str, user_id: &str, who: &Who) -> Result<()> {
        let mut tx = self.begin().await?;
        let teams: Vec<(String,)> =
            sqlx::query_as("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
        // Teams are not deleted with their members; sessions and memberships cascade.
        let done = sqlx::query("DELETE FROM users WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::UserNotFound);
        }
        let teams: Vec<Value> = teams.into_iter().map(|(id,)| json!({ "id": id })).collect();
        let data = json!({ "id": user_id, "teams": teams });
        events::record(
            &mut tx,
            project_id,
            who,
            Change::new("user.deleted", user_id, data),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Writes an update [`Core::prepare_user_update`] made of `before`, with its event (which names
/// the fields that changed).
pub(crate) async fn write_user_update(
    tx: &mut Tx,
    public_url: &str,
    project_id: &str,
    before: &User,
    mut u: User,
    who: &Who,
) -> Result<()> {
    let fields = changed_fields(before, &u);
    // An uploaded picture is kept here and linked (a URL stays as given).
    u.profile_image_url = crate::images::store(
        tx,
        public_url,
        u.profile_image_url.take(),
        "profile_image_url",
    )
    .await?;
    write_user(tx, &u).await?;
    let change = Change::new("user.updated", &u.id, json!({ "fields": fields }));
    events::record(tx, project_id, who, change).await?;
    Ok(())
}

/// The fields of a user that differ between two copies, by their names in Stack's user object
/// (secrets by what they are: `password`, `totp`).
pub(crate) fn changed_fields(a: &User, b: &User) -> Vec<&'static str> {
    [
        ("primary_email", a.primary_email != b.primary_email),
        (
            "primary_email_verified",
            a.primary_email_verified != b.primary_email_verified,
        ),
        (
            "primary_email_auth_enabled",
            a.primary_email_auth_enabled != b.primary_email_auth_enabled,
        ),
        ("display_name", a.display_name != b.display_name),
        (
            "profile_image_url",
            a.profile_image_url != b.profile_image_url,
        ),
        ("password", a.password_hash != b.password_hash),
        ("client_metadata", a.client_metadata != b.client_metadata),
        (
            "client_read_only_metadata",
            a.client_read_only_metadata != b.client_read_only_metadata,
        ),
        ("server_metadata", a.server_metadata != b.server_metadata),
        ("selected_team_id", a.selected_team_id != b.selected_team_id),
        ("is_anonymous", a.is_anonymous != b.is_anonymous),
        ("otp_auth_enabled", a.otp_auth_enabled != b.otp_auth_enabled),
        ("totp", a.totp_secret != b.totp_secret),
        (
            "passkey_auth_enabled",
            a.passkey_auth_enabled != b.passkey_auth_enabled,
        ),
        (
            "restricted_by_admin",
            (
                a.restricted_by_admin,
                &a.restricted_by_admin_reason,
                &a.restricted_by_admin_private_details,
            ) != (
                b.restricted_by_admin,
                &b.restricted_by_admin_reason,
                &b.restricted_by_admin_private_details,
            ),
        ),
        ("language", a.language != b.language),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// Every passkey of a user goes (Stack's `passkey_auth_enabled: false`; the passkeys
/// themselves are [`crate::passkeys`]'s).
pub(crate) async fn delete_passkeys(tx: &mut Tx, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    set_passkey_flag(tx, user_id).await
}

/// Keeps `users.passkey_auth_enabled` true exactly while the user has a passkey.
pub(crate) async fn set_passkey_flag(tx: &mut Tx, user_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET passkey_auth_enabled = CASE WHEN EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1) THEN 1 ELSE 0 END WHERE id = $1",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a new user row holds; shared by server creation, sign-up and anonymous sign-up.
#[derive(Default)]
pub(crate) struct NewUser {
    pub email: Option<String>,
    pub email_verified: bool,
    pub auth_enabled: bool,
    pub display_name: Option<String>,
    pub profile_image_url: Option<String>,
    pub password_hash: Option<String>,
    pub client_metadata: Option<String>,
    pub client_read_only_metadata: Option<String>,
    pub server_metadata: Option<String>,
    pub is_anonymous: bool,
    pub otp_auth_enabled: bool,
    /// Sealed (see [`crate::mfa`]).
    pub totp_secret: Option<String>,
    pub restricted_by_admin: bool,
    pub restricted_by_admin_reason: Option<String>,
    pub restricted_by_admin_private_details: Option<String>,
    pub language: Option<String>,
}

/// Inserts a user's row and primary contact channel. New accounts come through
/// [`crate::accounts::insert_account`], which adds what every new user gets.
pub(crate) async fn insert_user(tx: &mut Tx, project: &Project, n: &NewUser) -> Result<String> {
    let id = new_id();
    let now = now_ms();
    let res = sqlx::query(
        "INSERT INTO users (id, project_id, primary_email, primary_email_verified, primary_email_auth_enabled, display_name, \
         profile_image_url, password_hash, client_metadata, client_read_only_metadata, server_metadata, selected_team_id, \
         is_anonymous, restricted_by_admin, restricted_by_admin_reason, restricted_by_admin_private_details, signed_up_at, last_active_at, language, \
         otp_auth_enabled, totp_secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14, $15, $16, $16, $17, $18, $19)",
    )
    .bind(&id)
    .bind(&project.id)
    .bind(&n.email)
    .bind(n.email_verified as i64)
    .bind(n.auth_enabled as i64)
    .bind(&n.display_name)
    .bind(&n.profile_image_url)
    .bind(&n.password_hash)
    .bind(&n.client_metadata)
    .bind(&n.client_read_only_metadata)
    .bind(&n.server_metadata)
    .bind(n.is_anonymous as i64)
    .bind(n.restricted_by_admin as i64)
    .bind(&n.restricted_by_admin_reason)
    .bind(&n.restricted_by_admin_private_details)
    .bind(now)
    .bind(&n.language)
    .bind(n.otp_auth_enabled as i64)
    .bind(&n.totp_secret)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::UserEmailAlreadyExists(
                n.email.clone().unwrap_or_default(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    crate::users::contact_channels::sync_from_user(
        tx,
        &project.id,
        &id,
        n.email.as_deref(),
        n.email_verified,
        n.auth_enabled,
    )
    .await?;
    Ok(id)
}

/// Makes `team_id` the user's selected team.
pub(crate) async fn select_team(tx: &mut Tx, user_id: &str, team_id: &str) -> Result<()> {
    sqlx::query("UPDATE users SET selected_team_id = $2 WHERE id = $1")
        .bind(user_id)
        .bind(team_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Unselects `team_id` where it is selected: for one user (who left it), or for every user of
/// the project (it is being deleted).
pub(crate) async fn unselect_team(
    tx: &mut Tx,
    project_id: &str,
    user_id: Option<&str>,
    team_id: &str,
) -> Result<()> {
    let sql = match user_id {
        Some(_) => "UPDATE users SET selected_team_id = NULL WHERE project_id = $1 AND selected_team_id = $2 AND id = $3",
        None => "UPDATE users SET selected_team_id = NULL WHERE project_id = $1 AND selected_team_id = $2",
    };
    let mut query = sqlx::query(sql).bind(project_id).bind(team_id);
    if let Some(user_id) = user_id {
        query = query.bind(user_id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Notes that the user was active at `at` (a sign-in, a refresh).
pub(crate) async fn touch_last_active<'e>(
    db: impl sqlx::Executor<'e, Database = Any>,
    user_id: &str,
    at: i64,
) -> Result<()> {
    sqlx::query("UPDATE users SET last_active_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(at)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores a user's new password hash.
pub(crate) async fn set_password_hash(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    hash: &str,
    who: &Who,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $3 WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(user_id)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    let change = Change::new("user.updated", user_id, json!({ "fields": ["password"] }));
    events::record(tx, project_id, who, change).await?;
    Ok(())
}

/// Turns on a user's emailed-code sign-in (they signed in with a code: their doing).
pub(crate) async fn enable_otp_auth(tx: &mut Tx, project_id: &str, user_id: &str) -> Result<()> {
    sqlx::query("UPDATE users SET otp_auth_enabled = 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let change = Change::new(
        "user.updated",
        user_id,
        json!({ "fields": ["otp_auth_enabled"] }),
    );
    events::record(tx, project_id, &Who::User(user_id.into()), change).await?;
    Ok(())
}

/// Writes every mutable column of a user back.
pub(crate) async fn write_user(tx: &mut Tx, u: &User) -> Result<()> {
    let res = sqlx::query(
        "UPDATE users SET primary_email = $2, primary_email_verified = $3, primary_email_auth_enabled = $4, display_name = $5, \
         profile_image_url = $6, password_hash = $7, client_metadata = $8, client_read_only_metadata = $9, server_metadata = $10, \
         selected_team_id = $11, is_anonymous = $12, restricted_by_admin = $13, restricted_by_admin_reason = $14, \
         restricted_by_admin_private_details = $15, language = $16, otp_auth_enabled = $17, totp_secret = $18 WHERE id = $1",
    )
    .bind(&u.id)
    .bind(&u.primary_email)
    .bind(u.primary_email_verified as i64)
    .bind(u.primary_email_auth_enabled as i64)
    .bind(&u.display_name)
    .bind(&u.profile_image_url)
    .bind(&u.password_hash)
    .bind(&u.client_metadata)
    .bind(&u.client_read_only_metadata)
    .bind(&u.server_metadata)
    .bind(&u.selected_team_id)
    .bind(u.is_anonymous as i64)
    .bind(u.restricted_by_admin as i64)
    .bind(&u.restricted_by_admin_reason)
    .bind(&u.restricted_by_admin_private_details)
    .bind(&u.language)
    .bind(u.otp_auth_enabled as i64)
    .bind(&u.totp_secret)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::UserEmailAlreadyExists(
                u.primary_email.clone().unwrap_or_default(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    crate::users::contact_channels::sync_from_user(
        tx,
        &u.project_id,
        &u.id,
        u.primary_email.as_deref(),
        u.primary_email_verified,
        u.primary_email_auth_enabled,
    )
    .await
}

/// Gatehouse's own user field, outside Stack's user object: `{"language": "de" | null}`, read
/// only from requests that ask for Gatehouse's fields (see the REST door's `x-gatehouse-fields`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageUpdate {
    #[serde(default, deserialize_with = "patch::nullable")]
    pub language: Option<Option<String>>,
}

impl Input for LanguageUpdate {
    fn shape(_: bool) -> Shape {
        Shape::new().field("language", string().nullable().custom(language_rule))
    }
}

/// A language tag: letters, digits and hyphens (`de`, `pt-BR`), at most 35 characters.
fn language_rule(at: &str, v: &serde_json::Value) -> Option<String> {
    let s = v.as_str()?;
    let ok = s.len() <= 35 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (!ok).then(|| format!("{at} must be a language tag such as de or pt-BR"))
}
