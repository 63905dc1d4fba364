//! The dashboard's server functions for the audit log: a page of entries with the room's
//! filters, and the retention setting (the analytics room's too). A few lines over the core calls the REST API makes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditRow {
    pub id: i64,
    pub kind: String,
    pub summary: String,
    pub object_id: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The entry's data, as JSON text.
    pub data: String,
    pub at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditView {
    pub project_name: String,
    /// Newest first.
    pub entries: Vec<AuditRow>,
    /// The next (older) page's cursor, if there is one.
    pub next_cursor: Option<i64>,
    pub retention_days: i64,
}

/// The room's page: its filters are those its URL carries (`q`, `kind`, `actor_id`, `cursor`).
#[server(prefix = "/_sfn")]
pub async fn load_audit(
    project_id: String,
    q: Option<String>,
    kind: Option<String>,
    actor_id: Option<String>,
    cursor: Option<i64>,
) -> Result<AuditView, ServerFnError> {
    use gatehouse_core::audit::AuditFilters;
    use gatehouse_core::retention::Log;
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let filters = AuditFilters {
        q,
        kind,
        actor_id,
        cursor,
        ..AuditFilters::default()
    };
    let page = core
        .audit_log(&project.id, &filters)
        .await
        .map_err(ssr::shown)?;
    let retention_days = core
        .retention_days(&project.id, Log::Audit)
        .await
        .map_err(ssr::shown)?;
    Ok(AuditView {
        project_name: project.display_name,
        entries: page
            .items
            .into_iter()
            .map(|e| AuditRow {
                id: e.id,
                kind: e.kind,
                summary: e.summary,
                object_id: e.object_id,
                actor_type: e.actor_type,
                actor_id: e.actor_id,
                ip: e.ip,
                user_agent: e.user_agent,
                request_id: e.request_id,
                data: e.data.to_string(),
                at: e.created_at_millis,
            })
            .collect(),
        next_cursor: page.next_cursor,
        retention_days,
    })
}

/// How long a project keeps what a log holds (`log`: `analytics` or `audit`), from the analytics
/// and audit rooms' settings.
#[server(prefix = "/_sfn")]
pub async fn save_retention(
    project_id: String,
    log: String,
    retention_days: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::retention::{Log, MAX_DAYS};
    let project = ssr::administered_project(&project_id).await?;
    let who = ssr::acting_admin().await?;
    let log = Log::from_name(&log).ok_or_else(|| ServerFnError::new("There is no such log."))?;
    let days = retention_days.trim().parse::<i64>().map_err(|_| {
        ServerFnError::new(format!("Write the number of days, from 1 to {MAX_DAYS}."))
    })?;
    ssr::core()
        .set_retention_days(&project.id, log, days, &who)
        .await
        .map_err(ssr::shown)
}
