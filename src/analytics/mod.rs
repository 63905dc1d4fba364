//! Analytics: what a project's users do, kept on the database Gatehouse already has (Stack needs
//! ClickHouse for it). Events come from three places:
//!
//! - the SDK's batches (`$page-view`, `$click`, and an app's own named events), taken once per
//!   batch id;
//! - the core's change log, read after the fact like webhooks read it ([`Core::analytics_from_log`]):
//!   a session opened by a sign-up is `$sign-up`, by a sign-in `$sign-in`, each with its method,
//!   and a failed sign-in `$sign-in-failure`;
//! - the auth paths, for what changes nothing ([`Core::track`]): `$token-refresh`,
//!   `$sign-up-rule-trigger`.
//!
//! Nothing waits for the database on the way in: events go to a bounded queue in memory, and
//! one writer ([`Core::write_analytics_forever`]) takes whatever has gathered and writes it in
//! one transaction. When the queue is full, an event from an auth path is dropped (and counted)
//! rather than slow the path; a client's batch waits its turn. Old events are deleted after each
//! project's retention ([`Core::apply_analytics_retention`]).
//!
//! Admins read events with SQL that sees only their project ([`query`]) and watch session
//! replays ([`replays`]).

pub mod query;
pub mod replays;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::projects::Project;
use crate::retention::{Log, Whose};
use crate::validation::{any, array, integer, nested, string, Input, Shape};
use crate::{now_ms, Core};

/// The most events waiting in memory for the writer (a client's batch counts its events); past
/// it, auth paths' events are dropped and clients' batches wait.
pub const QUEUE_CAPACITY: usize = 50_000;
/// One write takes queued items until it holds this many events.
const WRITE_EVENTS: usize = 5_000;
/// Rows per INSERT statement (ten columns each, under SQLite's limit of bound values).
const ROWS_PER_INSERT: usize = 400;
/// How long a client's batch waits for room in a full queue before it is refused.
const ROOM_WAIT: Duration = Duration::from_secs(5);
/// How often the change log is read into events.
const LOG_INTERVAL: Duration = Duration::from_millis(500);
/// The system event types a client may send (the SDK's); other `$` names are the server's own.
pub const CLIENT_EVENT_TYPES: [&str; 2] = ["$page-view", "$click"];

/// A client's event type: one of the SDK's, or an app's own name (not starting with `$`, at
/// most 64 letters, digits and `_ . : -`). Stack takes the SDK's two only; an app's own events
/// are Gatehouse's addition, and the SDK never sends one.
fn event_type(at: &str, v: &Value) -> Option<String> {
    let t = v.as_str()?;
    let custom = !t.starts_with('$')
        && (1..=64).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    (!CLIENT_EVENT_TYPES.contains(&t) && !custom).then(|| {
        format!(
            "{at} must be one of the following values: $page-view, $click, or an event name of your own (not starting with $, at most 64 letters, digits and _ . : -)"
        )
    })
}

/// One event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub event_type: String,
    pub event_at: i64,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub refresh_token_id: Option<String>,
    pub session_replay_id: Option<String>,
    pub session_replay_segment_id: Option<String>,
    pub data: Value,
}

impl NewEvent {
    /// An event of the server's own, now.
    pub fn system(event_type: &str, user_id: Option<&str>, data: Value) -> NewEvent {
        NewEvent {
            event_type: event_type.to_string(),
            event_at: now_ms(),
            user_id: user_id.map(str::to_string),
            team_id: None,
            refresh_token_id: None,
            session_replay_id: None,
            session_replay_segment_id: None,
            data,
        }
    }
}

/// What waits in the queue: a client's batch (taken once per batch id), or one event.
#[derive(Debug)]
enum Queued {
    Batch {
        project_id: String,
        batch_id: String,
        events: Vec<NewEvent>,
    },
    One {
        project_id: String,
        event: NewEvent,
    },
}

/// The queue between the paths that make events and the one writer.
pub struct Ingest {
    sender: mpsc::UnboundedSender<Queued>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Queued>>>,
    /// Room for events in the queue: taken as events are queued, given back as they are
    /// written (the queue's bound, in events).
    room: tokio::sync::Semaphore,
    dropped: AtomicU64,
}

impl Default for Ingest {
    fn default() -> Ingest {
        let (sender, receiver) = mpsc::unbounded_channel();
        Ingest {
            sender,
            receiver: std::sync::Mutex::new(Some(receiver)),
            room: tokio::sync::Semaphore::new(QUEUE_CAPACITY),
            dropped: AtomicU64::new(0),
        }
    }
}

impl Ingest {
    /// Events dropped so far because the queue was full.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Queued {
    fn events(&self) -> usize {
        match self {
            Queued::Batch { events, .. } => events.len(),
            Queued::One { .. } => 1,
        }
    }
}

