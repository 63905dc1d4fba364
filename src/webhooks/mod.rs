//! Webhooks, delivered by Gatehouse itself and verifiable with the official `svix` libraries.
//!
//! A project's endpoints each get the messages whose type they listen to. Messages are made from
//! the project's change log (see [`crate::events`]) by one reader that resumes from its cursor
//! ([`Core::make_webhook_messages`]), so every path that changes a user, a team, a membership
//! or a permission sends its webhook without a call where the change is made. Each message is
//! delivered to each endpoint by a durable job ([`deliver`]) that signs it the Standard
//! Webhooks way, retries on Svix's schedule, and logs every attempt.

pub mod deliver;
mod ids;

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::{Error, Result};
use crate::events::{Change, Tx, Who};
use crate::jobs::{enqueue, NewJob};
use crate::projects::Project;
use crate::validation::invalid;
use crate::{now_ms, Core};

pub use ids::svix_id;

/// The job that delivers one message to one endpoint.
pub const DELIVER_JOB: &str = "webhook.deliver";

/// The event types a project's changes send, with Stack's names and payloads.
pub const EVENT_TYPES: [&str; 12] = [
    "user.created",
    "user.updated",
    "user.deleted",
    "team.created",
    "team.updated",
    "team.deleted",
    "team_membership.created",
    "team_membership.deleted",
    "team_permission.created",
    "team_permission.deleted",
    "project_permission.created",
    "project_permission.deleted",
];

/// The type of the dashboard's "send test event" message (Stack's name).
pub const TEST_EVENT: &str = "stack.test";

/// Svix's retry schedule: at once, then after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h.
pub const SVIX_SCHEDULE_MS: [i64; 7] = [
    0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000,
];

/// An endpoint failing without a break for this long is disabled (as Svix does), and the
/// project's admins are told.
pub const DISABLE_AFTER_MS: i64 = 5 * 24 * 3_600_000;

/// How long a rotated-out secret keeps signing beside the new one, unless the rotation says.
pub const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

/// How often the change log is read for new messages (the delay a webhook adds at most).
pub const MESSAGE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// Server-wide webhook settings (`GATEHOUSE_WEBHOOK_*`).
#[derive(Clone, Debug, Default)]
pub struct WebhookSettings {
    /// Waits before each attempt, the first usually 0; `None`: [`SVIX_SCHEDULE_MS`].
    pub retry_schedule_ms: Option<Vec<i64>>,
    /// Deliver to private, loopback and link-local addresses for every project (self-hosted
    /// setups whose receivers live on the same network).
    pub allow_private_addresses: bool,
    /// `None`: [`DISABLE_AFTER_MS`].
    pub disable_after_ms: Option<i64>,
}

impl WebhookSettings {
    pub fn schedule(&self) -> Vec<i64> {
        match &self.retry_schedule_ms {
            Some(s) if !s.is_empty() => s.clone(),
            _ => SVIX_SCHEDULE_MS.to_vec(),
        }
    }

