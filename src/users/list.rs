//! Finding users: `GET /users`'s pages (keyset order, fast at any depth), its search (Stack's
//! matching, answered from each database's trigram index), and a project's figures for the
//! dashboard's overview.

use serde::Deserialize;
use serde_json::json;

use super::{User, USER_SELECT};
use crate::db::{like_escaped, Dialect, Params};
use crate::error::{Error, Result};
use crate::validation::{integer, string, Input, Shape};
use crate::{now_ms, Core};

/// `GET /users`'s query string, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct UserListParams {
    team_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    order_by: Option<String>,
    desc: Option<String>,
    query: Option<String>,
    include_anonymous: Option<String>,
    only_anonymous: Option<String>,
    include_restricted: Option<String>,
}

impl Input for UserListParams {
    fn shape(_: bool) -> Shape {
        let flag = || string().one_of(&[json!("true"), json!("false")]);
        Shape::new()
            .field("team_id", string().uuid())
            .field("limit", integer().min(1.0).max(MAX_PAGE as f64))
            .field("cursor", string().uuid())
            .field(
                "order_by",
                string().one_of(&[json!("signed_up_at"), json!("last_active_at")]),
            )
            .field("desc", flag())
            .field("query", string())
            .field("include_anonymous", flag())
            .field("only_anonymous", flag())
            .field("include_restricted", flag())
    }
}

