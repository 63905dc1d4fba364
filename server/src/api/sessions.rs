//! Signing up, in and out, and sessions: `/auth/password/*`, `/auth/anonymous/sign-up`,
//! `/auth/sessions*`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use gatehouse_core::auth::{Auth, PasswordSet, PasswordSignIn, PasswordUpdate};
use gatehouse_core::sessions::{SessionCreate, SessionListQuery};
use gatehouse_core::sign_up::PasswordSignUp;
use gatehouse_core::validation;
use gatehouse_core::{Core, Error};
use serde_json::{json, Value};

use super::extract::{Authed, Body, QueryParams};
use super::{success, ApiResult};

pub async fn password_sign_up(
    State(core): State<Core>,
    Authed(auth): Authed,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let mut input: PasswordSignUp = body.read(&auth)?;
    input.country_code = core.request_country(|name| headers.get(name)?.to_str().ok());
    let tokens = core
        .password_sign_up(&auth.project, auth.user.as_ref(), input)
        .await?;
    Ok(Json(json!(tokens)))
}

pub async fn password_sign_in(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let input: PasswordSignIn = body.read(&auth)?;
    Ok(Json(json!(
        core.password_sign_in(&auth.project, input).await?
    )))
}

pub async fn password_update(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let (user, input): (_, PasswordUpdate) = body.read_for_user(&auth)?;
    core.password_update(&user, auth.session_id.as_deref(), input)
        .await?;
    Ok(success())
}

pub async fn password_set(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let (user, input): (_, PasswordSet) = body.read_for_user(&auth)?;
    core.password_set(&user, auth.session_id.as_deref(), input)
        .await?;
    Ok(success())
}

pub async fn anonymous_sign_up(
    State(core): State<Core>,
    Authed(auth): Authed,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(core.anonymous_sign_up(&auth.project).await?)))
}

/// `POST /auth/sessions` (server): a session for any user of the project.
pub async fn create(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let mut input: SessionCreate = body.read(&auth)?;
    if input.user_id == "me" {
        input.user_id = auth.me()?.id.clone();
    }
    let tokens = core
        .create_session(&auth.project, input, &auth.who())
        .await?;
    Ok(Json(
        json!({ "access_token": tokens.access_token, "refresh_token": tokens.refresh_token }),
    ))
}

/// The user whose sessions a `?user_id=` names: `me`, or (server access) anyone's.
async fn session_owner(core: &Core, auth: &Auth, q: &QueryParams) -> Result<String, Error> {
    let SessionListQuery { user_id } = q.read(auth)?;
    let user_id = user_id.as_str();
    if user_id == "me" {
        return Ok(auth.me()?.id.clone());
    }
    if auth.user.as_ref().is_some_and(|u| u.id == user_id) {
        return Ok(user_id.to_string());
    }
    auth.require_server()?;
    core.user(&auth.project.id, user_id)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| Error::UserIdDoesNotExist(user_id.into()))
}

async fn list_sessions_for(core: &Core, auth: &Auth, q: &QueryParams) -> Result<Vec<Value>, Error> {
    let owner = session_owner(core, auth, q).await?;
    // As Stack's: only admins see the sessions admins opened as the user.
    let admin = auth.access == gatehouse_core::auth::AccessType::Admin;
    let sessions = core
        .sessions_of_user(&auth.project.id, &owner, admin)
        .await?;
    Ok(sessions
        .iter()
        .map(|s| s.view(auth.session_id.as_deref()))
        .collect())
}

pub async fn list(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    Ok(super::list(
        list_sessions_for(&core, &auth, &q).await?,
        None,
    ))
}

pub async fn remove(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(session_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    if !gatehouse_core::is_uuid(&session_id) {
        return Err(validation::invalid("params.id must be a valid UUID").into());
    }
    let owner = session_owner(&core, &auth, &q).await?;
    core.revoke_other_session(
        &auth.project.id,
        &owner,
        &session_id,
        auth.session_id.as_deref(),
        &auth.who(),
    )
    .await?;
    Ok(success())
}

/// Sign-out: ends the session of the access token (or of the refresh token sent).
pub async fn sign_out(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    let session = match (&auth.user, &auth.session_id, &auth.refresh_token) {
        (Some(user), Some(id), _) => Some((user.id.clone(), id.clone())),
        (_, _, Some(token)) => core
            .session_of_refresh_token(&auth.project.id, token)
            .await?
            .map(|s| (s.user_id, s.id)),
        _ => None,
    };
    let (user_id, session_id) = session.ok_or(Error::RefreshTokenNotFoundOrExpired)?;
    // Signing out is the session's user's doing, whichever token it was asked with.
    let who = gatehouse_core::events::Who::User(user_id.clone());
    core.delete_session(&auth.project.id, &user_id, &session_id, &who)
        .await?;
    Ok(success())
}

pub async fn refresh(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    let token = auth
        .refresh_token
        .as_deref()
        .ok_or_else(|| validation::invalid("headers.x-stack-refresh-token must be defined"))?;
    let access_token = core.refresh(&auth.project, token).await?;
    Ok(Json(json!({ "access_token": access_token })))
}

/// `POST /auth/bot-challenge` (Gatehouse's own): a proof-of-work puzzle for a sign-up, where the
/// project asks for one (`security.botChallenge.mode`).
pub async fn bot_challenge(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let _: super::extract::Empty = body.read(&auth)?;
    Ok(Json(core.new_bot_challenge(&auth.project).await?))
}
