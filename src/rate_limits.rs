//! Making abuse expensive: how often one address (IP) or one account may try the actions an
//! attacker repeats — signing in, signing up, sending and checking codes, the second factor,
//! checking API keys — and the lockout of an account after repeated failed password sign-ins.
//!
//! Counts live in the database (`rate_limit_counts`, one upsert per attempt), so
//! every instance on one PostgreSQL shares them; once a count is past its limit, the instance
//! that saw it refuses the rest of the window from memory (a flood costs no write per request). Buckets are stored as hashes: no address or
//! email is kept in the table. The hot reads (a session check, a token refresh) never count.
//!
//! Limits are settings of the project's config tree (`security.rateLimits.<action>.perIp` and
//! `.perAccount`, each `{max, windowSeconds}`; a `max` of 0 turns that limit off), and so is the
//! lockout (`security.lockout`). `GATEHOUSE_RATE_LIMITS=off` turns the limits (not lockouts) off
//! server-wide, for load tests.
//!
//! A lockout looks the same whether or not the address belongs to an account: failures are
//! counted by the address typed, and the refusal is the same 429 either way. Only an account's
//! owner learns more — by email — and an admin can lift it.

use std::net::IpAddr;

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

pub use crate::config::limits::{Action, Limit, Limits, Lockout};
use crate::error::{Error, Result};
pub use crate::error::{Exceeded, Quota, RETRY_AFTER_MAX_S};
use crate::events::{Change, Who};
use crate::projects::Project;
use crate::{now_ms, Core};

/// The address a request came from, as the server resolved it (the connection's peer, or the
/// visitor a trusted proxy names); the doors keep it in the request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Who is counted: the address a request came from, or the account it is about (an email as
/// typed, or a user id).
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Ip(IpAddr),
    Account(&'a str),
}

/// The refusal's sentence: what was tried too often, and how long to wait.
fn refusal(action: Action, quota: Quota, locked: bool) -> Error {
    let wait = wait_text(quota.reset_s.max(1));
    let message = if locked {
        format!(
            "Too many failed sign-in attempts for this account. Password sign-in is paused; \
             try again in {wait}, or sign in another way."
        )
    } else {
        format!(
            "Too many {} in a short time. Try again in {wait}.",
            action.what()
        )
    };
    Error::RateLimited(Exceeded { quota, message })
}

fn refusal_key(bucket: &str, limit: Limit) -> String {
    format!("{bucket}/{}/{}", limit.max, limit.window_s)
}

fn wait_text(s: u64) -> String {
    match s {
        0..=1 => "a second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "a minute".into(),
        _ => format!("{} minutes", s.div_ceil(60)),
    }
}

fn bucket(project_id: &str, kind: &str, subject: &Subject) -> String {
    let mut h = Sha256::new();
    h.update(project_id.as_bytes());
    h.update([0]);
    h.update(kind.as_bytes());
    h.update([0]);
    match subject {
        Subject::Ip(ip) => h.update(ip.to_string().as_bytes()),
        Subject::Account(a) => {
            h.update(b"@");
            h.update(a.to_lowercase().as_bytes())
        }
    }
    crate::crypto::hex(&h.finalize()[..16])
}

/// One attempt counted; the count and when its window ends. A window starts with the first
/// attempt after the last one ended (so the count does not reset at a clock boundary an
/// attacker could time), and a window longer than the one now configured starts over. Every
/// expression reads the row as it was.
const COUNT: &str = "INSERT INTO rate_limit_counts (bucket, window_start, hits, expires_at) \
     VALUES ($1, $2, 1, $3) \
     ON CONFLICT (bucket) DO UPDATE SET \
     hits = CASE WHEN OPEN THEN rate_limit_counts.hits + 1 ELSE 1 END, \
     window_start = CASE WHEN OPEN THEN rate_limit_counts.window_start \
     ELSE excluded.window_start END, \
     expires_at = CASE WHEN OPEN THEN rate_limit_counts.expires_at ELSE excluded.expires_at END \
     RETURNING hits, expires_at";

/// Whether the stored window is still the current one.
const OPEN: &str = "(rate_limit_counts.expires_at > excluded.window_start \
     AND rate_limit_counts.expires_at <= excluded.expires_at)";

static COUNT_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| COUNT.replace("OPEN", OPEN));

impl Core {
    /// Counts one attempt at `action` by `subject` in `project`; refuses it (429) past the
    /// project's limit.
    pub async fn limit(
        &self,
        project: &Project,
        action: Action,
        subject: Subject<'_>,
    ) -> Result<Option<Quota>> {
        let Some(limit) = self.limit_of(project, action, &subject) else {
            return Ok(None);
        };
        let bucket = bucket(&project.id, action.key(), &subject);
        // Past the limit, the rest of the window is refused from memory: a flood costs no
        // write per request.
        if let Some(refused) = self.refused(&bucket, limit, action) {
            return Err(refused);
        }
        let (quota, hits) = self.count(&bucket, limit).await?;
        if hits > limit.max as u64 {
            self.remember_refusal(&bucket, limit, quota);
            return Err(refusal(action, quota, false));
        }
        Ok(Some(quota))
    }

