//! Telling people from scripts at sign-up (`security.botChallenge.mode`):
//!
//! - `proofOfWork`: Gatehouse sets a puzzle itself, no third party. A challenge is a one-time
//!   code (10 minutes); the answer is a nonce such that SHA-256 of `<challenge>.<nonce>` starts
//!   with `proofOfWorkBits` zero bits, sent as Stack's `bot_challenge_token`
//!   (`<challenge>.<nonce>`). The hosted sign-up page solves it in a small script; a REST client
//!   asks `POST /auth/bot-challenge` and is told so when it sends none.
//! - `turnstile`: Cloudflare Turnstile with the project's keys, checked at Cloudflare's
//!   siteverify (or `GATEHOUSE_TURNSTILE_SITEVERIFY_URL`), with Stack's phases: a failed
//!   invisible challenge asks for a visible one (`BOT_CHALLENGE_REQUIRED`), a failed visible one
//!   is refused (`BOT_CHALLENGE_FAILED`), and a client that names no phase gets its sign-up with
//!   a high bot risk score for the sign-up rules to weigh.
//!
//! The outcome is the sign-up's `riskScores.bot` (0: passed or not asked; 60: the client could
//! not run a challenge; 100: failed).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::codes::{consume_code, issue_code, CodeKind, NewCode};
use crate::config::limits::BotChallengeMode;
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::Core;

const CHALLENGE_MS: i64 = 10 * 60 * 1000;

/// Stack's `bot_challenge_*` request fields.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct BotChallengeFields {
    #[serde(default)]
    pub bot_challenge_token: Option<String>,
    #[serde(default)]
    pub bot_challenge_phase: Option<String>,
    #[serde(default)]
    pub bot_challenge_unavailable: Option<String>,
}

/// A proof-of-work puzzle: find `nonce` with `difficulty_bits` leading zero bits in
/// SHA-256(`challenge` + "." + `nonce`).
pub fn solves(challenge: &str, nonce: &str, difficulty_bits: u32) -> bool {
    let digest = Sha256::digest(format!("{challenge}.{nonce}").as_bytes());
    leading_zero_bits(&digest) >= difficulty_bits
}

fn leading_zero_bits(bytes: &[u8]) -> u32 {
    let mut n = 0;
    for b in bytes {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

impl Core {
    /// `POST /auth/bot-challenge` (Gatehouse's own): a proof-of-work puzzle for a sign-up.
    pub async fn new_bot_challenge(&self, project: &Project) -> Result<Value> {
        let BotChallengeMode::ProofOfWork { bits } = project.config.bot_challenge else {
            return Err(Error::Status(
                400,
                "This project does not ask for a proof-of-work challenge at sign-up \
                 (security.botChallenge.mode)."
                    .into(),
            ));
        };
        let mut tx = self.begin().await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::BotChallenge,
                user_id: None,
                method: json!({}),
                data: json!({ "bits": bits }),
                redirect_url: None,
                lifetime_ms: Some(CHALLENGE_MS),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(json!({
            "type": "proof_of_work",
            "challenge": issued.code,
            "difficulty_bits": bits,
            "expires_at_millis": issued.record.expires_at,
        }))
    }

    /// The sign-up's bot risk score (0 to 100), or the refusal the project's challenge calls for.
    pub(crate) async fn assess_bot(
        &self,
        project: &Project,
        fields: &BotChallengeFields,
    ) -> Result<u8> {
        let token = fields
            .bot_challenge_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let unavailable = fields.bot_challenge_unavailable.as_deref() == Some("true");
        let phase = fields.bot_challenge_phase.as_deref();
        let passed = match (&project.config.bot_challenge, token) {
            (BotChallengeMode::Off, _) => return Ok(0),
            (_, None) if unavailable => return Ok(60),
            (BotChallengeMode::ProofOfWork { .. }, None) => {
                return Err(Error::BotChallengeFailed(
                    "This project asks new accounts to solve a proof-of-work challenge: \
                     POST /api/v1/auth/bot-challenge for one, find a nonce that makes \
                     SHA-256(\"<challenge>.<nonce>\") start with difficulty_bits zero bits, and \
                     send bot_challenge_token \"<challenge>.<nonce>\" with the sign-up."
                        .into(),
                ))
            }
            (BotChallengeMode::ProofOfWork { bits }, Some(t)) => {
                self.spend_proof_of_work(project, t, *bits).await?
            }
            (BotChallengeMode::Turnstile { secret_key, .. }, t) => match t {
                Some(t) => self.turnstile_passes(secret_key, t).await,
                None => false,
            },
        };
        if passed {
            return Ok(0);
        }
        match phase {
            Some("invisible") => Err(Error::BotChallengeRequired),
            Some(_) => Err(Error::BotChallengeFailed(
                "Visible bot challenge verification failed".into(),
            )),
            None if matches!(
                project.config.bot_challenge,
                BotChallengeMode::ProofOfWork { .. }
            ) =>
            {
                Err(Error::BotChallengeFailed(
                    "The proof-of-work answer is wrong, expired or already used: ask for a new \
                     challenge (POST /api/v1/auth/bot-challenge) and solve it."
                        .into(),
                ))
            }
            None => Ok(100),
        }
    }

    /// Checks and spends `<challenge>.<nonce>`: a live challenge of this project, solved.
    async fn spend_proof_of_work(&self, project: &Project, token: &str, bits: u32) -> Result<bool> {
        let Some((challenge, nonce)) = token.split_once('.') else {
            return Ok(false);
        };
        if nonce.is_empty() || nonce.len() > 64 {
            return Ok(false);
        }
        let found = match self
            .check_code(&project.id, CodeKind::BotChallenge, challenge)
            .await
        {
            Ok(found) => found,
            Err(Error::Internal(e)) => return Err(Error::Internal(e)),
            Err(_) => return Ok(false),
        };
        // The difficulty the challenge was set with, not today's setting.
        let bits = found.data["bits"].as_u64().map_or(bits, |b| b as u32);
        if !solves(&challenge.to_ascii_lowercase(), nonce, bits) {
            return Ok(false);
        }
        let mut tx = self.begin().await?;
        let spent = consume_code(&mut tx, &found).await;
        tx.commit().await?;
        Ok(spent.is_ok())
    }

    /// Asks Cloudflare's siteverify whether `token` is a passed Turnstile challenge.
    async fn turnstile_passes(&self, secret_key: &str, token: &str) -> bool {
        let answer = self
            .http()
            .post(self.turnstile_siteverify_url.as_ref())
            .form(&[("secret", secret_key), ("response", token)])
            .send()
            .await;
        let body: Option<Value> = match answer {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            Ok(r) => {
                tracing::warn!(status = %r.status(), "Turnstile siteverify refused the check");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "Turnstile siteverify could not be reached");
                None
            }
        };
        body.is_some_and(|b| b["success"] == json!(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_puzzle_is_solved_by_searching_and_checked_at_once() {
        let challenge = "abc";
        let nonce = (0u64..)
            .find(|n| solves(challenge, &n.to_string(), 12))
            .unwrap();
        assert!(solves(challenge, &nonce.to_string(), 12));
        assert!(!solves(challenge, &nonce.to_string(), 64));
        assert_eq!(leading_zero_bits(&[0, 0x0f]), 12);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
    }
}
