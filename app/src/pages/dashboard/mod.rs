//! The dashboard, for the internal project's users: their projects, and new ones.

mod admins;
mod analytics;
mod api_keys;
mod audit;
mod auth_methods;
mod config;
mod emails;
mod home;
mod new_keys;
mod overview;
mod payments;
mod permissions;
mod settings;
mod shell;
mod sign_up_rules;
mod teams;
mod user;
mod user_oauth;
mod users;
mod webhooks;

pub use analytics::{AnalyticsPage, ReplayPage, ReplaysPage};
pub use audit::AuditPage;
pub use auth_methods::AuthMethodsPage;
pub use config::ConfigPage;
pub use emails::{EmailPage, EmailTemplatePage, EmailsPage};
pub use home::DashboardHome;
pub use new_keys::NewKeys;
pub use overview::OverviewPage;
pub use payments::PaymentsPage;
pub use permissions::PermissionsPage;
pub use settings::SettingsPage;
pub use shell::ProjectShell;
pub use sign_up_rules::SignUpRulesPage;
pub use teams::{TeamPage, TeamsPage};
pub use user::UserPage;
pub use users::UsersPage;
pub use webhooks::{WebhookEndpointPage, WebhooksPage};

use leptos::prelude::*;

use crate::server::{error_message, take_new_project_keys, NewProjectKeys};

/// A dashboard page that could not load: why, and the way back in.
#[component]
pub fn DashboardError(error: ServerFnError) -> impl IntoView {
    view! {
        <div class="flex min-h-screen items-center justify-center p-4">
            <section class="card w-full max-w-sm rounded-xl border border-line bg-card px-6 py-8 shadow-lg [&_h1]:mb-5 [&_h1]:text-2xl [&_h1]:font-bold">
                <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&error)}</p>
                <p class="mt-5 text-sm text-muted"><a href="/">"Back to the dashboard"</a></p>
            </section>
        </div>
    }
}

/// Keys just created (a `created` query names them), handed out once.
pub fn created_keys() -> Resource<Option<NewProjectKeys>> {
    let query = leptos_router::hooks::use_query_map();
    Resource::new(
        move || query.read().get("created"),
        |flash| async move {
            match flash {
                Some(flash) => take_new_project_keys(flash).await.ok().flatten(),
                None => None,
            }
        },
    )
}
