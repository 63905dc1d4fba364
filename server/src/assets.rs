//! The site's static files (wasm, JS, CSS, public files). A release binary carries them inside
//! itself, so copying the one file is a deployment; debug builds read the same folder from disk,
//! and `LEPTOS_SITE_ROOT` serves another folder instead (development).
//!
//! Pages link the bundle under `/assets/<version>/…`, where the version is a hash of every site
//! file: those answers may be cached for a year (`immutable`), since a new build has a new
//! version and so new URLs. Other paths are revalidated with an ETag. Files the build
//! precompressed (`.br`, `.gz` beside them) are sent compressed to browsers that accept it.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};

#[derive(rust_embed::RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// Where the site's files come from.
enum Source {
    Embedded,
    Folder(PathBuf),
}

fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| match std::env::var_os("LEPTOS_SITE_ROOT") {
        Some(dir) => Source::Folder(dir.into()),
        None => Source::Embedded,
    })
}

fn read(path: &str) -> Option<Cow<'static, [u8]>> {
    if path.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return None;
    }
    match source() {
        Source::Embedded => Site::get(path).map(|f| f.data),
        Source::Folder(dir) => std::fs::read(dir.join(path)).ok().map(Cow::Owned),
    }
}

/// The bundle's files, whose hash makes the version.
const BUNDLE: [&str; 7] = [
    "pkg/gatehouse.js",
    "pkg/gatehouse_bg.wasm",
    "pkg/gatehouse.css",
    "copy.js",
    "hosted.js",
    "pow.js",
    "favicon.svg",
];

/// A short hash of the bundle: the path segment that makes its URLs change with every build.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        for path in BUNDLE {
            h.update(read(path).unwrap_or_default());
        }
        gatehouse_core::crypto::hex(&h.finalize()[..6])
    })
}

/// The URL prefix pages load the bundle from.
pub fn asset_root() -> String {
    format!("/assets/{}", version())
}

/// A router that answers every path with a site file, or 404.
pub fn router() -> Router {
    Router::new().fallback(serve)
}

async fn serve(req: Request) -> Response {
    let path = req.uri().path().trim_start_matches('/');
    let (path, immutable) = match path.strip_prefix("assets/") {
        Some(rest) => match rest.split_once('/') {
            // Under `cargo leptos watch` files change while the version stays.
            Some((v, file)) => (
                file,
                v == version() && std::env::var_os("LEPTOS_WATCH").is_none(),
            ),
            None => return not_found(),
        },
        None => (path, false),
    };
    let Some(plain) = read(path) else {
        return not_found();
    };
    let (data, encoding) = match preferred_encoding(req.headers(), path) {
        Some((data, enc)) => (data, Some(enc)),
        None => (plain, None),
    };
    let etag = format!(
        "\"{}{}\"",
        gatehouse_core::crypto::hex(&Sha256::digest(&data)[..12]),
        encoding.map(|e| format!("-{e}")).unwrap_or_default()
    );
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut h = HeaderMap::new();
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime.as_ref())
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    (h, Body::from(data.into_owned())).into_response()
}

/// The precompressed copy the browser accepts (Brotli first), if the build made one.
fn preferred_encoding(
    headers: &HeaderMap,
    path: &str,
) -> Option<(Cow<'static, [u8]>, &'static str)> {
    let accepts = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let offered = |name: &str| {
        accepts.split(',').any(|part| {
            let mut it = part.split(';');
            it.next().map(str::trim) == Some(name)
                && !it.any(|q| q.trim().replace(' ', "") == "q=0")
        })
    };
    [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(name, _)| offered(name))
        .find_map(|(name, ext)| read(&format!("{path}.{ext}")).map(|d| (d, name)))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found").into_response()
}
