//! The REST door: Stack's `/api/v1` wire format over the core. Handlers parse, call the core,
//! and shape the answer; rules live in the core.

mod api_keys;
mod cli_auth;
mod config;
mod contact_channels;
mod emails;
mod error;
mod extract;
mod images;
mod limits;
mod mfa;
mod oauth;
mod passkeys;
mod permissions;
mod projects;
mod sessions;
mod sign_in_codes;
mod sign_up_rules;
mod team_invitations;
mod teams;
mod users;
mod webhooks;

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use gatehouse_core::{Core, Error};
use serde_json::{json, Value};

pub use error::{ApiError, ApiResult};
use extract::spellings;
#[cfg(test)]
pub(crate) use extract::tests as extract_tests;
use extract::MaybeAuth;
pub use extract::{cookie, credentials, header};

pub fn router(core: Core, trusted: crate::client_ip::TrustedProxies) -> Router {
    use gatehouse_core::rate_limits::Action::*;
    let limit = |action, route| limits::limited(&core, &trusted, action, route);
    Router::new()
        .route("/", get(welcome))
        .route("/projects/current", get(projects::current_client))
        .route(
            "/projects/{project_id}/.well-known/jwks.json",
            get(projects::jwks),
        )
        .route(
            "/internal/projects",
            get(projects::list_owned).post(projects::create),
        )
        .route(
            "/internal/projects/current",
            get(projects::current_admin)
                .patch(projects::update_current)
                .delete(projects::delete_current),
        )
        .route(
            "/internal/api-keys",
            get(projects::list_keys).post(projects::create_keys),
        )
        .route(
            "/internal/api-keys/{key_set_id}",
            get(projects::get_keys).patch(projects::update_keys),
        )
        .route("/internal/config", get(config::rendered))
        .route(
            "/internal/config/override/{level}",
            get(config::get_override)
                .put(config::set_override)
                .patch(config::patch_override),
        )
        .route(
            "/internal/config/override/{level}/reset-keys",
            post(config::reset_keys),
        )
        .route(
            "/internal/config/source",
            get(config::source).delete(config::unlink_source),
        )
        .route("/internal/sign-up-rules-test", post(sign_up_rules::test))
        .route("/internal/sign-up-rules-stats", get(sign_up_rules::stats))
        .route(
            "/contact-channels",
            get(contact_channels::list_channels).post(contact_channels::create),
        )
        .route(
            "/contact-channels/send-verification-code",
            limit(SendCode, post(contact_channels::send_code_for_email)),
        )
        .route(
            "/contact-channels/verify",
            limit(VerifyCode, post(contact_channels::verify)),
        )
        .route(
            "/contact-channels/verify/check-code",
            limit(VerifyCode, post(contact_channels::check_verify_code)),
        )
        .route(
            "/contact-channels/{user_id}/{id}",
            get(contact_channels::read)
                .patch(contact_channels::update)
                .delete(contact_channels::remove),
        )
        .route(
            "/contact-channels/{user_id}/{id}/send-verification-code",
            limit(SendCode, post(contact_channels::send_code)),
        )
        .route(
            "/auth/otp/send-sign-in-code",
            limit(SendCode, post(sign_in_codes::send_sign_in_code)),
        )
        .route(
            "/auth/otp/sign-in",
            limit(VerifyCode, post(sign_in_codes::sign_in)),
        )
        .route(
            "/auth/otp/sign-in/check-code",
            limit(VerifyCode, post(sign_in_codes::check_sign_in_code)),
        )
        .route(
            "/auth/password/send-reset-code",
            limit(SendCode, post(sign_in_codes::send_reset_code)),
        )
        .route(
            "/auth/password/reset",
            limit(VerifyCode, post(sign_in_codes::reset)),
        )
        .route(
            "/auth/password/reset/check-code",
            limit(VerifyCode, post(sign_in_codes::check_reset_code)),
        )
        .route("/emails/send-email", post(emails::send))
        .route("/emails/unsubscribe-link", get(emails::unsubscribe))
        .route(
            "/emails/notification-preference/{user_id}",
            get(emails::preferences),
        )
        .route(
            "/emails/notification-preference/{user_id}/{category_id}",
            axum::routing::patch(emails::update_preference),
        )
        .route("/emails/outbox", get(emails::outbox))
        .route(
            "/emails/outbox/{id}",
            get(emails::read).patch(emails::update),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{user_id}",
            get(users::read).patch(users::update).delete(users::remove),
        )
        .route(
            "/auth/password/sign-up",
            limit(SignUp, post(sessions::password_sign_up)),
        )
        .route(
            "/auth/password/sign-in",
            limit(SignIn, post(sessions::password_sign_in)),
        )
        .route("/auth/password/update", post(sessions::password_update))
        .route("/auth/password/set", post(sessions::password_set))
        .route(
            "/auth/anonymous/sign-up",
            limit(SignUp, post(sessions::anonymous_sign_up)),
        )
        .route(
            "/auth/bot-challenge",
            limit(SignUp, post(sessions::bot_challenge)),
        )
        .route("/auth/sessions", get(sessions::list).post(sessions::create))
        .route("/auth/sessions/current", delete(sessions::sign_out))
        .route("/auth/sessions/current/refresh", post(sessions::refresh))
        .route("/auth/sessions/{session_id}", delete(sessions::remove))
        .route("/auth/cli", post(cli_auth::start))
        .route("/auth/cli/poll", post(cli_auth::poll))
        .route("/auth/cli/complete", post(cli_auth::complete))
        .route(
            "/auth/passkey/initiate-passkey-registration",
            post(passkeys::initiate_registration),
        )
        .route("/auth/passkey/register", post(passkeys::register))
        .route(
            "/auth/passkey/initiate-passkey-authentication",
            post(passkeys::initiate_authentication),
        )
        .route(
            "/auth/passkey/sign-in",
            limit(SignIn, post(passkeys::sign_in)),
        )
        .route("/auth/mfa/sign-in", limit(Mfa, post(mfa::sign_in)))
        .route(
            "/auth/mfa/recovery-code/sign-in",
            limit(Mfa, post(mfa::recovery_sign_in)),
        )
        .route("/auth/mfa/recovery-codes", post(mfa::new_recovery_codes))
        .route("/auth/oauth/token", post(oauth::token))
        .route("/auth/oauth/authorize/{provider_id}", get(oauth::authorize))
        .route(
            "/auth/oauth/callback/{provider_id}",
            get(oauth::callback).post(oauth::callback),
        )
        .route(
            "/auth/oauth/cross-domain/authorize",
            post(oauth::cross_domain_authorize),
        )
        .route(
            "/oauth-providers",
            get(oauth::list_accounts).post(oauth::create_account),
        )
        .route(
            "/oauth-providers/{user_id}/{provider_id}",
            get(oauth::read_account)
                .patch(oauth::update_account)
                .delete(oauth::delete_account),
        )
        .route(
            "/connected-accounts/{user_id}",
            get(oauth::connected_accounts),
        )
        .route(
            "/connected-accounts/{user_id}/{provider_id}/access-token",
            post(oauth::access_token),
        )
        .route(
            "/connected-accounts/{user_id}/{provider_id}/{provider_account_id}/access-token",
            post(oauth::account_access_token),
        )
        .route("/teams", get(teams::list_teams).post(teams::create_team))
        .route(
            "/teams/{team_id}",
            get(teams::read_team)
                .patch(teams::update_team)
                .delete(teams::delete_team),
        )
        .route(
            "/team-memberships/{team_id}/{user_id}",
            post(teams::add_member).delete(teams::remove_member),
        )
        .route("/team-member-profiles", get(teams::list_profiles))
        .route(
            "/team-member-profiles/{team_id}/{user_id}",
            get(teams::read_profile).patch(teams::update_profile),
        )
        .route("/team-invitations", get(team_invitations::list_invitations))
        .route(
            "/team-invitations/send-code",
            post(team_invitations::send_code),
        )
        .route(
            "/team-invitations/accept",
            limit(VerifyCode, post(team_invitations::accept)),
        )
        .route(
            "/team-invitations/accept/check-code",
            limit(VerifyCode, post(team_invitations::check_code)),
        )
        .route(
            "/team-invitations/accept/details",
            limit(VerifyCode, post(team_invitations::details)),
        )
        .route("/team-invitations/{id}", delete(team_invitations::revoke))
        .route(
            "/team-invitations/{id}/accept",
            post(team_invitations::accept_by_id),
        )
        .route("/team-permissions", get(permissions::list_grants::<true>))
        .route(
            "/team-permissions/{team_id}/{user_id}/{permission_id}",
            post(permissions::grant_team).delete(permissions::revoke_team),
        )
        .route(
            "/project-permissions",
            get(permissions::list_grants::<false>),
        )
        .route(
            "/project-permissions/{user_id}/{permission_id}",
            post(permissions::grant_project).delete(permissions::revoke_project),
        )
        .route(
            "/team-permission-definitions",
            get(permissions::list_definitions::<true>).post(permissions::create_definition::<true>),
        )
        .route(
            "/team-permission-definitions/{permission_id}",
            patch(permissions::update_definition::<true>)
                .delete(permissions::delete_definition::<true>),
        )
        .route(
            "/project-permission-definitions",
            get(permissions::list_definitions::<false>)
                .post(permissions::create_definition::<false>),
        )
        .route(
            "/project-permission-definitions/{permission_id}",
            patch(permissions::update_definition::<false>)
                .delete(permissions::delete_definition::<false>),
        )
        .route("/images/{id}", get(images::image))
        .route(
            "/user-api-keys",
            get(api_keys::list_keys::<false>).post(api_keys::create::<false>),
        )
        .route(
            "/user-api-keys/check",
            limit(ApiKeyCheck, post(api_keys::check::<false>)),
        )
        .route(
            "/user-api-keys/{api_key_id}",
            get(api_keys::read::<false>).patch(api_keys::update::<false>),
        )
        .route(
            "/team-api-keys",
            get(api_keys::list_keys::<true>).post(api_keys::create::<true>),
        )
        .route(
            "/team-api-keys/check",
            limit(ApiKeyCheck, post(api_keys::check::<true>)),
        )
        .route(
            "/team-api-keys/{api_key_id}",
            get(api_keys::read::<true>).patch(api_keys::update::<true>),
        )
        .route(
            "/integrations/credential-scanning/revoke",
            post(api_keys::revoke_leaked),
        )
        .route("/webhooks/svix-token", post(webhooks::svix_token))
        .route("/internal/send-test-webhook", post(webhooks::send_test))
        .route("/app", post(webhooks::application))
        .route("/app/{app_id}", get(webhooks::application))
        .route(
            "/app/{app_id}/endpoint",
            get(webhooks::list_endpoints).post(webhooks::create_endpoint),
        )
        .route(
            "/app/{app_id}/endpoint/{endpoint_id}",
            get(webhooks::read_endpoint)
                .put(webhooks::update_endpoint)
                .patch(webhooks::update_endpoint)
                .delete(webhooks::delete_endpoint),
        )
        .route(
            "/app/{app_id}/endpoint/{endpoint_id}/secret",
            get(webhooks::endpoint_secret),
        )
        .route(
            "/app/{app_id}/endpoint/{endpoint_id}/secret/rotate",
            post(webhooks::rotate_secret),
        )
        .route(
            "/app/{app_id}/msg",
            get(webhooks::list_messages).post(webhooks::create_message),
        )
        .route("/app/{app_id}/msg/{msg_id}", get(webhooks::read_message))
        .route(
            "/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend",
            post(webhooks::resend),
        )
        .route(
            "/app/{app_id}/attempt/endpoint/{endpoint_id}",
            get(webhooks::endpoint_attempts),
        )
        .route(
            "/app/{app_id}/attempt/msg/{msg_id}",
            get(webhooks::message_attempts),
        )
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(wire_format))
        .with_state(core)
}

