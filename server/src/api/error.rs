//! The one place a core error becomes an HTTP response: Stack's `{code, error, details}` body
//! with the `x-stack-known-error` header (and its `x-hexclave-` twin); Stack's plain-text status
//! errors; unexpected failures logged and shown as nothing more than a 500.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::validation::schema_error_text;
use gatehouse_core::Error;
use serde_json::json;

pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A schema error's lines, left on the response for [`finish_schema_error`], which knows the
/// request's method and path that Stack's message names.
#[derive(Clone)]
struct SchemaLines(Vec<String>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        if let Error::Internal(cause) = &err {
            tracing::error!(%cause, "request failed");
        }
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = match &err {
            Error::Status(_, _) | Error::RateLimited(_) => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                err.message(),
            )
                .into_response(),
            _ => (status, Json(err.to_json())).into_response(),
        };
        if let Error::RateLimited(e) = &err {
            if let Some(wait) = e.retry_after_s() {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            }
            super::limits::quota_headers(&mut res, &e.quota);
        }
        if let Error::Schema(lines) = &err {
            res.extensions_mut().insert(SchemaLines(lines.clone()));
        }
        if let Some(code) = err.code() {
            let v = HeaderValue::from_static(code);
            res.headers_mut().insert("x-stack-known-error", v.clone());
            res.headers_mut().insert("x-hexclave-known-error", v);
        }
        res
    }
}

/// Words a schema error as Stack does: `Request validation failed on {METHOD} {PATH}:` and one
/// line per failing field, in both `error` and `details.message`.
pub fn finish_schema_error(method: &Method, path: &str, res: &mut Response) {
    let Some(SchemaLines(lines)) = res.extensions_mut().remove::<SchemaLines>() else {
        return;
    };
    let text = schema_error_text(method.as_str(), path, &lines);
    let body = json!({ "code": "SCHEMA_ERROR", "details": { "message": text }, "error": text });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    res.headers_mut().remove(header::CONTENT_LENGTH);
    *res.body_mut() = axum::body::Body::from(bytes);
}
