//! One-time codes: the one mechanism behind every code that is mailed or handed out (email
//! verification, password reset, magic links and one-time passwords, team invitations, MFA
//! attempts, passkey challenges…), as Stack's verification codes work.
//!
//! A code is 45 characters of lowercase base32; only its SHA-256 is stored. It belongs to a
//! project and a kind, may name a user, carries the data its use needs, and is good once, until it
//! expires (7 days unless the kind says otherwise), for at most 20 attempts. Emails show the first
//! six characters as a one-time password; the client sends them back with the other 39 (the
//! nonce it was given), so every try against a nonce counts against that nonce's codes.
//!
//! Using a code is two steps: [`Core::check_code`] counts the attempt and validates (on its own,
//! so a failed try is counted even when the caller's work rolls back), then [`consume_code`]
//! marks it used inside the transaction of the change it authorises.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::crypto::secret_hash;
use crate::db::json_column;
use crate::error::{Error, Result};
use crate::events::Tx;
use crate::{new_id, now_ms, Core};

pub const CODE_LEN: usize = 45;
/// Tries allowed against one nonce; the next is refused.
pub const MAX_ATTEMPTS: i64 = 20;
pub const DEFAULT_LIFETIME_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// How many leading characters form the one-time password shown in emails.
pub const OTP_LEN: usize = 6;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// What a code is for. Codes of one kind never answer for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeKind {
    OneTimePassword,
    ContactChannelVerification,
    PasswordReset,
    TeamInvitation,
    MfaAttempt,
    PasskeyRegistrationChallenge,
    PasskeyAuthenticationChallenge,
    PurchaseUrl,
    /// The link that lets its holder create a fresh server's first dashboard admin.
    DashboardSetup,
    /// The unsubscribe link in an email that is not transactional.
    Unsubscribe,
    /// An OAuth sign-in under way at a provider: its text is the state sent there.
    OAuthOuter,
    /// The authorization code the app trades for a session after OAuth.
    OAuthAuthorization,
    /// A proof-of-work puzzle for a sign-up (see [`crate::bot_challenge`]).
    BotChallenge,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::OneTimePassword => "ONE_TIME_PASSWORD",
            CodeKind::ContactChannelVerification => "CONTACT_CHANNEL_VERIFICATION",
            CodeKind::PasswordReset => "PASSWORD_RESET",
            CodeKind::TeamInvitation => "TEAM_INVITATION",
            CodeKind::MfaAttempt => "MFA_ATTEMPT",
            CodeKind::PasskeyRegistrationChallenge => "PASSKEY_REGISTRATION_CHALLENGE",
            CodeKind::PasskeyAuthenticationChallenge => "PASSKEY_AUTHENTICATION_CHALLENGE",
            CodeKind::PurchaseUrl => "PURCHASE_URL",
            CodeKind::DashboardSetup => "DASHBOARD_SETUP",
            CodeKind::Unsubscribe => "UNSUBSCRIBE",
            CodeKind::OAuthOuter => "OAUTH_OUTER",
            CodeKind::OAuthAuthorization => "OAUTH_AUTHORIZATION_CODE",
            CodeKind::BotChallenge => "BOT_CHALLENGE",
        }
    }
}

/// A code to issue.
#[derive(Clone, Debug)]
pub struct NewCode {
    pub project_id: String,
    pub kind: CodeKind,
    pub user_id: Option<String>,
    /// How the code travels (e.g. `{"email": "…"}`); checked again when it is used.
    pub method: Value,
    /// What its use needs.
    pub data: Value,
    /// Where the link in the email leads (already checked against the trusted domains).
    pub redirect_url: Option<String>,
    /// `None`: [`DEFAULT_LIFETIME_MS`].
    pub lifetime_ms: Option<i64>,
}

/// A stored code (never its text).
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    pub id: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub method: Value,
    pub data: Value,
    pub redirect_url: Option<String>,
    pub attempts: i64,
    pub used_at: Option<i64>,
    pub expires_at: i64,
    pub created_at: i64,
}

/// A code just issued: its text, known only now, and its record.
#[derive(Clone, Debug)]
pub struct IssuedCode {
    pub code: String,
    pub record: Code,
}

impl IssuedCode {
    /// The one-time password an email shows (upper case, as Stack's emails show it).
    pub fn otp(&self) -> String {
        self.code[..OTP_LEN].to_ascii_uppercase()
    }

    /// The rest of the code, handed to the client that asked for the email.
    pub fn nonce(&self) -> &str {
        &self.code[OTP_LEN..]
    }
}

fn new_code_text() -> String {
    random_base32(CODE_LEN)
}

