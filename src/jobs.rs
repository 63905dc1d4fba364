//! Durable background jobs: the outbox every later capability writes to (emails, webhook
//! deliveries…). A job is written in the same transaction as the change that causes it, so
//! either both happen or neither. Workers claim due jobs with a lease (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so instances sharing a database never run one job twice; SQLite has
//! one writer), renew it while they work, and record the outcome. A failed run is retried with
//! exponential backoff and jitter until its attempts run out; a worker that dies leaves its lease
//! to expire, and another worker picks the job up. Attempts and the last error stay on the row
//! for the dashboard.

use std::time::Duration;

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{json_column, Dialect};
use crate::error::{Error, Result};
use crate::events::Tx;
use crate::{new_id, now_ms, Core};

/// How long a claim holds before another worker may take the job (workers renew it at a third).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;
/// The first retry waits about this long; each later one twice the one before, up to a day.
const FIRST_BACKOFF_MS: i64 = 2_000;
const MAX_BACKOFF_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for its time (`run_at`), or for a retry.
    Pending,
    /// Claimed by a worker whose lease has not run out.
    Running,
    Succeeded,
    /// Gave up after its last attempt; `last_error` says why.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> JobStatus {
        match s {
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            _ => JobStatus::Pending,
        }
    }
}

/// A job to write.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Which handler runs it (e.g. `email.send`).
    pub kind: String,
    pub project_id: Option<String>,
    pub payload: Value,
    /// Not before this time (epoch ms); `None`: at once.
    pub run_at: Option<i64>,
    /// `None`: [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: Option<i64>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, project_id: Option<&str>, payload: Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            project_id: project_id.map(str::to_owned),
            payload,
            run_at: None,
            max_attempts: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub project_id: Option<String>,
    pub payload: Value,
    pub status: JobStatus,
    /// Runs started so far (a claimed job counts one).
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const JOB_COLUMNS: &str = "id, kind, project_id, payload, status, attempts, max_attempts, run_at, lease_owner, last_error, created_at, finished_at";

impl sqlx::FromRow<'_, AnyRow> for Job {
    fn from_row(r: &AnyRow) -> sqlx::Result<Job> {
        let status: String = r.try_get("status")?;
        Ok(Job {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            project_id: r.try_get("project_id")?,
            payload: json_column(r, "payload")?,
            status: JobStatus::parse(&status),
            attempts: r.try_get("attempts")?,
            max_attempts: r.try_get("max_attempts")?,
            run_at: r.try_get("run_at")?,
            lease_owner: r.try_get("lease_owner")?,
            last_error: r.try_get("last_error")?,
            created_at: r.try_get("created_at")?,
            finished_at: r.try_get("finished_at")?,
        })
    }
}

/// Writes a job inside the transaction of the change that causes it.
pub async fn enqueue(tx: &mut Tx, job: NewJob) -> Result<String> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO jobs (id, kind, project_id, payload, status, attempts, max_attempts, run_at, \
         lease_owner, lease_until, last_error, created_at, updated_at, finished_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, NULL, NULL, NULL, $7, $7, NULL)",
    )
    .bind(&id)
    .bind(&job.kind)
    .bind(&job.project_id)
    .bind(job.payload.to_string())
    .bind(job.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1))
    .bind(job.run_at.unwrap_or(now))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The wait before retry `attempt` (1 = the first retry): doubling from two seconds, capped at a
/// day, with up to half of it random so that failed jobs do not retry in lockstep.
pub fn backoff_ms(attempt: i64) -> i64 {
    use rand::Rng;
    let base = FIRST_BACKOFF_MS
        .saturating_mul(1_i64 << (attempt - 1).clamp(0, 30))
        .min(MAX_BACKOFF_MS);
    base / 2 + rand::thread_rng().gen_range(0..=base / 2)
}

