//! Emails: sending to users, and the outbox.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::emails::{
    category_by_name, Content, EmailUpdate, NewEmail, OutboxQuery, Recipient,
};
use gatehouse_core::validation::{
    any, array, boolean, nested, number, object, string, Input, Shape,
};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Authed, Body, QueryParams};
use super::{list, ApiResult};

const MAX_LIMIT: i64 = 100;

#[derive(Deserialize)]
pub struct SendEmail {
    user_ids: Option<Vec<String>>,
    all_users: Option<bool>,
    subject: Option<String>,
    notification_category_name: Option<String>,
    theme_id: Option<Value>,
    is_high_priority: Option<bool>,
    scheduled_at_millis: Option<f64>,
    html: Option<String>,
    template_id: Option<String>,
    variables: Option<Value>,
    draft_id: Option<String>,
}

impl Input for SendEmail {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("user_ids", array(string().defined()))
            .field("all_users", boolean().one_of(&[json!(true)]))
            .field("subject", string())
            .field("notification_category_name", string())
            .field("theme_id", any())
            .field("is_high_priority", boolean())
            .field("scheduled_at_millis", number())
            .field("html", string())
            .field("template_id", string().uuid())
            .field("variables", object())
            .field("draft_id", string())
    }
}

/// `POST /emails/send-email`: HTML or a template to some users, or to all of them.
pub async fn send(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let b: SendEmail = body.read(&auth)?;
    if gatehouse_core::emails::SmtpServer::of_project(&auth.project).is_none() {
        return Err(Error::RequiresCustomEmailServer.into());
    }
    let user_ids = match (b.user_ids, b.all_users) {
        (Some(ids), None) => Some(ids),
        (None, Some(true)) => None,
        _ => {
            return Err(Error::SchemaMessage(
                "Exactly one of user_ids or all_users must be provided".into(),
            )
            .into())
        }
    };
    let category = match b.notification_category_name.as_deref() {
        Some(name) => Some(category_by_name(name).ok_or_else(|| {
            Error::Status(
                400,
                "Notification category not found with given name".into(),
            )
        })?),
        None => None,
    };
    let content = match (b.html, b.template_id, b.draft_id) {
        (Some(html), None, None) => Content::Html { html },
        (None, Some(id), None) => Content::Template {
            id,
            variables: b.variables.unwrap_or_else(|| json!({})),
        },
        (None, None, Some(_)) => {
            return Err(Error::Status(400, "No draft found with given draft_id".into()).into())
        }
        _ => {
            return Err(Error::SchemaMessage(
                "Either template_id, html, or draft_id must be provided".into(),
            )
            .into())
        }
    };
    let email = NewEmail {
        to: Recipient::CustomEmails { emails: vec![] },
        content,
        subject: b.subject,
        theme_id: b.theme_id.and_then(|t| t.as_str().map(str::to_string)),
        notification_category_id: category.map(str::to_string),
        is_high_priority: b.is_high_priority.unwrap_or(false),
        scheduled_at: b.scheduled_at_millis.map(|t| t as i64),
        unsubscribe_link: None,
    };
    let sent = core
        .send_email_to_users(&auth.project, user_ids, email)
        .await?;
    Ok(Json(json!({
        "results": sent.into_iter().map(|id| json!({ "user_id": id })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
pub struct OutboxParams {
    status: Option<String>,
    simple_status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

impl Input for OutboxParams {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("status", string())
            .field("simple_status", string())
            .field("limit", string())
            .field("cursor", string().uuid())
    }
}

/// `GET /emails/outbox`: newest first, a page at a time.
pub async fn outbox(
    State(core): State<Core>,
    Authed(auth): Authed,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let q: OutboxParams = query.read(&auth)?;
    let limit = match q.limit.as_deref() {
        None => MAX_LIMIT,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Ok(n) if n > MAX_LIMIT => {
                return Err(Error::Status(400, format!("Limit cannot exceed {MAX_LIMIT}")).into())
            }
            _ => return Err(Error::Status(400, "Invalid limit parameter".into()).into()),
        },
    };
    let (emails, next) = core
        .outbox(
            &auth.project.id,
            &OutboxQuery {
                status: q.status,
                simple_status: q.simple_status,
                limit,
                cursor: q.cursor,
            },
        )
        .await?;
    Ok(Json(json!({
        "items": emails.iter().map(|e| e.view()).collect::<Vec<_>>(),
        "is_paginated": true,
        "pagination": { "next_cursor": next },
    })))
}

pub async fn read(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let email = core
        .email(&auth.project.id, &id)
        .await?
        .ok_or_else(|| Error::Status(404, "Email not found".into()))?;
    Ok(Json(email.view()))
}

#[derive(Deserialize)]
pub struct UpdateEmail {
    tsx_source: Option<String>,
    theme_id: Option<Option<String>>,
    to: Option<Value>,
    variables: Option<Value>,
    skip_deliverability_check: Option<bool>,
    scheduled_at_millis: Option<f64>,
    is_paused: Option<bool>,
    cancel: Option<bool>,
}

impl Input for UpdateEmail {
    fn shape(_: bool) -> Shape {
        let recipient = Shape::new()
            .field(
                "type",
                string().defined().one_of(&[
                    json!("user-primary-email"),
                    json!("user-custom-emails"),
                    json!("custom-emails"),
                ]),
            )
            .field("user_id", string())
            .field("emails", array(string().defined()));
        Shape::new()
            .field("tsx_source", string())
            .field("theme_id", string().nullable())
            .field("to", nested(recipient))
            .field("variables", object())
            .field("skip_deliverability_check", boolean())
            .field("scheduled_at_millis", number())
            .field("is_paused", boolean())
            .field("cancel", boolean().one_of(&[json!(true)]))
    }
}

/// `PATCH /emails/outbox/{id}`: change, pause, resume or cancel an email not yet sent.
pub async fn update(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let b: UpdateEmail = body.read(&auth)?;
    // Gatehouse makes no deliverability checks, so there is nothing to skip.
    let _ = b.skip_deliverability_check;
    let to = match &b.to {
        Some(v) => Some(Recipient::from_view(v).ok_or_else(|| {
            gatehouse_core::validation::invalid(
                "body.to must name a user_id and/or emails as its type needs",
            )
        })?),
        None => None,
    };
    let email = core
        .update_email(
            &auth.project,
            &id,
            EmailUpdate {
                to,
                source: b.tsx_source,
                variables: b.variables,
                theme_id: b.theme_id,
                scheduled_at: b.scheduled_at_millis.map(|t| t as i64),
                is_paused: b.is_paused,
                cancel: b.cancel == Some(true),
            },
        )
        .await?;
    Ok(Json(email.view()))
}

/// The user a notification-preference path names: `me`, or (server access) anyone; a client
/// manages only its own.
async fn preference_owner(
    core: &Core,
    auth: &gatehouse_core::auth::Auth,
    user_id: &str,
    verb: &str,
) -> Result<String, Error> {
    let me = auth.user.as_ref();
    if user_id == "me" {
        return me
            .map(|u| u.id.clone())
            .ok_or(Error::UserAuthenticationRequired);
    }
    if !auth.is_server() {
        let me = me.ok_or(Error::UserAuthenticationRequired)?;
        if me.id != user_id {
            return Err(Error::Status(
                403,
                format!("You can only {verb} your own notification preferences"),
            ));
        }
        return Ok(me.id.clone());
    }
    match core.user(&auth.project.id, user_id).await? {
        Some(u) => Ok(u.id),
        None => Err(Error::UserNotFound),
    }
}

/// `GET /emails/notification-preference/{user_id}`.
pub async fn preferences(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user_id = preference_owner(&core, &auth, &user_id, "view").await?;
    let prefs = core
        .notification_preferences(&auth.project.id, &user_id)
        .await?;
    Ok(list(prefs.iter().map(|p| p.view()).collect(), None))
}

#[derive(Deserialize)]
pub struct PreferenceUpdate {
    enabled: bool,
}

impl Input for PreferenceUpdate {
    fn shape(_: bool) -> Shape {
        Shape::new().field("enabled", boolean().defined())
    }
}

/// `PATCH /emails/notification-preference/{user_id}/{category_id}`.
pub async fn update_preference(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, category_id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: PreferenceUpdate = body.read(&auth)?;
    if gatehouse_core::emails::preferences::category(&category_id).is_none() {
        return Err(Error::Status(404, "Notification category not found".into()).into());
    }
    let user_id = preference_owner(&core, &auth, &user_id, "manage").await?;
    let p = core
        .set_notification_preference(&auth.project.id, &user_id, &category_id, b.enabled)
        .await?;
    Ok(Json(p.view()))
}

#[derive(Deserialize)]
pub struct UnsubscribeQuery {
    code: Option<String>,
}

/// `GET /emails/unsubscribe-link?code=`: the link at the foot of an email that is not
/// transactional. Opened, it turns that category off for the user.
pub async fn unsubscribe(
    State(core): State<Core>,
    axum::extract::Query(q): axum::extract::Query<UnsubscribeQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let Some(code) = q.code.filter(|c| c.chars().count() == 45) else {
        return Ok((axum::http::StatusCode::BAD_REQUEST, "Invalid code").into_response());
    };
    let message = if core.unsubscribe(&code).await? {
        "<p>Successfully unsubscribed from notification group</p>"
    } else {
        "<p>You have already unsubscribed from this notification group</p>"
    };
    Ok(axum::response::Html(message).into_response())
}
