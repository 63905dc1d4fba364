//! `/teams`, `/team-memberships` and `/team-member-profiles`. Who may do what is the core's to
//! say (see `gatehouse_core::teams`); here requests are read and answers shaped.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use gatehouse_core::teams::members::ProfileUpdate;
use gatehouse_core::teams::{Actor, TeamCreate, TeamUpdate};
use gatehouse_core::validation::{string, Input, Shape};
use gatehouse_core::Core;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{user_or_me, uuid_param, Authed, Body, Empty, QueryParams};
use super::{created, list, success, ApiResult};

#[derive(Deserialize)]
pub struct TeamListQuery {
    user_id: Option<String>,
    #[serde(rename = "add_current_user")]
    _add_current_user: Option<String>,
}

impl Input for TeamListQuery {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("user_id", string().user_id_or_me())
            .field(
                "add_current_user",
                string().one_of(&[json!("true"), json!("false")]),
            )
    }
}

pub async fn list_teams(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let query: TeamListQuery = q.read(&auth)?;
    let user = match &query.user_id {
        Some(u) => Some(user_or_me(&auth, "query.user_id", u)?),
        None => None,
    };
    let teams = core
        .list_teams(&auth.project, Actor::of(&auth), user.as_deref())
        .await?;
    Ok(list(
        teams.iter().map(|t| t.view(auth.is_server())).collect(),
        None,
    ))
}

pub async fn create_team(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    let mut input: TeamCreate = body.read(&auth)?;
    if let Some(c) = &input.creator_user_id {
        input.creator_user_id = Some(user_or_me(&auth, "body.creator_user_id", c)?);
    }
    let team = core
        .create_team(&auth.project, Actor::of(&auth), input, &auth.who())
        .await?;
    Ok(created(team.view(auth.is_server())))
}

pub async fn read_team(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(team_id): Path<String>,
) -> ApiResult<Json<Value>> {
    uuid_param("team_id", &team_id)?;
    let team = core
        .read_team(&auth.project, Actor::of(&auth), &team_id)
        .await?;
    Ok(Json(team.view(auth.is_server())))
}

pub async fn update_team(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(team_id): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    uuid_param("team_id", &team_id)?;
    let input: TeamUpdate = body.read(&auth)?;
    let team = core
        .update_team(
            &auth.project,
            Actor::of(&auth),
            &team_id,
            input,
            &auth.who(),
        )
        .await?;
    Ok(Json(team.view(auth.is_server())))
}

pub async fn delete_team(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(team_id): Path<String>,
) -> ApiResult<Json<Value>> {
    uuid_param("team_id", &team_id)?;
    core.delete_team(&auth.project, Actor::of(&auth), &team_id, &auth.who())
        .await?;
    Ok(success())
}

/// The `{team_id}/{user_id}` of membership and profile paths.
fn member_path(
    auth: &gatehouse_core::auth::Auth,
    (team_id, user_id): (String, String),
) -> Result<(String, String), gatehouse_core::Error> {
    uuid_param("team_id", &team_id)?;
    Ok((team_id, user_or_me(auth, "params.user_id", &user_id)?))
}

pub async fn add_member(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String)>,
    body: Body,
) -> ApiResult<Response> {
    auth.require_server()?;
    let (team_id, user_id) = member_path(&auth, path)?;
    let _: Empty = body.read(&auth)?;
    core.add_team_member(&auth.project, &team_id, &user_id, &auth.who())
        .await?;
    Ok(created(json!({ "team_id": team_id, "user_id": user_id })))
}

pub async fn remove_member(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (team_id, user_id) = member_path(&auth, path)?;
    core.remove_team_member(
        &auth.project,
        Actor::of(&auth),
        &team_id,
        &user_id,
        &auth.who(),
    )
    .await?;
    Ok(success())
}

#[derive(Deserialize)]
pub struct ProfileQuery {
    team_id: Option<String>,
    user_id: Option<String>,
}

impl Input for ProfileQuery {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("user_id", string().user_id_or_me())
            .field("team_id", string().uuid())
    }
}

pub async fn list_profiles(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let query: ProfileQuery = q.read(&auth)?;
    let user = match &query.user_id {
        Some(u) => Some(user_or_me(&auth, "query.user_id", u)?),
        None => None,
    };
    let profiles = core
        .member_profiles(
            &auth.project,
            Actor::of(&auth),
            query.team_id.as_deref(),
            user.as_deref(),
        )
        .await?;
    Ok(list(
        profiles.iter().map(|p| p.view(auth.is_server())).collect(),
        None,
    ))
}

pub async fn read_profile(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (team_id, user_id) = member_path(&auth, path)?;
    let profile = core
        .member_profile(&auth.project, Actor::of(&auth), &team_id, &user_id)
        .await?;
    Ok(Json(profile.view(auth.is_server())))
}

pub async fn update_profile(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let (team_id, user_id) = member_path(&auth, path)?;
    let input: ProfileUpdate = body.read(&auth)?;
    let profile = core
        .update_member_profile(&auth.project, Actor::of(&auth), &team_id, &user_id, input)
        .await?;
    Ok(Json(profile.view(auth.is_server())))
}