impl UserListParams {
    pub fn into_query(self) -> Result<UserListQuery> {
        let yes = |v: &Option<String>| v.as_deref() == Some("true");
        let (only_anonymous, include_anonymous) =
            (yes(&self.only_anonymous), yes(&self.include_anonymous));
        if only_anonymous && !include_anonymous {
            return Err(Error::Status(
                400,
                "only_anonymous=true requires include_anonymous=true".into(),
            ));
        }
        Ok(UserListQuery {
            limit: self.limit,
            cursor: self.cursor.filter(|c| !c.is_empty()),
            order_by_last_active: self.order_by.as_deref() == Some("last_active_at"),
            desc: yes(&self.desc),
            query: self.query,
            include_anonymous,
            include_restricted: yes(&self.include_restricted),
            only_anonymous,
            team_id: self.team_id,
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct UserListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub order_by_last_active: bool,
    pub desc: bool,
    pub query: Option<String>,
    pub include_anonymous: bool,
    pub include_restricted: bool,
    pub only_anonymous: bool,
    pub team_id: Option<String>,
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub const MAX_PAGE: i64 = 1000;
const DEFAULT_PAGE: i64 = 100;

impl Core {
    /// One page of a project's users, in keyset order (fast at any depth).
    pub async fn list_users(&self, project_id: &str, q: &UserListQuery) -> Result<Page<User>> {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(crate::validation::invalid(format!(
                "query.limit must be less than or equal to {MAX_PAGE}"
            )));
        }
        let col = if q.order_by_last_active {
            "last_active_at"
        } else {
            "signed_up_at"
        };
        let text = q.query.as_deref().filter(|t| !t.is_empty());
        // A search with few matches is answered by looking them up in the search index and
        // sorting them, rather than by walking the project's users in order waiting for them
        // (which is right for a search that matches many). `|| ''` keeps the database off the
        // ordered index; neither planner can tell the two cases apart on its own.
        let project = match text {
            Some(t) if self.few_search_hits(t).await? => "(u.project_id || '')",
            _ => "u.project_id",
        };
        let mut params = Params::default();
        let mut sql = format!(
            "{USER_SELECT} WHERE {project} = {}",
            params.text(project_id)
        );
        if q.only_anonymous {
            sql.push_str(" AND u.is_anonymous = 1");
        } else if !q.include_anonymous {
            sql.push_str(" AND u.is_anonymous = 0");
        }
        let project_record = self.project_cached(project_id).await?;
        let require_verified = project_record
            .as_ref()
            .is_some_and(|p| p.config.require_email_verification);
        if !(q.include_restricted || q.include_anonymous || q.only_anonymous) {
            sql.push_str(" AND u.restricted_by_admin = 0");
            if require_verified {
                sql.push_str(" AND u.primary_email_verified = 1");
            }
        }
        if let Some(team) = &q.team_id {
            let p = params.text(team.as_str());
            sql.push_str(&format!(
                " AND u.id IN (SELECT user_id FROM team_members WHERE team_id = {p})"
            ));
        }
        if let Some(text) = text {
            let cond = search_condition(self.db.dialect, text, &mut params);
            sql.push_str(&format!(" AND {cond}"));
        }
        if let Some(cursor) = &q.cursor {
            let row: Option<(i64,)> = sqlx::query_as(&format!(
                "SELECT {col} FROM users WHERE project_id = $1 AND id = $2"
            ))
            .bind(project_id)
            .bind(cursor)
            .fetch_optional(&self.db.pool)
            .await?;
            let Some((value,)) = row else {
                return Err(crate::validation::invalid("query.cursor does not name a user of this project. Use the next_cursor of a previous page."));
            };
            let pv = params.int(value);
            let pc = params.text(cursor.as_str());
            // A row-value comparison: both databases seek the (project, column, id) index to
            // it, where an OR of two conditions makes PostgreSQL scan.
            let ge = if q.desc { "<=" } else { ">=" };
            sql.push_str(&format!(" AND (u.{col}, u.id) {ge} ({pv}, {pc})"));
        }
        let dir = if q.desc { "DESC" } else { "ASC" };
        let pl = params.int(limit + 1);
        sql.push_str(&format!(" ORDER BY u.{col} {dir}, u.id {dir} LIMIT {pl}"));
        let query = params.bind_as(sqlx::query_as::<_, User>(&sql));
        let mut items: Vec<User> = query.fetch_all(&self.db.pool).await?;
        for u in &mut items {
            u.email_verification_required = require_verified;
        }
        if let Some(p) = &project_record {
            self.attach_oauth_links(p, &mut items).await?;
        }
        // We fetched one row more than asked; if it came, it is the first of the next page.
        let next_cursor = if items.len() as i64 > limit {
            items.pop().map(|u| u.id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

/// `GET /users?query=`'s filter, as Stack matches: the user id when the text (without other
/// characters than letters, digits and `-_.`) is a UUID, otherwise a case-insensitive substring
/// of the display name or the email. Both databases answer from a trigram index kept by the
/// database (see the migrations); under three characters no trigram exists, so the condition
/// is checked row by row along the page's order, where such short text matches early.
fn search_condition(dialect: Dialect, text: &str, params: &mut Params) -> String {
    let mut any_of = Vec::new();
    let bare: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if uuid::Uuid::try_parse(&bare).is_ok_and(|_| bare.len() == 36) {
        any_of.push(format!("u.id = {}", params.text(bare.to_lowercase())));
    }
    if dialect == Dialect::Sqlite && text.chars().count() >= 3 {
        let phrase = fts_phrase(text);
        any_of.push(format!(
            "u.id IN (SELECT k.user_id FROM user_search s JOIN user_search_keys k ON k.n = s.rowid \
             WHERE user_search MATCH {})",
            params.text(phrase)
        ));
    } else {
        any_of.push(like_condition(&params.text(like_pattern(text))));
    }
    format!("({})", any_of.join(" OR "))
}

/// `%text%` for LIKE, lower-cased, its own `%`, `_` and `\\` matched literally.
fn like_pattern(text: &str) -> String {
    format!("%{}%", like_escaped(&text.to_lowercase()))
}

/// A user's email or display name contains the pattern in parameter `p` (see [`like_pattern`]);
/// the form the trigram indexes on PostgreSQL serve.
fn like_condition(p: &str) -> String {
    format!(
        "LOWER(u.primary_email) LIKE {p} ESCAPE '\\' OR LOWER(u.display_name) LIKE {p} ESCAPE '\\'"
    )
}

/// An FTS5 phrase: literal between double quotes, with `"` doubled.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Matches up to which a search's hits are sorted rather than found by walking a project.
const FEW_HITS: i64 = 5_000;

impl Core {
    /// Whether a search of three characters or more matches few users (in all projects), by
    /// counting at most [`FEW_HITS`] + 1 of them in the search index.
    async fn few_search_hits(&self, text: &str) -> Result<bool> {
        if text.chars().count() < 3 {
            return Ok(false);
        }
        let capped = FEW_HITS + 1;
        let hits: i64 = match self.db.dialect {
            Dialect::Sqlite => {
                sqlx::query_as::<_, (i64,)>(&format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM user_search WHERE user_search MATCH $1 LIMIT {capped})"
                ))
                .bind(fts_phrase(text))
                .fetch_one(&self.db.pool)
                .await?
                .0
            }
            Dialect::Postgres => {
                // Only the trigram indexes may answer (the planner's guess of how many rows
                // match is what cannot be trusted here).
                let mut tx = self.begin().await?;
                sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await?;
                sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
                let (hits,): (i64,) = sqlx::query_as(&format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM users u WHERE {} LIMIT {capped}) x",
                    like_condition("$1")
                ))
                .bind(like_pattern(text))
                .fetch_one(&mut *tx)
                .await?;
                tx.rollback().await?;
                hits
            }
        };
        Ok(hits <= FEW_HITS)
    }
}

/// A project at a glance, for the dashboard's overview.
pub struct ProjectStats {
    pub total_users: i64,
    /// Sign-ups per UTC day, oldest first, `days` entries ending today.
    pub sign_ups_per_day: Vec<i64>,
    pub recently_active: Vec<User>,
}

const DAY_MS: i64 = 86_400_000;

impl Core {
    /// Counts and the last `days` days of sign-ups (anonymous users left out), in two indexed
    /// queries whatever the project's size.
    pub async fn project_stats(&self, project_id: &str, days: i64) -> Result<ProjectStats> {
        let (total_users,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE project_id = $1 AND is_anonymous = 0")
                .bind(project_id)
                .fetch_one(&self.db.pool)
                .await?;
        let first_day = (now_ms() / DAY_MS - (days - 1)) * DAY_MS;
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (signed_up_at - $2) / 86400000 AS day, COUNT(*) FROM users \
             WHERE project_id = $1 AND signed_up_at >= $2 AND is_anonymous = 0 GROUP BY (signed_up_at - $2) / 86400000",
        )
        .bind(project_id)
        .bind(first_day)
        .fetch_all(&self.db.pool)
        .await?;
        let mut sign_ups_per_day = vec![0; days.max(0) as usize];
        for (day, count) in rows {
            if let Some(slot) = sign_ups_per_day.get_mut(day as usize) {
                *slot = count;
            }
        }
        let recently_active = self
            .list_users(
                project_id,
                &UserListQuery {
                    limit: Some(5),
                    order_by_last_active: true,
                    desc: true,
                    ..Default::default()
                },
            )
            .await?
            .items;
        Ok(ProjectStats {
            total_users,
            sign_ups_per_day,
            recently_active,
        })
    }
}
