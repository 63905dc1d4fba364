//! Multi-factor sign-in: TOTP (RFC 6238: 30-second steps, 6 digits, HMAC-SHA1, one step of
//! clock drift either way) and one-time recovery codes.
//!
//! Every way a person signs themselves in ends at [`Core::commit_sign_in`]: a user with a TOTP
//! secret gets Stack's `MULTI_FACTOR_AUTHENTICATION_REQUIRED` with an attempt code instead of a
//! session, and finishes with a code from their app ([`Core::mfa_sign_in`]) or one of their
//! recovery codes ([`Core::mfa_recovery_sign_in`], Gatehouse's own). The secret is stored sealed
//! (it must be read to check a code); the last step a code was accepted for is kept, so that no
//! code is accepted twice, and recovery codes are stored hashed.

use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::codes::{consume_code, issue_code, CodeKind, NewCode};
use crate::crypto::secret_hash;
use crate::error::{Error, Result};
use crate::events::Tx;
use crate::events::Who;
use crate::projects::Project;
use crate::rate_limits::{Action, Subject};
use crate::sessions::{SignIn, Tokens, DEFAULT_SESSION_MS};
use crate::users::{User, UserUpdate};
use crate::validation::{string, Input, Shape};
use crate::{new_id, now_ms, Core};

const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;
/// How long a person has to give their second factor after the first (Stack's five minutes).
const ATTEMPT_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// `POST /auth/mfa/sign-in`: Stack's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaSignIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub totp: String,
    pub code: String,
}

/// `POST /auth/mfa/recovery-code/sign-in`: Gatehouse's own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverySignIn {
    pub recovery_code: String,
    pub code: String,
}

impl Input for MfaSignIn {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("type", string().defined().one_of(&[json!("totp")]))
            .field("totp", string().defined())
            .field("code", string().defined())
    }
}

impl Input for RecoverySignIn {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("recovery_code", string().defined().non_empty())
            .field("code", string().defined())
    }
}

/// The code an authenticator app shows for `secret` at the 30-second step `step`.
pub fn totp_at(secret: &[u8], step: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = ring::hmac::sign(&key, &step.to_be_bytes());
    let h = mac.as_ref();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step at which `code` is valid for `secret` now, allowing one step of drift either way.
pub fn matching_step(secret: &[u8], code: &str, now_ms: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = now_ms / 1000 / STEP_SECS;
    [now, now - 1, now + 1].into_iter().find(|s| {
        // Compared without an early exit, so timing tells nothing of how much matched.
        let want = totp_at(secret, *s);
        want.bytes()
            .zip(code.bytes())
            .fold(0u8, |d, (a, b)| d | (a ^ b))
            == 0
    })
}

/// A TOTP secret given as Stack's `totp_secret_base64`, checked.
pub fn decode_secret(base64_secret: &str, field: &str) -> Result<Vec<u8>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_secret)
        .map_err(|_| crate::validation::invalid(format!("{field} is not valid base64")))?;
    if bytes.is_empty() {
        return Err(crate::validation::invalid(format!(
            "{field} must not be empty: give the secret the authenticator app was set up with"
        )));
    }
    Ok(bytes)
}

