//! The audit log: who did what to a project, when, and from where. Every change the record of
//! changes holds is an entry — admins' actions, sign-ups, sign-ins and failed sign-ins (with
//! their method), password, second-factor and email changes, ended sessions, impersonation,
//! keys, config, permission grants, lockouts — copied in the change's own transaction (a commit
//! hook: never a change without its entry), with the address, browser and request id of the
//! request that made it ([`Origin`], which the doors set).
//!
//! Append-only: no API writes or edits it, the databases refuse updates to it (a trigger), and
//! only retention deletes from it ([`Core::apply_audit_retention`], 90 days unless the project
//! says otherwise). It outlives what it tells of: a deleted user's entries stay.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

use crate::db::{like_escaped, Params};
use crate::error::Result;
use crate::events::Tx;
use crate::retention::Log;
use crate::validation::{integer, string, Input, Shape};
use crate::Core;

tokio::task_local! {
    static ORIGIN: Origin;
}

/// Where a request came from, as the server saw it: what the audit log keeps beside each change
/// the request made.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl Origin {
    /// Runs `f` (a request's handling) as coming from here.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        ORIGIN.scope(self, f).await
    }

    fn current() -> Origin {
        ORIGIN.try_with(Clone::clone).unwrap_or_default()
    }
}

/// The commit hook (see [`crate::COMMIT_HOOKS`]): the transaction's changes become entries.
pub(crate) fn write_entries(
    tx: &mut Tx,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + '_>> {
    Box::pin(write(tx))
}

async fn write(tx: &mut Tx) -> Result<()> {
    // A transaction's changes to one project have consecutive positions (it holds the project's
    // counter row until it commits): one copy per project.
    let mut spans: Vec<(String, i64, i64)> = Vec::new();
    for c in tx.changes() {
        match spans.iter_mut().find(|s| s.0 == c.project_id) {
            Some(span) => {
                span.1 = span.1.min(c.position);
                span.2 = span.2.max(c.position);
            }
            None => spans.push((c.project_id.clone(), c.position, c.position)),
        }
    }
    let origin = Origin::current();
    for (project_id, first, last) in spans {
        sqlx::query(
            "INSERT INTO audit_log (project_id, position, kind, object_id, actor_type, actor_id, ip, user_agent, \
             request_id, data, created_at) SELECT project_id, position, kind, object_id, actor_type, actor_id, \
             $4, $5, $6, data, created_at FROM events WHERE project_id = $1 AND position BETWEEN $2 AND $3",
        )
        .bind(&project_id)
        .bind(first)
        .bind(last)
        .bind(origin.ip.as_deref())
        .bind(origin.user_agent.as_deref())
        .bind(origin.request_id.as_deref())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One entry, as admins read it (Gatehouse's own shape).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its place in the project's log; pages go by it.
    pub id: i64,
    pub kind: String,
    /// What happened, in words.
    pub summary: String,
    pub object_id: String,
    /// `user`, `client`, `server`, `admin` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub data: Value,
    pub created_at_millis: i64,
}

/// What an admin looks for: every filter narrows; `q` finds text in the kind, ids, address and
/// data. Newest first, `limit` at a time, older than `cursor` (the last id seen).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditFilters {
    pub q: Option<String>,
    /// A kind (`user.updated`) or a family of kinds (`user.`, ending with a dot).
    pub kind: Option<String>,
    pub actor_id: Option<String>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    pub from_millis: Option<i64>,
    pub to_millis: Option<i64>,
    pub cursor: Option<i64>,
    pub limit: Option<i64>,
}

impl Input for AuditFilters {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("q", string())
            .field("kind", string())
            .field("actor_id", string())
            .field("object_id", string())
            .field("ip", string())
            .field("from_millis", integer().min(0.0))
            .field("to_millis", integer().min(0.0))
            .field("cursor", integer().min(0.0))
            .field("limit", integer().min(1.0).max(MAX_PAGE as f64))
    }
}

/// The most entries in one page.
pub const MAX_PAGE: i64 = 200;
const DEFAULT_PAGE: i64 = 50;

