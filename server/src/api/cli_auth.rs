//! CLI sign-in: `/auth/cli`, `/auth/cli/poll`, `/auth/cli/complete` (Stack's).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::cli_auth::{CliComplete, CliPoll, CliPollStatus, CliStart};
use gatehouse_core::Core;
use serde_json::{json, Value};

use super::extract::{Authed, Body};
use super::ApiResult;

/// `POST /auth/cli`: the polling and login codes, and when they lapse (ISO 8601).
pub async fn start(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let input: CliStart = body.read(&auth)?;
    let codes = core.start_cli_auth(&auth.project, input).await?;
    Ok(Json(json!({
        "polling_code": codes.polling_code,
        "login_code": codes.login_code,
        "expires_at": gatehouse_core::iso_time(codes.expires_at),
    })))
}

/// `POST /auth/cli/poll`: `waiting`, `expired`, `used`, or (201) `success` with the refresh
/// token.
pub async fn poll(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    let input: CliPoll = body.read(&auth)?;
    let (status, body) = match core
        .poll_cli_auth(&auth.project, &input.polling_code)
        .await?
    {
        CliPollStatus::Success(token) => (
            StatusCode::CREATED,
            json!({ "status": "success", "refresh_token": token }),
        ),
        CliPollStatus::Waiting => (StatusCode::OK, json!({ "status": "waiting" })),
        CliPollStatus::Expired => (StatusCode::OK, json!({ "status": "expired" })),
        CliPollStatus::Used => (StatusCode::OK, json!({ "status": "used" })),
    };
    Ok((status, Json(body)).into_response())
}

/// `POST /auth/cli/complete`.
pub async fn complete(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let input: CliComplete = body.read(&auth)?;
    Ok(Json(core.complete_cli_auth(&auth.project, input).await?))
}
