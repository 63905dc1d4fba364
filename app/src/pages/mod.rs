pub mod dashboard;
pub mod handler;
