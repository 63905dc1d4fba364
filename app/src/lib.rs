//! Gatehouse's pages, one Leptos codebase rendered on the server: the dashboard admins manage
//! projects in, hydrated in the browser, and the hosted auth pages end users sign in on, which
//! are plain HTML forms with one small script for passkeys and password fields, and ship no
//! wasm (a phone loads a few kilobytes; see BENCHMARKS.md).

pub mod components;
pub mod pages;
pub mod server;
pub mod text;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The URL prefix the bundle (wasm, JS, CSS) is served under: it changes with every build, so
/// browsers may keep those files for good. The server provides it; `""` serves `/pkg/…`.
#[derive(Clone, Debug, Default)]
pub struct AssetRoot(pub String);

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let root = use_context::<AssetRoot>().unwrap_or_default().0;
    let css = format!("{root}/pkg/gatehouse.css");
    let copy_js = format!("{root}/copy.js");
    let hosted_js = format!("{root}/hosted.js");
    let icon = format!("{root}/favicon.svg");
    let theme = components::theme();
    #[cfg(feature = "ssr")]
    share_nonce();
    // The hosted pages work as forms alone: they get the stylesheet and one small script for
    // what needs a browser (passkeys, password visibility and strength), no wasm.
    #[cfg(feature = "ssr")]
    let hydrate = !use_context::<http::request::Parts>()
        .is_some_and(|r| r.uri.path().starts_with(HOSTED_PREFIX));
    #[cfg(not(feature = "ssr"))]
    let hydrate = true;
    let scripts = if hydrate {
        view! {
            <script src=copy_js defer></script>
            <HydrationScripts options=options.clone() root/>
        }
        .into_any()
    } else {
        view! { <script type="module" src=hosted_js></script> }.into_any()
    };
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href=icon/>
                <link rel="stylesheet" href=css/>
                <AutoReload options/>
                {scripts}
                <MetaTags/>
            </head>
            <body data-theme=theme>
                <App/>
            </body>
        </html>
    }
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

/// Paths of the hosted pages, which are sent without the hydration bundle.
pub const HOSTED_PREFIX: &str = "/handler/";

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: once this runs, the page is hydrated (tests wait for it;
    // hosted pages never are).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text="Gatehouse"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p>"Page not found."</p> }>
                    <Route path=path!("") view=pages::dashboard::DashboardHome ssr=SsrMode::Async/>
                    <Route path=path!("/setup") view=pages::setup::SetupPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/overview") view=pages::dashboard::OverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/users") view=pages::dashboard::UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/users/:user_id") view=pages::dashboard::UserPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/teams") view=pages::dashboard::TeamsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/teams/:team_id") view=pages::dashboard::TeamPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/permissions") view=pages::dashboard::PermissionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/sign-up-rules") view=pages::dashboard::SignUpRulesPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/auth-methods") view=pages::dashboard::AuthMethodsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/settings") view=pages::dashboard::SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/config") view=pages::dashboard::ConfigPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/emails") view=pages::dashboard::EmailsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/emails/:email_id") view=pages::dashboard::EmailPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/emails/templates/:template_id") view=pages::dashboard::EmailTemplatePage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/webhooks") view=pages::dashboard::WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/payments") view=pages::dashboard::PaymentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/analytics") view=pages::dashboard::AnalyticsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/analytics/replays") view=pages::dashboard::ReplaysPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/analytics/replays/:replay_id") view=pages::dashboard::ReplayPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/audit") view=pages::dashboard::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:project_id/webhooks/:endpoint_id") view=pages::dashboard::WebhookEndpointPage ssr=SsrMode::Async/>
                    // Rendered whole before sending: plain forms, with no JavaScript at all.
                    <Route path=path!("/handler/:project_id/sign-in") view=pages::handler::SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/sign-up") view=pages::handler::SignUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/sign-out") view=pages::handler::SignOutPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/account-settings") view=pages::handler::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/forgot-password") view=pages::handler::ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/password-reset") view=pages::handler::PasswordResetPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/magic-link") view=pages::handler::MagicLinkPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/magic-link-callback") view=pages::handler::MagicLinkCallbackPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/email-verification") view=pages::handler::EmailVerificationPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/cli-auth-confirm") view=pages::handler::CliAuthConfirmPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/mfa") view=pages::handler::MfaPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/mfa-setup") view=pages::handler::MfaSetupPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/team-invitation") view=pages::handler::TeamInvitationPage ssr=SsrMode::Async/>
                    <Route path=path!("/handler/:project_id/purchase/:code") view=pages::handler::PurchasePage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