    /// The refusal this instance remembers for `bucket` under `limit`, if its window is on.
    /// The limit is part of the key: a project that changes it is counted afresh.
    fn refused(&self, bucket: &str, limit: Limit, action: Action) -> Option<Error> {
        let (quota, until) = self.caches.refused.get(&refusal_key(bucket, limit))?;
        let reset_s = ((until - now_ms()).max(0) as u64).div_ceil(1000);
        Some(refusal(action, Quota { reset_s, ..quota }, false))
    }

    fn remember_refusal(&self, bucket: &str, limit: Limit, quota: Quota) {
        let wait = std::time::Duration::from_secs(quota.reset_s);
        let until = now_ms() + quota.reset_s as i64 * 1000;
        self.caches.refused.insert_until(
            refusal_key(bucket, limit),
            (quota, until),
            std::time::Instant::now() + wait,
        );
    }

    /// For checks whose passes are a hot path (API keys), only failures count: refuses
    /// `subject` while its failures are past the limit, from this instance's memory.
    pub fn refuse_after_failures(
        &self,
        project: &Project,
        action: Action,
        subject: Subject<'_>,
    ) -> Result<()> {
        match self.limit_of(project, action, &subject) {
            Some(limit) => {
                let bucket = bucket(&project.id, action.key(), &subject);
                self.refused(&bucket, limit, action).map_or(Ok(()), Err)
            }
            None => Ok(()),
        }
    }

    /// Counts a failed check (in the database, shared by every instance); past the limit,
    /// [`Core::refuse_after_failures`] refuses `subject` until the window ends.
    pub async fn count_failure(
        &self,
        project: &Project,
        action: Action,
        subject: Subject<'_>,
    ) -> Result<()> {
        let Some(limit) = self.limit_of(project, action, &subject) else {
            return Ok(());
        };
        let bucket = bucket(&project.id, action.key(), &subject);
        let (quota, hits) = self.count(&bucket, limit).await?;
        if hits >= limit.max as u64 {
            self.remember_refusal(&bucket, limit, quota);
        }
        Ok(())
    }

    /// The limit on `action` for `subject` in `project`, when limits are counted at all.
    fn limit_of(&self, project: &Project, action: Action, subject: &Subject) -> Option<Limit> {
        let per_account = matches!(subject, Subject::Account(_));
        self.rate_limits_on
            .then(|| project.config.limits.of(action, per_account))
            .flatten()
    }

    /// Counts one attempt in `bucket`'s window: where the count stands, and the hits.
    async fn count(&self, bucket: &str, limit: Limit) -> Result<(Quota, u64)> {
        let now = now_ms();
        let row = sqlx::query(&COUNT_SQL)
            .bind(bucket)
            .bind(now)
            .bind(now + limit.window_s as i64 * 1000)
            .fetch_one(&self.db.pool)
            .await?;
        let (hits, ends): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        self.purge_now_and_then(now).await;
        let hits = hits.max(0) as u64;
        let quota = Quota {
            limit: limit.max,
            remaining: (limit.max as u64).saturating_sub(hits) as u32,
            reset_s: ((ends - now).max(0) as u64).div_ceil(1000),
            window_s: limit.window_s,
        };
        Ok((quota, hits))
    }

    /// Deletes counts whose window has ended and lockouts that are over, about once in a
    /// thousand attempts.
    async fn purge_now_and_then(&self, now: i64) {
        if rand::random::<u16>() % 1000 != 0 {
            return;
        }
        for sql in [
            "DELETE FROM rate_limit_counts WHERE expires_at < $1",
            "DELETE FROM account_lockouts WHERE locked_until < $1",
        ] {
            if let Err(e) = sqlx::query(sql).bind(now).execute(&self.db.pool).await {
                tracing::warn!(error = %e, "could not purge old rate-limit counts");
            }
        }
    }

    /// Refuses a password sign-in while `email`'s sign-in is locked in `project`.
    pub(crate) async fn check_lockout(&self, project: &Project, email: &str) -> Result<()> {
        let row = sqlx::query(
            "SELECT locked_until FROM account_lockouts WHERE project_id = $1 AND email = $2",
        )
        .bind(&project.id)
        .bind(email)
        .fetch_optional(&self.db.pool)
        .await?;
        let until: Option<i64> = row.map(|r| r.try_get(0)).transpose()?;
        let now = now_ms();
        match until {
            Some(until) if until > now => Err(refusal(
                Action::SignIn,
                Quota {
                    limit: project.config.limits.lockout.max_failures,
                    remaining: 0,
                    reset_s: ((until - now) as u64).div_ceil(1000),
                    window_s: project.config.limits.lockout.cool_down_s,
                },
                true,
            )),
            _ => Ok(()),
        }
    }

