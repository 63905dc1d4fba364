//! Notification categories and each user's choice of them. Transactional emails (sign-in
//! codes, verification, resets) always go out; others carry an unsubscribe link, and the outbox
//! skips them for a user who turned their category off.

use serde_json::{json, Value};

use crate::codes::{consume_code, issue_code, CodeKind, NewCode};
use crate::error::{Error, Result};
use crate::events::Tx;
use crate::projects::Project;
use crate::{now_ms, Core};

use super::{MARKETING, TRANSACTIONAL};

/// A category of emails, as Stack lists them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Category {
    pub id: &'static str,
    pub name: &'static str,
    pub can_disable: bool,
    pub default_enabled: bool,
}

pub const CATEGORIES: [Category; 2] = [
    Category {
        id: TRANSACTIONAL,
        name: "Transactional",
        can_disable: false,
        default_enabled: true,
    },
    Category {
        id: MARKETING,
        name: "Marketing",
        can_disable: true,
        default_enabled: true,
    },
];

pub fn category(id: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.id == id)
}

/// A user's setting for one category.
#[derive(Clone, Debug, PartialEq)]
pub struct Preference {
    pub category: &'static Category,
    pub enabled: bool,
}

impl Preference {
    pub fn view(&self) -> Value {
        json!({
            "notification_category_id": self.category.id,
            "notification_category_name": self.category.name,
            "enabled": self.enabled,
            "can_disable": self.category.can_disable,
        })
    }
}

/// Unsubscribe links stay good for a year.
const UNSUBSCRIBE_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// An unsubscribe link for `user_id` from `category_id`, issued inside the email's transaction.
pub(crate) async fn unsubscribe_link(
    tx: &mut Tx,
    base_url: &str,
    project: &Project,
    user_id: &str,
    category_id: &str,
) -> Result<String> {
    let issued = issue_code(
        tx,
        NewCode {
            project_id: project.id.clone(),
            kind: CodeKind::Unsubscribe,
            user_id: Some(user_id.into()),
            method: json!({}),
            data: json!({ "user_id": user_id, "notification_category_id": category_id }),
            redirect_url: None,
            lifetime_ms: Some(UNSUBSCRIBE_MS),
        },
    )
    .await?;
    Ok(format!(
        "{base_url}/api/v1/emails/unsubscribe-link?code={}",
        issued.code
    ))
}

impl Core {
    pub async fn notification_preferences(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<Vec<Preference>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT category_id, enabled FROM notification_preferences WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project_id)
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(CATEGORIES
            .iter()
            .map(|c| Preference {
                category: c,
                enabled: rows
                    .iter()
                    .find(|(id, _)| id == c.id)
                    .map(|(_, on)| *on != 0)
                    .unwrap_or(c.default_enabled),
            })
            .collect())
    }

    pub async fn set_notification_preference(
        &self,
        project_id: &str,
        user_id: &str,
        category_id: &str,
        enabled: bool,
    ) -> Result<Preference> {
        let category = category(category_id)
            .ok_or_else(|| Error::Status(404, "Notification category not found".into()))?;
        let mut tx = self.begin().await?;
        write_preference(&mut tx, project_id, user_id, category.id, enabled).await?;
        tx.commit().await?;
        Ok(Preference { category, enabled })
    }

    /// Whether `user_id` takes emails of `category_id` (transactional ones always).
    pub async fn wants_emails(
        &self,
        project_id: &str,
        user_id: &str,
        category_id: &str,
    ) -> Result<bool> {
        let Some(c) = category(category_id) else {
            return Ok(true);
        };
        if !c.can_disable {
            return Ok(true);
        }
        let prefs = self.notification_preferences(project_id, user_id).await?;
        Ok(prefs
            .iter()
            .find(|p| p.category.id == c.id)
            .is_none_or(|p| p.enabled))
    }

    /// `GET /emails/unsubscribe-link?code=`: the link in an email turns its category off.
    /// `Ok(false)` when the link was used before.
    pub async fn unsubscribe(&self, code: &str) -> Result<bool> {
        let project_id = self
            .project_of_code(CodeKind::Unsubscribe, code)
            .await?
            .ok_or(Error::VerificationCodeNotFound)?;
        let found = match self
            .check_code(&project_id, CodeKind::Unsubscribe, code)
            .await
        {
            Err(Error::VerificationCodeAlreadyUsed) => return Ok(false),
            other => other?,
        };
        let user_id = found.data["user_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let category = found.data["notification_category_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &found).await?;
        write_preference(&mut tx, &project_id, &user_id, &category, false).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn write_preference(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    category_id: &str,
    enabled: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notification_preferences (project_id, user_id, category_id, enabled, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, category_id) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(category_id)
    .bind(enabled as i64)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