/// A page of entries and the cursor of the next (older) one, if there is more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<i64>,
}

impl Core {
    /// The project's entries that match, newest first.
    pub async fn audit_log(&self, project_id: &str, f: &AuditFilters) -> Result<AuditPage> {
        let limit = f.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut params = Params::default();
        let mut conditions = vec![format!("project_id = {}", params.text(project_id))];
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let p = params.text(format!("%{}%", like_escaped(&q.to_lowercase())));
            conditions.push(format!(
                "(lower(kind) LIKE {p} ESCAPE '\\' OR lower(object_id) LIKE {p} ESCAPE '\\' \
                 OR lower(coalesce(actor_id, '')) LIKE {p} ESCAPE '\\' OR coalesce(ip, '') LIKE {p} ESCAPE '\\' \
                 OR lower(data) LIKE {p} ESCAPE '\\')"
            ));
        }
        match f.kind.as_deref().filter(|k| !k.is_empty()) {
            Some(family) if family.ends_with('.') => {
                let p = params.text(format!("{}%", like_escaped(family)));
                conditions.push(format!("kind LIKE {p} ESCAPE '\\'"));
            }
            Some(kind) => conditions.push(format!("kind = {}", params.text(kind))),
            None => {}
        }
        for (column, value) in [
            ("actor_id", &f.actor_id),
            ("object_id", &f.object_id),
            ("ip", &f.ip),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                conditions.push(format!("{column} = {}", params.text(v)));
            }
        }
        for (test, value) in [
            ("created_at >=", f.from_millis),
            ("created_at <=", f.to_millis),
            ("position <", f.cursor),
        ] {
            if let Some(v) = value {
                conditions.push(format!("{test} {}", params.int(v)));
            }
        }
        let sql = format!(
            "SELECT position, kind, object_id, actor_type, actor_id, ip, user_agent, request_id, data, created_at \
             FROM audit_log WHERE {} ORDER BY position DESC LIMIT {}",
            conditions.join(" AND "),
            limit + 1
        );
        let query = params.bind(sqlx::query(&sql));
        let rows = query.fetch_all(&self.db.pool).await?;
        let mut items = rows
            .iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let data: Value =
                    serde_json::from_str(&r.try_get::<String, _>("data")?).unwrap_or(Value::Null);
                let actor_type: String = r.try_get("actor_type")?;
                Ok(AuditEntry {
                    id: r.try_get("position")?,
                    summary: summary(&kind, &actor_type, &data),
                    kind,
                    object_id: r.try_get("object_id")?,
                    actor_type,
                    actor_id: r.try_get("actor_id")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                    request_id: r.try_get("request_id")?,
                    data,
                    created_at_millis: r.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { items, next_cursor })
    }

    /// Deletes every project's entries older than its retention at `now`; returns how many went.
    pub async fn apply_audit_retention(&self, now: i64) -> Result<u64> {
        let mut deleted = 0;
        for (whose, before) in self.retention_cutoffs(Log::Audit, now).await? {
            deleted += sqlx::query(&format!(
                "DELETE FROM audit_log WHERE {} AND created_at < $2",
                whose.filter()
            ))
            .bind(whose.project())
            .bind(before)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        }
        Ok(deleted)
    }
}

