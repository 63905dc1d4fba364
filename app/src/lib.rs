//! Gatehouse's pages, one Leptos codebase rendered on the server and hydrated in the browser:
//! the hosted auth pages end users sign in on, and the dashboard admins manage projects in.

pub mod components;
pub mod pages;
pub mod server;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, MatchNestedRoutes, SsrMode};

/// Where the bundle is. The server provides it.
#[derive(Clone, Debug, Default)]
pub struct Bundle {
    /// The URL prefix the bundle (wasm, JS, CSS) is served under: it changes with every build,
    /// so browsers may keep those files for good. `""` serves `/pkg/…`.
    pub root: String,
    /// Whether the hosted pages' own bundle was built (`cargo leptos watch` builds only the
    /// whole app, which then serves the hosted pages too).
    pub hosted: bool,
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let bundle = use_context::<Bundle>().unwrap_or_default();
    #[cfg(feature = "ssr")]
    let options = bundle_for_this_page(options, bundle.hosted);
    let root = bundle.root;
    let css = format!("{root}/pkg/gatehouse.css");
    let copy_js = format!("{root}/copy.js");
    let theme = components::theme();
    #[cfg(feature = "ssr")]
    share_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" href=css/>
                <script src=copy_js defer></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options root/>
                <MetaTags/>
            </head>
            <body data-theme=theme>
                <App/>
            </body>
        </html>
    }
}

/// Hosted pages load the `hosted` bundle (`gatehouse_hosted.js`/`_bg.wasm`), which holds only
/// them; every other page loads the whole app.
#[cfg(feature = "ssr")]
fn bundle_for_this_page(mut options: LeptosOptions, hosted_built: bool) -> LeptosOptions {
    let path = use_context::<http::request::Parts>().map(|r| r.uri.path().to_owned());
    if hosted_built && path.is_some_and(|p| p.starts_with(HOSTED_PREFIX)) {
        options.output_name = format!("{}_hosted", options.output_name).into();
    }
    options
}

/// Hands this response's script nonce (which the hydration scripts carry) to the server, which
/// names it in the Content-Security-Policy header.
#[cfg(feature = "ssr")]
fn share_nonce() {
    let nonce = leptos::nonce::use_nonce();
    let res = use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(res)) = (nonce, res) {
        if let Ok(v) = http::HeaderValue::from_str(nonce.as_inner()) {
            res.insert_header(http::HeaderName::from_static("x-gatehouse-csp-nonce"), v);
        }
    }
}

/// Everything: the dashboard and the hosted pages, as the server renders them.
#[component]
pub fn App() -> impl IntoView {
    frame();
    view! {
        <Title text="Gatehouse"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p>"Page not found."</p> }>
                    <DashboardRoutes/>
                    <HostedRoutes/>
                </Routes>
            </main>
        </Router>
    }
}

/// The hosted pages alone: what end users' browsers hydrate (the `hosted` build), so they never
/// download the dashboard. Its markup is [`App`]'s for the same paths.
#[cfg(feature = "hosted")]
#[component]
pub fn HostedApp() -> impl IntoView {
    frame();
    view! {
        <Title text="Gatehouse"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p>"Page not found."</p> }>
                    <HostedRoutes/>
                </Routes>
            </main>
        </Router>
    }
}

/// What both apps set up around their routes.
fn frame() {
    provide_meta_context();
    // Effects run only in the browser: once this runs, the page is hydrated (tests wait for it).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// Paths of the hosted pages, which the server renders with the `hosted` bundle.
pub const HOSTED_PREFIX: &str = "/handler/";

#[component(transparent)]
fn DashboardRoutes() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=path!("") view=pages::dashboard::DashboardHome ssr=SsrMode::Async/>
        <Route path=path!("/setup") view=pages::setup::SetupPage ssr=SsrMode::Async/>
        <Route path=path!("/projects/:project_id/overview") view=pages::dashboard::OverviewPage ssr=SsrMode::Async/>
        <Route path=path!("/projects/:project_id/users") view=pages::dashboard::UsersPage ssr=SsrMode::Async/>
        <Route path=path!("/projects/:project_id/users/:user_id") view=pages::dashboard::UserPage ssr=SsrMode::Async/>
        <Route path=path!("/projects/:project_id/settings") view=pages::dashboard::SettingsPage ssr=SsrMode::Async/>
    }
    .into_inner()
}

/// Rendered whole before sending, so they work without JavaScript.
#[component(transparent)]
fn HostedRoutes() -> impl MatchNestedRoutes + Clone {
    view! {
        <Route path=path!("/handler/:project_id/sign-in") view=pages::handler::SignInPage ssr=SsrMode::Async/>
        <Route path=path!("/handler/:project_id/sign-up") view=pages::handler::SignUpPage ssr=SsrMode::Async/>
        <Route path=path!("/handler/:project_id/sign-out") view=pages::handler::SignOutPage ssr=SsrMode::Async/>
        <Route path=path!("/handler/:project_id/account-settings") view=pages::handler::AccountPage ssr=SsrMode::Async/>
    }
    .into_inner()
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    #[cfg(feature = "hosted")]
    leptos::mount::hydrate_body(HostedApp);
    #[cfg(not(feature = "hosted"))]
    leptos::mount::hydrate_body(App);
}
