//! Passkeys (WebAuthn, by webauthn-rs's engine, `webauthn-rs-core`), on Stack's wire:
//! `/auth/passkey/*`.
//!
//! As in Stack, the options a client gets name a placeholder relying party
//! ([`RP_ID_PLACEHOLDER`]) that the browser side replaces with its page's hostname; the answer
//! is checked against the origin its signed client data names, which must be one the project
//! trusts (or Gatehouse's own). Challenges are one-time codes of about a minute, whose data
//! keeps webauthn-rs's state. Credentials are discoverable, so signing in needs no address.
//!
//! User verification is preferred, as in Stack: an authenticator that cannot verify its user
//! still works, and a credential registered with verification must verify again each time
//! (webauthn-rs keeps that rule). The `webauthn-rs` crate's passkey API insists on
//! verification, so its engine is used directly, with the same checks.
//!
//! A user may have several passkeys, each with a name. An anonymous user who adds one becomes a
//! real account through the core's one door ([`crate::accounts`]: sign-up rules, events).

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, Credential, PublicKeyCredential,
    RegisterPublicKeyCredential, RegistrationState, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

use crate::accounts::{open_account, AccountData, Arrival};
use crate::codes::{consume_code, issue_code, CodeKind, NewCode};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::sessions::Tokens;
use crate::sign_up_rules::AuthMethod;
use crate::users::User;
use crate::validation::{any, string, Input, Shape};
use crate::{new_id, now_ms, Core};

/// Stack's stand-in for the relying party id, replaced by the browser side.
pub const RP_ID_PLACEHOLDER: &str = "THIS_VALUE_WILL_BE_REPLACED.example.com";
/// How long a challenge lives: the ceremony's minute, and a little.
const CHALLENGE_MS: i64 = 65_000;
/// The ceremony's time, as the options tell the browser.
const CEREMONY: std::time::Duration = std::time::Duration::from_secs(60);

/// `POST /auth/passkey/register`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegister {
    pub credential: Value,
    pub code: String,
}

impl Input for PasskeyRegister {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("credential", any().defined())
            .field("code", string().defined())
    }
}

/// `POST /auth/passkey/sign-in`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignIn {
    pub authentication_response: Value,
    pub code: String,
}

impl Input for PasskeySignIn {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("authentication_response", any().defined())
            .field("code", string().defined())
    }
}

/// One of a user's passkeys, as their account page lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn registration_failed(why: impl std::fmt::Display) -> Error {
    Error::PasskeyRegistrationFailed(format!("Passkey registration failed: {why}"))
}

fn authentication_failed(why: impl std::fmt::Display) -> Error {
    Error::PasskeyAuthenticationFailed(format!("Passkey authentication failed: {why}"))
}

/// The origin a browser signed into a response's client data.
fn signed_origin(client_data_json: &[u8]) -> Option<String> {
    let data: Value = serde_json::from_slice(client_data_json).ok()?;
    data["origin"].as_str().map(str::to_string)
}

impl Core {
    fn passkeys_enabled(&self, project: &Project) -> Result<()> {
        if project.config.passkey_enabled {
            Ok(())
        } else {
            Err(Error::PasskeyAuthenticationNotEnabled)
        }
    }

    /// A relying party for the page a response came from: its hostname is the relying party
    /// id, and the page must be one the project trusts, or Gatehouse's own.
    fn relying_party(&self, project: &Project, origin: &str) -> Option<WebauthnCore> {
        let url = Url::parse(origin).ok()?;
        let own = Url::parse(&self.public_url).ok()?;
        let trusted = url.origin() == own.origin() || project.is_trusted_redirect(origin);
        if !trusted {
            return None;
        }
        let rp_id = url.host_str()?.to_string();
        Some(WebauthnCore::new_unsafe_experts_only(
            &project.display_name,
            &rp_id,
            vec![url],
            CEREMONY,
            None,
            None,
        ))
    }

    /// Any relying party, for making challenges (whose options carry the placeholder id).
    fn challenger(&self, project: &Project) -> Result<WebauthnCore> {
        let url = Url::parse("https://challenge.invalid").map_err(Error::internal)?;
        Ok(WebauthnCore::new_unsafe_experts_only(
            &project.display_name,
            "challenge.invalid",
            vec![url],
            CEREMONY,
            None,
            None,
        ))
    }

