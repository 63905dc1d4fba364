//! `gatehouse`: serves the API, hosted pages and dashboard; also a small CLI for people without
//! the dashboard.

use std::io::IsTerminal;

use clap::{Parser, Subcommand};
use gatehouse_core::projects::{ApiKeySetCreate, ProjectCreate};
use gatehouse_core::{Core, Settings};
use gatehouse_server::config::Config;
use gatehouse_server::startup::Application;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Open-source authentication and user management, Stack Auth compatible"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, hosted pages and dashboard (the default).
    Serve,
    /// Manage projects from the command line.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
}

#[derive(Subcommand)]
enum ProjectCommand {
    /// Create a project and a key set; prints them as JSON (the keys are shown only here).
    Create {
        #[arg(long)]
        display_name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = Config::from_env()?;
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            tracing::info!("Gatehouse listening on {}", app.base_url);
            if let Some(link) = &app.setup_link {
                eprintln!("\n  This server has no dashboard admin yet, and dashboard sign-up is closed.\n  Create the first admin here (the link works once; a restart prints a new one):\n\n    {link}\n");
            }
            app.run_until_stopped().await
        }
        Command::Project {
            command: ProjectCommand::Create { display_name },
        } => {
            let settings = Settings {
                database_url: config.database_url.clone(),
                secret: config.load_secret()?,
                public_url: config
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", config.addr)),
                seed_keys: config.seed_keys.clone(),
                internal_seed: config.internal_seed.clone(),
                smtp: config.smtp.clone(),
                country_header: config.country_header.clone(),
                oauth: config.oauth.clone(),
            };
            let core = Core::start(&settings).await?;
            let project = core
                .create_project(
                    None,
                    ProjectCreate {
                        display_name,
                        ..Default::default()
                    },
                    &gatehouse_core::events::Who::System,
                )
                .await?;
            let keys = core
                .create_api_key_set(
                    &project.id,
                    ApiKeySetCreate {
                        description: "Created with gatehouse project create".into(),
                        expires_at_millis: gatehouse_core::now_ms() + 100 * 365 * 24 * 3600 * 1000,
                        has_publishable_client_key: true,
                        has_secret_server_key: true,
                        has_super_secret_admin_key: true,
                    },
                )
                .await?;
            let out = serde_json::json!({
                "project_id": project.id,
                "publishable_client_key": keys.publishable_client_key,
                "secret_server_key": keys.secret_server_key,
                "super_secret_admin_key": keys.super_secret_admin_key,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
    }
}
