//! Integration tests: the real server, over HTTP, on SQLite or PostgreSQL (GATEHOUSE_TEST_DB).

mod helpers;

mod abuse;
mod account_door;
mod api_keys;
mod codes;
mod config;
mod email_flows;
mod emails;
mod events;
mod jobs;
mod oauth;
mod oauth_support;
mod payments;
mod projects;
mod requests;
mod sessions;
mod setup;
mod sign_in;
mod sign_up_rules;
mod smtp;
mod stack_defaults;
mod teams;
mod tokens;
mod users;
mod webhooks;
mod wire;