/// The largest request body the API reads (a profile picture as a data URL fits); larger ones
/// are answered 413.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// `GET /api/v1`: a greeting that says what authentication the request carried.
async fn welcome(MaybeAuth(auth): MaybeAuth) -> String {
    let seen = match &auth {
        None => "none".to_string(),
        Some(a) => format!(
            "{} access to project {}{}",
            a.access.as_str(),
            a.project.id,
            a.user
                .as_ref()
                .map(|u| format!(", signed in as user {}", u.id))
                .unwrap_or_default()
        ),
    };
    format!("Welcome to the Gatehouse API, compatible with Stack Auth's REST API. The reference is in the README.\n\nAuthentication: {seen}\n")
}

async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError(Error::RouteNotFound {
        method: method.to_string(),
        path: uri.path().to_string(),
    })
}

/// What every answer gets on its way out: schema errors name the request's method and path,
/// and with `x-stack-override-error-status: true` errors answer 200 and carry the real status
/// in `x-stack-actual-status`, as the SDK asks (some hosts swallow non-200 bodies).
async fn wire_format(OriginalUri(uri): OriginalUri, req: Request, next: Next) -> Response {
    let wants =
        header(req.headers(), spellings!("override-error-status")).as_deref() == Some("true");
    let method = req.method().clone();
    let mut res = next.run(req).await;
    error::finish_schema_error(&method, uri.path(), &mut res);
    if wants && (res.status().is_client_error() || res.status().is_server_error()) {
        let actual = HeaderValue::from(res.status().as_u16());
        res.headers_mut()
            .insert("x-stack-actual-status", actual.clone());
        res.headers_mut().insert("x-hexclave-actual-status", actual);
        *res.status_mut() = StatusCode::OK;
    }
    res
}

/// `{items, is_paginated, pagination}`: Stack's list envelope.
fn list(items: Vec<Value>, next_cursor: Option<Option<String>>) -> Json<Value> {
    Json(match next_cursor {
        Some(cursor) => {
            json!({ "items": items, "is_paginated": true, "pagination": { "next_cursor": cursor } })
        }
        None => json!({ "items": items, "is_paginated": false }),
    })
}

/// Stack's sign-in response (`signInResponseSchema`): the tokens and whether the account is new.
fn signed_in((tokens, is_new_user): (gatehouse_core::sessions::Tokens, bool)) -> Json<Value> {
    Json(json!({
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "user_id": tokens.user_id,
        "is_new_user": is_new_user,
    }))
}

fn success() -> Json<Value> {
    Json(json!({ "success": true }))
}

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}
