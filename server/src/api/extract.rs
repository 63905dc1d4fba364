//! What every endpoint reads from a request: the credentials in `X-Stack-*` / `X-Hexclave-*`
//! headers, checked by the core, and JSON bodies whose mistakes become SCHEMA_ERRORs that name
//! the field.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use gatehouse_core::auth::{Auth, Credentials};
use gatehouse_core::{Core, Error};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A header under either spelling; the current SDKs send `x-hexclave-*`, older ones `x-stack-*`.
pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    [format!("x-hexclave-{name}"), format!("x-stack-{name}")]
        .iter()
        .find_map(|h| headers.get(h.as_str()))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub fn credentials(headers: &HeaderMap) -> Credentials {
    Credentials {
        access_type: header(headers, "access-type"),
        project_id: header(headers, "project-id"),
        publishable_client_key: header(headers, "publishable-client-key"),
        secret_server_key: header(headers, "secret-server-key"),
        super_secret_admin_key: header(headers, "super-secret-admin-key"),
        admin_access_token: header(headers, "admin-access-token"),
        access_token: header(headers, "access-token"),
        refresh_token: header(headers, "refresh-token"),
        allow_anonymous_user: header(headers, "allow-anonymous-user").as_deref() == Some("true"),
    }
}

/// The request's authentication, if it carries any.
pub struct MaybeAuth(pub Option<Auth>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth
where
    Core: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let core = Core::from_ref(state);
        Ok(MaybeAuth(
            core.authenticate(&credentials(&parts.headers)).await?,
        ))
    }
}

/// An authenticated request: a project and an access type at least.
pub struct Authed(pub Auth);

impl<S: Send + Sync> FromRequestParts<S> for Authed
where
    Core: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match MaybeAuth::from_request_parts(parts, state).await?.0 {
            Some(auth) => Ok(Authed(auth)),
            None => Err(Error::AccessTypeRequired.into()),
        }
    }
}

/// A JSON body. An empty body reads as `{}`, so endpoints whose fields are all optional accept
/// none at all.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::BodyParsing(format!("Could not read the request body: {e}")))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Error::BodyParsing(format!(
                "The request body of {method} {path} is not valid JSON: {e}"
            ))
        })?;
        if !value.is_object() {
            return Err(Error::Schema(format!(
                "Request validation failed on {method} {path}: body must be a JSON object."
            ))
            .into());
        }
        serde_path_to_error::deserialize(value)
            .map(Body)
            .map_err(|e| {
                let detail = gatehouse_core::projects::describe_serde_error(&e);
                let detail = if e.path().to_string() == "." {
                    format!("body {detail}")
                } else {
                    format!("body.{detail}")
                };
                Error::Schema(format!(
                    "Request validation failed on {method} {path}: {detail}"
                ))
                .into()
            })
    }
}
