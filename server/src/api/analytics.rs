//! Analytics: the SDK's event batches and session replay batches, the admin's SQL over the
//! project's own data, the replays' reads, and the project's retention (Gatehouse's own).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use gatehouse_core::analytics::query::AnalyticsQuery;
use gatehouse_core::analytics::replays::{gunzip, ReplayBatch, ReplayFilters, MAX_BODY_BYTES};
use gatehouse_core::analytics::EventBatch;
use gatehouse_core::auth::Auth;
use gatehouse_core::error::Error;
use gatehouse_core::retention::Log;
use gatehouse_core::validation::{query_value, read, Input};
use gatehouse_core::Core;
use serde_json::{json, Value};

use super::extract::{Authed, Body, QueryParams};
use super::ApiResult;

/// The largest analytics body taken once unzipped.
const MAX_UNZIPPED: usize = 10 * 1024 * 1024;

/// A body the SDK may have gzipped (`application/octet-stream`), as JSON.
fn json_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, Error> {
    let gzipped = bytes.starts_with(&[0x1f, 0x8b])
        || headers
            .get(axum::http::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let unzipped;
    let bytes = if gzipped {
        unzipped = gunzip(bytes, MAX_UNZIPPED).ok_or_else(|| {
            Error::BodyParsing("The request body is not gzip, or unzips to more than 10 MB.".into())
        })?;
        &unzipped[..]
    } else {
        bytes
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes)
        .map_err(|_| Error::BodyParsing("Invalid JSON in request body".into()))
}

/// The signed-in user and their session, which events and replays belong to.
fn session_of(auth: &Auth, what: &str) -> Result<(String, String), Error> {
    let user = auth
        .user
        .as_ref()
        .ok_or(Error::UserAuthenticationRequired)?;
    let session = auth
        .session_id
        .clone()
        .ok_or_else(|| Error::Status(400, format!("A refresh token is required for {what}")))?;
    Ok((user.id.clone(), session))
}

/// `POST /analytics/events/batch`: a batch of the SDK's `$page-view` and `$click` events.
pub async fn event_batch(
    State(core): State<Core>,
    Authed(auth): Authed,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let batch: EventBatch = read(
        "body",
        json_body(&headers, &bytes)?,
        &EventBatch::shape(false),
    )?;
    core.analytics_on(&auth.project)?;
    let (user, session) = session_of(&auth, "analytics events")?;
    let inserted = core
        .take_event_batch(&auth.project, &user, &session, batch)
        .await?;
    Ok(Json(json!({ "inserted": inserted })))
}

/// `POST /session-replays/batch`: a batch of rrweb events for the session's replay.
pub async fn replay_batch(
    State(core): State<Core>,
    Authed(auth): Authed,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let body = json_body(&headers, &bytes)?;
    let batch: ReplayBatch = read("body", body, &ReplayBatch::shape(false))?;
    core.analytics_on(&auth.project)?;
    let (user, session) = session_of(&auth, "session replays")?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::Status(
            413,
            format!("Request body too large (max {MAX_BODY_BYTES} bytes)"),
        )
        .into());
    }
    Ok(Json(
        core.take_replay_batch(&auth.project, &user, &session, batch)
            .await?,
    ))
}

/// `POST /internal/analytics/query`: read-only SQL over the project's own tables.
pub async fn query(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let q: AnalyticsQuery = body.read(&auth)?;
    Ok(Json(core.analytics_query(&auth.project, q).await?))
}

/// `GET /internal/session-replays`: the project's replays, with Stack's filters.
pub async fn list_replays(
    State(core): State<Core>,
    Authed(auth): Authed,
    QueryParams(pairs): QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let filters: ReplayFilters = serde_json::from_value(query_value(&pairs)).unwrap_or_default();
    Ok(Json(core.list_replays(&auth.project, &filters).await?))
}

/// `GET /internal/session-replays/{id}`: one replay.
pub async fn read_replay(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    Ok(Json(core.replay(&auth.project, &id).await?))
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// `GET /internal/session-replays/{id}/chunks`: a replay's chunks, a page at a time.
pub async fn replay_chunks(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    QueryParams(pairs): QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let cursor = param(&pairs, "cursor");
    let limit = param(&pairs, "limit");
    Ok(Json(
        core.replay_chunks(&auth.project, &id, cursor.as_deref(), &limit)
            .await?,
    ))
}

/// `GET /internal/session-replays/{id}/chunks/{chunk_id}/events`: one chunk's rrweb events.
pub async fn chunk_events(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((id, chunk_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    Ok(Json(
        core.replay_chunk_events(&auth.project, &id, &chunk_id)
            .await?,
    ))
}

/// `GET /internal/session-replays/{id}/events`: every chunk, with the events of a range.
pub async fn replay_events(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    QueryParams(pairs): QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let offset = param(&pairs, "offset");
    let limit = param(&pairs, "limit");
    Ok(Json(
        core.replay_events(&auth.project, &id, &offset, &limit)
            .await?,
    ))
}

/// `GET /internal/analytics/settings` (Gatehouse's own): how long events are kept.
pub async fn settings(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    super::retention(&core, &auth, Log::Analytics).await
}

/// `PUT /internal/analytics/settings` (Gatehouse's own).
pub async fn save_settings(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    super::save_retention(&core, &auth, body, Log::Analytics).await
}
