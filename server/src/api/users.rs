//! `/users`: server access reads and changes any user of its project; client access only the
//! signed-in user, as `me` (or their own id).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use gatehouse_core::auth::Auth;
use gatehouse_core::users::{User, UserCreate, UserListQuery, UserUpdate};
use gatehouse_core::{Core, Error};
use serde_json::Value;

use super::extract::{Authed, Body};
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

fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool, Error> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Error::Schema(format!(
            "Request validation failed: query.{name} must be true or false (got {other:?})."
        ))),
    }
}

pub async fn list(
    State(core): State<Core>,
    Authed(auth): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let limit = match q.get("limit") {
        Some(l) => Some(l.parse::<i64>().map_err(|_| {
            Error::Schema(format!(
                "Request validation failed: query.limit must be a whole number (got {l:?})."
            ))
        })?),
        None => None,
    };
    let order_by_last_active = match q.get("order_by").map(String::as_str) {
        None | Some("signed_up_at") => false,
        Some("last_active_at") => true,
        Some(other) => return Err(Error::Schema(format!("Request validation failed: query.order_by must be signed_up_at or last_active_at (got {other:?}).")).into()),
    };
    let query = UserListQuery {
        limit,
        cursor: q.get("cursor").cloned().filter(|c| !c.is_empty()),
        order_by_last_active,
        desc: flag(&q, "desc")?,
        query: q.get("query").cloned(),
        include_anonymous: flag(&q, "include_anonymous")?,
        include_restricted: flag(&q, "include_restricted")?,
        only_anonymous: flag(&q, "only_anonymous")?,
        team_id: q.get("team_id").cloned(),
    };
    let page = core.list_users(&auth.project.id, &query).await?;
    Ok(envelope(
        page.items.iter().map(User::server_view).collect(),
        Some(page.next_cursor),
    ))
}

pub async fn create(
    State(core): State<Core>,
    Authed(auth): Authed,
    Body(input): Body<UserCreate>,
) -> ApiResult<Response> {
    auth.require_server()?;
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
    Body(input): Body<UserUpdate>,
) -> ApiResult<Json<Value>> {
    let user = target(&core, &auth, &user_id).await?;
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
