//! Session replays: the SDK's rrweb recorder sends its events in batches (`POST
//! /session-replays/batch`); each batch is a chunk, kept gzipped in the database (or, with
//! `GATEHOUSE_REPLAY_STORAGE=directory`, as a file under the data dir; never a bucket), of the replay
//! its session (refresh token) is recording: a session idle for three minutes, or recording for
//! twelve hours, starts a new one, as Stack's do. Admins list replays with Stack's filters and
//! read their chunks' events (`/internal/session-replays/…`), which the dashboard plays.

use std::io::{Read, Write};

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Params;
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::validation::{any, array, integer, string, Input, Shape};
use crate::{new_id, now_ms, Core};

/// A replay takes a session's batches until it has been idle this long.
pub const IDLE_MS: i64 = 3 * 60 * 1000;
/// … or has recorded this long.
pub const MAX_DURATION_MS: i64 = 12 * 60 * 60 * 1000;
/// The largest batch body taken, in bytes.
pub const MAX_BODY_BYTES: usize = 1_000_000;
const MAX_EVENTS: usize = 5_000;

/// A batch of rrweb events, as the SDK sends it.
#[derive(Debug, serde::Deserialize)]
pub struct ReplayBatch {
    pub browser_session_id: String,
    pub session_replay_segment_id: String,
    pub batch_id: String,
    pub started_at_ms: i64,
    pub sent_at_ms: i64,
    pub events: Vec<Value>,
}

impl Input for ReplayBatch {
    fn shape(_: bool) -> Shape {
        let id = || string().defined().custom(super::client_uuid);
        Shape::new()
            .field("browser_session_id", id())
            .field("session_replay_segment_id", id())
            .field("batch_id", id())
            .field("started_at_ms", integer().defined().min(0.0))
            .field("sent_at_ms", integer().defined().min(0.0))
            .field("events", array(any().defined()).defined())
    }
}

/// The replay a session is recording now, if any.
pub(crate) async fn recent_replay(
    core: &Core,
    project_id: &str,
    refresh_token_id: &str,
) -> Result<Option<String>> {
    let now = now_ms();
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM session_replays WHERE project_id = $1 AND refresh_token_id = $2 \
         AND updated_at >= $3 AND started_at >= $4 ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(project_id)
    .bind(refresh_token_id)
    .bind(now - IDLE_MS)
    .bind(now - MAX_DURATION_MS)
    .fetch_optional(&core.db.pool)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// The earliest and latest `timestamp` of the events (`fallback` when none has one).
fn event_times(events: &[Value], fallback: i64) -> (i64, i64) {
    let times = events
        .iter()
        .filter_map(|e| e.get("timestamp")?.as_f64())
        .filter(|t| t.is_finite())
        .map(|t| t as i64);
    let (first, last) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    if first > last {
        (fallback, fallback)
    } else {
        (first, last)
    }
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).map_err(Error::internal)?;
    encoder.finish().map_err(Error::internal)
}

/// A gzipped body, unzipped (at most `limit` bytes; `None` past it or when it is not gzip).
pub fn gunzip(bytes: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() <= limit).then_some(out)
}

fn storage_key(project_id: &str, replay_id: &str, batch_id: &str) -> String {
    format!("session-replays/{project_id}/main/{replay_id}/{batch_id}.json.gz")
}

/// Where a chunk's file is, when replays are kept in a directory. Every part is an id the
/// server made or checked as a UUID (`internal` for the dashboard's project).
fn chunk_file(
    dir: &std::path::Path,
    project_id: &str,
    replay_id: &str,
    batch_id: &str,
) -> std::path::PathBuf {
    dir.join(project_id)
        .join(replay_id)
        .join(format!("{batch_id}.json.gz"))
}

/// Writes a chunk's file whole or not at all (a temporary file renamed into place).
async fn write_chunk_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(Error::internal)?;
    }
    let partial = path.with_extension(format!("partial-{}", new_id()));
    tokio::fs::write(&partial, bytes)
        .await
        .map_err(Error::internal)?;
    tokio::fs::rename(&partial, path)
        .await
        .map_err(Error::internal)
}

