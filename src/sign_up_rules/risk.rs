//! Sign-up risk scores (Stack's `risk_scores.sign_up`, `riskScores` in conditions), each 0 (no
//! sign of it) to 100:
//!
//! - `bot`: what the sign-up's bot challenge said (see `crate::bot_challenge`): 0 passed or not
//!   asked, 60 the client could not run one, 100 failed.
//! - `free_trial_abuse`: how much the address looks like another account's: the same mailbox
//!   once its `+tags` (and, at Gmail, its dots) are taken away — `ann+2@x.com` is
//!   `ann@x.com` — among the project's sign-ups of the last 30 days: 50 for each, up to 100.

use sqlx::Row;

use crate::error::Result;
use crate::Core;

const WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// The mailbox behind an address: lower case, without a `+tag`, and at Gmail without dots.
pub fn email_base(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let local = local.split('+').next().unwrap_or(local);
    let local = if matches!(domain, "gmail.com" | "googlemail.com") {
        local.replace('.', "")
    } else {
        local.to_string()
    };
    (!local.is_empty() && !domain.is_empty()).then(|| format!("{local}@{domain}"))
}

impl Core {
    /// `free_trial_abuse` for a sign-up whose address has `base`.
    pub(crate) async fn free_trial_abuse(
        &self,
        project_id: &str,
        base: Option<&str>,
    ) -> Result<u8> {
        let Some(base) = base else {
            return Ok(0);
        };
        let row = sqlx::query(
            "SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE project_id = $1 \
             AND sign_up_email_base = $2 AND signed_up_at > $3 LIMIT 2) AS earlier",
        )
        .bind(project_id)
        .bind(base)
        .bind(crate::now_ms() - WINDOW_MS)
        .fetch_one(&self.db.pool)
        .await?;
        let earlier: i64 = row.try_get(0)?;
        Ok((earlier * 50).min(100) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailbox_behind_an_address() {
        assert_eq!(
            email_base("Ann+trial2@Example.com").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(
            email_base("a.n.n+x@gmail.com").as_deref(),
            Some("ann@gmail.com")
        );
        assert_eq!(
            email_base("a.n.n@example.com").as_deref(),
            Some("a.n.n@example.com")
        );
        assert_eq!(email_base("+x@example.com"), None);
        assert_eq!(email_base("no-at-sign"), None);
    }
}