/// What an entry says happened, in words, from its kind and data.
pub fn summary(kind: &str, actor_type: &str, data: &Value) -> String {
    let text = |key: &str| {
        data[key]
            .as_str()
            .unwrap_or_default()
            .replace(['_', '-'], " ")
    };
    match kind {
        "session.created" if data["is_impersonation"] == Value::Bool(true) => {
            "Impersonation session opened by an admin".into()
        }
        "session.created" if data["method"].is_string() => {
            let verb = if data["new_user"] == Value::Bool(true) {
                "Signed up"
            } else {
                "Signed in"
            };
            format!("{verb} with {}", text("method"))
        }
        "session.created" => "Session opened".into(),
        "session.deleted" if actor_type == "user" => "Signed out (session ended)".into(),
        "session.deleted" => "Session revoked".into(),
        "sign_in.failed" => format!("Sign-in failed ({}: {})", text("method"), text("reason")),
        "user.locked_out" => "Password sign-in locked after repeated failures".into(),
        "user.unlocked" => "Password sign-in unlocked".into(),
        "user.updated" => {
            let fields: Vec<&str> = data["fields"]
                .as_array()
                .map(|f| f.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match fields.as_slice() {
                ["password"] => "Password changed".into(),
                ["totp"] => "Two-factor authentication changed".into(),
                [] => "User updated".into(),
                many => format!("User updated: {}", many.join(", ").replace('_', " ")),
            }
        }
        "team_permission.created" | "project_permission.created" => "Permission granted".into(),
        "team_permission.deleted" | "project_permission.deleted" => "Permission revoked".into(),
        "config.updated" => "Project configuration changed".into(),
        "project_api_key.created" => "Project keys created".into(),
        "project_api_key.updated" => "Project keys changed".into(),
        "api_key.created" => "API key created".into(),
        "api_key.updated" => "API key changed".into(),
        "retention.updated" => {
            let days = data["retention_days"].as_i64().unwrap_or_default();
            let what = if data["log"] == "audit" {
                "Audit entries"
            } else {
                "Analytics events"
            };
            format!(
                "{what} kept for {days} day{}",
                if days == 1 { "" } else { "s" }
            )
        }
        _ => {
            // `webhook_endpoint.secret_rotated` → "Webhook endpoint secret rotated".
            let words = kind.replace(['.', '_'], " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The databases themselves refuse to change an entry; retention may delete one.
    #[tokio::test]
    async fn entries_cannot_be_updated_only_deleted() {
        for url in crate::db::test_databases().await {
            let db = crate::db::Db::connect(&url).await.unwrap();
            sqlx::query(
                "INSERT INTO audit_log (project_id, position, kind, object_id, actor_type, data, created_at) \
                 VALUES ('p', 1, 'user.updated', 'u', 'user', '{}', 1)",
            )
            .execute(&db.pool)
            .await
            .unwrap();
            for sql in [
                "UPDATE audit_log SET kind = 'user.created'",
                "UPDATE audit_log SET ip = '10.0.0.1' WHERE position = 1",
            ] {
                let refused = sqlx::query(sql).execute(&db.pool).await.unwrap_err();
                assert!(
                    refused.to_string().contains("append-only"),
                    "{url}: {refused}"
                );
            }
            let gone = sqlx::query("DELETE FROM audit_log WHERE position = 1")
                .execute(&db.pool)
                .await
                .unwrap();
            assert_eq!(gone.rows_affected(), 1, "{url}");
        }
    }

    #[test]
    fn summaries_say_what_happened() {
        use serde_json::json;
        let cases = [
            (
                "session.created",
                "user",
                json!({ "method": "password", "new_user": true }),
                "Signed up with password",
            ),
            (
                "session.created",
                "user",
                json!({ "method": "otp", "new_user": false }),
                "Signed in with otp",
            ),
            (
                "session.created",
                "admin",
                json!({ "is_impersonation": true }),
                "Impersonation session opened by an admin",
            ),
            (
                "session.deleted",
                "user",
                json!({}),
                "Signed out (session ended)",
            ),
            ("session.deleted", "admin", json!({}), "Session revoked"),
            (
                "sign_in.failed",
                "client",
                json!({ "method": "password", "reason": "wrong_password" }),
                "Sign-in failed (password: wrong password)",
            ),
            (
                "user.updated",
                "user",
                json!({ "fields": ["password"] }),
                "Password changed",
            ),
            (
                "user.updated",
                "server",
                json!({ "fields": ["display_name", "server_metadata"] }),
                "User updated: display name, server metadata",
            ),
            (
                "webhook_endpoint.secret_rotated",
                "admin",
                json!({}),
                "Webhook endpoint secret rotated",
            ),
        ];
        for (kind, actor, data, said) in cases {
            assert_eq!(summary(kind, actor, &data), said, "{kind}");
        }
    }
}