/// Deletes the files of replays that are gone from the database.
pub(crate) async fn delete_replay_files(dir: &std::path::Path, replays: &[(String, String)]) {
    for (project_id, replay_id) in replays {
        let path = dir.join(project_id).join(replay_id);
        if let Err(e) = tokio::fs::remove_dir_all(&path).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "a deleted replay's files could not be removed");
            }
        }
    }
}

/// A replay as the admin list shows it.
fn replay_view(r: &AnyRow) -> sqlx::Result<Value> {
    Ok(json!({
        "id": r.try_get::<String, _>("id")?,
        "project_user": {
            "id": r.try_get::<String, _>("user_id")?,
            "display_name": r.try_get::<Option<String>, _>("display_name")?,
            "primary_email": r.try_get::<Option<String>, _>("primary_email")?,
        },
        "started_at_millis": r.try_get::<i64, _>("started_at")?,
        "last_event_at_millis": r.try_get::<i64, _>("last_event_at")?,
        "chunk_count": r.try_get::<i64, _>("chunk_count")?,
        "event_count": r.try_get::<i64, _>("event_count")?,
    }))
}

const REPLAY_SELECT: &str = "SELECT r.id, r.user_id, r.started_at, r.last_event_at, \
     u.display_name, u.primary_email, \
     (SELECT COUNT(*) FROM session_replay_chunks c WHERE c.session_replay_id = r.id) AS chunk_count, \
     (SELECT CAST(COALESCE(SUM(c.event_count), 0) AS BIGINT) FROM session_replay_chunks c WHERE c.session_replay_id = r.id) AS event_count \
     FROM session_replays r JOIN users u ON u.id = r.user_id";

/// The admin list's filters (Stack's query parameters, as text).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReplayFilters {
    pub cursor: Option<String>,
    pub limit: Option<String>,
    pub user_ids: Option<String>,
    pub team_ids: Option<String>,
    pub duration_ms_min: Option<String>,
    pub duration_ms_max: Option<String>,
    pub last_event_at_from_millis: Option<String>,
    pub last_event_at_to_millis: Option<String>,
    pub click_count_min: Option<String>,
}

fn bad(message: String) -> Error {
    Error::Status(400, message)
}

fn uuid_list(name: &str, raw: &Option<String>) -> Result<Vec<String>> {
    let ids: Vec<String> = raw
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.iter().any(|id| !crate::is_uuid(id)) {
        return Err(bad(format!("{name} must contain valid UUID values")));
    }
    Ok(ids)
}

fn whole(name: &str, raw: &Option<String>) -> Result<Option<i64>> {
    match raw.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| bad(format!("{name} must be a non-negative integer"))),
    }
}

fn millis(name: &str, raw: &Option<String>) -> Result<Option<i64>> {
    match raw.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| Some(n as i64))
            .ok_or_else(|| {
                bad(format!(
                    "{name} must be a non-negative timestamp in milliseconds"
                ))
            }),
    }
}

