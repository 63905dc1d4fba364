//! Passkeys: `/auth/passkey/*` (Stack's).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use gatehouse_core::passkeys::{PasskeyRegister, PasskeySignIn};
use gatehouse_core::Core;
use serde_json::{json, Value};

use super::extract::{Authed, Body, Empty};
use super::{signed_in, ApiResult};

/// `POST /auth/passkey/initiate-passkey-registration` (a signed-in user).
pub async fn initiate_registration(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let (user, _): (_, Empty) = body.read_for_user(&auth)?;
    let (options, code) = core
        .initiate_passkey_registration(&auth.project, &user)
        .await?;
    Ok(Json(json!({ "options_json": options, "code": code })))
}

/// `POST /auth/passkey/register`.
pub async fn register(
    State(core): State<Core>,
    Authed(auth): Authed,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let (user, input): (_, PasskeyRegister) = body.read_for_user(&auth)?;
    let country = core.request_country(|name| headers.get(name)?.to_str().ok());
    let handle = core
        .register_passkey(&auth.project, &user, input, country.as_deref())
        .await?;
    Ok(Json(json!({ "user_handle": handle })))
}

/// `POST /auth/passkey/initiate-passkey-authentication`.
pub async fn initiate_authentication(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let _: Empty = body.read(&auth)?;
    let (options, code) = core.initiate_passkey_authentication(&auth.project).await?;
    Ok(Json(json!({ "options_json": options, "code": code })))
}

/// `POST /auth/passkey/sign-in`.
pub async fn sign_in(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let input: PasskeySignIn = body.read(&auth)?;
    Ok(signed_in(core.passkey_sign_in(&auth.project, input).await?))
}
