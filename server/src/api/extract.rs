//! What every endpoint reads from a request: the credentials in `X-Stack-*` / `X-Hexclave-*`
//! headers, checked by the core, and JSON bodies and query strings, read against the shapes
//! their types declare so that every mistake becomes one line of Stack's SCHEMA_ERROR.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use gatehouse_core::auth::{Auth, Credentials};
use gatehouse_core::users::User;
use gatehouse_core::validation::{self, Input, Issues};
use gatehouse_core::{Core, Error};
use serde_json::Value;

use super::error::ApiError;

/// A header under either spelling; the current SDKs send `x-hexclave-*`, older ones `x-stack-*`.
pub fn header(headers: &HeaderMap, spellings: [&'static str; 2]) -> Option<String> {
    spellings
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Both spellings of an `x-hexclave-*` / `x-stack-*` header for [`header`], spelt out when
/// compiling (no name is built per request).
macro_rules! spellings {
    ($name:literal) => {
        [concat!("x-hexclave-", $name), concat!("x-stack-", $name)]
    };
}
pub(crate) use spellings;

/// The Gatehouse fields a request asks for beside Stack's (`x-gatehouse-fields: language`):
/// Gatehouse's additions appear only in answers to requests that name them.
pub fn gatehouse_fields(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all("x-gatehouse-fields")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// A cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The credentials headers, without their `x-hexclave-` / `x-stack-` prefix, in the order of
/// [`credentials`]'s fields.
const CREDENTIALS: [&str; 10] = [
    "access-type",
    "project-id",
    "publishable-client-key",
    "secret-server-key",
    "super-secret-admin-key",
    "admin-access-token",
    "access-token",
    "refresh-token",
    "allow-anonymous-user",
    "allow-restricted-user",
];

/// The credentials a request carries, read in one pass over its headers (a lookup per header
/// and spelling cost more than the rest of a session check). As with [`header`], the first
/// `x-hexclave-*` value decides, then the first `x-stack-*` one.
pub fn credentials(headers: &HeaderMap) -> Credentials {
    let mut values: [Option<String>; 10] = Default::default();
    let mut rank = [0u8; 10];
    for (name, value) in headers {
        let name = name.as_str();
        let (rest, r) = match name.strip_prefix("x-hexclave-") {
            Some(rest) => (rest, 2),
            None => match name.strip_prefix("x-stack-") {
                Some(rest) => (rest, 1),
                None => continue,
            },
        };
        let Some(i) = CREDENTIALS.iter().position(|c| *c == rest) else {
            continue;
        };
        if rank[i] < r {
            rank[i] = r;
            values[i] = value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
        }
    }
    let [access_type, project_id, publishable_client_key, secret_server_key, super_secret_admin_key, admin_access_token, access_token, refresh_token, allow_anonymous_user, allow_restricted_user] =
        values;
    Credentials {
        access_type,
        project_id,
        publishable_client_key,
        secret_server_key,
        super_secret_admin_key,
        admin_access_token,
        access_token,
        refresh_token,
        allow_anonymous_user: allow_anonymous_user.as_deref() == Some("true"),
        allow_restricted_user: allow_restricted_user.as_deref() == Some("true"),
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

/// A JSON body, parsed but not yet checked: handlers check access first and then read it
/// against its type's shape, as Stack orders its errors (access type, then every schema issue).
/// An empty body reads as `{}`, so endpoints whose fields are all optional accept none at all.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::Status(
                    413,
                    format!(
                        "The request body is larger than the API accepts ({} MiB).",
                        super::BODY_LIMIT / (1024 * 1024)
                    ),
                )
            } else {
                Error::BodyParsing(format!("Could not read the request body: {e}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Value::Object(Default::default())));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::BodyParsing("Request body cannot be parsed as UTF-8".into()))?;
        // As Stack reads bodies: JSON (also when no type is given), a form as an object of
        // strings, text as text (which no endpoint's shape accepts), any other type refused.
        match content_type.as_deref() {
            None | Some("application/json") => serde_json::from_str(text)
                .map(Body)
                .map_err(|_| Error::BodyParsing("Invalid JSON in request body".into()).into()),
            Some("application/x-www-form-urlencoded") => Ok(Body(Value::Object(
                url::form_urlencoded::parse(text.as_bytes())
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                    .collect(),
            ))),
            Some("text/plain" | "application/octet-stream") => {
                Ok(Body(Value::String(text.to_string())))
            }
            Some(other) => Err(Error::BodyParsing(format!(
                "Unknown content type in request body: {other}"
            ))
            .into()),
        }
    }
}

impl Body {
    /// The body as `T`, or every way it fails `T`'s shape.
    pub fn read<T: Input>(self, auth: &Auth) -> Result<T, Error> {
        let mut issues = Issues::new();
        let out = issues.read("body", self.0, &T::shape(auth.is_server()));
        issues.finish()?;
        out.ok_or_else(|| Error::internal("validated body without a value"))
    }

    /// For endpoints that act for the signed-in user: the user and the body, with a missing
    /// user reported as the first issue (`auth.user must be defined`), as Stack does.
    pub fn read_for_user<T: Input>(self, auth: &Auth) -> Result<(User, T), Error> {
        let mut issues = Issues::new();
        if auth.user.is_none() {
            issues.push("auth.user must be defined");
        }
        let out = issues.read("body", self.0, &T::shape(auth.is_server()));
        issues.finish()?;
        match (auth.user.clone(), out) {
            (Some(user), Some(input)) => Ok((user, input)),
            _ => Err(Error::internal("validated body without a value")),
        }
    }
}

/// A body that must hold nothing (`{}`).
#[derive(serde::Deserialize)]
pub struct Empty {}

impl Input for Empty {
    fn shape(_: bool) -> gatehouse_core::validation::Shape {
        gatehouse_core::validation::Shape::new()
    }
}

/// The query string as Stack validates it: an object of strings, checked against a shape.
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(pairs) = axum::extract::Query::try_from_uri(&parts.uri)
            .map_err(|_| Error::BodyParsing("The query string cannot be parsed.".into()))?;
        Ok(QueryParams(pairs))
    }
}

impl QueryParams {
    pub fn read<T: Input>(&self, auth: &Auth) -> Result<T, Error> {
        validation::read(
            "query",
            validation::query_value(&self.0),
            &T::shape(auth.is_server()),
        )
    }
}

/// A path id as Stack's params schemas check it: a UUID.
pub fn uuid_param(name: &str, value: &str) -> Result<(), Error> {
    if gatehouse_core::is_uuid(value) {
        Ok(())
    } else {
        Err(validation::invalid(format!(
            "params.{name} must be a valid UUID"
        )))
    }
}

/// A user id that may be `me` (in a path, query or body): the signed-in user's id, or the id as
/// given once it is a UUID.
pub fn user_or_me(auth: &Auth, at: &str, value: &str) -> Result<String, Error> {
    if value == "me" {
        return Ok(auth.me()?.id.clone());
    }
    if !gatehouse_core::is_uuid(value) {
        return Err(validation::invalid(format!("{at} must be a valid UUID")));
    }
    Ok(value.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Headers from name-value pairs, repeats kept.
    pub(crate) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn credentials_take_the_hexclave_spelling_first_whatever_the_order() {
        let c = credentials(&headers(&[
            ("x-stack-access-type", "client"),
            ("x-hexclave-access-type", "server"),
            ("x-stack-project-id", " internal "),
            ("x-stack-access-token", "first"),
            ("x-stack-access-token", "second"),
            ("x-hexclave-refresh-token", ""),
            (
                "x-stack-refresh-token",
                "ignored: the hexclave header decides",
            ),
            ("x-stack-allow-anonymous-user", "true"),
            ("x-stack-unknown", "x"),
        ]));
        assert_eq!(c.access_type.as_deref(), Some("server"));
        assert_eq!(c.project_id.as_deref(), Some("internal"));
        assert_eq!(c.access_token.as_deref(), Some("first"));
        assert_eq!(c.refresh_token, None);
        assert!(c.allow_anonymous_user);
        assert!(!c.allow_restricted_user);
        assert_eq!(c.publishable_client_key, None);
    }
}