/// A new random secret (20 bytes, as the SDK makes), base64.
pub fn new_secret_base64() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// RFC 4648 base32 without padding: how authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) to add the account.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// Normalises a recovery code as typed (`ABCDE-FGHIJ`, spaces, case) to what was hashed.
fn normal_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A new set of recovery codes for the user, the old ones gone; their text, known only now.
async fn insert_recovery_codes(tx: &mut Tx, user: &User) -> Result<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw = crate::codes::random_base32(10);
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let now = now_ms();
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(&user.id)
        .execute(&mut **tx)
        .await?;
    for code in &codes {
        sqlx::query(
            "INSERT INTO mfa_recovery_codes (id, project_id, user_id, code_hash, used_at, created_at) \
             VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind(new_id())
        .bind(&user.project_id)
        .bind(&user.id)
        .bind(secret_hash(&normal_recovery_code(code)))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(codes)
}

/// Forgets a user's recovery codes and the last step used (their secret changed or went).
pub(crate) async fn forget_second_factor(tx: &mut Tx, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE users SET totp_last_step = NULL WHERE id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Core {
    /// The sealed form of a TOTP secret, as the user row keeps it.
    pub(crate) fn seal_totp_secret(&self, base64_secret: &str, field: &str) -> Result<String> {
        decode_secret(base64_secret, field)?;
        Ok(self.sealing.seal(base64_secret))
    }

    /// The user's TOTP secret, if they have one.
    fn totp_secret(&self, user: &User) -> Result<Option<Vec<u8>>> {
        let Some(sealed) = &user.totp_secret else {
            return Ok(None);
        };
        let b64 = self
            .sealing
            .open(sealed)
            .ok_or_else(|| Error::internal("a TOTP secret does not open with this server's key"))?;
        Ok(Some(decode_secret(&b64, "totp_secret")?))
    }

    /// Accepts a code from the user's app once: the step it is for must be later than the last
    /// accepted one (checked and written in one statement, so two requests with one code cannot
    /// both pass). `INVALID_TOTP_CODE` otherwise.
    async fn accept_totp(&self, tx: &mut Tx, user: &User, code: &str) -> Result<()> {
        let secret = self.totp_secret(user)?.ok_or(Error::InvalidTotpCode)?;
        let step = matching_step(&secret, code, now_ms()).ok_or(Error::InvalidTotpCode)?;
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(&user.id)
        .bind(step)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(Error::InvalidTotpCode)
        }
    }

    /// Checks a code from the user's app (before turning MFA off): the same rule as signing
    /// in, so the code is spent.
    async fn confirm_totp(&self, user: &User, code: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        self.accept_totp(&mut tx, user, code).await?;
        tx.commit().await
    }

    /// Ends a sign-in or sign-up that the person made themselves: where the user has a second
    /// factor, no session yet but an attempt code (committed with the rest of the transaction,
    /// so a used emailed code stays used) and `MULTI_FACTOR_AUTHENTICATION_REQUIRED`.
    pub(crate) async fn commit_sign_in(
        &self,
        mut tx: Tx,
        project_id: &str,
        user_id: String,
        is_new_user: bool,
        method: &'static str,
    ) -> Result<Tokens> {
        let secret: Option<(Option<String>,)> =
            sqlx::query_as("SELECT totp_secret FROM users WHERE project_id = $1 AND id = $2")
                .bind(project_id)
                .bind(&user_id)
                .fetch_optional(&mut *tx)
                .await?;
        if matches!(secret, Some((Some(_),))) {
            let attempt = issue_code(
                &mut tx,
                NewCode {
                    project_id: project_id.to_string(),
                    kind: CodeKind::MfaAttempt,
                    user_id: Some(user_id.clone()),
                    method: json!({}),
                    data: json!({ "user_id": user_id, "is_new_user": is_new_user, "method": method }),
                    redirect_url: None,
                    lifetime_ms: Some(ATTEMPT_LIFETIME_MS),
                },
            )
            .await?;
            tx.commit().await?;
            return Err(Error::MultiFactorAuthenticationRequired(attempt.code));
        }
        let sign_in = SignIn {
            method,
            new_user: is_new_user,
        };
        self.commit_with_session(
            tx,
            project_id,
            user_id,
            DEFAULT_SESSION_MS,
            false,
            None,
            Some(sign_in),
        )
        .await
    }

    /// The user an attempt code is for, and how they were signing in.
    async fn attempt_user(
        &self,
        project: &Project,
        code: &str,
    ) -> Result<(crate::codes::Code, User, SignIn)> {
        let found = self
            .check_code(&project.id, CodeKind::MfaAttempt, code)
            .await?;
        let user_id = found.data["user_id"].as_str().unwrap_or_default();
        let user = self
            .user(&project.id, user_id)
            .await?
            .ok_or(Error::UserNotFound)?;
        self.limit(project, Action::Mfa, Subject::Account(&user.id))
            .await?;
        let sign_in = SignIn {
            method: SignIn::method_named(found.data["method"].as_str().unwrap_or_default()),
            new_user: found.data["is_new_user"] == json!(true),
        };
        Ok((found, user, sign_in))
    }

    /// Opens the session a sign-in asked for once its second factor is in (in the caller's
    /// transaction, which spent the attempt code); returns the tokens and whether the account
    /// is new.
    async fn second_factor_passed(
        &self,
        tx: Tx,
        project_id: &str,
        user_id: String,
        sign_in: SignIn,
    ) -> Result<(Tokens, bool)> {
        let tokens = self
            .commit_with_session(
                tx,
                project_id,
                user_id,
                DEFAULT_SESSION_MS,
                false,
                None,
                Some(sign_in),
            )
            .await?;
        Ok((tokens, sign_in.new_user))
    }

    /// `POST /auth/mfa/sign-in`: the attempt code and a code from the user's app → a session.
    /// Returns the tokens and whether the account is new.
    pub async fn mfa_sign_in(&self, project: &Project, input: MfaSignIn) -> Result<(Tokens, bool)> {
        let (found, user, sign_in) = self.attempt_user(project, &input.code).await?;
        let mut tx = self.begin().await?;
        if let Err(e) = self.accept_totp(&mut tx, &user, &input.totp).await {
            tx.rollback().await?;
            if matches!(e, Error::InvalidTotpCode) {
                let email = user.primary_email.as_deref().unwrap_or_default();
                self.record_failed_sign_in(project, Some(&user.id), email, "totp", "wrong_code")
                    .await?;
            }
            return Err(e);
        }
        consume_code(&mut tx, &found).await?;
        self.second_factor_passed(tx, &project.id, user.id, sign_in)
            .await
    }

    /// `POST /auth/mfa/recovery-code/sign-in`: the attempt code and one of the user's recovery
    /// codes (spent) → a session.
    pub async fn mfa_recovery_sign_in(
        &self,
        project: &Project,
        input: RecoverySignIn,
    ) -> Result<(Tokens, bool)> {
        let (found, user, sign_in) = self.attempt_user(project, &input.code).await?;
        let mut tx = self.begin().await?;
        let spent = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(&user.id)
        .bind(secret_hash(&normal_recovery_code(&input.recovery_code)))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() != 1 {
            return Err(Error::Status(
                400,
                "That recovery code is not one of yours, or it has been used.".into(),
            ));
        }
        consume_code(&mut tx, &found).await?;
        self.second_factor_passed(tx, &project.id, user.id, sign_in)
            .await
    }

    /// `POST /auth/mfa/recovery-codes`: a new set of recovery codes for a user with TOTP, the
    /// old ones void. Shown once: only their hashes are kept.
    pub async fn new_recovery_codes(&self, user: &User) -> Result<Vec<String>> {
        if user.totp_secret.is_none() {
            return Err(Error::Status(
                400,
                "Turn on two-factor authentication (an authenticator app) before making recovery codes.".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let codes = insert_recovery_codes(&mut tx, user).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns TOTP on for a user who proves, with a first code, that their app has `secret`
    /// (the hosted enrolment); returns their first recovery codes.
    pub async fn enable_totp(
        &self,
        project: &Project,
        user: &User,
        secret_base64: &str,
        code: &str,
    ) -> Result<Vec<String>> {
        let secret = decode_secret(secret_base64, "secret")?;
        let step = matching_step(&secret, code, now_ms()).ok_or(Error::InvalidTotpCode)?;
        let update = UserUpdate {
            totp_secret_base64: Some(Some(secret_base64.to_string())),
            ..UserUpdate::default()
        };
        let who = Who::User(user.id.clone());
        let (updated, _) = self
            .prepare_user_update(project, user, update, &who)
            .await?;
        // The secret, its first recovery codes and the spent first code: all or nothing.
        let mut tx = self.begin().await?;
        crate::users::write_user_update(
            &mut tx,
            &self.public_url,
            &project.id,
            user,
            updated,
            &who,
        )
        .await?;
        let codes = insert_recovery_codes(&mut tx, user).await?;
        sqlx::query("UPDATE users SET totp_last_step = $2 WHERE id = $1")
            .bind(&user.id)
            .bind(step)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns TOTP off for a user who gives a current code from their app (or, with `None`, by
    /// the server or an admin, as `PATCH /users/{id} {totp_secret_base64: null}`).
    pub async fn disable_totp(
        &self,
        project: &Project,
        user: &User,
        code: Option<&str>,
        who: &Who,
    ) -> Result<User> {
        if let Some(code) = code {
            self.confirm_totp(user, code).await?;
        }
        let update = UserUpdate {
            totp_secret_base64: Some(None),
            ..UserUpdate::default()
        };
        self.update_user(project, user, update, who).await
    }

    /// How many unused recovery codes the user has.
    pub async fn recovery_codes_left(&self, user: &User) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(&user.id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors() {
        // RFC 6238 appendix B (SHA-1, 8 digits there; the last 6 digits here).
        let secret = b"12345678901234567890";
        assert_eq!(totp_at(secret, 59 / 30), "287082");
        assert_eq!(totp_at(secret, 1111111109 / 30), "081804");
        assert_eq!(totp_at(secret, 20000000000 / 30), "353130");
    }

    #[test]
    fn one_step_of_drift() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_109_000;
        let step = now / 1000 / 30;
        assert_eq!(
            matching_step(secret, &totp_at(secret, step), now),
            Some(step)
        );
        assert_eq!(
            matching_step(secret, &totp_at(secret, step - 1), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(secret, &totp_at(secret, step + 1), now),
            Some(step + 1)
        );
        assert_eq!(matching_step(secret, &totp_at(secret, step - 2), now), None);
        assert_eq!(matching_step(secret, "12345", now), None);
    }

    #[test]
    fn base32_as_apps_take_it() {
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(base32(b"f"), "MY");
    }
}
