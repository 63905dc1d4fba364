//! The site's static files (wasm, JS, CSS, public files). A release binary carries them inside
//! itself, so copying the one file is a deployment; debug builds read the same folder from disk.
//! `LEPTOS_SITE_ROOT` serves another folder instead (development).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::services::ServeDir;

#[derive(rust_embed::RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// A router that answers every path with a site file, or 404.
pub fn router() -> Router {
    match std::env::var_os("LEPTOS_SITE_ROOT") {
        Some(dir) => Router::new().fallback_service(ServeDir::new(dir)),
        None => Router::new().fallback(embedded),
    }
}

async fn embedded(req: Request) -> Response {
    let path = req.uri().path().trim_start_matches('/');
    match Site::get(path) {
        Some(file) => {
            let mime = file.metadata.mimetype();
            let mut res = Body::from(file.data.into_owned()).into_response();
            if let Ok(v) = HeaderValue::from_str(mime) {
                res.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            res
        }
        None => (StatusCode::NOT_FOUND, "Not found").into_response(),
    }
}
