//! OAuth: signing in with a provider (`/auth/oauth/*`), the token endpoint, a user's provider
//! accounts (`/oauth-providers`) and the app's use of them (`/connected-accounts`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use gatehouse_core::auth::{Auth, Credentials};
use gatehouse_core::oauth::accounts::{OAuthAccountCreate, OAuthAccountUpdate};
use gatehouse_core::oauth::flow::{CrossDomainAuthorize, Finish};
use gatehouse_core::oauth::{AuthorizeQuery, NO_CLIENT_KEY};
use gatehouse_core::tokens::ACCESS_TOKEN_TTL_SECS;
use gatehouse_core::validation::{string, Input, Shape};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{cookie, user_or_me, Authed, Body, QueryParams};
use super::{created, list, success, ApiError, ApiResult};

/// The cookie that binds the browser to the flow it began (Stack's name).
fn flow_cookie(state: &str) -> String {
    format!("stack-oauth-inner-{state}")
}

/// The browser's tie to an OAuth flow, written as Stack writes it (Next.js's cookie
/// serialisation: path, expiry as a date and as seconds, `Secure` on HTTPS, `HttpOnly`; no
/// `SameSite`, which browsers then treat as Lax).
fn flow_cookie_header(state: &str, secure: bool) -> String {
    const LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);
    let expires = httpdate::fmt_http_date(std::time::SystemTime::now() + LIFETIME);
    format!(
        "{}=true; Path=/; Expires={expires}; Max-Age={}; {}HttpOnly",
        flow_cookie(state),
        LIFETIME.as_secs(),
        if secure { "Secure; " } else { "" }
    )
}

/// `GET /auth/oauth/authorize/{provider_id}`: to the provider (307, with the flow's cookie),
/// or `{location}` for the SDK, which navigates itself.
pub async fn authorize(
    State(core): State<Core>,
    Path(provider_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let query: AuthorizeQuery = gatehouse_core::validation::read(
        "query",
        gatehouse_core::validation::query_value(&q.0),
        &AuthorizeQuery::shape(false),
    )?;
    let project = core
        .oauth_client_project(&query.client_id, &query.client_secret)
        .await?;
    let started = core.start_oauth(&project, &provider_id, &query).await?;
    if query.wants_json() {
        return Ok(Json(json!({ "location": started.location })).into_response());
    }
    let cookie = flow_cookie_header(
        &started.inner_state,
        core.public_url.starts_with("https://"),
    );
    let mut res = (StatusCode::TEMPORARY_REDIRECT, "").into_response();
    res.headers_mut().insert(
        LOCATION,
        HeaderValue::from_str(&started.location).map_err(Error::internal)?,
    );
    res.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(Error::internal)?,
    );
    Ok(res)
}

