//! How long a project keeps what is kept for a time: its analytics events and replays, its audit
//! entries. One row per project and log (`retention_settings`); a project without one keeps each
//! for the log's default. Each capability deletes its own rows older than the cut-offs
//! [`Core::retention_cutoffs`] gives.

use serde_json::json;

use crate::error::Result;
use crate::events::{Change, Who};
use crate::Core;

/// The most days a project may keep anything.
pub const MAX_DAYS: i64 = 3650;

const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Log {
    /// Analytics events, taken batch ids and session replays.
    Analytics,
    /// Audit entries.
    Audit,
}

impl Log {
    pub fn name(self) -> &'static str {
        match self {
            Log::Analytics => "analytics",
            Log::Audit => "audit",
        }
    }

    /// The log named so (`analytics`, `audit`).
    pub fn from_name(name: &str) -> Option<Log> {
        [Log::Analytics, Log::Audit]
            .into_iter()
            .find(|l| l.name() == name)
    }

    /// Days kept by a project that set none.
    pub fn default_days(self) -> i64 {
        90
    }
}

/// Whose rows a cut-off is for: one project with a retention of its own, or every other.
#[derive(Clone, Debug)]
pub enum Whose {
    Project(String),
    Others(Log),
}

impl Whose {
    /// The condition on a table's `project_id` that picks these rows, with `$1` bound to
    /// [`Whose::project`] (the cut-off goes at `$2`).
    pub fn filter(&self) -> String {
        match self {
            Whose::Project(_) => "project_id = $1".into(),
            Whose::Others(log) => format!(
                "project_id NOT IN (SELECT project_id FROM retention_settings WHERE log = '{}') AND $1 = $1",
                log.name()
            ),
        }
    }

    pub fn project(&self) -> &str {
        match self {
            Whose::Project(p) => p,
            Whose::Others(_) => "",
        }
    }
}

impl Core {
    /// How many days the project keeps what `log` holds.
    pub async fn retention_days(&self, project_id: &str, log: Log) -> Result<i64> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT retention_days FROM retention_settings WHERE project_id = $1 AND log = $2",
        )
        .bind(project_id)
        .bind(log.name())
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map_or(log.default_days(), |(d,)| d))
    }

    /// Sets how many days the project keeps what `log` holds (1 to [`MAX_DAYS`]); recorded as
    /// `retention.updated` (shortening the audit log's retention is itself audited).
    pub async fn set_retention_days(
        &self,
        project_id: &str,
        log: Log,
        days: i64,
        who: &Who,
    ) -> Result<()> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(crate::validation::invalid(format!(
                "body.retention_days must be a whole number of days from 1 to {MAX_DAYS}"
            )));
        }
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO retention_settings (project_id, log, retention_days) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, log) DO UPDATE SET retention_days = excluded.retention_days",
        )
        .bind(project_id)
        .bind(log.name())
        .bind(days)
        .execute(&mut *tx)
        .await?;
        let data = json!({ "log": log.name(), "retention_days": days });
        let change = Change::new("retention.updated", log.name(), data);
        crate::events::record(&mut tx, project_id, who, change).await?;
        tx.commit().await
    }

    /// What `log` deletes at `now`: each project with a retention of its own, then every other
    /// project, with the time before which its rows go.
    pub async fn retention_cutoffs(&self, log: Log, now: i64) -> Result<Vec<(Whose, i64)>> {
        let custom: Vec<(String, i64)> = sqlx::query_as(
            "SELECT project_id, retention_days FROM retention_settings WHERE log = $1",
        )
        .bind(log.name())
        .fetch_all(&self.db.pool)
        .await?;
        Ok(custom
            .into_iter()
            .map(|(project, days)| (Whose::Project(project), now - days * DAY_MS))
            .chain([(Whose::Others(log), now - log.default_days() * DAY_MS)])
            .collect())
    }
}

/// The body that sets a log's retention (Gatehouse's own routes).
#[derive(serde::Deserialize)]
pub struct RetentionInput {
    pub retention_days: i64,
}

impl crate::validation::Input for RetentionInput {
    fn shape(_: bool) -> crate::validation::Shape {
        use crate::validation::{integer, Shape};
        Shape::new().field(
            "retention_days",
            integer().defined().min(1.0).max(MAX_DAYS as f64),
        )
    }
}
