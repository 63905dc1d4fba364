//! The one record of changes: every change the core makes is written here, as a typed event, in
//! the same transaction as the change (never a write without its event, never an event
//! without its write). Events are kept per project in an append-only log with a position that
//! only grows, so a consumer (webhooks, the audit log, analytics) reads from where it stopped
//! and resumes after a restart. Nothing is called at a change site but [`record`].
//!
//! Kinds carry Stack's webhook names where Stack has one (`user.created`,
//! `team_membership.deleted`…).

use serde_json::Value;
use sqlx::{Any, AnyConnection, FromRow, Transaction};
use std::ops::{Deref, DerefMut};

use crate::error::Result;
use crate::{now_ms, Core};

/// A write transaction. Every write of the core happens in one, and [`record`] writes its
/// events into it; when it commits, this instance's read caches hear of the changes at once
/// (other instances read them from the log: see [`Core::follow_other_instances`]).
pub struct Tx {
    inner: Transaction<'static, Any>,
    changes: Vec<Changed>,
    core: Core,
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// What runs in a transaction just before it commits, with its changes in hand (see
/// [`crate::COMMIT_HOOKS`]: capabilities above the log add to what a change records).
pub type CommitHook =
    for<'a> fn(
        &'a mut Tx,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

impl Tx {
    pub async fn commit(mut self) -> Result<()> {
        if !self.changes.is_empty() {
            for hook in crate::COMMIT_HOOKS {
                hook(&mut self).await?;
            }
        }
        self.inner.commit().await?;
        self.core.caches.follow(&self.changes);
        self.core.counters.follow(&self.changes);
        Ok(())
    }

    /// The changes recorded so far in this transaction.
    pub(crate) fn changes(&self) -> &[Changed] {
        &self.changes
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    pub async fn rollback(self) -> Result<()> {
        Ok(self.inner.rollback().await?)
    }
}

impl Core {
    /// Opens a write transaction (see [`Tx`]).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx {
            inner: self.db.begin().await?,
            changes: Vec::new(),
            core: self.clone(),
        })
    }
}

/// A committed change as the caches see it: of this instance's transactions, or read from the
/// log.
#[derive(Clone, Debug)]
pub struct Changed {
    pub project_id: String,
    /// Its place in the project's log.
    pub position: i64,
    pub kind: String,
    pub object_id: String,
    pub data: Value,
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A signed-in user (client access, the hosted pages), or the user a sign-up made.
    User(String),
    /// A browser with no signed-in user (client access: a sign-up, a code from an email).
    Client,
    /// A secret server key.
    Server,
    /// A super secret admin key, or a dashboard admin (their user id, when known).
    Admin(Option<String>),
    /// Gatehouse itself (start-up, jobs, the CLI).
    System,
}

impl Who {
    fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            Who::User(id) => ("user", Some(id)),
            Who::Client => ("client", None),
            Who::Server => ("server", None),
            Who::Admin(id) => ("admin", id.as_deref()),
            Who::System => ("system", None),
        }
    }
}

/// What changed: its kind (`user.created`), the object's id, and what a consumer needs of it.
#[derive(Clone, Debug)]
pub struct Change<'a> {
    pub kind: &'static str,
    pub object_id: &'a str,
    pub data: Value,
}

impl<'a> Change<'a> {
    pub fn new(kind: &'static str, object_id: &'a str, data: Value) -> Change<'a> {
        Change {
            kind,
            object_id,
            data,
        }
    }
}

