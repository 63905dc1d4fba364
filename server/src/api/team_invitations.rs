//! `/team-invitations`: send, list, withdraw and accept invitations to teams.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::teams::invitations::InvitationsOf;
use gatehouse_core::teams::Actor;
use gatehouse_core::validation::{string, Input, Shape};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::contact_channels::CodeBody;
use super::extract::{user_or_me, uuid_param, Authed, Body, QueryParams};
use super::{list, success, ApiResult};

#[derive(Deserialize)]
pub struct SendBody {
    team_id: String,
    email: String,
    callback_url: String,
}

impl Input for SendBody {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("team_id", string().uuid().defined())
            .field("email", string().email().defined())
            .field("callback_url", string().url().defined())
    }
}

pub async fn send_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: SendBody = body.read(&auth)?;
    let id = core
        .send_team_invitation(
            &auth.project,
            Actor::of(&auth),
            &b.team_id,
            &b.email,
            &b.callback_url,
        )
        .await?;
    Ok(Json(json!({ "success": true, "id": id })))
}

#[derive(Deserialize)]
pub struct ListQuery {
    team_id: Option<String>,
    user_id: Option<String>,
}

impl Input for ListQuery {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("team_id", string().uuid())
            .field("user_id", string().user_id_or_me())
    }
}

pub async fn list_invitations(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let query: ListQuery = q.read(&auth)?;
    let user = match &query.user_id {
        Some(u) => Some(user_or_me(&auth, "query.user_id", u)?),
        None => None,
    };
    let of = match (&query.team_id, &user) {
        (Some(_), Some(_)) => {
            return Err(Error::Status(400, "Cannot specify both team_id and user_id".into()).into())
        }
        (None, None) => {
            return Err(Error::Status(400, "Must specify either team_id or user_id".into()).into())
        }
        (Some(team), None) => InvitationsOf::Team(team),
        (None, Some(user)) => InvitationsOf::User(user),
    };
    let invitations = core
        .team_invitations(&auth.project, Actor::of(&auth), of)
        .await?;
    Ok(list(invitations.iter().map(|i| i.view()).collect(), None))
}

#[derive(Deserialize)]
pub struct DeleteQuery {
    team_id: Option<String>,
}

impl Input for DeleteQuery {
    fn shape(_: bool) -> Shape {
        Shape::new().field("team_id", string().uuid())
    }
}

pub async fn revoke(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    uuid_param("id", &id)?;
    let query: DeleteQuery = q.read(&auth)?;
    let team_id = query.team_id.ok_or_else(|| {
        Error::Status(
            400,
            "team_id is required for deleting a team invitation".into(),
        )
    })?;
    core.revoke_team_invitation(&auth.project, Actor::of(&auth), &team_id, &id)
        .await?;
    Ok(success())
}

pub async fn accept(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    core.accept_team_invitation(&auth.project, auth.user.as_ref(), b.code())
        .await?;
    Ok(Json(json!({})))
}

pub async fn check_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    core.check_team_invitation(&auth.project, b.code()).await?;
    Ok(Json(json!({ "is_code_valid": true })))
}

pub async fn details(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    let d = core
        .team_invitation_details(&auth.project, auth.user.as_ref(), b.code())
        .await?;
    Ok(Json(
        json!({ "team_id": d.team_id, "team_display_name": d.team_display_name }),
    ))
}

#[derive(Deserialize)]
pub struct AcceptByIdQuery {
    user_id: String,
}

impl Input for AcceptByIdQuery {
    fn shape(_: bool) -> Shape {
        Shape::new().field("user_id", string().user_id_or_me().defined())
    }
}

pub async fn accept_by_id(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    uuid_param("id", &id)?;
    let query: AcceptByIdQuery = q.read(&auth)?;
    let user = user_or_me(&auth, "query.user_id", &query.user_id)?;
    core.accept_team_invitation_by_id(&auth.project, Actor::of(&auth), &user, &id)
        .await?;
    Ok(Json(json!({})))
}
