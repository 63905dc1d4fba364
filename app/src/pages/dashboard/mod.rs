//! The dashboard, for the internal project's users: their projects, and new ones.

mod home;

pub use home::DashboardHome;
