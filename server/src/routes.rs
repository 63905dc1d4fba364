//! The whole site on one port: `/api/v1` (REST), `/health`, the site's static files, and the
//! Leptos pages (hosted auth pages and dashboard).

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use gatehouse_app::{shell, App};
use gatehouse_core::Core;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde_json::json;
use tower_http::services::ServeDir;

use crate::config::Config;

pub fn router(core: Core, config: &Config, addr: SocketAddr) -> Router {
    let site_root = config.site_root.clone().unwrap_or_else(|| "target/site".into());
    let options = LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let routes = generate_route_list(App);
    let pages = Router::new()
        .leptos_routes(&options, routes, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback_service(ServeDir::new(site_root))
        .with_state(options);
    Router::new()
        .nest("/api/v1", crate::api::router(core))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .merge(pages)
}
