//! Signing up, in and out, and sessions: `/auth/password/*`, `/auth/anonymous/sign-up`,
//! `/auth/sessions*`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;

use axum::Json;
use gatehouse_core::auth::{Auth, PasswordSet, PasswordSignIn, PasswordSignUp, PasswordUpdate};
use gatehouse_core::sessions::SessionCreate;
use gatehouse_core::{Core, Error};
use serde_json::{json, Value};

use super::extract::{Authed, Body};
use super::{success, ApiResult};

pub async fn password_sign_up(State(core): State<Core>, Authed(auth): Authed, Body(input): Body<PasswordSignUp>) -> ApiResult<Json<Value>> {
    let tokens = core.password_sign_up(&auth.project, auth.user.as_ref(), input).await?;
    Ok(Json(json!(tokens)))
}

pub async fn password_sign_in(State(core): State<Core>, Authed(auth): Authed, Body(input): Body<PasswordSignIn>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(core.password_sign_in(&auth.project, input).await?)))
}

pub async fn password_update(State(core): State<Core>, Authed(auth): Authed, Body(input): Body<PasswordUpdate>) -> ApiResult<Json<Value>> {
    let user = auth.user.as_ref().ok_or(Error::UserAuthenticationRequired)?;
    core.password_update(user, auth.session_id.as_deref(), input).await?;
    Ok(success())
}

pub async fn password_set(State(core): State<Core>, Authed(auth): Authed, Body(input): Body<PasswordSet>) -> ApiResult<Json<Value>> {
    let user = auth.user.as_ref().ok_or(Error::UserAuthenticationRequired)?;
    core.password_set(user, auth.session_id.as_deref(), input).await?;
    Ok(success())
}

pub async fn anonymous_sign_up(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    Ok(Json(json!(core.anonymous_sign_up(&auth.project).await?)))
}

/// `POST /auth/sessions` (server): a session for any user of the project.
pub async fn create(State(core): State<Core>, Authed(auth): Authed, Body(input): Body<SessionCreate>) -> ApiResult<Response> {
    auth.require_server()?;
    let tokens = core.create_session(&auth.project, input).await?;
    Ok(super::created(json!({ "access_token": tokens.access_token, "refresh_token": tokens.refresh_token })))
}

/// The user whose sessions a `?user_id=` names: `me`, or (server access) anyone's.
async fn session_owner(core: &Core, auth: &Auth, q: &HashMap<String, String>) -> Result<String, Error> {
    let user_id = q.get("user_id").map(String::as_str).unwrap_or("me");
    if user_id == "me" {
        return Ok(auth.me()?.id.clone());
    }
    if auth.user.as_ref().is_some_and(|u| u.id == user_id) {
        return Ok(user_id.to_string());
    }
    auth.require_server()?;
    core.user(&auth.project.id, user_id).await?.map(|u| u.id).ok_or_else(|| Error::UserIdDoesNotExist(user_id.into()))
}

async fn list_sessions_for(core: &Core, auth: &Auth, q: &HashMap<String, String>) -> Result<Vec<Value>, Error> {
    let owner = session_owner(core, auth, q).await?;
    let sessions = core.sessions_of_user(&auth.project.id, &owner, auth.is_server()).await?;
    Ok(sessions.iter().map(|s| s.view(auth.session_id.as_deref())).collect())
}

pub async fn list(State(core): State<Core>, Authed(auth): Authed, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    Ok(super::list(list_sessions_for(&core, &auth, &q).await?, None))
}

pub async fn remove(State(core): State<Core>, Authed(auth): Authed, Path(session_id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let owner = session_owner(&core, &auth, &q).await?;
    if auth.session_id.as_deref() == Some(session_id.as_str()) {
        return Err(Error::CannotDeleteCurrentSession.into());
    }
    core.delete_session(&auth.project.id, &owner, &session_id).await?;
    Ok(success())
}

/// Sign-out: ends the session of the access token (or of the refresh token sent).
pub async fn sign_out(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    let session = match (&auth.user, &auth.session_id, &auth.refresh_token) {
        (Some(user), Some(id), _) => Some((user.id.clone(), id.clone())),
        (_, _, Some(token)) => core.session_of_refresh_token(&auth.project.id, token).await?.map(|s| (s.user_id, s.id)),
        _ => None,
    };
    let (user_id, session_id) = session.ok_or(Error::RefreshTokenNotFoundOrExpired)?;
    core.delete_session(&auth.project.id, &user_id, &session_id).await?;
    Ok(success())
}

pub async fn refresh(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    let token = auth.refresh_token.as_deref().ok_or(Error::RefreshTokenNotFoundOrExpired)?;
    let access_token = core.refresh(&auth.project, token).await?;
    Ok(Json(json!({ "access_token": access_token })))
}

