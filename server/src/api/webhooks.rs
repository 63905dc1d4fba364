//! Webhooks over REST: Stack's `POST /webhooks/svix-token` and `POST /internal/send-test-webhook`,
//! and the subset of Svix's API (`/app/{app_id}/…`) its dashboard and the official `svix`
//! client libraries call to manage endpoints and read deliveries. That subset speaks Svix's
//! shapes (camelCase, `{data, iterator, prevIterator, done}` pages) and takes either the token
//! (`Authorization: Bearer …`) or a project's admin keys, so it is also Gatehouse's admin API
//! for webhooks.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::events::Who;
use gatehouse_core::projects::Project;
use gatehouse_core::validation::{invalid, string, Input, Shape};
use gatehouse_core::webhooks::{Attempt, AttemptsOf, Endpoint, EndpointInput, Message, Page};
use gatehouse_core::{iso_time, Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{credentials, Authed, Body, MaybeAuth, QueryParams};
use super::{ApiError, ApiResult};

#[derive(Deserialize)]
pub struct NoFields {}

impl Input for NoFields {
    fn shape(_: bool) -> Shape {
        Shape::new()
    }
}

/// `POST /webhooks/svix-token` (admin): `{token}` for the Svix-compatible API. No `url`: as
/// Stack answers with a self-hosted Svix, the dashboard talks to the API itself.
pub async fn svix_token(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    auth.require_admin()?;
    let _: NoFields = body.read(&auth)?;
    let token = core.svix_token(&auth.project.id);
    Ok((StatusCode::CREATED, Json(json!({ "token": token }))).into_response())
}

#[derive(Deserialize)]
pub struct TestWebhook {
    endpoint_id: String,
}

impl Input for TestWebhook {
    fn shape(_: bool) -> Shape {
        Shape::new().field("endpoint_id", string().defined())
    }
}

/// `POST /internal/send-test-webhook` (admin) `{endpoint_id}` → `{success, error_message?}`:
/// a `stack.test` message to that endpoint, and whether its first attempt succeeded.
pub async fn send_test(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let b: TestWebhook = body.read(&auth)?;
    Ok(Json(
        match core
            .send_test_webhook(&auth.project, &b.endpoint_id)
            .await?
        {
            Ok(()) => json!({ "success": true }),
            Err(why) => json!({ "success": false, "error_message": why }),
        },
    ))
}

/// Who may use the Svix-compatible API: a token from `svix-token`, or admin access, for the
/// project the path names.
pub struct SvixAccess {
    project: Arc<Project>,
    who: Who,
}

impl<S: Send + Sync> FromRequestParts<S> for SvixAccess
where
    Core: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let core = Core::from_ref(state);
        // `POST /app` (Svix's get-or-create) names no application: it is the credentials' own.
        let app = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|p| {
                p.iter()
                    .find(|(k, _)| *k == "app_id")
                    .map(|(_, v)| v.to_string())
            });
        let bearer = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let (project_id, who) = match bearer.and_then(|t| core.project_of_svix_token(t)) {
            Some(project) => (project, Who::Admin(None)),
            None if credentials(&parts.headers).project_id.is_some() => {
                let MaybeAuth(auth) = MaybeAuth::from_request_parts(parts, state).await?;
                let auth = auth.ok_or(Error::AccessTypeRequired)?;
                auth.require_admin()?;
                let who = Who::Admin(auth.user.as_ref().map(|u| u.id.clone()));
                (auth.project.id.clone(), who)
            }
            None => {
                return Err(Error::Status(
                    401,
                    "Send a token from POST /api/v1/webhooks/svix-token as `Authorization: Bearer <token>`, or the project's admin keys.".into(),
                )
                .into())
            }
        };
        if let Some(app) = app.filter(|app| *app != project_id) {
            return Err(Error::Status(
                403,
                format!("These credentials are for the application {project_id}, not {app}."),
            )
            .into());
        }
        let project = core
            .project_cached(&project_id)
            .await?
            .ok_or_else(|| Error::ProjectNotFound(project_id.clone()))?;
        Ok(SvixAccess { project, who })
    }
}

fn time(ms: i64) -> String {
    iso_time(ms)
}