fn limit_of(raw: &Option<String>, default: i64, max: i64) -> i64 {
    raw.as_deref()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

impl Core {
    /// `POST /session-replays/batch`: stores a batch as a chunk of the session's replay (a new
    /// replay when none is recording). A batch id already stored is answered as `deduped`.
    pub async fn take_replay_batch(
        &self,
        project: &Project,
        user_id: &str,
        refresh_token_id: &str,
        batch: ReplayBatch,
    ) -> Result<Value> {
        self.analytics_on(project)?;
        if batch.events.is_empty() {
            return Err(bad("events must not be empty".into()));
        }
        if batch.events.len() > MAX_EVENTS {
            return Err(bad(format!("Too many events (max {MAX_EVENTS})")));
        }
        let (first, last) = event_times(&batch.events, batch.sent_at_ms);
        let now = now_ms();
        // Everything but the writes before the transaction: on SQLite it holds the write lock.
        let recent = recent_replay(self, &project.id, refresh_token_id).await?;
        let replay_id = recent.clone().unwrap_or_else(new_id);
        let key = storage_key(&project.id, &replay_id, &batch.batch_id);
        let n = batch.events.len() as i64;
        let zipped = gzip(Value::Array(batch.events).to_string().as_bytes())?;
        let byte_length = zipped.len() as i64;
        // In a directory, the file first: a row never names a chunk whose events are missing.
        let stored_events = match &self.replay_dir {
            Some(dir) => {
                let path = chunk_file(dir, &project.id, &replay_id, &batch.batch_id);
                write_chunk_file(&path, &zipped).await?;
                None
            }
            None => Some(zipped),
        };
        let mut tx = self.db.begin().await?;
        match recent {
            Some(_) => {
                sqlx::query(
                    "UPDATE session_replays SET started_at = CASE WHEN started_at < $2 THEN started_at ELSE $2 END, \
                     last_event_at = CASE WHEN last_event_at > $3 THEN last_event_at ELSE $3 END, updated_at = $4 \
                     WHERE id = $1",
                )
                .bind(&replay_id)
                .bind(first)
                .bind(last)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO session_replays (id, project_id, user_id, refresh_token_id, started_at, last_event_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&replay_id)
                .bind(&project.id)
                .bind(user_id)
                .bind(refresh_token_id)
                .bind(first)
                .bind(last)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        let stored = sqlx::query(
            "INSERT INTO session_replay_chunks (id, project_id, session_replay_id, batch_id, session_replay_segment_id, \
             browser_session_id, event_count, byte_length, first_event_at, last_event_at, created_at, events) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (session_replay_id, batch_id) DO NOTHING",
        )
        .bind(new_id())
        .bind(&project.id)
        .bind(&replay_id)
        .bind(&batch.batch_id)
        .bind(&batch.session_replay_segment_id)
        .bind(&batch.browser_session_id)
        .bind(n)
        .bind(byte_length)
        .bind(first)
        .bind(last)
        .bind(now)
        .bind(stored_events)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(json!({
            "session_replay_id": replay_id,
            "batch_id": batch.batch_id,
            "s3_key": key,
            "deduped": stored == 0,
        }))
    }

    /// `GET /internal/session-replays`: the project's replays, latest activity first, with
    /// Stack's filters and cursor.
    pub async fn list_replays(&self, project: &Project, f: &ReplayFilters) -> Result<Value> {
        let limit = limit_of(&f.limit, 50, 200);
        let users = uuid_list("user_ids", &f.user_ids)?;
        let teams = uuid_list("team_ids", &f.team_ids)?;
        let duration_min = whole("duration_ms_min", &f.duration_ms_min)?;
        let duration_max = whole("duration_ms_max", &f.duration_ms_max)?;
        let clicks = whole("click_count_min", &f.click_count_min)?.filter(|n| *n > 0);
        let from = millis("last_event_at_from_millis", &f.last_event_at_from_millis)?;
        let to = millis("last_event_at_to_millis", &f.last_event_at_to_millis)?;
        if let (Some(a), Some(b)) = (duration_min, duration_max) {
            if a > b {
                return Err(bad(
                    "duration_ms_min must be less than or equal to duration_ms_max".into(),
                ));
            }
        }
        if let (Some(a), Some(b)) = (from, to) {
            if a > b {
                return Err(bad("last_event_at_from_millis must be less than or equal to last_event_at_to_millis".into()));
            }
        }
        let pivot = match &f.cursor {
            Some(cursor) => Some(
                sqlx::query_as::<_, (i64,)>(
                    "SELECT last_event_at FROM session_replays WHERE project_id = $1 AND id = $2",
                )
                .bind(&project.id)
                .bind(cursor)
                .fetch_optional(&self.db.pool)
                .await?
                .ok_or_else(|| Error::ItemNotFound(cursor.clone()))?
                .0,
            ),
            None => None,
        };
        let mut params = Params::default();
        let mut sql = format!(
            "{REPLAY_SELECT} WHERE r.project_id = {}",
            params.text(&project.id)
        );
        if !users.is_empty() {
            let ps: Vec<String> = users.into_iter().map(|u| params.text(u)).collect();
            sql += &format!(" AND r.user_id IN ({})", ps.join(", "));
        }
        if !teams.is_empty() {
            let ps: Vec<String> = teams.into_iter().map(|t| params.text(t)).collect();
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM team_members m WHERE m.user_id = r.user_id AND m.team_id IN ({}))",
                ps.join(", ")
            );
        }
        let int_filters = [
            (from, "r.last_event_at >="),
            (to, "r.last_event_at <="),
            (duration_min, "r.last_event_at - r.started_at >="),
            (duration_max, "r.last_event_at - r.started_at <="),
            (
                clicks,
                "(SELECT COUNT(*) FROM analytics_events e WHERE e.project_id = r.project_id \
                 AND e.session_replay_id = r.id AND e.event_type = '$click') >=",
            ),
        ];
        for (value, test) in int_filters {
            if let Some(n) = value {
                let p = params.int(n);
                sql += &format!(" AND {test} {p}");
            }
        }
        if let (Some(at), Some(id)) = (pivot, &f.cursor) {
            let (a, b) = (params.int(at), params.text(id));
            sql +=
                &format!(" AND (r.last_event_at < {a} OR (r.last_event_at = {a} AND r.id < {b}))");
        }
        let p = params.int(limit + 1);
        sql += &format!(" ORDER BY r.last_event_at DESC, r.id DESC LIMIT {p}");
        let query = params.bind(sqlx::query(&sql));
        let rows = query.fetch_all(&self.db.pool).await?;
        let more = rows.len() as i64 > limit;
        let items = rows
            .iter()
            .take(limit as usize)
            .map(replay_view)
            .collect::<sqlx::Result<Vec<Value>>>()?;
        let next = if more {
            items.last().map(|i| i["id"].clone())
        } else {
            None
        };
        Ok(json!({ "items": items, "pagination": { "next_cursor": next } }))
    }

    /// `GET /internal/session-replays/{id}`: one replay.
    pub async fn replay(&self, project: &Project, id: &str) -> Result<Value> {
        let row = sqlx::query(&format!(
            "{REPLAY_SELECT} WHERE r.project_id = $1 AND r.id = $2"
        ))
        .bind(&project.id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| Error::ItemNotFound(id.to_string()))?;
        Ok(replay_view(&row)?)
    }

    async fn chunk_rows(&self, project: &Project, replay_id: &str) -> Result<Vec<AnyRow>> {
        self.replay(project, replay_id).await?;
        Ok(sqlx::query(
            "SELECT id, batch_id, session_replay_segment_id, browser_session_id, event_count, byte_length, \
             first_event_at, last_event_at, created_at FROM session_replay_chunks \
             WHERE project_id = $1 AND session_replay_id = $2 ORDER BY first_event_at, id",
        )
        .bind(&project.id)
        .bind(replay_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// `GET /internal/session-replays/{id}/chunks`: a replay's chunks in order, a page at a
    /// time.
    pub async fn replay_chunks(
        &self,
        project: &Project,
        replay_id: &str,
        cursor: Option<&str>,
        limit: &Option<String>,
    ) -> Result<Value> {
        let limit = limit_of(limit, 100, 500) as usize;
        let rows = self.chunk_rows(project, replay_id).await?;
        let start = match cursor {
            Some(c) => {
                rows.iter()
                    .position(|r| r.try_get::<String, _>("id").is_ok_and(|id| id == c))
                    .ok_or_else(|| Error::ItemNotFound(c.to_string()))?
                    + 1
            }
            None => 0,
        };
        let page: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(limit)
            .map(|r| chunk_view(r, true))
            .collect::<sqlx::Result<_>>()?;
        let next = if rows.len() > start + limit {
            page.last().map(|c| c["id"].clone())
        } else {
            None
        };
        Ok(json!({ "items": page, "pagination": { "next_cursor": next } }))
    }

    /// The rrweb events of one chunk (from the database, or from its file).
    async fn chunk_events(&self, project_id: &str, chunk_id: &str) -> Result<Vec<Value>> {
        let row: Option<(Option<Vec<u8>>, String, String)> = sqlx::query_as(
            "SELECT events, session_replay_id, batch_id FROM session_replay_chunks WHERE project_id = $1 AND id = $2",
        )
        .bind(project_id)
        .bind(chunk_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let missing = || Error::ItemNotFound(chunk_id.to_string());
        let zipped = match row.ok_or_else(missing)? {
            (Some(zipped), _, _) => zipped,
            (None, replay_id, batch_id) => {
                let dir = self.replay_dir.as_ref().ok_or_else(missing)?;
                tokio::fs::read(chunk_file(dir, project_id, &replay_id, &batch_id))
                    .await
                    .map_err(|_| missing())?
            }
        };
        let bytes = gunzip(&zipped, usize::MAX / 2).ok_or_else(|| {
            Error::internal(format!("session replay chunk {chunk_id} is not gzip"))
        })?;
        serde_json::from_slice(&bytes).map_err(Error::internal)
    }

    /// `GET /internal/session-replays/{id}/chunks/{chunk_id}/events`.
    pub async fn replay_chunk_events(
        &self,
        project: &Project,
        replay_id: &str,
        chunk_id: &str,
    ) -> Result<Value> {
        let owned: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM session_replay_chunks WHERE project_id = $1 AND session_replay_id = $2 AND id = $3",
        )
        .bind(&project.id)
        .bind(replay_id)
        .bind(chunk_id)
        .fetch_optional(&self.db.pool)
        .await?;
        if owned.is_none() {
            return Err(Error::ItemNotFound(chunk_id.to_string()));
        }
        let events = self.chunk_events(&project.id, chunk_id).await?;
        Ok(json!({ "events": events }))
    }

    /// `GET /internal/session-replays/{id}/events`: every chunk, and the events of the chunks
    /// from `offset` (at most `limit` of them).
    pub async fn replay_events(
        &self,
        project: &Project,
        replay_id: &str,
        offset: &Option<String>,
        limit: &Option<String>,
    ) -> Result<Value> {
        let rows = self.chunk_rows(project, replay_id).await?;
        let offset = offset
            .as_deref()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let limit = limit
            .as_deref()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(rows.len());
        let mut chunk_events = Vec::new();
        for r in rows.iter().skip(offset).take(limit) {
            let id: String = r.try_get("id")?;
            let events = self.chunk_events(&project.id, &id).await?;
            chunk_events.push(json!({ "chunk_id": id, "events": events }));
        }
        let chunks = rows
            .iter()
            .map(|r| chunk_view(r, false))
            .collect::<sqlx::Result<Vec<Value>>>()?;
        Ok(json!({ "chunks": chunks, "chunk_events": chunk_events }))
    }
}

/// A chunk as Stack lists it (`with_browser_session`: the chunks list names it; the all-events
/// read does not).
fn chunk_view(r: &AnyRow, with_browser_session: bool) -> sqlx::Result<Value> {
    let mut v = json!({
        "id": r.try_get::<String, _>("id")?,
        "batch_id": r.try_get::<String, _>("batch_id")?,
        "session_replay_segment_id": r.try_get::<Option<String>, _>("session_replay_segment_id")?,
        "event_count": r.try_get::<i64, _>("event_count")?,
        "byte_length": r.try_get::<i64, _>("byte_length")?,
        "first_event_at_millis": r.try_get::<i64, _>("first_event_at")?,
        "last_event_at_millis": r.try_get::<i64, _>("last_event_at")?,
        "created_at_millis": r.try_get::<i64, _>("created_at")?,
    });
    if with_browser_session {
        v["browser_session_id"] = json!(r.try_get::<Option<String>, _>("browser_session_id")?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_come_from_timestamps() {
        let events = vec![
            json!({"timestamp": 30, "type": 3}),
            json!({"timestamp": 10}),
            json!({"type": 4}),
        ];
        assert_eq!(event_times(&events, 99), (10, 30));
        assert_eq!(event_times(&[json!({"type": 2})], 99), (99, 99));
    }

    #[test]
    fn gzip_round_trips_and_is_bounded() {
        let zipped = gzip(b"[1,2,3]").unwrap();
        assert_eq!(gunzip(&zipped, 100).unwrap(), b"[1,2,3]");
        assert!(gunzip(&zipped, 3).is_none());
        assert!(gunzip(b"not gzip", 100).is_none());
    }
}