impl Core {
    /// SQLite has one writer, and a connection that finds it busy sleeps whole milliseconds
    /// before trying again: a worker's many small writes (claims, outcomes, leases) queue here
    /// instead, in this process, and meet the database one at a time.
    async fn job_write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.db.dialect {
            Dialect::Sqlite => Some(self.job_writes.lock().await),
            Dialect::Postgres => None,
        }
    }

    /// Writes a job on its own (when no other change goes with it).
    pub async fn enqueue_job(&self, job: NewJob) -> Result<String> {
        let mut tx = self.begin().await?;
        let id = enqueue(&mut tx, job).await?;
        tx.commit().await?;
        self.jobs_written.notify_waiters();
        Ok(id)
    }

    /// Tells this instance's workers that jobs were written (by a transaction that enqueued
    /// some), so they look at once instead of at their next poll.
    pub fn jobs_written(&self) {
        self.jobs_written.notify_waiters();
    }

    /// Waits until jobs are written on this instance, or `timeout` passes.
    pub async fn wait_for_jobs(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.jobs_written.notified()).await;
    }

    /// Claims up to `limit` due jobs of the given kinds for `worker`, leased for `lease`: pending
    /// ones whose time has come, and running ones whose lease ran out (their worker died). Each
    /// claim counts an attempt; a job whose worker died on its last attempt is marked failed.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[&str],
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<Job>> {
        if kinds.is_empty() {
            return Ok(vec![]);
        }
        let _turn = self.job_write_turn().await;
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET status = 'failed', finished_at = $1, updated_at = $1, lease_owner = NULL, lease_until = NULL, \
             last_error = 'its worker stopped before finishing the last attempt' \
             WHERE status = 'running' AND lease_until < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        let kind_params: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 5)).collect();
        let skip_locked = match self.db.dialect {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        // Two claims, each one an index range on (status, run_at): jobs whose time has come,
        // oldest first, then jobs whose worker died (their lease ran out).
        let mut claimed = Vec::new();
        for due in [
            "status = 'pending' AND run_at <= $3",
            "status = 'running' AND lease_until < $3",
        ] {
            let sql = format!(
                "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
                 WHERE id IN (SELECT id FROM jobs WHERE {due} AND kind IN ({}) ORDER BY run_at LIMIT $4{skip_locked}) \
                 RETURNING {JOB_COLUMNS}",
                kind_params.join(", ")
            );
            let mut q = sqlx::query_as::<_, Job>(&sql)
                .bind(worker)
                .bind(now + lease.as_millis() as i64)
                .bind(now)
                .bind(limit - claimed.len() as i64);
            for k in kinds {
                q = q.bind(*k);
            }
            claimed.extend(q.fetch_all(&self.db.pool).await?);
            if claimed.len() as i64 >= limit {
                break;
            }
        }
        Ok(claimed)
    }

    /// When the earliest pending job of these kinds is due (epoch ms), so an idle worker wakes
    /// for it rather than at its next poll.
    pub async fn next_job_due(&self, kinds: &[&str]) -> Result<Option<i64>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let params: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 1)).collect();
        let sql = format!(
            "SELECT MIN(run_at) FROM jobs WHERE status = 'pending' AND kind IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, Option<i64>>(&sql);
        for k in kinds {
            q = q.bind(*k);
        }
        Ok(q.fetch_one(&self.db.pool).await?)
    }

    /// Extends `worker`'s lease on a job it is still running. False when the lease was lost
    /// (it ran out and another worker took the job).
    pub async fn renew_lease(&self, worker: &str, job_id: &str, lease: Duration) -> Result<bool> {
        let _turn = self.job_write_turn().await;
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
        )
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(job_id)
        .bind(worker)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a run's outcome, if `worker` still holds the job. A failure is retried while
    /// attempts remain (after [`backoff_ms`], or after `schedule[attempts]` for a kind with a
    /// schedule of its own), and marks the job failed after the last.
    pub async fn finish_job(
        &self,
        worker: &str,
        job: &Job,
        outcome: std::result::Result<(), String>,
        schedule: Option<&[i64]>,
    ) -> Result<JobStatus> {
        let now = now_ms();
        let wait = || match schedule {
            Some(s) if !s.is_empty() => s[(job.attempts as usize).min(s.len() - 1)],
            _ => backoff_ms(job.attempts),
        };
        if outcome.is_err() {
            self.counters.job_failed();
        }
        let (status, run_at, error) = match outcome {
            Ok(()) => (JobStatus::Succeeded, job.run_at, None),
            Err(e) if job.attempts >= job.max_attempts => (JobStatus::Failed, job.run_at, Some(e)),
            Err(e) => (JobStatus::Pending, now + wait(), Some(e)),
        };
        let finished = matches!(status, JobStatus::Succeeded | JobStatus::Failed).then_some(now);
        let _turn = self.job_write_turn().await;
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, run_at = $2, last_error = COALESCE($3, last_error), finished_at = $4, \
             lease_owner = NULL, lease_until = NULL, updated_at = $5 WHERE id = $6 AND lease_owner = $7",
        )
        .bind(status.as_str())
        .bind(run_at)
        .bind(error.map(|e| e.chars().take(2000).collect::<String>()))
        .bind(finished)
        .bind(now)
        .bind(&job.id)
        .bind(worker)
        .execute(&self.db.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::internal(format!(
                "job {} was taken over by another worker",
                job.id
            )));
        }
        Ok(status)
    }

    /// How many jobs wait, run and failed (finished ones are not counted).
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT status, count(*) FROM jobs WHERE status IN ('pending', 'running', 'failed') GROUP BY status",
        )
        .fetch_all(&self.db.pool)
        .await?)
    }

    pub async fn job(&self, id: &str) -> Result<Option<Job>> {
        Ok(
            sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?,
        )
    }

    /// A project's latest jobs, newest first (the dashboard's view of its outbox).
    pub async fn project_jobs(&self, project_id: &str, limit: i64) -> Result<Vec<Job>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = $1 ORDER BY created_at DESC LIMIT $2"
        ))
        .bind(project_id)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempt in 1..=5 {
            let base = FIRST_BACKOFF_MS << (attempt - 1);
            for _ in 0..50 {
                let b = backoff_ms(attempt);
                assert!((base / 2..=base).contains(&b), "attempt {attempt}: {b}");
            }
        }
        assert!(backoff_ms(60) <= MAX_BACKOFF_MS);
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff_ms(3)).collect();
        assert!(spread.len() > 1, "jitter varies the wait");
    }
}