/// A client's batch, as the SDK sends it (`POST /analytics/events/batch`).
#[derive(Debug, serde::Deserialize)]
pub struct EventBatch {
    pub session_replay_segment_id: String,
    pub batch_id: String,
    pub sent_at_ms: i64,
    pub events: Vec<ClientEvent>,
}

#[derive(Debug, serde::Deserialize)]
pub struct ClientEvent {
    pub event_type: String,
    pub event_at_ms: i64,
    pub data: Value,
}

/// The most events in one client batch.
pub const MAX_BATCH_EVENTS: usize = 500;

/// Stack's check of an id the SDK makes (`Invalid batch_id`…).
pub(crate) fn client_uuid(at: &str, v: &Value) -> Option<String> {
    let name = at.rsplit('.').next().unwrap_or(at);
    (!v.as_str().is_some_and(is_client_uuid)).then(|| format!("{at}: Invalid {name}"))
}

impl Input for EventBatch {
    fn shape(_: bool) -> Shape {
        let event = Shape::new()
            .field("event_type", string().defined().custom(event_type))
            .field("event_at_ms", integer().defined().min(0.0))
            .field("data", any().defined());
        Shape::new()
            .field(
                "session_replay_segment_id",
                string().defined().custom(client_uuid),
            )
            .field("batch_id", string().defined().custom(client_uuid))
            .field("sent_at_ms", integer().defined().min(0.0))
            .field(
                "events",
                array(nested(event)).defined().custom(|at, v| {
                    let n = v.as_array().map_or(0, Vec::len);
                    if n == 0 {
                        Some(format!("{at} field must have at least 1 items"))
                    } else if n > MAX_BATCH_EVENTS {
                        Some(format!(
                            "{at} field must have less than or equal to {MAX_BATCH_EVENTS} items"
                        ))
                    } else {
                        None
                    }
                }),
            )
    }
}

/// Stack's UUID check for the SDK's ids (versions 1 to 8, the RFC variant).
pub fn is_client_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| {
        s.len() == 36 && (1..=8).contains(&u.get_version_num()) && {
            let variant = u.as_bytes()[8] >> 4;
            matches!(variant, 0x0 | 0x8 | 0x9 | 0xa | 0xb)
        }
    })
}

impl Core {
    /// Refuses when the project has not turned the analytics app on.
    pub fn analytics_on(&self, project: &Project) -> Result<()> {
        if project.config.analytics_enabled {
            Ok(())
        } else {
            Err(Error::AnalyticsNotEnabled)
        }
    }