    /// `POST /auth/passkey/initiate-passkey-registration`: options for the signed-in user's new
    /// passkey, and the code of its challenge.
    pub async fn initiate_passkey_registration(
        &self,
        project: &Project,
        user: &User,
    ) -> Result<(Value, String)> {
        self.passkeys_enabled(project)?;
        let user_uuid = uuid::Uuid::parse_str(&user.id).map_err(Error::internal)?;
        let name = user
            .display_name
            .clone()
            .or(user.primary_email.clone())
            .unwrap_or_else(|| "Gatehouse user".into());
        let rp = self.challenger(project)?;
        // Discoverable, so signing in needs no address; the user verified where the
        // authenticator can.
        let builder = rp
            .new_challenge_register_builder(user_uuid.as_bytes(), &name, &name)
            .map_err(registration_failed)?
            .user_verification_policy(UserVerificationPolicy::Preferred)
            .require_resident_key(true)
            .attestation(AttestationConveyancePreference::None);
        let (ccr, state) = rp
            .generate_challenge_register(builder)
            .map_err(registration_failed)?;
        let mut options = serde_json::to_value(&ccr.public_key).map_err(Error::internal)?;
        options["rp"]["id"] = json!(RP_ID_PLACEHOLDER);
        let code = self
            .challenge_code(
                project,
                CodeKind::PasskeyRegistrationChallenge,
                Some(&user.id),
                json!({ "state": state }),
            )
            .await?;
        Ok((options, code))
    }

    async fn challenge_code(
        &self,
        project: &Project,
        kind: CodeKind,
        user_id: Option<&str>,
        data: Value,
    ) -> Result<String> {
        let mut tx = self.begin().await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind,
                user_id: user_id.map(str::to_string),
                method: json!({}),
                data,
                redirect_url: None,
                lifetime_ms: Some(CHALLENGE_MS),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(issued.code)
    }

