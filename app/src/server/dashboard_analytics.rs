//! The dashboard's server functions for analytics: the room (ready-made panels, the SQL editor's
//! result, saved queries in folders, the app switch and retention) and session replays. Every
//! query, a panel's too, goes through the same checked path as `POST /internal/analytics/query`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// A query's answer as a table, with what a chart of it needs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct QueryTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The refusal or the database's error, when the query failed.
    pub error: Option<String>,
    /// (label, value) per row, when the last column is a number: first column as the label.
    pub points: Vec<(String, f64)>,
}

/// A ready-made panel: its title, its SQL (to open in the editor) and its answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Panel {
    pub id: String,
    pub title: String,
    pub sql: String,
    /// `line` over days, or `bar` by category.
    pub chart: String,
    pub table: QueryTable,
}

/// A saved query (`analytics.queryFolders`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SavedQuery {
    pub folder_id: String,
    pub folder_name: String,
    pub query_id: String,
    pub name: String,
    pub sql: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AnalyticsView {
    pub project_name: String,
    pub enabled: bool,
    /// `PostgreSQL` or `SQLite`: the dialect queries are written in.
    pub dialect: String,
    pub tables: Vec<(String, Vec<String>)>,
    pub saved: Vec<SavedQuery>,
    pub panels: Vec<Panel>,
    pub result: Option<QueryTable>,
    pub retention_days: i64,
}

/// The ready-made panels, written for the database in use: (id, title, chart, SQLite, PostgreSQL).
#[cfg(feature = "ssr")]
const PANELS: [(&str, &str, &str, &str, &str); 4] = [
    (
        "daily-active-users",
        "Daily active users (30 days)",
        "line",
        "SELECT substr(event_at, 1, 10) AS day, count(DISTINCT user_id) AS users FROM events \
         WHERE user_id IS NOT NULL AND event_at >= strftime('%Y-%m-%d', 'now', '-29 days') GROUP BY 1 ORDER BY 1",
        "SELECT to_char(event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(DISTINCT user_id) AS users FROM events \
         WHERE user_id IS NOT NULL AND event_at >= date_trunc('day', now()) - interval '29 days' GROUP BY 1 ORDER BY 1",
    ),
    (
        "sign-ups-by-method",
        "Sign-ups by method",
        "bar",
        "SELECT json_extract(data, '$.auth_method') AS method, count(*) AS sign_ups FROM events \
         WHERE event_type = '$sign-up' GROUP BY 1 ORDER BY 2 DESC",
        "SELECT data ->> 'auth_method' AS method, count(*) AS sign_ups FROM events \
         WHERE event_type = '$sign-up' GROUP BY 1 ORDER BY 2 DESC",
    ),
    (
        "top-pages",
        "Top pages",
        "bar",
        "SELECT json_extract(data, '$.path') AS page, count(*) AS views FROM events \
         WHERE event_type = '$page-view' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        "SELECT data ->> 'path' AS page, count(*) AS views FROM events \
         WHERE event_type = '$page-view' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
    ),
    (
        "sign-in-failures",
        "Sign-in failures per day (30 days)",
        "line",
        "SELECT substr(event_at, 1, 10) AS day, count(*) AS failures FROM events \
         WHERE event_type = '$sign-in-failure' AND event_at >= strftime('%Y-%m-%d', 'now', '-29 days') GROUP BY 1 ORDER BY 1",
        "SELECT to_char(event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS failures FROM events \
         WHERE event_type = '$sign-in-failure' AND event_at >= date_trunc('day', now()) - interval '29 days' GROUP BY 1 ORDER BY 1",
    ),
];

