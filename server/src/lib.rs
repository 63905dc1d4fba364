//! The `gatehouse` binary's library: REST API, pages, start-up. Tests build the same
//! [`startup::Application`] as `main`.

pub mod api;
pub mod assets;
pub mod client_ip;
pub mod config;
pub mod headers;
mod hosted_oauth;
pub mod mailer;
pub mod observe;
pub mod remote;
pub mod routes;
pub mod startup;
pub mod worker;
