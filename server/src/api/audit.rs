//! The audit log's routes (Gatehouse's own): an admin reads the project's entries and sets how
//! long they are kept. Nothing writes an entry but the core's changes.

use axum::extract::State;
use axum::Json;
use gatehouse_core::audit::{AuditFilters, AuditPage};
use gatehouse_core::retention::Log;
use gatehouse_core::Core;
use serde_json::Value;

use super::extract::{Authed, Body, QueryParams};
use super::ApiResult;

/// `GET /internal/audit-log`: the project's entries, newest first, filtered, a page at a time.
pub async fn list(
    State(core): State<Core>,
    Authed(auth): Authed,
    params: QueryParams,
) -> ApiResult<Json<AuditPage>> {
    auth.require_admin()?;
    let filters: AuditFilters = params.read(&auth)?;
    Ok(Json(core.audit_log(&auth.project.id, &filters).await?))
}

/// `GET /internal/audit-log/settings`: how many days entries are kept.
pub async fn settings(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    super::retention(&core, &auth, Log::Audit).await
}

/// `PUT /internal/audit-log/settings`.
pub async fn save_settings(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    super::save_retention(&core, &auth, body, Log::Audit).await
}
