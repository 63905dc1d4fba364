//! The dashboard, for the internal project's users: their projects, and new ones.

mod home;
mod new_keys;
mod overview;
mod settings;
mod shell;
mod user;
mod users;

pub use home::DashboardHome;
pub use new_keys::NewKeys;
pub use overview::OverviewPage;
pub use settings::SettingsPage;
pub use shell::ProjectShell;
pub use user::UserPage;
pub use users::UsersPage;