/// Writes `change` to the project's log, in the change's own transaction; returns its
/// position. The per-project counter row serialises writers of one project (a row lock on
/// PostgreSQL, the write lock on SQLite), so positions commit in order and a reader that
/// resumes after the last position it saw misses nothing.
pub(crate) async fn record(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    change: Change<'_>,
) -> Result<i64> {
    let (position,): (i64,) = sqlx::query_as(
        "INSERT INTO event_positions (project_id, last) VALUES ($1, 1) \
         ON CONFLICT (project_id) DO UPDATE SET last = event_positions.last + 1 RETURNING last",
    )
    .bind(project_id)
    .fetch_one(&mut **tx)
    .await?;
    let (actor_type, actor_id) = who.parts();
    sqlx::query(
        "INSERT INTO events (project_id, position, kind, object_id, actor_type, actor_id, data, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(project_id)
    .bind(position)
    .bind(change.kind)
    .bind(change.object_id)
    .bind(actor_type)
    .bind(actor_id)
    .bind(change.data.to_string())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    tx.changes.push(Changed {
        project_id: project_id.to_string(),
        position,
        kind: change.kind.to_string(),
        object_id: change.object_id.to_string(),
        data: change.data,
    });
    Ok(position)
}

/// Takes the project's change lock (the counter row [`record`] writes) before a change reads
/// what it checks, for a change whose event can only be written after those reads.
pub(crate) async fn lock_project(tx: &mut Tx, project_id: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO event_positions (project_id, last) VALUES ($1, 0) \
         ON CONFLICT (project_id) DO UPDATE SET last = event_positions.last",
    )
    .bind(project_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A project's events after a position, oldest first, at most a limit (`$1`, `$2`, `$3`).
pub(crate) const EVENTS_AFTER: &str =
    "SELECT project_id, position, kind, object_id, actor_type, actor_id, data, created_at FROM events \
     WHERE project_id = $1 AND position > $2 ORDER BY position LIMIT $3";

/// One recorded change.
#[derive(Clone, Debug, FromRow)]
pub struct Event {
    pub project_id: String,
    pub position: i64,
    pub kind: String,
    pub object_id: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub data: String,
    pub created_at: i64,
}

impl Core {
    /// The project's events after `position` (0: from the start), oldest first, at most `limit`.
    pub async fn events_after(
        &self,
        project_id: &str,
        position: i64,
        limit: i64,
    ) -> Result<Vec<Event>> {
        Ok(sqlx::query_as(EVENTS_AFTER)
            .bind(project_id)
            .bind(position)
            .bind(limit)
            .fetch_all(&self.db.pool)
            .await?)
    }
}

impl From<Event> for Changed {
    fn from(e: Event) -> Changed {
        Changed {
            data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
            project_id: e.project_id,
            position: e.position,
            kind: e.kind,
            object_id: e.object_id,
        }
    }
}

/// How often an instance reads the changes other instances sharing its database committed.
pub const FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// More events than this behind, a project's cached copies are all dropped at once instead of
/// being read event by event.
const FOLLOW_PAGE: i64 = 500;

impl Core {
    /// Follows the log for the changes other instances sharing this database commit, and drops
    /// what this instance's caches copied of them: a change made elsewhere reaches this
    /// instance within [`FOLLOW_INTERVAL`] and a read. Runs for the life of the process
    /// (`gatehouse serve` starts it beside the job worker).
    pub async fn follow_other_instances(self) {
        let mut seen = loop {
            match self.event_positions().await {
                Ok(seen) => break seen,
                Err(e) => tracing::warn!("cannot read the change log yet: {e}"),
            }
            tokio::time::sleep(FOLLOW_INTERVAL).await;
        };
        loop {
            tokio::time::sleep(FOLLOW_INTERVAL).await;
            if let Err(e) = self.follow_once(&mut seen).await {
                tracing::warn!("cannot read the change log: {e}");
            }
        }
    }

    async fn event_positions(&self) -> Result<std::collections::HashMap<String, i64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT project_id, last FROM event_positions")
                .fetch_all(&self.db.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    async fn follow_once(&self, seen: &mut std::collections::HashMap<String, i64>) -> Result<()> {
        for (project, last) in self.event_positions().await? {
            let from = seen.get(&project).copied().unwrap_or(0);
            if last <= from {
                continue;
            }
            if last - from > FOLLOW_PAGE {
                self.caches.forget_project(&project);
            } else {
                let changes: Vec<Changed> = self
                    .events_after(&project, from, FOLLOW_PAGE)
                    .await?
                    .into_iter()
                    .map(Changed::from)
                    .collect();
                self.caches.follow(&changes);
            }
            seen.insert(project, last);
        }
        Ok(())
    }
}
