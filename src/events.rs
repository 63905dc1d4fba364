//! The one record of changes: every change the core makes is written here, as a typed event, in
//! the same transaction as the change (never a write without its event, never an event
//! without its write). Events are kept per project in an append-only log with a position that
//! only grows, so a consumer (webhooks, the audit log, analytics) reads from where it stopped
//! and resumes after a restart. Nothing is called at a change site but [`record`].
//!
//! Kinds carry Stack's webhook names where Stack has one (`user.created`,
//! `team_membership.deleted`…).

use serde_json::Value;
use sqlx::{Any, FromRow, Transaction};

use crate::error::Result;
use crate::{now_ms, Core};

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
    tx: &mut Transaction<'_, Any>,
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
    Ok(position)
}

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
        Ok(sqlx::query_as(
            "SELECT project_id, position, kind, object_id, actor_type, actor_id, data, created_at FROM events \
             WHERE project_id = $1 AND position > $2 ORDER BY position LIMIT $3",
        )
        .bind(project_id)
        .bind(position)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?)
    }
}
