//! The whole site on one port: `/api/v1` (REST), `/health`, `/ready` and `/metrics`, the site's
//! static files, and the Leptos pages (hosted auth pages and dashboard).

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_app::{shell, App};
use gatehouse_core::Core;

use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde_json::json;
use tower_http::compression::CompressionLayer;

use crate::headers;

pub fn router(
    core: Core,
    addr: SocketAddr,
    policy: headers::Policy,
    trusted: crate::client_ip::TrustedProxies,
    metrics: std::sync::Arc<crate::observe::Metrics>,
) -> anyhow::Result<Router> {
    let mut options = leptos_config::get_config_from_str(LEPTOS_TOML)?;
    options.site_addr = addr;
    let routes = generate_route_list(App);
    // Pages and server functions reach the core through context, as the REST handlers do
    // through state: one core, two doors.
    let context = {
        let core = core.clone();
        let root = gatehouse_app::AssetRoot(crate::assets::asset_root());
        move || {
            provide_context(core.clone());
            provide_context(root.clone());
        }
    };
    // leptos_axum mounts each server function at its own path (under /_sfn/).
    let pages = Router::new()
        .route("/_theme", axum::routing::post(set_theme))
        .route(
            "/handler/{project_id}/oauth/{provider_id}",
            get(crate::hosted_oauth::begin).with_state(core.clone()),
        )
        .route(
            "/handler/{project_id}/oauth-callback",
            get(crate::hosted_oauth::finish).with_state(core.clone()),
        )
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback_service(crate::assets::router())
        .layer(middleware::from_fn(same_origin_posts_only))
        .layer(middleware::from_fn_with_state(
            trusted.clone(),
            crate::client_ip::resolve,
        ))
        .with_state(options);
    // JSON answers above a kilobyte go out compressed when the client accepts it.
    let api = crate::api::router(core.clone(), trusted)
        .layer(CompressionLayer::new())
        .layer(cors());
    // Stack serves every route under `/api/latest` too, and its own tooling calls it.
    Ok(Router::new()
        .nest("/api/v1", api.clone())
        .nest("/api/latest", api)
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route(
            "/ready",
            get(crate::observe::ready).with_state(core.clone()),
        )
        .route(
            "/metrics",
            get(crate::observe::metrics).with_state((core, metrics.clone())),
        )
        .merge(pages)
        .layer(middleware::from_fn_with_state(
            policy,
            headers::security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            metrics,
            crate::observe::observe,
        )))
}

/// Stack's CORS for the API: any origin may call it (apps in browsers, with keys and tokens
/// in headers, never cookies), and read the headers the SDK reads.
fn cors() -> tower_http::cors::CorsLayer {
    use tower_http::cors::{Any, CorsLayer};
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(Any)
        .expose_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-stack-actual-status"),
            header::HeaderName::from_static("x-stack-known-error"),
            header::HeaderName::from_static("x-hexclave-actual-status"),
            header::HeaderName::from_static("x-hexclave-known-error"),
        ])
        .max_age(std::time::Duration::from_secs(86400))
}

/// The light/dark toggle: remembers the choice in a cookie and returns to the page.
async fn set_theme(
    headers: axum::http::HeaderMap,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let cookie = match form.get("theme").map(String::as_str) {
        Some(t @ ("light" | "dark")) => {
            format!("gatehouse_theme={t}; Path=/; SameSite=Lax; Max-Age=31536000")
        }
        _ => "gatehouse_theme=; Path=/; SameSite=Lax; Max-Age=0".to_string(),
    };
    // Back to the page the toggle was on: only a path on this server.
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://"))
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, back), (header::SET_COOKIE, cookie)],
    )
        .into_response()
}

/// CSRF protection for the pages' form posts (besides SameSite=Lax cookies): a browser names
/// the page a POST comes from in `Origin`, and it must be this server.
async fn same_origin_posts_only(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, authority)| Some(authority) == host);
        if !same {
            return (
                StatusCode::FORBIDDEN,
                "Cross-site form posts are not accepted.",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// The site settings, embedded so that a copied binary carries them.
const LEPTOS_TOML: &str = include_str!("../../Leptos.toml");

#[cfg(test)]
mod tests {
    #[test]
    fn leptos_toml_agrees_with_the_cargo_leptos_metadata() {
        let options = leptos_config::get_config_from_str(super::LEPTOS_TOML).unwrap();
        let cargo: toml::Value = toml::from_str(include_str!("../../Cargo.toml")).unwrap();
        let meta = &cargo["workspace"]["metadata"]["leptos"][0];
        assert_eq!(
            meta["name"].as_str(),
            Some(&*options.output_name),
            "output-name defaults to name"
        );
        assert_eq!(
            &*options.site_root, "target/site",
            "cargo-leptos's default site-root"
        );
        assert_eq!(
            &*options.site_pkg_dir, "pkg",
            "cargo-leptos's default site-pkg-dir"
        );
        assert!(
            meta.get("site-root").is_none() && meta.get("output-name").is_none(),
            "one source of truth"
        );
        assert_eq!(
            meta["reload-port"].as_integer(),
            Some(options.reload_port as i64)
        );
    }
}
