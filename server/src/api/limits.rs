//! The REST door's share of the abuse limits (see `gatehouse_core::rate_limits`): each attempt
//! at a limited action with client access is counted against the visitor's address before the
//! handler runs, and the answer carries where the count stands (`RateLimit-*`). Counts by
//! account are the core's.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use gatehouse_core::rate_limits::{Action, Quota, Subject};
use gatehouse_core::Core;

use crate::client_ip::TrustedProxies;

use super::error::ApiError;
use super::extract::{header, spellings};

/// What a limited route's layer needs: the core, the proxies trusted to name the visitor, and
/// the route's action.
#[derive(Clone)]
pub struct Counter {
    core: Core,
    trusted: TrustedProxies,
    action: Action,
}

/// `route` with its attempts counted as `action` (the layer runs for this route alone, so the
/// routes that are not limited, the hot reads among them, pass no extra step).
pub fn limited(
    core: &Core,
    trusted: &TrustedProxies,
    action: Action,
    route: MethodRouter<Core>,
) -> MethodRouter<Core> {
    let counter = Counter {
        core: core.clone(),
        trusted: trusted.clone(),
        action,
    };
    route.route_layer(middleware::from_fn_with_state(counter, count_attempts))
}

async fn count_attempts(State(c): State<Counter>, req: Request, next: Next) -> Response {
    let Counter {
        core,
        trusted,
        action,
    } = c;
    let Some(ip) = crate::client_ip::of(&trusted, &req) else {
        return next.run(req).await;
    };
    // A secret key's requests come from the app's own backend, on behalf of many people at
    // one address: only the accounts are counted for them (by the core), and key checks.
    let access = header(req.headers(), spellings!("access-type"));
    if access.as_deref() != Some("client") && action != Action::ApiKeyCheck {
        return next.run(req).await;
    }
    // The handler refuses a request without a project; only a real project has limits.
    let Some(project_id) = header(req.headers(), spellings!("project-id")) else {
        return next.run(req).await;
    };
    let project = match core.project_cached(&project_id).await {
        Ok(Some(p)) => p,
        _ => return next.run(req).await,
    };
    // A key check that passes is a customer's hot path: only failures are counted, and an
    // address past the limit is refused from memory.
    if action == Action::ApiKeyCheck {
        if let Err(e) = core.refuse_after_failures(&project, action, Subject::Ip(ip)) {
            return ApiError(e).into_response();
        }
        let res = next.run(req).await;
        if res.status() == StatusCode::NOT_FOUND {
            if let Err(e) = core.count_failure(&project, action, Subject::Ip(ip)).await {
                tracing::warn!(error = %e, "could not count a failed API key check");
            }
        }
        return res;
    }
    match core.limit(&project, action, Subject::Ip(ip)).await {
        Err(e) => ApiError(e).into_response(),
        Ok(quota) => {
            let mut res = next.run(req).await;
            if let Some(q) = quota {
                // The core's account count may have answered already, with its own.
                if !res.headers().contains_key("ratelimit-limit") {
                    quota_headers(&mut res, &q);
                }
            }
            res
        }
    }
}

/// `RateLimit-Limit`, `-Remaining`, `-Reset` (seconds) and `-Policy` (`60;w=60`), as the
/// IETF's draft on rate-limit headers names them.
pub fn quota_headers(res: &mut Response, q: &Quota) {
    let h = res.headers_mut();
    let mut put = |name: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(name, v);
        }
    };
    put("ratelimit-limit", q.limit.to_string());
    put("ratelimit-remaining", q.remaining.to_string());
    put("ratelimit-reset", q.reset_s.to_string());
    put("ratelimit-policy", format!("{};w={}", q.limit, q.window_s));
}
