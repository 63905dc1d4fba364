//! Emails: the outbox every email goes through, and the templates they are rendered from.
//!
//! An email is rendered when it is queued and written to the outbox together with the
//! `email.send` job that sends it, in the transaction of the change that causes it (a sign-up
//! and its verification email land together or not at all). The server's worker sends it over
//! SMTP — the project's own server, or the server-wide default — and, when no SMTP server is
//! configured anywhere, delivers it to the dev inbox: it is kept and shown in the dashboard, so
//! nothing fails for want of a mail server. Failed sends are retried with the jobs' backoff;
//! every attempt's error is kept on the email.

mod compose;
pub mod preferences;
pub mod templates;

pub use compose::template_for;
use compose::{render_content, resolve};

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::json_column;
use crate::error::{Error, Result};
use crate::events::Tx;
use crate::jobs::{enqueue, NewJob};
use crate::projects::Project;
use crate::{new_id, now_ms, Core};

pub const SEND_JOB: &str = "email.send";
/// Sends tried before an email is marked `server-error` (with backoff between them).
pub const MAX_SEND_ATTEMPTS: i64 = 6;

/// Stack's notification categories. Transactional emails cannot be turned off.
pub const TRANSACTIONAL: &str = "7bb82d33-2f54-4a3d-9d23-82739e0d66ef";
pub const MARKETING: &str = "4f6f8873-3d04-46bd-8bef-18338b1a1b4c";

/// A notification category by the name Stack gives it.
pub fn category_by_name(name: &str) -> Option<&'static str> {
    match name {
        "Transactional" => Some(TRANSACTIONAL),
        "Marketing" => Some(MARKETING),
        _ => None,
    }
}

/// Who an email goes to, as Stack names it.
#[derive(Clone, Debug, PartialEq)]
pub enum Recipient {
    UserPrimaryEmail {
        user_id: String,
    },
    UserCustomEmails {
        user_id: String,
        emails: Vec<String>,
    },
    CustomEmails {
        emails: Vec<String>,
    },
}

impl Recipient {
    pub fn view(&self) -> Value {
        match self {
            Recipient::UserPrimaryEmail { user_id } => {
                json!({ "type": "user-primary-email", "user_id": user_id })
            }
            Recipient::UserCustomEmails { user_id, emails } => {
                json!({ "type": "user-custom-emails", "user_id": user_id, "emails": emails })
            }
            Recipient::CustomEmails { emails } => {
                json!({ "type": "custom-emails", "emails": emails })
            }
        }
    }

    pub fn from_view(v: &Value) -> Option<Recipient> {
        let emails = || -> Option<Vec<String>> {
            v["emails"]
                .as_array()?
                .iter()
                .map(|e| e.as_str().map(str::to_string))
                .collect()
        };
        let user = || v["user_id"].as_str().map(str::to_string);
        match v["type"].as_str()? {
            "user-primary-email" => Some(Recipient::UserPrimaryEmail { user_id: user()? }),
            "user-custom-emails" => Some(Recipient::UserCustomEmails {
                user_id: user()?,
                emails: emails()?,
            }),
            "custom-emails" => Some(Recipient::CustomEmails { emails: emails()? }),
            _ => None,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Recipient::UserPrimaryEmail { user_id }
            | Recipient::UserCustomEmails { user_id, .. } => Some(user_id),
            Recipient::CustomEmails { .. } => None,
        }
    }
}

/// What an email says: one of the project's templates with variables, or HTML as given.
#[derive(Clone, Debug)]
pub enum Content {
    Template { id: String, variables: Value },
    Html { html: String },
}

/// An email to queue.
#[derive(Clone, Debug)]
pub struct NewEmail {
    pub to: Recipient,
    pub content: Content,
    /// Replaces the template's subject (required for HTML content).
    pub subject: Option<String>,
    pub theme_id: Option<String>,
    pub notification_category_id: Option<String>,
    pub is_high_priority: bool,
    /// Not before this time (epoch ms).
    pub scheduled_at: Option<i64>,
    /// Set by the outbox for emails a user may turn off (see [`preferences`]).
    pub unsubscribe_link: Option<String>,
}