/// `len` random characters of lowercase base32 (no i, l, o, u): codes, and API keys' secret part.
pub(crate) fn random_base32(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

const CODE_COLUMNS: &str = "id, project_id, user_id, method, data, redirect_url, attempts, used_at, expires_at, created_at";

impl sqlx::FromRow<'_, AnyRow> for Code {
    fn from_row(r: &AnyRow) -> sqlx::Result<Code> {
        Ok(Code {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            user_id: r.try_get("user_id")?,
            method: json_column(r, "method")?,
            data: json_column(r, "data")?,
            redirect_url: r.try_get("redirect_url")?,
            attempts: r.try_get("attempts")?,
            used_at: r.try_get("used_at")?,
            expires_at: r.try_get("expires_at")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

/// Issues a code inside the transaction of the change that needs it (a sign-up that mails a
/// verification link issues both or neither).
pub async fn issue_code(tx: &mut Tx, new: NewCode) -> Result<IssuedCode> {
    let code = new_code_text();
    let now = now_ms();
    let record = Code {
        id: new_id(),
        project_id: new.project_id,
        user_id: new.user_id,
        method: new.method,
        data: new.data,
        redirect_url: new.redirect_url,
        attempts: 0,
        used_at: None,
        expires_at: now + new.lifetime_ms.unwrap_or(DEFAULT_LIFETIME_MS),
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO one_time_codes (id, project_id, kind, code_hash, nonce_hash, user_id, method, data, \
         redirect_url, attempts, used_at, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, NULL, $10, $11)",
    )
    .bind(&record.id)
    .bind(&record.project_id)
    .bind(new.kind.as_str())
    .bind(secret_hash(&code))
    .bind(secret_hash(&code[OTP_LEN..]))
    .bind(&record.user_id)
    .bind(record.method.to_string())
    .bind(record.data.to_string())
    .bind(&record.redirect_url)
    .bind(record.expires_at)
    .bind(record.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(IssuedCode { code, record })
}

/// Marks a checked code used, inside the transaction of the change it authorises. A code used
/// in between (a second tab, a replay) is refused.
pub async fn consume_code(tx: &mut Tx, code: &Code) -> Result<()> {
    let done =
        sqlx::query("UPDATE one_time_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now_ms())
            .bind(&code.id)
            .execute(&mut **tx)
            .await?;
    if done.rows_affected() == 0 {
        return Err(Error::VerificationCodeAlreadyUsed);
    }
    Ok(())
}

impl Core {
    /// Validates a code a client sent (any case): counts the attempt against its nonce, then
    /// answers Stack's errors in Stack's order — not found, expired, already used, too many
    /// attempts. Does not use it (see [`consume_code`]): a `…/check-code` endpoint is this alone.
    pub async fn check_code(&self, project_id: &str, kind: CodeKind, code: &str) -> Result<Code> {
        let code = code.to_ascii_lowercase();
        if code.len() != CODE_LEN || !code.is_ascii() {
            return Err(Error::VerificationCodeNotFound);
        }
        let found: Option<Code> = sqlx::query_as(&format!(
            "SELECT {CODE_COLUMNS} FROM one_time_codes WHERE project_id = $1 AND kind = $2 AND code_hash = $3"
        ))
        .bind(project_id)
        .bind(kind.as_str())
        .bind(secret_hash(&code))
        .fetch_optional(&self.db.pool)
        .await?;
        // Every try counts against the codes that share its nonce, right or wrong.
        sqlx::query("UPDATE one_time_codes SET attempts = attempts + 1 WHERE project_id = $1 AND nonce_hash = $2")
            .bind(project_id)
            .bind(secret_hash(&code[OTP_LEN..]))
            .execute(&self.db.pool)
            .await?;
        let code = found.ok_or(Error::VerificationCodeNotFound)?;
        if code.expires_at < now_ms() {
            return Err(Error::VerificationCodeExpired);
        }
        if code.used_at.is_some() {
            return Err(Error::VerificationCodeAlreadyUsed);
        }
        if code.attempts >= MAX_ATTEMPTS {
            return Err(Error::VerificationCodeMaxAttemptsReached);
        }
        Ok(code)
    }

    /// The project a code of `kind` belongs to, for links that carry no project (unsubscribe).
    pub async fn project_of_code(&self, kind: CodeKind, code: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT project_id FROM one_time_codes WHERE kind = $1 AND code_hash = $2",
        )
        .bind(kind.as_str())
        .bind(secret_hash(&code.to_ascii_lowercase()))
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// A code of `kind` by its text, in whichever project it is, used or not; for codes that
    /// come back without their project and are too long to guess (OAuth states). Counts no
    /// attempt.
    pub async fn code_by_text(&self, kind: CodeKind, code: &str) -> Result<Option<Code>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CODE_COLUMNS} FROM one_time_codes WHERE kind = $1 AND code_hash = $2"
        ))
        .bind(kind.as_str())
        .bind(secret_hash(&code.to_ascii_lowercase()))
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// A project's live codes of one kind (unused, unexpired), newest first, e.g. a team's
    /// pending invitations.
    pub async fn live_codes(&self, project_id: &str, kind: CodeKind) -> Result<Vec<Code>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CODE_COLUMNS} FROM one_time_codes WHERE project_id = $1 AND kind = $2 \
             AND used_at IS NULL AND expires_at > $3 ORDER BY created_at DESC"
        ))
        .bind(project_id)
        .bind(kind.as_str())
        .bind(now_ms())
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// Withdraws a code (a revoked invitation): deleted, so it is not found any more.
    pub async fn revoke_code(&self, project_id: &str, kind: CodeKind, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM one_time_codes WHERE project_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(project_id)
        .bind(kind.as_str())
        .bind(id)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_45_characters_of_lowercase_base32_and_differ() {
        let a = new_code_text();
        let b = new_code_text();
        assert_eq!(a.len(), CODE_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }
}