fn endpoint_out(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "description": e.description,
        "version": 1,
        "disabled": e.disabled,
        "eventTypes": e.event_types,
        "filterTypes": e.event_types,
        "channels": null,
        "uid": null,
        "rateLimit": null,
        "throttleRate": null,
        "metadata": {},
        "createdAt": time(e.created_at),
        "updatedAt": time(e.updated_at),
    })
}

fn message_out(m: &Message) -> Value {
    json!({
        "id": m.id,
        "eventType": m.event_type,
        "eventId": null,
        "payload": m.payload,
        "channels": null,
        "tags": null,
        "timestamp": time(m.created_at),
    })
}

fn attempt_out(a: &Attempt) -> Value {
    let success = a.status == "success";
    json!({
        "id": a.id,
        "msgId": a.message_id,
        "endpointId": a.endpoint_id,
        "url": a.url,
        "response": a.response,
        "responseStatusCode": a.response_status_code,
        "responseDurationMs": a.duration_ms,
        "status": if success { 0 } else { 2 },
        "statusText": a.status,
        "triggerType": if a.trigger_type == "manual" { 1 } else { 0 },
        "timestamp": time(a.created_at),
    })
}

/// Svix's page: `{data, iterator, prevIterator, done}`.
fn svix_page<T>(page: Page<T>, out: impl Fn(&T) -> Value) -> Json<Value> {
    Json(json!({
        "data": page.items.iter().map(out).collect::<Vec<_>>(),
        "iterator": page.next,
        "prevIterator": null,
        "done": page.next.is_none(),
    }))
}

/// `limit` (1 to 250, default 50) and `iterator` (the last id of the page before).
fn paging(q: &QueryParams) -> Result<(i64, Option<String>), Error> {
    let get = |k: &str| {
        q.0.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    let limit = match get("limit") {
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=250).contains(n))
            .ok_or_else(|| invalid("query.limit must be a whole number from 1 to 250"))?,
        None => 50,
    };
    Ok((limit, get("iterator").filter(|s| !s.is_empty())))
}

/// An endpoint's settings in Svix's shape (`eventTypes`, or the older `filterTypes`).
fn endpoint_input(b: &Value, old: Option<&Endpoint>) -> Result<EndpointInput, Error> {
    let o = b
        .as_object()
        .ok_or_else(|| invalid("body must be an object"))?;
    let text = |k: &str| -> Result<Option<String>, Error> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("body.{k} must be a string"))),
        }
    };
    let types = match o.get("eventTypes").or_else(|| o.get("filterTypes")) {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|t| t.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("body.eventTypes must be a list of event types"))?,
        ),
        Some(_) => return Err(invalid("body.eventTypes must be a list of event types")),
    };
    let disabled = match o.get("disabled") {
        None | Some(Value::Null) => old.is_some_and(|e| e.disabled),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("body.disabled must be true or false")),
    };
    let url = match (text("url")?, old) {
        (Some(u), _) => u,
        (None, Some(e)) => e.url.clone(),
        (None, None) => return Err(invalid("body.url must be defined")),
    };
    Ok(EndpointInput {
        url,
        description: text("description")?
            .or_else(|| old.map(|e| e.description.clone()))
            .unwrap_or_default(),
        event_types: types.filter(|t| !t.is_empty()).or_else(|| {
            (!o.contains_key("eventTypes") && !o.contains_key("filterTypes"))
                .then(|| old.and_then(|e| e.event_types.clone()))
                .flatten()
        }),
        disabled,
        secret: text("secret")?,
    })
}

/// `GET /app/{app_id}` and `POST /app` (`getOrCreate`): the project as Svix's application.
pub async fn application(access: SvixAccess) -> Json<Value> {
    let p = &access.project;
    Json(json!({
        "id": p.id, "uid": p.id, "name": p.display_name, "metadata": {}, "rateLimit": null,
        "createdAt": time(p.created_at), "updatedAt": time(p.created_at),
    }))
}

