pub mod dashboard;
pub mod handler;
pub mod setup;
