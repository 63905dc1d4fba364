//! Teams, minimal for now: a user's personal team, membership, and `selected_team_id` (the
//! teams API comes later).

use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::error::Result;
use crate::{new_id, now_ms, Core};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Team {
    pub id: String,
    pub project_id: String,
    pub display_name: String,
    pub profile_image_url: Option<String>,
    pub client_metadata: Option<String>,
    pub client_read_only_metadata: Option<String>,
    pub server_metadata: Option<String>,
    pub created_at: i64,
}

pub(crate) fn json_or_null(text: &Option<String>) -> Value {
    text.as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// Creates a team and, when a creator is named, makes them its first member.
pub(crate) async fn insert_team(
    tx: &mut Transaction<'_, Any>,
    project_id: &str,
    display_name: &str,
    creator_user_id: Option<&str>,
) -> Result<String> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO teams (id, project_id, display_name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(display_name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if let Some(user_id) = creator_user_id {
        sqlx::query("INSERT INTO team_members (team_id, user_id, project_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(user_id)
            .bind(project_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE users SET selected_team_id = $2 WHERE id = $1 AND selected_team_id IS NULL",
        )
        .bind(user_id)
        .bind(&id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// The name of a new user's personal team, from what we know of them.
pub(crate) fn personal_team_name(display_name: Option<&str>, email: Option<&str>) -> String {
    match (display_name, email) {
        (Some(n), _) if !n.trim().is_empty() => format!("{n}'s Team"),
        (_, Some(e)) => format!("{}'s Team", e.split('@').next().unwrap_or(e)),
        _ => "Personal Team".into(),
    }
}

impl Core {
    pub async fn teams_of_user(&self, user_id: &str) -> Result<Vec<Team>> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.project_id, t.display_name, t.profile_image_url, t.client_metadata, t.client_read_only_metadata, \
             t.server_metadata, t.created_at FROM teams t JOIN team_members m ON m.team_id = t.id \
             WHERE m.user_id = $1 ORDER BY m.created_at, t.id",
        )
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    pub async fn is_team_member(&self, team_id: &str, user_id: &str) -> Result<bool> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT team_id FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(team_id)
                .bind(user_id)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.is_some())
    }
}
