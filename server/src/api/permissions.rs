//! `/team-permissions`, `/project-permissions` (grants) and `/…-permission-definitions`
//! (admin): the two scopes share every handler, told apart by the route.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use gatehouse_core::auth::Auth;
use gatehouse_core::teams::permissions::{
    definitions, permission_id_rule, DefinitionInput, GrantQuery, Scope,
};
use gatehouse_core::teams::Actor;
use gatehouse_core::validation::{self, string, Input, Issues, Shape};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{user_or_me, uuid_param, Authed, Body, QueryParams};
use super::{created, list, success, ApiResult};

#[derive(Deserialize)]
pub struct GrantListQuery {
    team_id: Option<String>,
    user_id: Option<String>,
    permission_id: Option<String>,
    recursive: Option<String>,
}

impl Input for GrantListQuery {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("team_id", string().uuid())
            .field("user_id", string().user_id_or_me())
            .field("permission_id", string().custom(permission_id_rule))
            .field(
                "recursive",
                string().one_of(&[json!("true"), json!("false")]),
            )
    }
}

/// `GET /team-permissions` (`TEAM`) and `GET /project-permissions`.
pub async fn list_grants<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let scope = scope_of(TEAM);
    let query: GrantListQuery = q.read(&auth)?;
    let user_id = match &query.user_id {
        Some(u) => Some(user_or_me(&auth, "query.user_id", u)?),
        None => None,
    };
    let grants = core
        .list_permissions(
            &auth.project,
            Actor::of(&auth),
            scope,
            &GrantQuery {
                team_id: query.team_id.filter(|_| TEAM),
                user_id,
                permission_id: query.permission_id,
                recursive: query.recursive.as_deref() == Some("true"),
            },
        )
        .await?;
    Ok(list(grants.iter().map(|g| g.view()).collect(), None))
}

/// A permission id in a path.
fn permission_param(id: &str) -> Result<(), Error> {
    match permission_id_rule("params.permission_id", &json!(id)) {
        Some(line) => Err(validation::invalid(line)),
        None => Ok(()),
    }
}

/// The `{team_id}/{user_id}/{permission_id}` of team grants (server access).
fn team_grant_path(
    auth: &Auth,
    (team, user, perm): (String, String, String),
) -> Result<(String, String, String), Error> {
    auth.require_server()?;
    uuid_param("team_id", &team)?;
    let user = user_or_me(auth, "params.user_id", &user)?;
    permission_param(&perm)?;
    Ok((team, user, perm))
}

pub async fn grant_team(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (team, user, perm) = team_grant_path(&auth, path)?;
    let grant = core
        .grant_team_permission(&auth.project, &team, &user, &perm, &auth.who())
        .await?;
    Ok(created(grant.view()))
}

pub async fn revoke_team(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (team, user, perm) = team_grant_path(&auth, path)?;
    core.revoke_team_permission(&auth.project, &team, &user, &perm, &auth.who())
        .await?;
    Ok(success())
}

fn project_grant_path(
    auth: &Auth,
    (user, perm): (String, String),
) -> Result<(String, String), Error> {
    auth.require_server()?;
    let user = user_or_me(auth, "params.user_id", &user)?;
    permission_param(&perm)?;
    Ok((user, perm))
}

pub async fn grant_project(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String)>,
) -> ApiResult<Response> {
    let (user, perm) = project_grant_path(&auth, path)?;
    let grant = core
        .grant_project_permission(&auth.project, &user, &perm, &auth.who())
        .await?;
    Ok(created(grant.view()))
}

pub async fn revoke_project(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(path): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (user, perm) = project_grant_path(&auth, path)?;
    core.revoke_project_permission(&auth.project, &user, &perm, &auth.who())
        .await?;
    Ok(success())
}

fn read_definition(auth: &Auth, body: Body, create: bool) -> Result<DefinitionInput, Error> {
    auth.require_admin()?;
    let mut issues = Issues::new();
    let out = issues.read("body", body.0, &DefinitionInput::shape(create));
    issues.finish()?;
    out.ok_or_else(|| Error::internal("validated body without a value"))
}

fn scope_of(team: bool) -> Scope {
    if team {
        Scope::Team
    } else {
        Scope::Project
    }
}

pub async fn list_definitions<const TEAM: bool>(Authed(auth): Authed) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let defs = definitions(&auth.project.config.tree, scope_of(TEAM));
    Ok(list(defs.iter().map(|d| d.view()).collect(), None))
}

pub async fn create_definition<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    let input = read_definition(&auth, body, true)?;
    let def = core
        .create_permission_definition(&auth.project, scope_of(TEAM), input, &auth.who())
        .await?;
    Ok(created(def.view()))
}

pub async fn update_definition<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let input = read_definition(&auth, body, false)?;
    permission_param(&id)?;
    let def = core
        .update_permission_definition(&auth.project, scope_of(TEAM), &id, input, &auth.who())
        .await?;
    Ok(Json(def.view()))
}

pub async fn delete_definition<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    permission_param(&id)?;
    core.delete_permission_definition(&auth.project, scope_of(TEAM), &id, &auth.who())
        .await?;
    Ok(success())
}