    /// `POST /auth/passkey/register`: keeps the new passkey (named after the device, until the
    /// user names it); an anonymous user becomes a real account with it. Returns Stack's
    /// `user_handle` (the credential's id).
    pub async fn register_passkey(
        &self,
        project: &Project,
        user: &User,
        input: PasskeyRegister,
        country_code: Option<&str>,
    ) -> Result<String> {
        self.passkeys_enabled(project)?;
        let found = self
            .check_code(
                &project.id,
                CodeKind::PasskeyRegistrationChallenge,
                &input.code,
            )
            .await?;
        if found.user_id.as_deref() != Some(user.id.as_str()) {
            return Err(registration_failed(
                "the challenge was made for another user",
            ));
        }
        let state: RegistrationState =
            serde_json::from_value(found.data["state"].clone()).map_err(Error::internal)?;
        let credential: RegisterPublicKeyCredential = serde_json::from_value(input.credential)
            .map_err(|e| {
                registration_failed(format!(
                    "the credential is not a WebAuthn registration ({e})"
                ))
            })?;
        let origin = signed_origin(credential.response.client_data_json.as_ref())
            .ok_or_else(|| registration_failed("the credential's client data names no origin"))?;
        let rp = self
            .relying_party(project, &origin)
            .ok_or_else(|| registration_failed("the origin is not allowed"))?;
        let passkey = rp
            .register_credential(&credential, &state, None)
            .map_err(registration_failed)?;
        let credential_id = b64url(passkey.cred_id.as_ref());
        // An anonymous user who adds a passkey signs up with it: through the account door.
        let upgrade = if user.is_anonymous {
            let arrival = Arrival {
                method: AuthMethod::Passkey,
                oauth_provider: None,
                country_code,
                invited: false,
                bot: 0,
            };
            Some(
                self.admit_account(project, Some(user), None, arrival)
                    .await?,
            )
        } else {
            None
        };
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &found).await?;
        match upgrade {
            Some(admitted) => {
                open_account(&mut tx, self, project, admitted, AccountData::default()).await?;
            }
            None => record_user_updated(&mut tx, project, user).await?,
        }
        let inserted = sqlx::query(
            "INSERT INTO passkeys (id, project_id, user_id, credential_id, passkey, name, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(new_id())
        .bind(&project.id)
        .bind(&user.id)
        .bind(&credential_id)
        .bind(serde_json::to_string(&passkey).map_err(Error::internal)?)
        .bind("Passkey")
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(registration_failed("this passkey is already registered"))
            }
            other => other?,
        };
        crate::users::set_passkey_flag(&mut tx, &user.id).await?;
        tx.commit().await?;
        Ok(credential_id)
    }

    /// `POST /auth/passkey/initiate-passkey-authentication`: a challenge any of the project's
    /// passkeys may answer (discoverable: no user named).
    pub async fn initiate_passkey_authentication(
        &self,
        project: &Project,
    ) -> Result<(Value, String)> {
        self.passkeys_enabled(project)?;
        let rp = self.challenger(project)?;
        let builder = rp
            .new_challenge_authenticate_builder(Vec::new(), Some(UserVerificationPolicy::Preferred))
            .map_err(authentication_failed)?;
        let (rcr, state) = rp
            .generate_challenge_authenticate(builder)
            .map_err(authentication_failed)?;
        let mut options = serde_json::to_value(&rcr.public_key).map_err(Error::internal)?;
        options["rpId"] = json!(RP_ID_PLACEHOLDER);
        let code = self
            .challenge_code(
                project,
                CodeKind::PasskeyAuthenticationChallenge,
                None,
                json!({ "state": state }),
            )
            .await?;
        Ok((options, code))
    }

    /// `POST /auth/passkey/sign-in`: the signed challenge → a session (or, for a user with a
    /// second factor, `MULTI_FACTOR_AUTHENTICATION_REQUIRED`).
    pub async fn passkey_sign_in(
        &self,
        project: &Project,
        input: PasskeySignIn,
    ) -> Result<(Tokens, bool)> {
        self.passkeys_enabled(project)?;
        let found = self
            .check_code(
                &project.id,
                CodeKind::PasskeyAuthenticationChallenge,
                &input.code,
            )
            .await?;
        let mut state: AuthenticationState =
            serde_json::from_value(found.data["state"].clone()).map_err(Error::internal)?;
        let response: PublicKeyCredential = serde_json::from_value(input.authentication_response)
            .map_err(|e| {
            authentication_failed(format!("the response is not a WebAuthn assertion ({e})"))
        })?;
        let origin = signed_origin(response.response.client_data_json.as_ref())
            .ok_or_else(|| authentication_failed("the response's client data names no origin"))?;
        let rp = self
            .relying_party(project, &origin)
            .ok_or_else(|| authentication_failed("the origin is not allowed"))?;
        let user_uuid = response
            .get_user_unique_id()
            .and_then(|b| uuid::Uuid::from_slice(b).ok())
            .ok_or_else(|| authentication_failed("the answer names no user"))?;
        let credential_id = b64url(response.get_credential_id());
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT id, user_id, passkey FROM passkeys WHERE project_id = $1 AND credential_id = $2",
        )
        .bind(&project.id)
        .bind(&credential_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((id, user_id, stored)) = row.filter(|(_, u, _)| *u == user_uuid.to_string())
        else {
            return Err(authentication_failed("this passkey is not registered here"));
        };
        let mut passkey: Credential = serde_json::from_str(&stored).map_err(Error::internal)?;
        state.set_allowed_credentials(vec![passkey.clone()]);
        let result = rp
            .authenticate_credential(&response, &state)
            .map_err(authentication_failed)?;
        // A counter that went back would be a cloned authenticator (webauthn-rs refuses it).
        passkey.counter = passkey.counter.max(result.counter());
        passkey.backup_state = result.backup_state();
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &found).await?;
        sqlx::query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE id = $1")
            .bind(&id)
            .bind(serde_json::to_string(&passkey).map_err(Error::internal)?)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let tokens = self
            .commit_sign_in(tx, &project.id, user_id, false, "passkey")
            .await?;
        Ok((tokens, false))
    }

    /// The user's passkeys, newest first.
    pub async fn user_passkeys(&self, user: &User) -> Result<Vec<PasskeyInfo>> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(&user.id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, last_used_at)| PasskeyInfo {
                id,
                name,
                created_at,
                last_used_at,
            })
            .collect())
    }

    /// Names one of the user's passkeys.
    pub async fn rename_passkey(&self, user: &User, id: &str, name: &str) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(crate::validation::invalid(
                "A passkey's name is 1 to 100 characters.",
            ));
        }
        let done = sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(&user.id)
            .bind(name)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Status(
                404,
                "That passkey is not one of yours.".into(),
            ));
        }
        Ok(())
    }

    /// Removes one of the user's passkeys.
    pub async fn delete_passkey(&self, project: &Project, user: &User, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Status(
                404,
                "That passkey is not one of yours.".into(),
            ));
        }
        crate::users::set_passkey_flag(&mut tx, &user.id).await?;
        record_user_updated(&mut tx, project, user).await?;
        tx.commit().await
    }
}

/// A passkey added or removed changes the user object (`passkey_auth_enabled`).
async fn record_user_updated(tx: &mut Tx, project: &Project, user: &User) -> Result<()> {
    let who = Who::User(user.id.clone());
    events::record(
        tx,
        &project.id,
        &who,
        Change::new("user.updated", &user.id, json!({ "fields": ["passkeys"] })),
    )
    .await?;
    Ok(())
}