    /// Counts a failed password sign-in for `email`; at the project's limit, locks it and, when
    /// it belongs to `user`, tells its owner by email (one transaction: the lock, its event,
    /// the email job).
    pub(crate) async fn count_failed_sign_in(
        &self,
        project: &Project,
        email: &str,
        user: Option<&crate::users::User>,
    ) -> Result<()> {
        let lockout = project.config.limits.lockout;
        if lockout.max_failures == 0 {
            return Ok(());
        }
        let limit = Limit {
            max: lockout.max_failures,
            window_s: lockout.cool_down_s,
        };
        let (_, hits) = self
            .count(
                &bucket(&project.id, "failedSignIn", &Subject::Account(email)),
                limit,
            )
            .await?;
        if hits != limit.max as u64 {
            // Below the limit, or past it (locked by the failure that reached it).
            return Ok(());
        }
        let until = now_ms() + lockout.cool_down_s as i64 * 1000;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO account_lockouts (project_id, email, locked_until, user_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, email) \
             DO UPDATE SET locked_until = excluded.locked_until, user_id = excluded.user_id",
        )
        .bind(&project.id)
        .bind(email)
        .bind(until)
        .bind(user.map(|u| u.id.as_str()))
        .execute(&mut *tx)
        .await?;
        if let Some(user) = user {
            let data = json!({ "user_id": user.id, "locked_until_millis": until });
            let change = Change::new("user.locked_out", &user.id, data);
            crate::events::record(&mut tx, &project.id, &Who::System, change).await?;
            self.queue_lockout_email(&mut tx, project, &user.id, email, lockout)
                .await?;
        }
        tx.commit().await?;
        self.jobs_written();
        Ok(())
    }

    /// Tells an account's owner that its password sign-in is paused, and how to get in now.
    async fn queue_lockout_email(
        &self,
        tx: &mut crate::events::Tx,
        project: &Project,
        user_id: &str,
        email: &str,
        lockout: Lockout,
    ) -> Result<()> {
        use crate::emails::{queue_email, NewEmail, Recipient};
        let name = minijinja::HtmlEscape(&project.display_name);
        let reset = format!("{}/handler/{}/forgot-password", self.public_url, project.id);
        let html = format!(
            "<h2>Password sign-in paused</h2>\
             <p>Someone tried to sign in to your {name} account with a wrong password \
             {n} times. To protect the account, signing in with its password is paused for \
             {wait}.</p>\
             <p>If it was you, wait and try again, or choose a new password: \
             <a href=\"{reset}\">{reset}</a></p>\
             <p>If it was not you, your account is safe: nobody got in. Choosing a new, \
             unique password makes sure it stays that way.</p>",
            n = lockout.max_failures,
            wait = wait_text(lockout.cool_down_s as u64),
        );
        let to = Recipient::UserCustomEmails {
            user_id: user_id.to_string(),
            emails: vec![email.to_string()],
        };
        let subject = format!(
            "Sign-in to your {} account was paused",
            project.display_name
        );
        let new = NewEmail::notice(to, subject, html);
        queue_email(tx, &self.public_url, project, new).await?;
        Ok(())
    }

    /// Lifts every lockout of `user_id` (the dashboard's "unlock").
    pub async fn unlock_user(&self, project_id: &str, user_id: &str, who: &Who) -> Result<()> {
        let mut tx = self.begin().await?;
        let emails: Vec<String> = sqlx::query(
            "DELETE FROM account_lockouts WHERE project_id = $1 AND user_id = $2 RETURNING email",
        )
        .bind(project_id)
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
        for email in &emails {
            sqlx::query("DELETE FROM rate_limit_counts WHERE bucket = $1")
                .bind(bucket(project_id, "failedSignIn", &Subject::Account(email)))
                .execute(&mut *tx)
                .await?;
        }
        if !emails.is_empty() {
            let change = Change::new("user.unlocked", user_id, json!({ "user_id": user_id }));
            crate::events::record(&mut tx, project_id, who, change).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Until when `user_id`'s password sign-in is locked, if it is.
    pub async fn locked_until(&self, project_id: &str, user_id: &str) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MAX(locked_until) FROM account_lockouts \
             WHERE project_id = $1 AND user_id = $2 AND locked_until > $3",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(now_ms())
        .fetch_one(&self.db.pool)
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hide_what_they_count_and_ignore_case() {
        let a = bucket("p", "signIn", &Subject::Account("Ann@Example.com"));
        assert_eq!(
            a,
            bucket("p", "signIn", &Subject::Account("ann@example.com"))
        );
        assert!(!a.contains("ann"));
        assert_ne!(
            a,
            bucket("q", "signIn", &Subject::Account("ann@example.com"))
        );
        assert_eq!(wait_text(900), "15 minutes");
        assert_eq!(wait_text(61), "a minute");
    }
}
