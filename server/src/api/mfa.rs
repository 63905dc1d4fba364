//! Multi-factor sign-in: `/auth/mfa/*` (Stack's `sign-in`; Gatehouse's recovery codes).

use axum::extract::State;
use axum::Json;
use gatehouse_core::mfa::{MfaSignIn, RecoverySignIn};
use gatehouse_core::Core;
use serde_json::{json, Value};

use super::extract::{Authed, Body};
use super::{signed_in, ApiResult};

/// `POST /auth/mfa/sign-in`: an attempt code and a code from the user's app.
pub async fn sign_in(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let input: MfaSignIn = body.read(&auth)?;
    Ok(signed_in(core.mfa_sign_in(&auth.project, input).await?))
}

/// `POST /auth/mfa/recovery-code/sign-in` (Gatehouse's own): an attempt code and one of the
/// user's recovery codes.
pub async fn recovery_sign_in(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let input: RecoverySignIn = body.read(&auth)?;
    Ok(signed_in(
        core.mfa_recovery_sign_in(&auth.project, input).await?,
    ))
}

/// `POST /auth/mfa/recovery-codes` (Gatehouse's own): a new set for the signed-in user, shown
/// this once.
pub async fn new_recovery_codes(
    State(core): State<Core>,
    Authed(auth): Authed,
) -> ApiResult<Json<Value>> {
    let user = auth.me()?;
    let codes = core.new_recovery_codes(user).await?;
    Ok(Json(json!({ "recovery_codes": codes })))
}
