//! Projects and their key sets.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use gatehouse_core::projects::{ApiKeySetCreate, ProjectCreate, ProjectUpdate};
use gatehouse_core::validation::{boolean, string, Input, Shape};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Authed, Body};
use super::{created, list, ApiResult};

pub async fn current_client(Authed(auth): Authed) -> Json<Value> {
    Json(auth.project.client_view())
}

pub async fn current_admin(Authed(auth): Authed) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    Ok(Json(auth.project.admin_view()))
}

pub async fn update_current(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let input: ProjectUpdate = body.read(&auth)?;
    Ok(Json(
        core.update_project(&auth.project, input, &auth.who())
            .await?
            .admin_view(),
    ))
}

/// `DELETE /internal/projects/current` (admin): the project and everything in it.
pub async fn delete_current(
    State(core): State<Core>,
    Authed(auth): Authed,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    core.delete_project(&auth.project, &auth.who()).await?;
    Ok(super::success())
}

/// Dashboard users (client access on the internal project) list and create their projects.
fn internal_user(auth: &gatehouse_core::auth::Auth) -> Result<&gatehouse_core::users::User, Error> {
    if !auth.project.is_internal() {
        return Err(Error::ExpectedInternalProject);
    }
    auth.user.as_ref().ok_or(Error::UserAuthenticationRequired)
}

pub async fn list_owned(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    let user = internal_user(&auth)?;
    let projects = core.projects_owned_by_user(&user.id).await?;
    Ok(list(
        projects.iter().map(|p| p.admin_view()).collect(),
        None,
    ))
}

pub async fn create(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    let user = internal_user(&auth)?;
    let input: ProjectCreate = body.read(&auth)?;
    let project = core.create_project_for(&user.id, input).await?;
    Ok(created(project.admin_view()))
}

#[derive(Deserialize)]
pub struct JwksQuery {
    include_anonymous: Option<String>,
    include_restricted: Option<String>,
}

/// The project's public keys, for anyone verifying its access tokens.
pub async fn jwks(
    State(core): State<Core>,
    Path(project_id): Path<String>,
    Query(q): Query<JwksQuery>,
) -> ApiResult<Json<Value>> {
    if core.project(&project_id).await?.is_none() {
        return Err(Error::ProjectNotFound(project_id).into());
    }
    let yes = |v: &Option<String>| v.as_deref() == Some("true");
    Ok(Json(core.signer.jwks(
        &project_id,
        yes(&q.include_anonymous),
        yes(&q.include_restricted),
    )))
}

pub async fn list_keys(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let sets = core.api_key_sets(&auth.project.id).await?;
    Ok(list(sets.iter().map(|s| s.view()).collect(), None))
}

pub async fn create_keys(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let input: ApiKeySetCreate = body.read(&auth)?;
    let set = core
        .create_api_key_set(&auth.project.id, input, &auth.who())
        .await?;
    Ok(Json(json!(set)))
}

pub async fn get_keys(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let sets = core.api_key_sets(&auth.project.id).await?;
    let set = sets
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(Error::ApiKeyNotFound)?;
    Ok(Json(set.view()))
}

#[derive(Deserialize)]
pub struct KeySetUpdate {
    description: Option<String>,
    revoked: Option<bool>,
}

impl Input for KeySetUpdate {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("description", string())
            .field("revoked", boolean().one_of(&[json!(true)]))
    }
}

pub async fn update_keys(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let input: KeySetUpdate = body.read(&auth)?;
    let set = core
        .update_api_key_set(
            &auth.project.id,
            &id,
            input.description.as_deref(),
            input.revoked == Some(true),
            &auth.who(),
        )
        .await?;
    Ok(Json(set.view()))
}
