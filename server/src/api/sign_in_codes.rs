//! Sign-in by emailed code (magic link / OTP), and password reset.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use gatehouse_core::validation::{string, Input, Shape};
use gatehouse_core::Core;
use serde::Deserialize;
use serde_json::{json, Value};

use super::contact_channels::{code_field, CodeBody};
use super::extract::{Authed, Body};
use super::{success, ApiResult};

#[derive(Deserialize)]
pub struct SendCode {
    email: String,
    callback_url: String,
}

impl Input for SendCode {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("email", string().defined().email())
            .field("callback_url", string().defined().url())
            .bot_challenge()
    }
}

/// `POST /auth/otp/send-sign-in-code` → `{nonce}`.
pub async fn send_sign_in_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: SendCode = body.read(&auth)?;
    let nonce = core
        .send_sign_in_code(&auth.project, &b.email, &b.callback_url)
        .await?;
    Ok(Json(json!({ "nonce": nonce })))
}

/// `POST /auth/otp/sign-in`: the tokens, and whether the account was made just now.
pub async fn sign_in(
    State(core): State<Core>,
    Authed(auth): Authed,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    let country = core.request_country(|name| headers.get(name)?.to_str().ok());
    let signed = core
        .sign_in_with_code(
            &auth.project,
            auth.user.as_ref(),
            b.code(),
            country.as_deref(),
        )
        .await?;
    Ok(super::signed_in(signed))
}

pub async fn check_sign_in_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    core.check_sign_in_code(&auth.project, b.code()).await?;
    Ok(Json(json!({ "is_code_valid": true })))
}

/// `POST /auth/password/send-reset-code`: the same answer for every address.
pub async fn send_reset_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: SendCode = body.read(&auth)?;
    core.request_password_reset(&auth.project, &b.email, &b.callback_url)
        .await?;
    Ok(Json(
        json!({ "success": "maybe, only if user with e-mail exists" }),
    ))
}

#[derive(Deserialize)]
pub struct ResetBody {
    code: String,
    password: String,
}

impl Input for ResetBody {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("code", code_field())
            .field("password", string().defined())
    }
}

pub async fn reset(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: ResetBody = body.read(&auth)?;
    core.reset_password(&auth.project, &b.code, b.password)
        .await?;
    Ok(success())
}

pub async fn check_reset_code(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: CodeBody = body.read(&auth)?;
    core.check_reset_code(&auth.project, b.code()).await?;
    Ok(Json(json!({ "is_code_valid": true })))
}
