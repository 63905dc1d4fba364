//! The one place a core error becomes an HTTP response: Stack's `{code, error, details}` body
//! with the `x-stack-known-error` header; unexpected failures are logged and shown as nothing
//! more than a 500.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::Error;

pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        if let Error::Internal(cause) = &err {
            tracing::error!(%cause, "request failed");
        }
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(err.to_json())).into_response();
        if let Some(code) = err.code() {
            let v = HeaderValue::from_static(code);
            res.headers_mut().insert("x-stack-known-error", v.clone());
            res.headers_mut().insert("x-hexclave-known-error", v);
        }
        res
    }
}