#[cfg(feature = "ssr")]
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs a query as the REST API would, and lays its answer out as a table.
#[cfg(feature = "ssr")]
async fn run(
    core: &gatehouse_core::Core,
    project: &gatehouse_core::projects::Project,
    sql: &str,
) -> QueryTable {
    use gatehouse_core::analytics::query::AnalyticsQuery;
    let q = AnalyticsQuery {
        query: sql.to_string(),
        params: Default::default(),
        timeout_ms: None,
        include_all_branches: false,
    };
    let answer = match core.analytics_query(project, q).await {
        Ok(a) => a,
        Err(e) => {
            return QueryTable {
                error: Some(e.message()),
                ..QueryTable::default()
            }
        }
    };
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = answer["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_object().cloned())
        .collect();
    let columns: Vec<String> = rows
        .first()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    let points = if columns.len() >= 2 {
        rows.iter()
            .map(|r| {
                let label = cell(&r[&columns[0]]);
                let value = match &r[&columns[columns.len() - 1]] {
                    serde_json::Value::Number(n) => n.as_f64(),
                    serde_json::Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                value.map(|v| (label, v))
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    QueryTable {
        rows: rows
            .iter()
            .map(|r| columns.iter().map(|c| cell(&r[c])).collect())
            .collect(),
        columns,
        error: None,
        points,
    }
}

#[server(prefix = "/_sfn")]
pub async fn load_analytics(
    project_id: String,
    sql: Option<String>,
) -> Result<AnalyticsView, ServerFnError> {
    use gatehouse_core::db::Dialect;
    use gatehouse_core::retention::Log;
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let enabled = project.config.analytics_enabled;
    let postgres = core.db.dialect == Dialect::Postgres;
    let mut panels = Vec::new();
    if enabled {
        for (id, title, chart, sqlite, pg) in PANELS {
            let sql = if postgres { pg } else { sqlite };
            panels.push(Panel {
                id: id.into(),
                title: title.into(),
                sql: sql.into(),
                chart: chart.into(),
                table: run(&core, &project, sql).await,
            });
        }
    }
    let result = match sql.filter(|s| !s.trim().is_empty()) {
        Some(sql) if enabled => Some(run(&core, &project, &sql).await),
        _ => None,
    };
    let mut saved = Vec::new();
    if let Some(folders) = project
        .config
        .tree
        .pointer("/analytics/queryFolders")
        .and_then(|f| f.as_object())
    {
        for (folder_id, folder) in folders {
            let folder_name = folder["displayName"]
                .as_str()
                .unwrap_or(folder_id)
                .to_string();
            for (query_id, q) in folder["queries"].as_object().into_iter().flatten() {
                saved.push(SavedQuery {
                    folder_id: folder_id.clone(),
                    folder_name: folder_name.clone(),
                    query_id: query_id.clone(),
                    name: q["displayName"].as_str().unwrap_or(query_id).to_string(),
                    sql: q["sqlQuery"].as_str().unwrap_or_default().to_string(),
                });
            }
        }
    }
    let retention_days = core
        .retention_days(&project.id, Log::Analytics)
        .await
        .map_err(ssr::shown)?;
    Ok(AnalyticsView {
        project_name: project.display_name,
        enabled,
        dialect: if postgres { "PostgreSQL" } else { "SQLite" }.into(),
        tables: gatehouse_core::analytics::query::table_columns()
            .into_iter()
            .map(|(t, cols)| {
                (
                    t.to_string(),
                    cols.into_iter().map(str::to_string).collect(),
                )
            })
            .collect(),
        saved,
        panels,
        result,
        retention_days,
    })
}

/// An id for a config key made from a name a person typed (`Sign-ups by week` → `sign-ups-by-week`).
#[cfg(feature = "ssr")]
fn slug(name: &str) -> String {
    let s: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "query".into()
    } else {
        s
    }
}

/// Lays a change over the project's environment config, as the config room does.
#[cfg(feature = "ssr")]
async fn patch(
    project: &gatehouse_core::projects::Project,
    level: gatehouse_core::config::Level,
    change: serde_json::Value,
) -> Result<(), ServerFnError> {
    ssr::core()
        .patch_config_override(
            &project.id,
            &ssr::acting_admin().await?,
            level,
            &change.to_string(),
        )
        .await
        .map_err(ssr::shown)
}

/// Saves the editor's query under a name in a folder (`analytics.queryFolders`).
#[server(prefix = "/_sfn")]
pub async fn save_analytics_query(
    project_id: String,
    folder: String,
    name: String,
    sql: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    if name.trim().is_empty() || sql.trim().is_empty() {
        return Err(ServerFnError::new(
            "Give the query a name, and write its SQL.",
        ));
    }
    let folder = if folder.trim().is_empty() {
        "Saved queries".to_string()
    } else {
        folder
    };
    let (folder_id, query_id) = (slug(&folder), slug(&name));
    let query = serde_json::json!({ "displayName": name.trim(), "sqlQuery": sql });
    // A key below a record's entry counts only where the entry exists: a new folder is written
    // whole, a query into an existing folder by its own key.
    let exists = project
        .config
        .tree
        .pointer(&format!("/analytics/queryFolders/{folder_id}"))
        .is_some();
    let change = if exists {
        serde_json::json!({ format!("analytics.queryFolders.{folder_id}.queries.{query_id}"): query })
    } else {
        serde_json::json!({ format!("analytics.queryFolders.{folder_id}"): {
            "displayName": folder.trim(),
            "queries": { query_id: query },
        } })
    };
    patch(&project, gatehouse_core::config::Level::Environment, change).await
}

#[server(prefix = "/_sfn")]
pub async fn delete_analytics_query(
    project_id: String,
    folder_id: String,
    query_id: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let key = format!("analytics.queryFolders.{folder_id}.queries.{query_id}");
    patch(
        &project,
        gatehouse_core::config::Level::Environment,
        serde_json::json!({ key: null }),
    )
    .await
}

/// Turns the analytics app on or off (`apps.installed.analytics.enabled`).
#[server(prefix = "/_sfn")]
pub async fn set_analytics_enabled(project_id: String, enabled: bool) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    patch(
        &project,
        gatehouse_core::config::Level::Branch,
        serde_json::json!({ "apps.installed.analytics": { "enabled": enabled } }),
    )
    .await
}

/// A replay in the list.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReplayRow {
    pub id: String,
    pub user_id: String,
    pub user: String,
    pub started_at: i64,
    pub duration_ms: i64,
    pub chunks: i64,
    pub events: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReplaysView {
    pub project_name: String,
    pub replays: Vec<ReplayRow>,
    pub next_cursor: Option<String>,
}

#[cfg(feature = "ssr")]
fn replay_row(v: &serde_json::Value) -> ReplayRow {
    let user = &v["project_user"];
    ReplayRow {
        id: v["id"].as_str().unwrap_or_default().into(),
        user_id: user["id"].as_str().unwrap_or_default().into(),
        user: user["primary_email"]
            .as_str()
            .or(user["display_name"].as_str())
            .unwrap_or("(no email)")
            .into(),
        started_at: v["started_at_millis"].as_i64().unwrap_or(0),
        duration_ms: v["last_event_at_millis"].as_i64().unwrap_or(0)
            - v["started_at_millis"].as_i64().unwrap_or(0),
        chunks: v["chunk_count"].as_i64().unwrap_or(0),
        events: v["event_count"].as_i64().unwrap_or(0),
    }
}

/// The project's replays with the list's filters (Stack's query parameters).
#[server(prefix = "/_sfn")]
pub async fn load_replays(
    project_id: String,
    user_id: Option<String>,
    click_count_min: Option<String>,
    duration_s_min: Option<String>,
    cursor: Option<String>,
) -> Result<ReplaysView, ServerFnError> {
    use gatehouse_core::analytics::replays::ReplayFilters;
    let project = ssr::administered_project(&project_id).await?;
    let filters = ReplayFilters {
        cursor: cursor.filter(|c| !c.is_empty()),
        limit: Some("50".into()),
        user_ids: user_id.filter(|u| !u.trim().is_empty()),
        click_count_min: click_count_min.filter(|c| !c.trim().is_empty()),
        duration_ms_min: duration_s_min.filter(|d| !d.trim().is_empty()).map(|d| {
            d.trim()
                .parse::<i64>()
                .map(|s| (s * 1000).to_string())
                .unwrap_or(d)
        }),
        ..ReplayFilters::default()
    };
    let listed = ssr::core()
        .list_replays(&project, &filters)
        .await
        .map_err(ssr::shown)?;
    Ok(ReplaysView {
        project_name: project.display_name,
        replays: listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(replay_row)
            .collect(),
        next_cursor: listed["pagination"]["next_cursor"]
            .as_str()
            .map(str::to_string),
    })
}

/// One replay: its summary, its rrweb events (JSON, for the player) and the user's analytics
/// events (the latest 200).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReplayView {
    pub project_name: String,
    pub replay: ReplayRow,
    pub events_json: String,
    pub user_events: QueryTable,
}

#[server(prefix = "/_sfn")]
pub async fn load_replay(
    project_id: String,
    replay_id: String,
) -> Result<ReplayView, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let replay = replay_row(
        &core
            .replay(&project, &replay_id)
            .await
            .map_err(ssr::shown)?,
    );
    let all = core
        .replay_events(&project, &replay_id, &None, &None)
        .await
        .map_err(ssr::shown)?;
    let events: Vec<serde_json::Value> = all["chunk_events"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["events"].as_array().cloned().unwrap_or_default())
        .collect();
    // The replay id is a UUID the server made: safe to write into the query.
    let sql = format!(
        "SELECT event_at, event_type, data FROM events WHERE session_replay_id = '{}' OR user_id = '{}' ORDER BY event_at DESC LIMIT 200",
        replay.id.replace('\'', ""),
        replay.user_id.replace('\'', "")
    );
    let user_events = run(&core, &project, &sql).await;
    Ok(ReplayView {
        project_name: project.display_name,
        replay,
        // In a <script type="application/json">: no `</` may end it early.
        events_json: serde_json::Value::Array(events)
            .to_string()
            .replace("</", "<\\/"),
        user_events,
    })
}
