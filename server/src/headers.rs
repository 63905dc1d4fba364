//! Headers the site sends with its pages: a Content-Security-Policy whose script nonce is new
//! for every response (the page's own hydration script carries it; nothing else runs), no
//! framing (clickjacking), no MIME sniffing, a referrer policy that never leaks a code in a
//! URL, `no-store` on pages (they show personal data and tokens), and HSTS behind https. A
//! project may name origins allowed to frame its hosted pages (`allowed_frame_origins`).

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The header a page's shell leaves its nonce in; taken off before the answer leaves.
pub const NONCE_HEADER: &str = "x-gatehouse-csp-nonce";

#[derive(Clone)]
pub struct Policy {
    /// The public URL is https: browsers are told to come back on https only.
    pub https: bool,
    /// For the projects' framing settings.
    pub core: gatehouse_core::Core,
    /// Under `cargo leptos watch`: pages may open the live-reload websocket.
    pub live_reload: bool,
}

impl Policy {
    /// The origins allowed to frame this page: those a project lists for its hosted pages.
    async fn frame_ancestors(&self, path: &str) -> Vec<String> {
        let Some(project_id) = path
            .strip_prefix(gatehouse_app::HOSTED_PREFIX)
            .and_then(|rest| rest.split('/').next())
        else {
            return vec![];
        };
        match self.core.project_cached(project_id).await {
            Ok(Some(p)) => p.config.allowed_frame_origins.clone(),
            _ => vec![],
        }
    }
}

pub async fn security_headers(State(policy): State<Policy>, req: Request, next: Next) -> Response {
    // A code in the URL (verification links, OAuth callbacks) must not travel on in Referer.
    let carries_code = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("code=")));
    let framers = policy.frame_ancestors(req.uri().path()).await;
    // The hosted checkout runs Stripe.js: its script, its card frames and its API.
    let stripe = is_checkout(req.uri().path()).then(|| {
        let urls = &policy.core.stripe;
        (origin_of(&urls.js), origin_of(&urls.api))
    });
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let nonce = res.headers_mut().remove(NONCE_HEADER);
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if policy.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if is_html {
        let nonce = nonce
            .as_ref()
            .and_then(|n| n.to_str().ok())
            .map(|n| format!(" 'nonce-{n}'"))
            .unwrap_or_default();
        let (stripe_js, stripe_api) = match &stripe {
            Some((js, api)) => (format!(" {js}"), format!(" {js} {api}")),
            None => (String::new(), String::new()),
        };
        let csp = format!(
            "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'{stripe_js}; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; \
             connect-src 'self'{}{stripe_api}; frame-src 'self'{stripe_js}{}; font-src 'self'; \
             object-src 'none'; base-uri 'none'; frame-ancestors {}",
            if policy.live_reload { " ws: wss:" } else { "" },
            if stripe.is_some() {
                " https://hooks.stripe.com"
            } else {
                ""
            },
            if framers.is_empty() {
                "'none'".to_string()
            } else {
                framers.join(" ")
            }
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        // X-Frame-Options cannot name origins; browsers that know CSP follow frame-ancestors.
        if framers.is_empty() {
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        h.insert(
            header::REFERRER_POLICY,
            // `same-origin`, not `no-referrer`: the code stays on this server, while the page's
            // own form posts still carry their Origin (which `no-referrer` blanks).
            HeaderValue::from_static(if carries_code {
                "same-origin"
            } else {
                "strict-origin-when-cross-origin"
            }),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    res
}

/// Whether `path` is a hosted checkout page (`/handler/{project}/purchase/{code}`).
fn is_checkout(path: &str) -> bool {
    path.strip_prefix(gatehouse_app::HOSTED_PREFIX)
        .and_then(|rest| rest.split('/').nth(1))
        == Some("purchase")
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let end = rest.find('/').unwrap_or(rest.len());
            format!("{}{}", &url[..i + 3], &rest[..end])
        }
        None => url.to_string(),
    }
}
