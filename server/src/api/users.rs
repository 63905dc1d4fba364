//! `/users`: server access reads and changes any user of its project; client access only the
//! signed-in user, as `me` (or their own id).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use gatehouse_core::auth::Auth;
use gatehouse_core::users::{User, UserCreate, UserListParams, UserUpdate};
use gatehouse_core::validation;
use gatehouse_core::{Core, Error};
use serde_json::Value;

use super::extract::{Authed, Body, QueryParams};
use super::{created, list as envelope, success, ApiResult};

fn view(auth: &Auth, user: &User) -> Value {
    if auth.is_server() {
        user.server_view()
    } else {
        user.client_view()
    }
}

/// The user a path names: `me`, or an id (client access: only their own).
async fn target(core: &Core, auth: &Auth, user_id: &str) -> Result<User, Error> {
    if user_id == "me" {
        return auth.me().cloned();
    }
    if !gatehouse_core::is_uuid(user_id) {
        return Err(validation::invalid("params.user_id must be a valid UUID"));
    }
    if !auth.is_server() {
        match &auth.user {
            Some(me) if me.id == user_id => return Ok(me.clone()),
            _ => auth.require_server()?,
        }
    }
    core.user(&auth.project.id, user_id)
        .await?
        .ok_or(Error::UserNotFound)
}

pub async fn list(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let query = q.read::<UserListParams>(&auth)?.into_query()?;
    let page = core.list_users(&auth.project.id, &query).await?;
    Ok(envelope(
        page.items.iter().map(User::server_view).collect(),
        Some(page.next_cursor),
    ))
}

pub async fn create(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    auth.require_server()?;
    let input: UserCreate = body.read(&auth)?;
    let user = core.create_user(&auth.project, input).await?;
    Ok(created(user.server_view()))
}

pub async fn read(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user = target(&core, &auth, &user_id).await?;
    Ok(Json(view(&auth, &user)))
}

pub async fn update(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(user_id): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let user = target(&core, &auth, &user_id).await?;
    let input: UserUpdate = body.read(&auth)?;
    let user = core
        .update_user(&auth.project, &user, input, auth.is_server())
        .await?;
    Ok(Json(view(&auth, &user)))
}

pub async fn remove(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user = target(&core, &auth, &user_id).await?;
    if auth.is_server() {
        core.delete_user(&auth.project.id, &user.id).await?;
    } else {
        core.delete_own_account(&auth.project, &user).await?;
    }
    Ok(success())
}