impl NewEmail {
    /// A transactional email from one of the project's templates (codes, links, invitations):
    /// high priority, never unsubscribable.
    pub fn from_template(to: Recipient, template: &str, variables: Value) -> NewEmail {
        NewEmail {
            to,
            content: Content::Template {
                id: template.into(),
                variables,
            },
            subject: None,
            theme_id: None,
            notification_category_id: None,
            is_high_priority: true,
            scheduled_at: None,
            unsubscribe_link: None,
        }
    }

    /// A transactional notice written by Gatehouse itself (a lockout, a disabled webhook, a
    /// revoked key): its subject and HTML body, high priority, never unsubscribable.
    pub fn notice(to: Recipient, subject: String, html: String) -> NewEmail {
        NewEmail {
            to,
            content: Content::Html { html },
            subject: Some(subject),
            theme_id: None,
            notification_category_id: None,
            is_high_priority: true,
            scheduled_at: None,
            unsubscribe_link: None,
        }
    }
}

/// An email in the outbox.
#[derive(Clone, Debug)]
pub struct Email {
    pub id: String,
    pub project_id: String,
    pub to: Recipient,
    pub to_addresses: Vec<String>,
    pub template_id: Option<String>,
    pub source: String,
    pub theme_id: Option<String>,
    pub variables: Value,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub notification_category_id: Option<String>,
    pub is_transactional: bool,
    pub is_high_priority: bool,
    pub status: String,
    pub delivered_via: Option<String>,
    pub send_retries: i64,
    pub send_attempt_errors: Value,
    pub server_error: Option<String>,
    pub skipped_reason: Option<String>,
    pub scheduled_at: i64,
    pub rendered_at: i64,
    pub started_sending_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const EMAIL_COLUMNS: &str = "id, project_id, recipient, to_addresses, template_id, source, theme_id, variables, subject, html, text, \
     notification_category_id, is_transactional, is_high_priority, status, delivered_via, send_retries, send_attempt_errors, \
     server_error, skipped_reason, scheduled_at, rendered_at, started_sending_at, finished_at, created_at, updated_at";

/// Statuses in which an email may still be changed (Stack's editable states).
const EDITABLE: [&str; 4] = ["queued", "scheduled", "paused", "server-error"];

impl sqlx::FromRow<'_, AnyRow> for Email {
    fn from_row(r: &AnyRow) -> sqlx::Result<Email> {
        let recipient = json_column(r, "recipient")?;
        let addresses = json_column(r, "to_addresses")?;
        let errors: Option<String> = r.try_get("send_attempt_errors")?;
        Ok(Email {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            to: Recipient::from_view(&recipient)
                .ok_or_else(|| sqlx::Error::Decode("an email's recipient".into()))?,
            to_addresses: serde_json::from_value(addresses)
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            template_id: r.try_get("template_id")?,
            source: r.try_get("source")?,
            theme_id: r.try_get("theme_id")?,
            variables: json_column(r, "variables")?,
            subject: r.try_get("subject")?,
            html: r.try_get("html")?,
            text: r.try_get("text")?,
            notification_category_id: r.try_get("notification_category_id")?,
            is_transactional: r.try_get::<i64, _>("is_transactional")? != 0,
            is_high_priority: r.try_get::<i64, _>("is_high_priority")? != 0,
            status: r.try_get("status")?,
            delivered_via: r.try_get("delivered_via")?,
            send_retries: r.try_get("send_retries")?,
            send_attempt_errors: errors
                .and_then(|e| serde_json::from_str(&e).ok())
                .unwrap_or(Value::Null),
            server_error: r.try_get("server_error")?,
            skipped_reason: r.try_get("skipped_reason")?,
            scheduled_at: r.try_get("scheduled_at")?,
            rendered_at: r.try_get("rendered_at")?,
            started_sending_at: r.try_get("started_sending_at")?,
            finished_at: r.try_get("finished_at")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

impl Email {
    /// Stack's outbox entry: the base fields, then what the status adds.
    pub fn view(&self) -> Value {
        let simple = match self.status.as_str() {
            "sent" | "skipped" => "ok",
            "server-error" => "error",
            _ => "in-progress",
        };
        let mut v = json!({
            "id": self.id,
            "created_at_millis": self.created_at,
            "updated_at_millis": self.updated_at,
            "tsx_source": self.source,
            "theme_id": self.theme_id,
            "to": self.to.view(),
            "variables": self.variables,
            "skip_deliverability_check": false,
            "scheduled_at_millis": self.scheduled_at,
            "created_with": "programmatic-call",
            "email_draft_id": null,
            "email_programmatic_call_template_id": self.template_id,
            "send_retries": self.send_retries,
            "next_send_retry_at_millis": null,
            "send_attempt_errors": self.send_attempt_errors,
            "status": self.status,
            "simple_status": simple,
            "is_paused": self.status == "paused",
            "has_rendered": false,
            "has_delivered": self.status == "sent",
        });
        // Stack's outbox schema is one shape per status: a paused email shows only the base
        // fields; rendered fields come with the statuses after rendering, and the sending time
        // only with those after a send began (`interface/crud/email-outbox.ts`).
        if self.status != "paused" {
            v["has_rendered"] = json!(true);
            v["started_rendering_at_millis"] = json!(self.rendered_at);
            v["rendered_at_millis"] = json!(self.rendered_at);
            v["subject"] = json!(self.subject);
            v["html"] = json!(self.html);
            v["text"] = json!(self.text);
            v["is_transactional"] = json!(self.is_transactional);
            v["is_high_priority"] = json!(self.is_high_priority);
            v["notification_category_id"] = json!(self.notification_category_id);
        }
        if let (Some(at), "sending" | "server-error" | "sent" | "skipped") =
            (self.started_sending_at, self.status.as_str())
        {
            v["started_sending_at_millis"] = json!(at);
        }
        match self.status.as_str() {
            "sent" => {
                v["delivered_at_millis"] = json!(self.finished_at);
                v["can_have_delivery_info"] = json!(false);
            }
            "server-error" => {
                v["error_at_millis"] = json!(self.finished_at);
                v["server_error"] = json!(self.server_error);
            }
            "skipped" => {
                v["skipped_at_millis"] = json!(self.finished_at);
                v["skipped_reason"] = json!(self.skipped_reason);
                v["skipped_details"] = json!({});
            }
            _ => {}
        }
        v
    }

    pub fn is_editable(&self) -> bool {
        EDITABLE.contains(&self.status.as_str())
    }
}

/// Renders `new` for `project` and writes it to the outbox with its send job, in `tx`.
pub async fn queue_email(
    tx: &mut Tx,
    base_url: &str,
    project: &Project,
    mut new: NewEmail,
) -> Result<Email> {
    let reader = resolve(tx, project, &new.to).await?;
    // Emails a user may turn off carry a link that does.
    let category = new
        .notification_category_id
        .as_deref()
        .unwrap_or(TRANSACTIONAL);
    if let (Some(user_id), Some(c)) = (new.to.user_id(), preferences::category(category)) {
        if c.can_disable {
            let link = preferences::unsubscribe_link(tx, base_url, project, user_id, c.id).await?;
            if let Content::Template { variables, .. } = &mut new.content {
                variables["unsubscribeLink"] = json!(link);
            }
            new.unsubscribe_link = Some(link);
        }
    }
    let (template_id, source, rendered, variables) = render_content(project, &new, &reader)?;
    let to_addresses = reader.addresses;
    let now = now_ms();
    let scheduled_at = new.scheduled_at.unwrap_or(now).max(now);
    let category = new
        .notification_category_id
        .clone()
        .unwrap_or_else(|| TRANSACTIONAL.into());
    let email = Email {
        id: new_id(),
        project_id: project.id.clone(),
        to: new.to.clone(),
        to_addresses,
        template_id,
        source,
        theme_id: new.theme_id.clone(),
        variables,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        is_transactional: category == TRANSACTIONAL,
        notification_category_id: Some(category),
        is_high_priority: new.is_high_priority,
        status: if scheduled_at > now {
            "scheduled"
        } else {
            "queued"
        }
        .into(),
        delivered_via: None,
        send_retries: 0,
        send_attempt_errors: Value::Null,
        server_error: None,
        skipped_reason: None,
        scheduled_at,
        rendered_at: now,
        started_sending_at: None,
        finished_at: None,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(&format!(
        "INSERT INTO emails ({EMAIL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
    ))
    .bind(&email.id)
    .bind(&email.project_id)
    .bind(email.to.view().to_string())
    .bind(json!(email.to_addresses).to_string())
    .bind(&email.template_id)
    .bind(&email.source)
    .bind(&email.theme_id)
    .bind(email.variables.to_string())
    .bind(&email.subject)
    .bind(&email.html)
    .bind(&email.text)
    .bind(&email.notification_category_id)
    .bind(email.is_transactional as i64)
    .bind(email.is_high_priority as i64)
    .bind(&email.status)
    .bind(&email.delivered_via)
    .bind(email.send_retries)
    .bind(None::<String>)
    .bind(&email.server_error)
    .bind(&email.skipped_reason)
    .bind(email.scheduled_at)
    .bind(email.rendered_at)
    .bind(email.started_sending_at)
    .bind(email.finished_at)
    .bind(email.created_at)
    .bind(email.updated_at)
    .execute(&mut **tx)
    .await?;
    enqueue_send(tx, &email).await?;
    Ok(email)
}

async fn enqueue_send(tx: &mut Tx, email: &Email) -> Result<()> {
    enqueue(
        tx,
        NewJob {
            run_at: Some(email.scheduled_at),
            max_attempts: Some(MAX_SEND_ATTEMPTS),
            ..NewJob::new(
                SEND_JOB,
                Some(&email.project_id),
                json!({ "email_id": email.id }),
            )
        },
    )
    .await?;
    Ok(())
}

/// An SMTP server to send through: a project's own (`emails.server` with `isShared: false`) or
/// the server-wide default (`GATEHOUSE_SMTP_URL`, or Stack's `STACK_EMAIL_*`).
#[derive(Clone, Debug, PartialEq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub sender_name: String,
    pub sender_email: String,
    /// TLS from the first byte (port 465, or `smtps://`); otherwise STARTTLS when offered.
    pub implicit_tls: bool,
}

impl SmtpServer {
    /// A project's own server from its rendered config, when it has one.
    pub fn of_project(project: &Project) -> Option<SmtpServer> {
        let s = &project.config.tree["emails"]["server"];
        if s["isShared"] != json!(false) {
            return None;
        }
        let text = |k: &str| s[k].as_str().filter(|v| !v.is_empty()).map(str::to_string);
        let port = s["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(587);
        Some(SmtpServer {
            host: text("host")?,
            port,
            implicit_tls: port == 465,
            username: text("username"),
            password: text("password"),
            sender_name: text("senderName").unwrap_or_else(|| project.display_name.clone()),
            sender_email: text("senderEmail")?,
        })
    }
}

/// The query of `GET /emails/outbox`.
#[derive(Clone, Debug, Default)]
pub struct OutboxQuery {
    pub status: Option<String>,
    pub simple_status: Option<String>,
    pub limit: i64,
    pub cursor: Option<String>,
}

/// A change to a queued email (`PATCH /emails/outbox/{id}`).
#[derive(Clone, Debug, Default)]
pub struct EmailUpdate {
    pub to: Option<Recipient>,
    /// New HTML for the email (it stops following its template).
    pub source: Option<String>,
    pub variables: Option<Value>,
    pub theme_id: Option<Option<String>>,
    pub scheduled_at: Option<i64>,
    pub is_paused: Option<bool>,
    pub cancel: bool,
}

impl Core {
    /// Where a project's emails go: its own SMTP server, else the server-wide one, else (`None`)
    /// the dev inbox.
    pub fn smtp_server_for(&self, project: &Project) -> Option<SmtpServer> {
        SmtpServer::of_project(project).or_else(|| {
            self.smtp.as_deref().cloned().map(|mut s| {
                if s.sender_name.is_empty() {
                    s.sender_name = project.display_name.clone();
                }
                s
            })
        })
    }

    /// `POST /emails/send-email`: one email per user (every user of the project when `user_ids`
    /// is `None`), all queued or none. Needs the project's own SMTP server, as in Stack.
    pub async fn send_email_to_users(
        &self,
        project: &Project,
        user_ids: Option<Vec<String>>,
        email: NewEmail,
    ) -> Result<Vec<String>> {
        if SmtpServer::of_project(project).is_none() {
            return Err(Error::RequiresCustomEmailServer);
        }
        let ids = match user_ids {
            Some(ids) => {
                let mut unique = ids.clone();
                unique.sort();
                unique.dedup();
                for id in &unique {
                    if !crate::is_uuid(id) || self.user(&project.id, id).await?.is_none() {
                        return Err(Error::UserIdDoesNotExist(id.clone()));
                    }
                }
                ids
            }
            None => {
                sqlx::query_scalar(
                    "SELECT id FROM users WHERE project_id = $1 ORDER BY signed_up_at, id",
                )
                .bind(&project.id)
                .fetch_all(&self.db.pool)
                .await?
            }
        };
        let mut tx = self.begin().await?;
        for id in &ids {
            let new = NewEmail {
                to: Recipient::UserPrimaryEmail {
                    user_id: id.clone(),
                },
                ..email.clone()
            };
            queue_email(&mut tx, &self.public_url, project, new).await?;
        }
        tx.commit().await?;
        self.jobs_written();
        Ok(ids)
    }

    /// Queues one email on its own (see [`queue_email`] to queue it with another change).
    pub async fn queue_email(&self, project: &Project, new: NewEmail) -> Result<Email> {
        let mut tx = self.begin().await?;
        let email = queue_email(&mut tx, &self.public_url, project, new).await?;
        tx.commit().await?;
        self.jobs_written();
        Ok(email)
    }

    pub async fn email(&self, project_id: &str, id: &str) -> Result<Option<Email>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {EMAIL_COLUMNS} FROM emails WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// A page of the outbox, newest first; the cursor is the id of the first email of the next
    /// page.
    pub async fn outbox(
        &self,
        project_id: &str,
        q: &OutboxQuery,
    ) -> Result<(Vec<Email>, Option<String>)> {
        let start: Option<(i64, String)> = match &q.cursor {
            Some(id) => {
                sqlx::query_as(
                    "SELECT created_at, id FROM emails WHERE project_id = $1 AND id = $2",
                )
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?
            }
            None => None,
        };
        let (at, id) = start.unwrap_or((i64::MAX, String::new()));
        let statuses: Vec<&str> = match (q.status.as_deref(), q.simple_status.as_deref()) {
            (Some(s), _) => vec![s],
            (None, Some("ok")) => vec!["sent", "skipped"],
            (None, Some("error")) => vec!["server-error"],
            (None, Some("in-progress")) => vec!["queued", "scheduled", "paused", "sending"],
            (None, Some(_)) => vec![],
            (None, None) => vec![
                "queued",
                "scheduled",
                "paused",
                "sending",
                "sent",
                "skipped",
                "server-error",
            ],
        };
        if statuses.is_empty() {
            return Ok((vec![], None));
        }
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(", ");
        let mut rows: Vec<Email> = sqlx::query_as(&format!(
            "SELECT {EMAIL_COLUMNS} FROM emails WHERE project_id = $1 AND status IN ({list}) \
             AND (created_at < $2 OR (created_at = $2 AND id >= $3)) ORDER BY created_at DESC, id LIMIT $4"
        ))
        .bind(project_id)
        .bind(at)
        .bind(&id)
        .bind(q.limit + 1)
        .fetch_all(&self.db.pool)
        .await?;
        let next = (rows.len() as i64 > q.limit)
            .then(|| rows.pop().map(|e| e.id))
            .flatten();
        Ok((rows, next))
    }

    /// Changes an email not yet being sent; others answer `EMAIL_NOT_EDITABLE`.
    pub async fn update_email(
        &self,
        project: &Project,
        id: &str,
        update: EmailUpdate,
    ) -> Result<Email> {
        let mut tx = self.begin().await?;
        // The write lock first, so a worker starting to send it waits for this change or wins.
        sqlx::query("UPDATE emails SET updated_at = updated_at WHERE project_id = $1 AND id = $2")
            .bind(&project.id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let email: Email = sqlx::query_as(&format!(
            "SELECT {EMAIL_COLUMNS} FROM emails WHERE project_id = $1 AND id = $2"
        ))
        .bind(&project.id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::Status(404, "Email not found".into()))?;
        if !email.is_editable() {
            return Err(Error::EmailNotEditable {
                id: email.id,
                status: email.status.to_ascii_uppercase().replace('-', "_"),
            });
        }
        let now = now_ms();
        let mut e = email.clone();
        if update.cancel {
            e.status = "skipped".into();
            e.skipped_reason = Some("MANUALLY_CANCELLED".into());
            e.finished_at = Some(now);
        } else {
            let rerender = update.to.is_some()
                || update.variables.is_some()
                || update.theme_id.is_some()
                || update.source.is_some();
            if rerender {
                if let Some(source) = &update.source {
                    e.template_id = None;
                    e.source = source.clone();
                }
                let content = match &e.template_id {
                    Some(t) => Content::Template {
                        id: t.clone(),
                        variables: update.variables.clone().unwrap_or(e.variables.clone()),
                    },
                    None => Content::Html {
                        html: e.source.clone(),
                    },
                };
                let new = NewEmail {
                    to: update.to.clone().unwrap_or(e.to.clone()),
                    content,
                    subject: (e.template_id.is_none()).then(|| e.subject.clone()),
                    theme_id: update.theme_id.clone().unwrap_or(e.theme_id.clone()),
                    notification_category_id: e.notification_category_id.clone(),
                    is_high_priority: e.is_high_priority,
                    scheduled_at: None,
                    unsubscribe_link: e
                        .variables
                        .get("unsubscribeLink")
                        .and_then(|l| l.as_str())
                        .map(str::to_string),
                };
                let reader = resolve(&mut tx, project, &new.to).await?;
                let (_, _, rendered, variables) = render_content(project, &new, &reader)?;
                let addresses = reader.addresses;
                e.to = new.to;
                e.to_addresses = addresses;
                e.theme_id = new.theme_id;
                e.variables = variables;
                e.subject = rendered.subject;
                e.html = rendered.html;
                e.text = rendered.text;
                e.rendered_at = now;
                e.send_retries = 0;
                e.send_attempt_errors = Value::Null;
                e.server_error = None;
            }
            if let Some(at) = update.scheduled_at {
                e.scheduled_at = at;
            }
            match update.is_paused {
                Some(true) => e.status = "paused".into(),
                Some(false) if e.status == "paused" => e.status = "queued".into(),
                _ => {}
            }
            if rerender && e.status == "server-error" {
                e.status = "queued".into();
            }
            if matches!(e.status.as_str(), "queued" | "scheduled") {
                e.status = if e.scheduled_at > now {
                    "scheduled"
                } else {
                    "queued"
                }
                .into();
            }
        }
        e.updated_at = now;
        sqlx::query(
            "UPDATE emails SET recipient = $3, to_addresses = $4, theme_id = $5, variables = $6, subject = $7, html = $8, text = $9, \
             status = $10, send_retries = $11, send_attempt_errors = $12, server_error = $13, skipped_reason = $14, scheduled_at = $15, \
             rendered_at = $16, finished_at = $17, updated_at = $18, template_id = $19, source = $20 WHERE project_id = $1 AND id = $2",
        )
        .bind(&project.id)
        .bind(&e.id)
        .bind(e.to.view().to_string())
        .bind(json!(e.to_addresses).to_string())
        .bind(&e.theme_id)
        .bind(e.variables.to_string())
        .bind(&e.subject)
        .bind(&e.html)
        .bind(&e.text)
        .bind(&e.status)
        .bind(e.send_retries)
        .bind((!e.send_attempt_errors.is_null()).then(|| e.send_attempt_errors.to_string()))
        .bind(&e.server_error)
        .bind(&e.skipped_reason)
        .bind(e.scheduled_at)
        .bind(e.rendered_at)
        .bind(e.finished_at)
        .bind(e.updated_at)
        .bind(&e.template_id)
        .bind(&e.source)
        .execute(&mut *tx)
        .await?;
        // A failed email given another chance, or one moved in time, gets a new send job; the
        // worker skips any earlier job whose email is not due or not queued any more.
        if matches!(e.status.as_str(), "queued" | "scheduled")
            && (email.status != e.status || email.scheduled_at != e.scheduled_at)
        {
            enqueue_send(&mut tx, &e).await?;
        }
        tx.commit().await?;
        self.jobs_written();
        Ok(e)
    }

    /// The worker's first step: takes a due, queued email for sending (`sending`), or `None`
    /// when it is not to be sent now (paused, cancelled, sent, or rescheduled later).
    pub async fn take_email_for_sending(&self, id: &str) -> Result<Option<Email>> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE emails SET status = 'sending', started_sending_at = $2, updated_at = $2 \
             WHERE id = $1 AND status IN ('queued', 'scheduled') AND scheduled_at <= $2",
        )
        .bind(id)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(
            sqlx::query_as(&format!("SELECT {EMAIL_COLUMNS} FROM emails WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?,
        )
    }

    /// Records a delivery: over SMTP, or into the dev inbox.
    pub async fn email_delivered(&self, id: &str, via: &str) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE emails SET status = 'sent', delivered_via = $2, finished_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(via)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Records an email that was not sent, and why (`USER_HAS_NO_PRIMARY_EMAIL`).
    pub async fn email_skipped(&self, id: &str, reason: &str) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE emails SET status = 'skipped', skipped_reason = $2, finished_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(reason)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Records a failed send. The email waits for the next try (`queued`), or is marked
    /// `server-error` after the last one.
    pub async fn email_send_failed(
        &self,
        email: &Email,
        attempt: i64,
        error: &str,
        last: bool,
    ) -> Result<()> {
        let now = now_ms();
        let mut errors = match &email.send_attempt_errors {
            Value::Array(a) => a.clone(),
            _ => vec![],
        };
        errors.push(json!({
            "attempt_number": attempt,
            "timestamp": crate::iso_time(now),
            "external_message": "The email could not be sent.",
            "external_details": {},
            "internal_message": error,
            "internal_details": {},
        }));
        sqlx::query(
            "UPDATE emails SET status = $2, send_retries = $3, send_attempt_errors = $4, server_error = $5, \
             finished_at = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(&email.id)
        .bind(if last { "server-error" } else { "queued" })
        .bind(attempt)
        .bind(Value::Array(errors).to_string())
        .bind(last.then_some(error))
        .bind(last.then_some(now))
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }
}
