//! The dashboard, for the internal project's users: their projects, and new ones.

mod home;
mod shell;
mod users;

pub use home::DashboardHome;
pub use shell::ProjectShell;
pub use users::UsersPage;