pub async fn list_endpoints(
    State(core): State<Core>,
    access: SvixAccess,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let (limit, after) = paging(&q)?;
    let all = core.webhook_endpoints(&access.project.id).await?;
    let from = after
        .and_then(|id| all.iter().position(|e| e.id == id).map(|i| i + 1))
        .unwrap_or(0);
    let items: Vec<Endpoint> = all
        .iter()
        .skip(from)
        .take(limit as usize)
        .cloned()
        .collect();
    let next = (all.len() > from + items.len())
        .then(|| items.last().map(|e| e.id.clone()))
        .flatten();
    Ok(svix_page(Page { items, next }, endpoint_out))
}

pub async fn create_endpoint(
    State(core): State<Core>,
    access: SvixAccess,
    Body(b): Body,
) -> ApiResult<Response> {
    let input = endpoint_input(&b, None)?;
    let e = core
        .create_webhook_endpoint(&access.project, input, &access.who)
        .await?;
    Ok((StatusCode::CREATED, Json(endpoint_out(&e))).into_response())
}

pub async fn read_endpoint(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(endpoint_out(
        &core.webhook_endpoint(&access.project.id, &id).await?,
    )))
}

/// `PUT` and `PATCH`: fields left out keep their values.
pub async fn update_endpoint(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
    Body(b): Body,
) -> ApiResult<Json<Value>> {
    let old = core.webhook_endpoint(&access.project.id, &id).await?;
    let input = endpoint_input(&b, Some(&old))?;
    let e = core
        .update_webhook_endpoint(&access.project, &id, input, &access.who)
        .await?;
    Ok(Json(endpoint_out(&e)))
}

pub async fn delete_endpoint(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    core.delete_webhook_endpoint(&access.project, &id, &access.who)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn endpoint_secret(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let key = core.webhook_secret(&access.project.id, &id).await?;
    Ok(Json(json!({ "key": key })))
}

/// `{key?, gracePeriodSeconds?}`: the old secret keeps signing for the grace period.
pub async fn rotate_secret(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
    Body(b): Body,
) -> ApiResult<StatusCode> {
    let key = match b.get("key") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("body.key must be a string").into()),
    };
    let grace = match b.get("gracePeriodSeconds") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64().filter(|s| *s >= 0).ok_or_else(|| {
                invalid("body.gracePeriodSeconds must be a whole number of seconds")
            })? * 1000,
        ),
    };
    core.rotate_webhook_secret(&access.project, &id, key, grace, &access.who)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_messages(
    State(core): State<Core>,
    access: SvixAccess,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let (limit, before) = paging(&q)?;
    let page = core
        .webhook_messages(&access.project.id, limit, before.as_deref())
        .await?;
    Ok(svix_page(page, message_out))
}

/// `POST …/msg` `{eventType, payload}`: a message of the project's own, to every endpoint
/// that listens to its type.
pub async fn create_message(
    State(core): State<Core>,
    access: SvixAccess,
    Body(b): Body,
) -> ApiResult<Response> {
    let event_type = b
        .get("eventType")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(|| invalid("body.eventType must be a non-empty string"))?;
    let payload = b
        .get("payload")
        .filter(|p| p.is_object())
        .cloned()
        .ok_or_else(|| invalid("body.payload must be an object"))?;
    let m = core
        .send_webhook_message(&access.project, event_type, payload, None)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(message_out(&m))).into_response())
}

pub async fn read_message(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(message_out(
        &core.webhook_message(&access.project.id, &id).await?,
    )))
}

pub async fn endpoint_attempts(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    core.webhook_endpoint(&access.project.id, &id).await?;
    attempts(core, access, AttemptsOf::Endpoint(&id), q).await
}

pub async fn message_attempts(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    core.webhook_message(&access.project.id, &id).await?;
    attempts(core, access, AttemptsOf::Message(&id), q).await
}

async fn attempts(
    core: Core,
    access: SvixAccess,
    of: AttemptsOf<'_>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let (limit, before) = paging(&q)?;
    let page = core
        .webhook_attempts(&access.project.id, of, limit, before.as_deref())
        .await?;
    Ok(svix_page(page, attempt_out))
}

/// `POST …/msg/{msg_id}/endpoint/{endpoint_id}/resend`: one more attempt, now (202 and `{}`,
/// as Svix answers).
pub async fn resend(
    State(core): State<Core>,
    access: SvixAccess,
    Path((_, msg, endpoint)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    core.resend_webhook_message(&access.project.id, &msg, &endpoint)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}