/// `GET/POST /auth/oauth/callback/{provider_id}`: where the provider sends the browser back
/// (Apple posts a form). On to the app (303), or the error here.
pub async fn callback(
    State(core): State<Core>,
    Path(provider_id): Path<String>,
    QueryParams(query): QueryParams,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params: HashMap<String, String> = query.into_iter().collect();
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    let state = params.get("state").cloned().unwrap_or_default();
    let country = core.request_country(|name| headers.get(name)?.to_str().ok());
    let has_cookie = |s: &str| cookie(&headers, &flow_cookie(s)) == Some("true");
    let finish = core
        .finish_oauth(&provider_id, &params, &has_cookie, country.as_deref())
        .await;
    let mut res = match finish {
        Finish::Redirect(url) => match HeaderValue::from_str(&url) {
            Ok(location) => {
                let mut r = StatusCode::SEE_OTHER.into_response();
                r.headers_mut().insert(LOCATION, location);
                r
            }
            Err(e) => ApiError(Error::internal(e)).into_response(),
        },
        Finish::Fail(e) => ApiError(e).into_response(),
    };
    if !state.is_empty() {
        if let Ok(v) =
            HeaderValue::from_str(&format!("{}=; Path=/; Max-Age=0", flow_cookie(&state)))
        {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// `POST /auth/oauth/cross-domain/authorize`: a code for the signed-in user that an app on
/// another domain trades for a session (needs the current refresh token, as Stack does).
pub async fn cross_domain_authorize(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let user = auth.me()?.clone();
    let input: CrossDomainAuthorize = body.read(&auth)?;
    let refresh = auth.refresh_token.as_deref().ok_or_else(|| {
        Error::Status(
            400,
            "Cross-domain auth handoff requires passing the current refresh token.".into(),
        )
    })?;
    let session = core
        .session_of_refresh_token(&auth.project.id, refresh)
        .await?;
    if session.as_ref().map(|s| s.id.as_str()) != auth.session_id.as_deref() {
        return Err(Error::Status(
            400,
            "Cross-domain auth handoff requires a refresh-token-bound session. Please sign in again."
                .into(),
        )
        .into());
    }
    let url = core
        .cross_domain_authorize(&auth.project, &user, &input)
        .await?;
    Ok(Json(json!({ "redirect_url": url })))
}

/// `POST /auth/oauth/token`: the OAuth 2 token endpoint (client id = project id, client secret
/// = publishable key): `authorization_code` after an OAuth sign-in, `refresh_token` for new
/// access tokens.
pub async fn token(
    State(core): State<Core>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    };
    let grant = form.get("grant_type").map(String::as_str);
    let required = match grant {
        Some("authorization_code") => ["client_id", "code"],
        Some("refresh_token") => ["client_id", "refresh_token"],
        Some(_) => {
            return oauth_error(
                "unsupported_grant_type",
                "Only the authorization_code and refresh_token grants are supported.",
            )
        }
        None => return oauth_error("invalid_request", "grant_type is missing."),
    };
    if required.iter().any(|k| !form.contains_key(*k)) {
        return oauth_error(
            "invalid_request",
            &format!("{} and {} are required.", required[0], required[1]),
        );
    }
    let result = if grant == Some("authorization_code") {
        code_grant(&core, &form).await
    } else {
        refresh_grant(&core, &form).await
    };
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// (`token` checked that the form has `client_id` and `code`.)
async fn code_grant(core: &Core, form: &HashMap<String, String>) -> Result<Value, Error> {
    let (client_id, code) = (&form["client_id"], &form["code"]);
    let secret = form.get("client_secret").map(String::as_str).unwrap_or("");
    let project = core
        .oauth_client_project(client_id, secret)
        .await
        .map_err(|e| match e {
            Error::InvalidPublishableClientKey(_) => Error::InvalidOAuthClientIdOrSecret(None),
            Error::InvalidOAuthClientIdOrSecret(_) => Error::InvalidOAuthClientIdOrSecret(None),
            e => e,
        })?;
    let grant = core
        .exchange_authorization_code(
            &project,
            code,
            form.get("code_verifier").map(String::as_str),
            form.get("redirect_uri").map(String::as_str),
        )
        .await?;
    Ok(json!({
        "access_token": grant.tokens.access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL_SECS,
        "refresh_token": grant.tokens.refresh_token,
        "scope": "legacy",
        "is_new_user": grant.is_new_user,
        "newUser": grant.is_new_user,
        "after_callback_redirect_url": grant.after_callback_redirect_url,
        "afterCallbackRedirectUrl": grant.after_callback_redirect_url,
    }))
}

/// (`token` checked that the form has `client_id` and `refresh_token`.)
async fn refresh_grant(core: &Core, form: &HashMap<String, String>) -> Result<Value, Error> {
    let (project_id, refresh_token) = (&form["client_id"], &form["refresh_token"]);
    let credentials = Credentials {
        access_type: Some("client".into()),
        project_id: Some(project_id.clone()),
        publishable_client_key: form
            .get("client_secret")
            .filter(|s| s.as_str() != NO_CLIENT_KEY)
            .cloned(),
        ..Credentials::default()
    };
    let auth = core
        .authenticate(&credentials)
        .await?
        .ok_or(Error::AccessTypeRequired)?;
    let access_token = core.refresh(&auth.project, refresh_token).await?;
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL_SECS,
        "refresh_token": refresh_token,
        "scope": "legacy",
    }))
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The user a request may act on: a client only on its own (Stack's 403, per action).
fn own_user(auth: &Auth, user_id: &str, action: &str, what: &str) -> Result<String, Error> {
    let id = user_or_me(auth, "params.user_id", user_id)?;
    if !auth.is_server() && auth.me()?.id != id {
        return Err(Error::Status(
            403,
            format!("Client can only {action} {what} for their own user."),
        ));
    }
    Ok(id)
}

async fn existing_user(core: &Core, auth: &Auth, id: &str) -> Result<(), Error> {
    core.user(&auth.project.id, id)
        .await?
        .map(|_| ())
        .ok_or(Error::UserNotFound)
}

#[derive(Deserialize)]
pub struct ListParams {
    user_id: Option<String>,
}

impl Input for ListParams {
    fn shape(_: bool) -> Shape {
        Shape::new().field("user_id", string().user_id_or_me())
    }
}

/// `GET /oauth-providers?user_id=`.
pub async fn list_accounts(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let p: ListParams = q.read(&auth)?;
    let user_id = match &p.user_id {
        Some(u) => Some(own_user(&auth, u, "list", "OAuth providers")?),
        None if auth.is_server() => None,
        None => {
            auth.me()?;
            return Err(Error::Status(
                403,
                "Client can only list OAuth providers for their own user.".into(),
            )
            .into());
        }
    };
    if let Some(id) = &user_id {
        existing_user(&core, &auth, id).await?;
    }
    let accounts = core
        .oauth_accounts(&auth.project.id, user_id.as_deref())
        .await?;
    Ok(list(
        accounts
            .iter()
            .map(|a| a.view(&auth.project, auth.is_server()))
            .collect(),
        None,
    ))
}

/// `POST /oauth-providers` (server): links an account by hand.
pub async fn create_account(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Response> {
    auth.require_server()?;
    let input: OAuthAccountCreate = body.read(&auth)?;
    let user_id = user_or_me(&auth, "body.user_id", &input.user_id)?;
    let account = core
        .create_oauth_account(&auth.project, &user_id, &input, &auth.who())
        .await?;
    Ok(created(account.view(&auth.project, true)))
}

pub async fn read_account(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let user_id = own_user(&auth, &user_id, "read", "OAuth providers")?;
    existing_user(&core, &auth, &user_id).await?;
    let account = core.oauth_account(&auth.project.id, &user_id, &id).await?;
    Ok(Json(account.view(&auth.project, auth.is_server())))
}

pub async fn update_account(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let user_id = own_user(&auth, &user_id, "update", "OAuth providers")?;
    let input: OAuthAccountUpdate = body.read(&auth)?;
    existing_user(&core, &auth, &user_id).await?;
    let account = core
        .update_oauth_account(&auth.project, &user_id, &id, &input, &auth.who())
        .await?;
    Ok(Json(account.view(&auth.project, auth.is_server())))
}

pub async fn delete_account(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let user_id = own_user(&auth, &user_id, "delete", "OAuth providers")?;
    existing_user(&core, &auth, &user_id).await?;
    core.delete_oauth_account(&auth.project, &user_id, &id, &auth.who())
        .await?;
    Ok(success())
}

/// `GET /connected-accounts/{user_id}`.
pub async fn connected_accounts(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user_id = own_user(&auth, &user_id, "list", "connected accounts")?;
    existing_user(&core, &auth, &user_id).await?;
    let accounts = core.connected_accounts(&auth.project.id, &user_id).await?;
    Ok(list(
        accounts.iter().map(|a| a.connected_view()).collect(),
        None,
    ))
}

#[derive(Deserialize)]
pub struct AccessTokenBody {
    scope: Option<String>,
}

impl Input for AccessTokenBody {
    fn shape(_: bool) -> Shape {
        Shape::new().field("scope", string())
    }
}

/// `POST /connected-accounts/{user_id}/{provider_id}/access-token`.
pub async fn access_token(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, provider_id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Response> {
    provider_token(&core, &auth, &user_id, &provider_id, None, body).await
}

/// `POST /connected-accounts/{user_id}/{provider_id}/{provider_account_id}/access-token`.
pub async fn account_access_token(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((user_id, provider_id, account_id)): Path<(String, String, String)>,
    body: Body,
) -> ApiResult<Response> {
    provider_token(
        &core,
        &auth,
        &user_id,
        &provider_id,
        Some(&account_id),
        body,
    )
    .await
}

async fn provider_token(
    core: &Core,
    auth: &Auth,
    user_id: &str,
    provider_id: &str,
    account_id: Option<&str>,
    body: Body,
) -> ApiResult<Response> {
    let user_id = user_or_me(auth, "params.user_id", user_id)?;
    if !auth.is_server() && auth.me()?.id != user_id {
        return Err(Error::Status(
            403,
            "Client can only access its own connected accounts".into(),
        )
        .into());
    }
    let input: AccessTokenBody = body.read(auth)?;
    existing_user(core, auth, &user_id).await?;
    let token = core
        .provider_access_token(
            &auth.project,
            &user_id,
            provider_id,
            account_id,
            input.scope.as_deref(),
        )
        .await?;
    Ok(created(json!({ "access_token": token })))
}
