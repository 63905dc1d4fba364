//! Contact channels: a user's email addresses, and their verification.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use gatehouse_core::auth::Auth;
use gatehouse_core::contact_channels::{ChannelCreate, ChannelUpdate};
use gatehouse_core::users::User;
use gatehouse_core::validation::{boolean, invalid, string, Field, Input, Shape};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Authed, Body, QueryParams};
use super::{created, list, success, ApiResult};

/// A client may act on its own user's channels only (Stack's 403 wording, per action).
async fn owner(core: &Core, auth: &Auth, user_id: &str, action: &str) -> Result<User, Error> {
    if !auth.is_server() {
        let me = auth.me()?;
        if user_id != "me" && user_id != me.id {
            return Err(Error::Status(
                403,
                format!("Client can only {action} contact channels for their own user."),
            ));
        }
        return Ok(me.clone());
    }
    if user_id == "me" {
        return auth.me().cloned();
    }
    if !gatehouse_core::is_uuid(user_id) {
        return Err(Error::UserIdDoesNotExist(user_id.into()));
    }
    core.user(&auth.project.id, user_id)
        .await?
        .ok_or_else(|| Error::UserIdDoesNotExist(user_id.into()))
}

fn email_value() -> Field {
    string().defined().email()
}

/// The 45-character code of a link or the six characters plus the nonce.
pub fn code_field() -> Field {
    string().defined().custom(|at, v| {
        let n = v.as_str().map(|s| s.chars().count()).unwrap_or(0);
        (n != 45).then(|| format!("{at} must be exactly 45 characters"))
    })
}

#[derive(Deserialize)]
pub struct ListParams {
    user_id: String,
}

impl Input for ListParams {
    fn shape(_: bool) -> Shape {
        Shape::new().field("user_id", string().defined().user_id_or_me())
    }
}

pub async fn list_channels(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let p: ListParams = q.read(&auth)?;
    let user = owner(&core, &auth, &p.user_id, "list").await?;
    let channels = core.contact_channels(&auth.project.id, &user.id).await?;
    Ok(list(channels.iter().map(|c| c.view()).collect(), None))
}

#[derive(Deserialize)]
pub struct CreateBody {
    user_id: String,
    value: String,
    #[serde(rename = "type")]
    _kind: String,
    used_for_auth: bool,
    is_primary: Option<bool>,
    is_verified: Option<bool>,
}

impl Input for CreateBody {
    fn shape(server: bool) -> Shape {
        let s = Shape::new()
            .field("user_id", string().defined().user_id_or_me())
            .field("value", email_value())
            .field("type", string().defined().one_of(&[json!("email")]))
            .field("used_for_auth", boolean().defined())
            .field("is_primary", boolean());
        if server {
            s.field("is_verified", boolean())
        } else {
            s
        }
    }
}

pub async fn create(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    let b: CreateBody = body.read(&auth)?;
    let user = owner(&core, &auth, &b.user_id, "create").await?;
    let channel = core
        .create_contact_channel(
            &auth.project,
            ChannelCreate {
                user_id: user.id,
                value: b.value,
                used_for_auth: b.used_for_auth,
                is_primary: b.is_primary.unwrap_or(false),
                is_verified: b.is_verified.unwrap_or(false),
            },
            &auth.who(),
        )
        .await?;
    Ok(created(channel.view()))
}

pub async fn read(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let user = owner(&core, &auth, &user_id, "read").await?;
    Ok(Json(
        core.contact_channel(&auth.project.id, &user.id, &id)
            .await?
            .view(),
    ))
}

#[derive(Deserialize)]
pub struct UpdateBody {
    value: Option<String>,
    #[serde(rename = "type")]
    _kind: Option<String>,
    used_for_auth: Option<bool>,
    is_primary: Option<bool>,
    is_verified: Option<bool>,
}

impl Input for UpdateBody {
    fn shape(server: bool) -> Shape {
        let s = Shape::new()
            .field("value", string().email())
            .field("type", string().one_of(&[json!("email")]))
            .field("used_for_auth", boolean())
            .field("is_primary", boolean());
        if server {
            s.field("is_verified", boolean())
        } else {
            s
        }
    }
}

pub async fn update(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: UpdateBody = body.read(&auth)?;
    let user = owner(&core, &auth, &user_id, "update").await?;
    let channel = core
        .update_contact_channel(
            &auth.project,
            &user.id,
            &id,
            ChannelUpdate {
                value: b.value,
                used_for_auth: b.used_for_auth,
                is_primary: b.is_primary,
                is_verified: b.is_verified,
            },
            &auth.who(),
        )
        .await?;
    Ok(Json(channel.view()))
}

pub async fn remove(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let user = owner(&core, &auth, &user_id, "delete").await?;
    core.delete_contact_channel(&auth.project, &user.id, &id, &auth.who())
        .await?;
    Ok(success())
}

#[derive(Deserialize)]
pub struct CallbackBody {
    callback_url: String,
}

impl Input for CallbackBody {
    fn shape(_: bool) -> Shape {
        Shape::new().field("callback_url", string().defined().url())
    }
}

/// `POST /contact-channels/{user_id}/{id}/send-verification-code`.
pub async fn send_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CallbackBody = body.read(&auth)?;
    let user = if auth.is_server() {
        owner(&core, &auth, &user_id, "send").await?
    } else {
        let me = auth.me()?;
        if user_id != "me" && user_id != me.id {
            return Err(Error::Status(
                400,
                "Can only send verification code for your own user".into(),
            )
            .into());
        }
        me.clone()
    };
    let channel = core
        .contact_channel(&auth.project.id, &user.id, &id)
        .await
        .map_err(|_| Error::Status(404, "Contact channel not found".into()))?;
    core.send_channel_verification(&auth.project, &channel, &b.callback_url)
        .await?;
    Ok(success())
}

#[derive(Deserialize)]
pub struct SendForEmail {
    email: String,
    callback_url: String,
}

impl Input for SendForEmail {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("email", email_value())
            .field("callback_url", string().defined().url())
    }
}

/// `POST /contact-channels/send-verification-code`: the signed-in user's primary email.
pub async fn send_code_for_email(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let (user, b): (User, SendForEmail) = body.read_for_user(&auth)?;
    let email = b.email.trim().to_lowercase();
    if user.primary_email.as_deref() != Some(email.as_str()) {
        return Err(Error::EmailIsNotPrimaryEmail {
            email,
            primary: user.primary_email.clone(),
        }
        .into());
    }
    let channels = core.contact_channels(&auth.project.id, &user.id).await?;
    let channel = channels
        .iter()
        .find(|c| c.is_primary)
        .ok_or_else(|| invalid("the user has no primary email"))?;
    core.send_channel_verification(&auth.project, channel, &b.callback_url)
        .await?;
    Ok(success())
}

#[derive(Deserialize)]
pub struct CodeBody {
    code: String,
}

impl Input for CodeBody {
    fn shape(_: bool) -> Shape {
        Shape::new().field("code", code_field())
    }
}

impl CodeBody {
    pub fn code(&self) -> &str {
        &self.code
    }
}

/// `POST /contact-channels/verify`.
pub async fn verify(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    core.verify_contact_channel(&auth.project, &b.code).await?;
    Ok(success())
}

/// `POST /contact-channels/verify/check-code`.
pub async fn check_verify_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    core.check_code(
        &auth.project.id,
        gatehouse_core::codes::CodeKind::ContactChannelVerification,
        &b.code,
    )
    .await?;
    Ok(Json(json!({ "is_code_valid": true })))
}
