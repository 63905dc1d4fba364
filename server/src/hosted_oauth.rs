//! "Continue with GitHub" on the hosted pages: plain links and redirects, so it works with
//! JavaScript off. The hosted pages are one more app of the project: they begin the flow with
//! their own state and PKCE verifier (kept in a cookie), and their callback trades the code for
//! the page session, as the SDK does for an app.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};

use crate::api::cookie;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_app::server::{session_cookie, session_cookie_name};
use gatehouse_core::oauth::{pkce_challenge, AuthorizeQuery};
use gatehouse_core::projects::Project;
use gatehouse_core::{crypto, Core, Error};

/// `/handler/{project}/oauth/{provider}`'s and the callback's page for errors.
fn page(project: &str, link: bool) -> String {
    if link {
        format!("/handler/{project}/account-settings")
    } else {
        format!("/handler/{project}/sign-in")
    }
}

fn flow_cookie(state: &str) -> String {
    format!("gatehouse_oauth_{state}")
}

fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// Back to the page the flow began on, with the error for a person to read.
fn failed(page: &str, message: &str) -> Response {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("error", message)
        .finish();
    redirect(&format!("{page}?{query}"), &[])
}

fn callback_url(core: &Core, project: &Project) -> String {
    format!("{}/handler/{}/oauth-callback", core.public_url, project.id)
}

/// `GET /handler/{project_id}/oauth/{provider_id}[?type=link][&after_auth_return_to=…]`.
pub async fn begin(
    State(core): State<Core>,
    Path((project_id, provider_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Ok(Some(project)) = core.project_cached(&project_id).await else {
        return (StatusCode::NOT_FOUND, "No such project.").into_response();
    };
    let link = q.get("type").map(String::as_str) == Some("link");
    let back = page(&project.id, link);
    // Linking needs the page's signed-in user, as an access token for the flow.
    let token = if link {
        let session = match cookie(&headers, &session_cookie_name(&project.id)) {
            Some(refresh) => core.user_of_refresh_token(&project.id, refresh).await,
            None => Ok(None),
        };
        match session {
            Ok(Some((session, user))) => match core.access_token(&user, &session.id) {
                Ok(t) => t,
                Err(e) => return failed(&back, &e.message()),
            },
            Ok(None) => {
                return failed(
                    &page(&project.id, false),
                    &Error::UserAuthenticationRequired.message(),
                )
            }
            Err(e) => return failed(&back, &e.message()),
        }
    } else {
        String::new()
    };
    let verifier = crypto::random_token(32);
    let state = crypto::random_token(16);
    let query = AuthorizeQuery {
        flow: if link { "link" } else { "authenticate" }.into(),
        token,
        after_callback_redirect_url: q
            .get("after_auth_return_to")
            .filter(|u| !u.is_empty())
            .cloned(),
        client_id: project.id.clone(),
        redirect_uri: callback_url(&core, &project),
        scope: "legacy".into(),
        state: state.clone(),
        grant_type: "authorization_code".into(),
        code_challenge: pkce_challenge(&verifier),
        code_challenge_method: "S256".into(),
        response_type: "code".into(),
        ..AuthorizeQuery::default()
    };
    let started = match core.start_oauth(&project, &provider_id, &query).await {
        Ok(s) => s,
        Err(e) => return failed(&back, &e.message()),
    };
    let secure = if core.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let kind = if link { "link" } else { "signin" };
    redirect(
        &started.location,
        &[
            format!(
                "stack-oauth-inner-{}=true; Path=/; HttpOnly; Max-Age=600; SameSite=Lax{secure}",
                started.inner_state
            ),
            format!(
                "{}={kind}.{verifier}; Path=/handler; HttpOnly; Max-Age=600; SameSite=Lax{secure}",
                flow_cookie(&state)
            ),
        ],
    )
}

/// `GET /handler/{project_id}/oauth-callback?code=…&state=…` (or Stack's error parameters).
pub async fn finish(
    State(core): State<Core>,
    Path(project_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Ok(Some(project)) = core.project_cached(&project_id).await else {
        return (StatusCode::NOT_FOUND, "No such project.").into_response();
    };
    let state = q.get("state").cloned().unwrap_or_default();
    let Some((kind, verifier)) =
        cookie(&headers, &flow_cookie(&state)).and_then(|v| v.split_once('.'))
    else {
        return failed(
            &page(&project.id, false),
            "This sign-in was begun in another browser, or took too long. Please try again.",
        );
    };
    let back = page(&project.id, kind == "link");
    let clear = format!("{}=; Path=/handler; Max-Age=0", flow_cookie(&state));
    if let Some(message) = q.get("message").or(q.get("error_description")) {
        return failed(&back, message);
    }
    let Some(code) = q.get("code") else {
        return failed(&back, "The sign-in was not completed. Please try again.");
    };
    let grant = match core
        .exchange_authorization_code(
            &project,
            code,
            Some(verifier),
            Some(&callback_url(&core, &project)),
        )
        .await
    {
        Ok(g) => g,
        // A user with a second factor gives it on the hosted page that asks for it.
        Err(Error::MultiFactorAuthenticationRequired(attempt)) => {
            let next = gatehouse_app::server::second_factor_url(&project.id, &attempt, None);
            return redirect(&next, &[clear]);
        }
        Err(e) => return failed(&back, &e.message()),
    };
    let target = grant
        .after_callback_redirect_url
        .or_else(|| {
            (kind != "link")
                .then(|| project.config.after_sign_in_url.clone())
                .flatten()
        })
        .unwrap_or_else(|| format!("/handler/{}/account-settings", project.id));
    redirect(
        &target,
        &[
            session_cookie(
                &core.public_url,
                &project.id,
                Some(&grant.tokens.refresh_token),
            ),
            clear,
        ],
    )
}