    fn disable_after(&self) -> i64 {
        self.disable_after_ms.unwrap_or(DISABLE_AFTER_MS)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub project_id: String,
    pub url: String,
    pub description: String,
    /// `None`: every event type.
    pub event_types: Option<Vec<String>>,
    pub disabled: bool,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const ENDPOINT_COLUMNS: &str =
    "id, project_id, url, description, event_types, disabled, failing_since, created_at, updated_at";

impl sqlx::FromRow<'_, AnyRow> for Endpoint {
    fn from_row(r: &AnyRow) -> sqlx::Result<Endpoint> {
        let types: Option<String> = r.try_get("event_types")?;
        Ok(Endpoint {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            url: r.try_get("url")?,
            description: r.try_get("description")?,
            event_types: types.and_then(|t| serde_json::from_str(&t).ok()),
            disabled: r.try_get::<i64, _>("disabled")? != 0,
            failing_since: r.try_get("failing_since")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

impl Endpoint {
    pub fn listens_to(&self, event_type: &str) -> bool {
        event_type == TEST_EVENT
            || self
                .event_types
                .as_ref()
                .is_none_or(|types| types.iter().any(|t| t == event_type))
    }
}

/// An endpoint to make, or an endpoint's new settings.
#[derive(Clone, Debug, Default)]
pub struct EndpointInput {
    pub url: String,
    pub description: String,
    pub event_types: Option<Vec<String>>,
    pub disabled: bool,
    /// A `whsec_` secret to use; `None`: a new random one.
    pub secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: String,
    pub project_id: String,
    pub event_type: String,
    pub payload: Value,
    pub created_at: i64,
}

impl sqlx::FromRow<'_, AnyRow> for Message {
    fn from_row(r: &AnyRow) -> sqlx::Result<Message> {
        Ok(Message {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            event_type: r.try_get("event_type")?,
            payload: crate::db::json_column(r, "payload")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

/// One delivery attempt, as its log keeps it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Attempt {
    pub id: String,
    pub message_id: String,
    pub endpoint_id: String,
    pub url: String,
    /// `success` or `fail`.
    pub status: String,
    /// 0 when no answer came (refused address, timeout, connection error).
    pub response_status_code: i64,
    /// The start of the answer, or why none came.
    pub response: String,
    pub duration_ms: i64,
    /// `scheduled` or `manual`.
    pub trigger_type: String,
    pub created_at: i64,
}

const ATTEMPT_COLUMNS: &str = "id, message_id, endpoint_id, url, status, response_status_code, response, duration_ms, trigger_type, created_at";

/// A page of a list, newest first: its items and where the next page starts.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

fn check_input(project: &Project, core: &Core, input: &EndpointInput) -> Result<()> {
    deliver::check_url(&input.url, deliver::Allowance::of(core, project))?;
    if input.description.chars().count() > 1000 {
        return Err(invalid("body.description must be at most 1000 characters"));
    }
    for t in input.event_types.iter().flatten() {
        if !EVENT_TYPES.contains(&t.as_str()) && t != TEST_EVENT {
            return Err(invalid(format!(
                "body.eventTypes: {t:?} is not an event type Gatehouse sends (it sends {})",
                EVENT_TYPES.join(", ")
            )));
        }
    }
    if let Some(secret) = &input.secret {
        ids::secret_key(secret).ok_or_else(|| {
            invalid("body.secret must be whsec_ followed by the base64 of 24 to 64 random bytes")
        })?;
    }
    Ok(())
}

impl Core {
    pub async fn webhook_endpoints(&self, project_id: &str) -> Result<Vec<Endpoint>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(project_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    pub async fn webhook_endpoint(&self, project_id: &str, id: &str) -> Result<Endpoint> {
        sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| endpoint_not_found(id))
    }

    /// Adds an endpoint. The project's log is read into messages from here on (an endpoint
    /// gets the changes made after it, not the project's history).
    pub async fn create_webhook_endpoint(
        &self,
        project: &Project,
        input: EndpointInput,
        who: &Who,
    ) -> Result<Endpoint> {
        check_input(project, self, &input)?;
        let id = svix_id("ep");
        let secret = input.secret.clone().unwrap_or_else(ids::new_secret);
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, project_id, url, description, event_types, disabled, secret, \
             previous_secret, previous_secret_until, failing_since, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, $8, $8)",
        )
        .bind(&id)
        .bind(&project.id)
        .bind(&input.url)
        .bind(&input.description)
        .bind(input.event_types.as_ref().map(|t| json!(t).to_string()))
        .bind(i64::from(input.disabled))
        .bind(self.sealing.seal(&secret))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO webhook_cursors (project_id, position) \
             VALUES ($1, COALESCE((SELECT last FROM event_positions WHERE project_id = $1), 0)) \
             ON CONFLICT (project_id) DO NOTHING",
        )
        .bind(&project.id)
        .execute(&mut *tx)
        .await?;
        record_endpoint(&mut tx, &project.id, who, "webhook_endpoint.created", &id).await?;
        tx.commit().await?;
        self.webhook_endpoint(&project.id, &id).await
    }

    /// Replaces an endpoint's settings (its secret stays; see [`Core::rotate_webhook_secret`]).
    /// Enabling a disabled endpoint starts a new run of failures.
    pub async fn update_webhook_endpoint(
        &self,
        project: &Project,
        id: &str,
        input: EndpointInput,
        who: &Who,
    ) -> Result<Endpoint> {
        check_input(
            project,
            self,
            &EndpointInput {
                secret: None,
                ..input.clone()
            },
        )?;
        self.webhook_endpoint(&project.id, id).await?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, disabled = $6, \
             failing_since = CASE WHEN $6 = 0 AND disabled = 1 THEN NULL ELSE failing_since END, updated_at = $7 \
             WHERE project_id = $1 AND id = $2",
        )
        .bind(&project.id)
        .bind(id)
        .bind(&input.url)
        .bind(&input.description)
        .bind(input.event_types.as_ref().map(|t| json!(t).to_string()))
        .bind(i64::from(input.disabled))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        record_endpoint(&mut tx, &project.id, who, "webhook_endpoint.updated", id).await?;
        tx.commit().await?;
        self.webhook_endpoint(&project.id, id).await
    }

    pub async fn delete_webhook_endpoint(
        &self,
        project: &Project,
        id: &str,
        who: &Who,
    ) -> Result<()> {
        self.webhook_endpoint(&project.id, id).await?;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM webhook_endpoints WHERE project_id = $1 AND id = $2")
            .bind(&project.id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // With its last endpoint gone, the project's log is no longer read into messages (a
        // new endpoint starts a new cursor at the log's end).
        sqlx::query(
            "DELETE FROM webhook_cursors WHERE project_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE project_id = $1)",
        )
        .bind(&project.id)
        .execute(&mut *tx)
        .await?;
        record_endpoint(&mut tx, &project.id, who, "webhook_endpoint.deleted", id).await?;
        tx.commit().await
    }

    /// The endpoint's current signing secret (`whsec_…`).
    pub async fn webhook_secret(&self, project_id: &str, id: &str) -> Result<String> {
        Ok(self.webhook_secrets(project_id, id).await?.remove(0))
    }

    /// The secrets that sign for the endpoint now: the current one first, then the previous
    /// one while its grace period lasts.
    pub(crate) async fn webhook_secrets(&self, project_id: &str, id: &str) -> Result<Vec<String>> {
        let row: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT secret, previous_secret, previous_secret_until FROM webhook_endpoints WHERE project_id = $1 AND id = $2",
        )
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        let (secret, previous, until) = row.ok_or_else(|| endpoint_not_found(id))?;
        let open = |s: &str| {
            self.sealing.open(s).ok_or_else(|| {
                Error::internal("a webhook secret was sealed with another server secret")
            })
        };
        let mut out = vec![open(&secret)?];
        if let (Some(previous), Some(until)) = (previous, until) {
            if until > now_ms() {
                out.push(open(&previous)?);
            }
        }
        Ok(out)
    }

    /// Gives the endpoint a new secret (`key`, or a random one); the old one keeps signing
    /// beside it for `grace_ms` (default a day), so receivers can switch without a gap.
    pub async fn rotate_webhook_secret(
        &self,
        project: &Project,
        id: &str,
        key: Option<String>,
        grace_ms: Option<i64>,
        who: &Who,
    ) -> Result<()> {
        if let Some(key) = &key {
            ids::secret_key(key).ok_or_else(|| {
                invalid("body.key must be whsec_ followed by the base64 of 24 to 64 random bytes")
            })?;
        }
        let grace = grace_ms
            .unwrap_or(DEFAULT_GRACE_MS)
            .clamp(0, 7 * 24 * 3_600_000);
        self.webhook_endpoint(&project.id, id).await?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3, secret = $4, updated_at = $5 \
             WHERE project_id = $1 AND id = $2",
        )
        .bind(&project.id)
        .bind(id)
        .bind(now + grace)
        .bind(self.sealing.seal(&key.unwrap_or_else(ids::new_secret)))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        record_endpoint(
            &mut tx,
            &project.id,
            who,
            "webhook_endpoint.secret_rotated",
            id,
        )
        .await?;
        tx.commit().await
    }

    /// A project's messages, newest first, a page at a time (`before`: the last id seen).
    pub async fn webhook_messages(
        &self,
        project_id: &str,
        limit: i64,
        before: Option<&str>,
    ) -> Result<Page<Message>> {
        let rows: Vec<Message> = sqlx::query_as(
            "SELECT id, project_id, event_type, payload, created_at FROM webhook_messages \
             WHERE project_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(project_id)
        .bind(before)
        .bind(limit + 1)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(page(rows, limit, |m| m.id.clone()))
    }

    pub async fn webhook_message(&self, project_id: &str, id: &str) -> Result<Message> {
        sqlx::query_as(
            "SELECT id, project_id, event_type, payload, created_at FROM webhook_messages WHERE project_id = $1 AND id = $2",
        )
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| Error::Status(404, format!("Webhook message {id} not found.")))
    }

    /// Delivery attempts of one endpoint or of one message, newest first.
    pub async fn webhook_attempts(
        &self,
        project_id: &str,
        of: AttemptsOf<'_>,
        limit: i64,
        before: Option<&str>,
    ) -> Result<Page<Attempt>> {
        let (column, id) = match of {
            AttemptsOf::Endpoint(id) => ("endpoint_id", id),
            AttemptsOf::Message(id) => ("message_id", id),
        };
        let rows: Vec<Attempt> = sqlx::query_as(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE project_id = $1 AND {column} = $2 \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(project_id)
        .bind(id)
        .bind(before)
        .bind(limit + 1)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(page(rows, limit, |a| a.id.clone()))
    }

    /// Sends a message of the project's own making (the dashboard's test event, or the
    /// Svix-compatible `POST …/msg`) to every enabled endpoint that listens to its type, or
    /// only to `endpoint` when given.
    pub async fn send_webhook_message(
        &self,
        project: &Project,
        event_type: &str,
        payload: Value,
        endpoint: Option<&str>,
    ) -> Result<Message> {
        let mut tx = self.begin().await?;
        let made = Made {
            position: None,
            at: now_ms(),
        };
        let message = insert_message(
            &mut tx,
            self,
            &project.id,
            made,
            event_type,
            payload,
            endpoint,
        )
        .await?;
        tx.commit().await?;
        self.jobs_written();
        Ok(message)
    }

    /// The dashboard's "send test event": a `stack.test` message to one endpoint, and whether
    /// its first attempt succeeded (`Err` says why not, for the admin).
    pub async fn send_test_webhook(
        &self,
        project: &Project,
        endpoint_id: &str,
    ) -> Result<std::result::Result<(), String>> {
        let Ok(endpoint) = self.webhook_endpoint(&project.id, endpoint_id).await else {
            return Ok(Err(
                "There is no such endpoint; it may have been deleted.".into()
            ));
        };
        if endpoint.disabled {
            return Ok(Err(
                "The endpoint is disabled; enable it to send it events.".into(),
            ));
        }
        let payload = json!({
            "type": TEST_EVENT,
            "data": {
                "message": "A test event sent from the Gatehouse dashboard.",
                "endpointUrl": endpoint.url,
            },
        });
        let message = self
            .send_webhook_message(project, TEST_EVENT, payload, Some(endpoint_id))
            .await?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            let attempts = self
                .webhook_attempts(&project.id, AttemptsOf::Message(&message.id), 1, None)
                .await?;
            if let Some(a) = attempts.items.first() {
                return Ok(if a.status == "success" {
                    Ok(())
                } else if a.response_status_code > 0 {
                    Err(format!(
                        "The endpoint answered with status {}; it must answer 2xx.",
                        a.response_status_code
                    ))
                } else {
                    Err(format!("The event was not delivered: {}", a.response))
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(Err(
            "The event was not delivered in time; its attempts will show in the endpoint's log."
                .into(),
        ))
    }

    /// Delivers a message to an endpoint again, now (a manual attempt, on its own schedule).
    pub async fn resend_webhook_message(
        &self,
        project_id: &str,
        message_id: &str,
        endpoint_id: &str,
    ) -> Result<()> {
        self.webhook_message(project_id, message_id).await?;
        self.webhook_endpoint(project_id, endpoint_id).await?;
        let mut tx = self.begin().await?;
        enqueue_delivery(&mut tx, self, project_id, message_id, endpoint_id, "manual").await?;
        tx.commit().await?;
        self.jobs_written();
        Ok(())
    }

    /// Reads every project's change log from its cursor into messages, one transaction per
    /// project: the messages, their delivery jobs and the cursor's new place commit together.
    /// The cursor row is written first, so a second instance reading the same project waits
    /// for this one and then starts where it ended: each change becomes one message.
    pub async fn make_webhook_messages(&self) -> Result<usize> {
        let behind: Vec<(String,)> = sqlx::query_as(
            "SELECT c.project_id FROM webhook_cursors c JOIN event_positions p ON p.project_id = c.project_id \
             WHERE p.last > c.position",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut made = 0;
        for (project_id,) in behind {
            made += self.make_project_messages(&project_id).await?;
        }
        if made > 0 {
            self.jobs_written();
        }
        Ok(made)
    }

    /// Makes messages for the life of the process (`gatehouse serve` starts it beside the job
    /// worker), looking for new changes every [`MESSAGE_INTERVAL`].
    pub async fn make_webhook_messages_forever(self) {
        loop {
            if let Err(e) = self.make_webhook_messages().await {
                tracing::warn!("cannot make webhook messages from the change log yet: {e}");
            }
            tokio::time::sleep(MESSAGE_INTERVAL).await;
        }
    }

    async fn make_project_messages(&self, project_id: &str) -> Result<usize> {
        const PAGE: i64 = 200;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE webhook_cursors SET position = position WHERE project_id = $1")
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        let (from,): (i64,) =
            sqlx::query_as("SELECT position FROM webhook_cursors WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&mut *tx)
                .await?;
        let events: Vec<crate::events::Event> = sqlx::query_as(crate::events::EVENTS_AFTER)
            .bind(project_id)
            .bind(from)
            .bind(PAGE)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(0);
        };
        let mut made = 0;
        for event in events {
            if !EVENT_TYPES.contains(&event.kind.as_str()) {
                continue;
            }
            let Some(data) = self.payload_data(&event).await? else {
                continue;
            };
            let payload = json!({ "type": event.kind, "data": data });
            let from = Made {
                position: Some(event.position),
                at: event.created_at,
            };
            insert_message(&mut tx, self, project_id, from, &event.kind, payload, None).await?;
            made += 1;
        }
        sqlx::query("UPDATE webhook_cursors SET position = $2 WHERE project_id = $1")
            .bind(project_id)
            .bind(last)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(made)
    }

    /// A change's webhook data: the server read of the user or team for a creation or an
    /// update, as the change's transaction left it ([`snapshot_objects`] keeps it in the log
    /// while the project has webhooks; read now for a change that raced the project's first
    /// endpoint); what the log kept for the rest, which is Stack's shape already (`{id, teams}`
    /// for a deleted user, `{team_id, user_id}` for a membership, `{id, user_id, team_id}` for
    /// a permission).
    async fn payload_data(&self, event: &crate::events::Event) -> Result<Option<Value>> {
        let mut kept: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
        if !SNAPSHOT_KINDS.contains(&event.kind.as_str()) {
            return Ok(Some(kept));
        }
        if let Some(object) = kept.get_mut("object").map(Value::take) {
            return Ok(Some(object));
        }
        Ok(match event.kind.as_str() {
            "user.created" | "user.updated" => self
                .user(&event.project_id, &event.object_id)
                .await?
                .map(|u| u.server_view()),
            _ => self
                .team(&event.project_id, &event.object_id)
                .await?
                .map(|t| t.view(true)),
        })
    }
}

fn endpoint_not_found(id: &str) -> Error {
    Error::Status(404, format!("Webhook endpoint {id} not found."))
}

/// How long a token from `POST /webhooks/svix-token` lets the Svix-compatible API in.
pub const SVIX_TOKEN_LIFETIME_MS: i64 = 24 * 3_600_000;

impl Core {
    /// A token for the Svix-compatible API of one project (Stack's `svix-token`): the project
    /// and an expiry, sealed with the server's key, so nothing is stored and nobody can make
    /// one for another project.
    pub fn svix_token(&self, project_id: &str) -> String {
        let expires = now_ms() + SVIX_TOKEN_LIFETIME_MS;
        format!(
            "gh_wh_{}",
            self.sealing
                .seal(&format!("svix-token {project_id} {expires}"))
        )
    }

    /// The project a Svix token opens, while it is good.
    pub fn project_of_svix_token(&self, token: &str) -> Option<String> {
        let plain = self.sealing.open(token.strip_prefix("gh_wh_")?)?;
        let mut parts = plain.strip_prefix("svix-token ")?.split(' ');
        let (project, expires) = (parts.next()?, parts.next()?.parse::<i64>().ok()?);
        (expires > now_ms()).then(|| project.to_string())
    }
}

/// The changes whose webhook carries the object as the change left it.
const SNAPSHOT_KINDS: [&str; 4] = [
    "user.created",
    "user.updated",
    "team.created",
    "team.updated",
];

/// A commit hook (see [`crate::COMMIT_HOOKS`]): while a project has webhooks, a user's or a
/// team's creation or update keeps the object's server read in its log entry, read in the
/// change's own transaction, so the message made later carries the object as the change left
/// it, even when a later change (a deletion) has already followed.
pub(crate) fn snapshot_objects(
    tx: &mut Tx,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + '_>> {
    Box::pin(snapshot(tx))
}

async fn snapshot(tx: &mut Tx) -> Result<()> {
    let wanted: Vec<crate::events::Changed> = tx
        .changes()
        .iter()
        .filter(|c| SNAPSHOT_KINDS.contains(&c.kind.as_str()))
        .cloned()
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let core = tx.core().clone();
    let mut in_use: std::collections::HashMap<String, bool> = Default::default();
    for c in wanted {
        if !in_use.contains_key(&c.project_id) {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT position FROM webhook_cursors WHERE project_id = $1")
                    .bind(&c.project_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            in_use.insert(c.project_id.clone(), found.is_some());
        }
        if !in_use[&c.project_id] {
            continue;
        }
        let object = if c.kind.starts_with("user.") {
            let user: Option<crate::users::User> = sqlx::query_as(&format!(
                "{} WHERE u.project_id = $1 AND u.id = $2",
                crate::users::USER_SELECT
            ))
            .bind(&c.project_id)
            .bind(&c.object_id)
            .fetch_optional(&mut **tx)
            .await?;
            match (user, core.project_cached(&c.project_id).await?) {
                (Some(mut u), Some(p)) => {
                    u.email_verification_required = p.config.require_email_verification;
                    crate::oauth::accounts::attach_links(
                        &mut **tx,
                        &p,
                        std::slice::from_mut(&mut u),
                    )
                    .await?;
                    Some(u.server_view())
                }
                _ => None,
            }
        } else {
            let team: Option<crate::teams::Team> = sqlx::query_as(&format!(
                "SELECT {} FROM teams t WHERE t.project_id = $1 AND t.id = $2",
                crate::teams::TEAM_COLUMNS
            ))
            .bind(&c.project_id)
            .bind(&c.object_id)
            .fetch_optional(&mut **tx)
            .await?;
            team.map(|t| t.view(true))
        };
        let Some(object) = object else { continue };
        let mut data = c.data.clone();
        if !data.is_object() {
            data = json!({});
        }
        data["object"] = object;
        sqlx::query("UPDATE events SET data = $1 WHERE project_id = $2 AND position = $3")
            .bind(data.to_string())
            .bind(&c.project_id)
            .bind(c.position)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Which attempts to list.
#[derive(Clone, Copy, Debug)]
pub enum AttemptsOf<'a> {
    Endpoint(&'a str),
    Message(&'a str),
}

fn page<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Page {
        next: more.then(|| rows.last().map(&id)).flatten(),
        items: rows,
    }
}

async fn record_endpoint(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    id: &str,
) -> Result<()> {
    crate::events::record(tx, project_id, who, Change::new(kind, id, json!({}))).await?;
    Ok(())
}

/// Where a message comes from: a change (its log position and time), or a request now.
struct Made {
    position: Option<i64>,
    at: i64,
}

/// Writes a message and a delivery job for each enabled endpoint that listens to its type and
/// already existed when the change was made (an endpoint gets what happens after it, as in
/// Svix), or only for `only`.
async fn insert_message(
    tx: &mut Tx,
    core: &Core,
    project_id: &str,
    made: Made,
    event_type: &str,
    payload: Value,
    only: Option<&str>,
) -> Result<Message> {
    let Made { position, at } = made;
    let message = Message {
        id: svix_id("msg"),
        project_id: project_id.to_string(),
        event_type: event_type.to_string(),
        payload,
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO webhook_messages (id, project_id, position, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&message.id)
    .bind(project_id)
    .bind(position)
    .bind(&message.event_type)
    .bind(message.payload.to_string())
    .bind(message.created_at)
    .execute(&mut **tx)
    .await?;
    let endpoints: Vec<Endpoint> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE project_id = $1 AND disabled = 0 AND created_at <= $2"
    ))
    .bind(project_id)
    .bind(at)
    .fetch_all(&mut **tx)
    .await?;
    for e in endpoints {
        if e.listens_to(event_type) && only.is_none_or(|id| id == e.id) {
            enqueue_delivery(tx, core, project_id, &message.id, &e.id, "scheduled").await?;
        }
    }
    Ok(message)
}

async fn enqueue_delivery(
    tx: &mut Tx,
    core: &Core,
    project_id: &str,
    message_id: &str,
    endpoint_id: &str,
    trigger: &str,
) -> Result<()> {
    let mut job = NewJob::new(
        DELIVER_JOB,
        Some(project_id),
        json!({ "message_id": message_id, "endpoint_id": endpoint_id, "trigger": trigger }),
    );
    job.max_attempts = Some(core.webhooks.schedule().len() as i64);
    enqueue(tx, job).await?;
    Ok(())
}