    /// Records an event of an auth path, if the project records events. Never waits: with the
    /// queue full, the event is dropped.
    pub(crate) fn track(&self, project: &Project, event: NewEvent) {
        if !project.config.analytics_enabled {
            return;
        }
        let Ok(room) = self.analytics.room.try_acquire() else {
            self.analytics.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        room.forget();
        let queued = Queued::One {
            project_id: project.id.clone(),
            event,
        };
        let _ = self.analytics.sender.send(queued);
    }

    /// `POST /analytics/events/batch`: a signed-in user's batch, checked as Stack checks it and
    /// queued; returns how many events it held. A batch id already taken is not taken again.
    pub async fn take_event_batch(
        &self,
        project: &Project,
        user_id: &str,
        refresh_token_id: &str,
        batch: EventBatch,
    ) -> Result<usize> {
        self.analytics_on(project)?;
        let replay = replays::recent_replay(self, &project.id, refresh_token_id).await?;
        let n = batch.events.len();
        let events = batch
            .events
            .into_iter()
            .map(|e| NewEvent {
                event_type: e.event_type,
                event_at: e.event_at_ms,
                user_id: Some(user_id.to_string()),
                team_id: None,
                refresh_token_id: Some(refresh_token_id.to_string()),
                session_replay_id: replay.clone(),
                session_replay_segment_id: Some(batch.session_replay_segment_id.clone()),
                data: e.data,
            })
            .collect();
        let queued = Queued::Batch {
            project_id: project.id.clone(),
            batch_id: batch.batch_id,
            events,
        };
        let full = || {
            Error::Status(
                503,
                "Too many analytics events are waiting to be written; send this batch again in a moment.".into(),
            )
        };
        tokio::time::timeout(ROOM_WAIT, self.analytics.room.acquire_many(n as u32))
            .await
            .map_err(|_| full())?
            .map_err(|_| full())?
            .forget();
        let _ = self.analytics.sender.send(queued);
        Ok(n)
    }

    /// Writes queued events for the life of the process (`gatehouse serve` starts it): waits
    /// for the first, takes what else has gathered, writes it all in one transaction.
    pub async fn write_analytics_forever(self) {
        let Some(mut receiver) = self
            .analytics
            .receiver
            .lock()
            .ok()
            .and_then(|mut r| r.take())
        else {
            return;
        };
        let mut taken = Vec::new();
        let mut logged_drops = 0;
        loop {
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut events = first.events();
            taken.push(first);
            while events < WRITE_EVENTS {
                match receiver.try_recv() {
                    Ok(item) => {
                        events += item.events();
                        taken.push(item);
                    }
                    Err(_) => break,
                }
            }
            if let Err(e) = self.write_events(&taken).await {
                // One project gone (its events refused by the database) must not lose the
                // others': each item alone, the failing ones dropped.
                tracing::debug!("analytics events written one by one: {e}");
                for item in &taken {
                    if let Err(e) = self.write_events(std::slice::from_ref(item)).await {
                        tracing::warn!("analytics events could not be written: {e}");
                    }
                }
            }
            taken.clear();
            self.analytics.room.add_permits(events);
            let dropped_so_far = self.analytics.dropped_total();
            let dropped = dropped_so_far - logged_drops;
            logged_drops = dropped_so_far;
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "analytics events were dropped: the queue was full (more events than the database took)"
                );
            }
        }
    }

    async fn write_events(&self, items: &[Queued]) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let now = now_ms();
        let mut rows: Vec<(&str, &NewEvent)> = Vec::new();
        for item in items {
            match item {
                Queued::One { project_id, event } => rows.push((project_id, event)),
                Queued::Batch {
                    project_id,
                    batch_id,
                    events,
                } => {
                    let fresh = sqlx::query(
                        "INSERT INTO analytics_batches (project_id, batch_id, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (project_id, batch_id) DO NOTHING",
                    )
                    .bind(project_id)
                    .bind(batch_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if fresh {
                        rows.extend(events.iter().map(|e| (project_id.as_str(), e)));
                    }
                }
            }
        }
        insert_events(&mut *tx, &rows, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Writes events (project id, event) in the caller's transaction.
async fn insert_events(
    conn: &mut sqlx::AnyConnection,
    rows: &[(&str, &NewEvent)],
    now: i64,
) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n: Vec<String> = (1..=10).map(|c| format!("${}", i * 10 + c)).collect();
                format!("({})", n.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO analytics_events (project_id, event_type, event_at, user_id, team_id, \
             refresh_token_id, session_replay_id, session_replay_segment_id, data, created_at) VALUES {}",
            values.join(", ")
        );
        let mut insert = sqlx::query(&sql);
        for (project_id, e) in chunk {
            insert = insert
                .bind(*project_id)
                .bind(&e.event_type)
                .bind(e.event_at)
                .bind(&e.user_id)
                .bind(&e.team_id)
                .bind(&e.refresh_token_id)
                .bind(&e.session_replay_id)
                .bind(&e.session_replay_segment_id)
                .bind(clean_text(&e.data).to_string())
                .bind(now);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A value with the NUL characters taken out of its strings (PostgreSQL's text refuses them).
fn clean_text(v: &Value) -> Value {
    match v {
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "\u{FFFD}")),
        Value::Array(a) => Value::Array(a.iter().map(clean_text).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.replace('\0', "\u{FFFD}"), clean_text(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The analytics event a change in the log is, if any: a session opened by a sign-up or a
/// sign-in (with its method), or a failed sign-in (with its method and reason).
fn event_of_change(change: &crate::events::Event) -> Option<NewEvent> {
    let data: Value = match change.kind.as_str() {
        "session.created" | "sign_in.failed" => serde_json::from_str(&change.data).ok()?,
        _ => return None,
    };
    let method = data.get("method")?.as_str()?;
    let (event_type, event_data) = if change.kind == "sign_in.failed" {
        let reason = &data["reason"];
        (
            "$sign-in-failure",
            json!({ "auth_method": method, "reason": reason }),
        )
    } else if data["new_user"] == json!(true) {
        ("$sign-up", json!({ "auth_method": method }))
    } else {
        ("$sign-in", json!({ "auth_method": method }))
    };
    // A failed sign-in names its account as its object (when there is one), not in its data:
    // a change naming a user drops their cached sessions, and a failure should not.
    let user_id = match change.kind.as_str() {
        "sign_in.failed" => Some(change.object_id.as_str()).filter(|id| !id.is_empty()),
        _ => data["user_id"].as_str(),
    };
    let mut event = NewEvent::system(event_type, user_id, event_data);
    event.event_at = change.created_at;
    if change.kind == "session.created" {
        event.refresh_token_id = Some(change.object_id.clone());
    }
    Some(event)
}

impl Core {
    /// Reads every project's change log from where analytics last stopped into events, one
    /// transaction per project (its events and the cursor's new place commit together, the
    /// cursor row written first so that two instances never read the same changes). Projects
    /// with analytics off only move their cursor.
    pub async fn analytics_from_log(&self) -> Result<usize> {
        let behind: Vec<(String, i64)> = sqlx::query_as(
            "SELECT p.project_id, p.last FROM event_positions p \
             LEFT JOIN analytics_cursors c ON c.project_id = p.project_id \
             WHERE c.position IS NULL OR p.last > c.position",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut made = 0;
        for (project_id, last) in behind {
            made += self.project_log_events(&project_id, last).await?;
        }
        Ok(made)
    }

    async fn project_log_events(&self, project_id: &str, last: i64) -> Result<usize> {
        const PAGE: i64 = 500;
        match self.project_cached(project_id).await? {
            Some(p) if p.config.analytics_enabled => {}
            Some(_) => {
                // Off: what happened meanwhile is not recorded, then or later.
                sqlx::query(
                    "INSERT INTO analytics_cursors (project_id, position) VALUES ($1, $2) \
                     ON CONFLICT (project_id) DO UPDATE SET position = excluded.position",
                )
                .bind(project_id)
                .bind(last)
                .execute(&self.db.pool)
                .await?;
                return Ok(0);
            }
            None => return Ok(0),
        }
        let mut tx = self.db.begin().await?;
        let (from,): (i64,) = sqlx::query_as(
            "INSERT INTO analytics_cursors (project_id, position) VALUES ($1, 0) \
             ON CONFLICT (project_id) DO UPDATE SET position = analytics_cursors.position \
             RETURNING position",
        )
        .bind(project_id)
        .fetch_one(&mut *tx)
        .await?;
        let changes: Vec<crate::events::Event> = sqlx::query_as(crate::events::EVENTS_AFTER)
            .bind(project_id)
            .bind(from)
            .bind(PAGE)
            .fetch_all(&mut *tx)
            .await?;
        let to = changes.last().map_or(from, |c| c.position);
        let events: Vec<NewEvent> = changes.iter().filter_map(event_of_change).collect();
        let rows: Vec<(&str, &NewEvent)> = events.iter().map(|e| (project_id, e)).collect();
        insert_events(&mut *tx, &rows, now_ms()).await?;
        sqlx::query("UPDATE analytics_cursors SET position = $2 WHERE project_id = $1")
            .bind(project_id)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(events.len())
    }

    /// Reads the change log into events for the life of the process, every [`LOG_INTERVAL`].
    pub async fn analytics_from_log_forever(self) {
        loop {
            if let Err(e) = self.analytics_from_log().await {
                tracing::warn!("cannot read the change log into analytics events yet: {e}");
            }
            tokio::time::sleep(LOG_INTERVAL).await;
        }
    }

    /// Deletes every project's events (and taken batch ids, and session replays) older than its
    /// retention at `now`, counted from when they were received; returns how many events went.
    pub async fn apply_analytics_retention(&self, now: i64) -> Result<u64> {
        let mut deleted = 0;
        for (whose, before) in self.retention_cutoffs(Log::Analytics, now).await? {
            deleted += self.delete_analytics_before(&whose, before).await?;
        }
        Ok(deleted)
    }

    /// Deletes what some projects received before `before`.
    async fn delete_analytics_before(&self, whose: &Whose, before: i64) -> Result<u64> {
        let which = whose.filter();
        let mut tx = self.db.begin().await?;
        let mut deleted = [0; 2];
        for (n, table) in deleted
            .iter_mut()
            .zip(["analytics_events", "analytics_batches"])
        {
            *n = sqlx::query(&format!(
                "DELETE FROM {table} WHERE {which} AND created_at < $2"
            ))
            .bind(whose.project())
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        let replays: Vec<(String, String)> = sqlx::query_as(&format!(
            "DELETE FROM session_replays WHERE {which} AND last_event_at < $2 RETURNING project_id, id"
        ))
        .bind(whose.project())
        .bind(before)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        if let Some(dir) = &self.replay_dir {
            replays::delete_replay_files(dir, &replays).await;
        }
        Ok(deleted[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_checked_as_stack_checks_them() {
        assert!(is_client_uuid("3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
        assert!(!is_client_uuid("3f2b8a4e1c2d4e5f8a9b0c1d2e3f4a5b"));
        assert!(!is_client_uuid("3f2b8a4e-1c2d-0e5f-8a9b-0c1d2e3f4a5b"));
        assert!(!is_client_uuid("not-a-uuid"));
    }

    #[test]
    fn nul_characters_are_replaced() {
        let v = json!({"a\0": ["x\0y", 1], "b": {"c": "\0"}});
        assert_eq!(
            clean_text(&v),
            json!({"a\u{FFFD}": ["x\u{FFFD}y", 1], "b": {"c": "\u{FFFD}"}})
        );
    }
}
