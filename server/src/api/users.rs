//! `/users`: server access reads and changes any user of its project; client access only the
//! signed-in user, as `me` (or their own id).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::Json;
use gatehouse_core::auth::Auth;
use gatehouse_core::users::{LanguageUpdate, User, UserCreate, UserListParams, UserUpdate};
use gatehouse_core::validation;
use gatehouse_core::{Core, Error};
use serde_json::Value;

use super::extract::{gatehouse_fields, Authed, Body, QueryParams};
use super::{created, list as envelope, success, ApiResult};

/// The user as Stack shows them to this access type, plus Gatehouse's own `language` where the
/// request asks for it (`x-gatehouse-fields: language`); Stack clients never see it.
fn view(auth: &Auth, fields: &Fields, user: &User) -> Value {
    let mut v = if auth.is_server() {
        user.server_view()
    } else {
        user.client_view()
    };
    if fields.language {
        v["language"] = Value::from(user.language.clone());
    }
    v
}

/// The Gatehouse fields a request asks for (read in place: the `HeaderMap` extractor would copy
/// every header of every request).
pub struct Fields {
    language: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Fields {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Fields {
            language: gatehouse_fields(&parts.headers).any(|f| f == "language"),
        })
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
    fields: Fields,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let query = q.read::<UserListParams>(&auth)?.into_query()?;
    let page = core.list_users(&auth.project.id, &query).await?;
    Ok(envelope(
        page.items.iter().map(|u| view(&auth, &fields, u)).collect(),
        Some(page.next_cursor),
    ))
}

pub async fn create(
    State(core): State<Core>,
    Authed(auth): Authed,
    fields: Fields,
    body: Body,
) -> ApiResult<Response> {
    auth.require_server()?;
    let input: UserCreate = body.read(&auth)?;
    let user = core.create_user(&auth.project, input, &auth.who()).await?;
    // Stack answers with the user as read before it makes the personal team (`onCreate` in its
    // `users/crud.tsx`), so a new user's answer never names a selected team; reads after it do.
    let mut answer = view(&auth, &fields, &user);
    answer["selected_team"] = Value::Null;
    answer["selected_team_id"] = Value::Null;
    Ok(created(answer))
}

pub async fn read(
    State(core): State<Core>,
    Authed(auth): Authed,
    fields: Fields,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    // `me`, the hot case, is shown from the request's own copy.
    if user_id == "me" {
        return Ok(Json(view(&auth, &fields, auth.me()?)));
    }
    let user = target(&core, &auth, &user_id).await?;
    Ok(Json(view(&auth, &fields, &user)))
}

pub async fn update(
    State(core): State<Core>,
    Authed(auth): Authed,
    fields: Fields,
    Path(user_id): Path<String>,
    Body(mut body): Body,
) -> ApiResult<Json<Value>> {
    let user = target(&core, &auth, &user_id).await?;
    // Gatehouse's own field comes out of Stack's body before Stack's shape is checked, and only
    // for requests that ask for it: to everyone else it is an unknown field, as in Stack.
    let language = match body.as_object_mut() {
        Some(map) if fields.language => map
            .remove("language")
            .map(|l| Body(serde_json::json!({ "language": l })).read::<LanguageUpdate>(&auth)),
        _ => None,
    }
    .transpose()?;
    let mut input: UserUpdate = Body(body).read(&auth)?;
    input.language = language.and_then(|l| l.language);
    let user = core
        .update_user(&auth.project, &user, input, &auth.who())
        .await?;
    Ok(Json(view(&auth, &fields, &user)))
}

pub async fn remove(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user = target(&core, &auth, &user_id).await?;
    if auth.is_server() {
        core.delete_user(&auth.project.id, &user.id, &auth.who())
            .await?;
    } else {
        core.delete_own_account(&auth.project, &user).await?;
    }
    Ok(success())
}
