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
    /// Print a project's recorded changes (the record every change writes), oldest first, one
    /// JSON object per line.
    Events {
        project_id: String,
        /// Only the events after this position (the `position` of the last one you saw).
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Delete analytics events (and session replays) and audit entries older than each
    /// project's retention now, as the server does hourly; prints how many went.
    Prune {
        /// Prune as of this time (epoch ms) instead of now: what would be gone by then.
        #[arg(long)]
        as_of: Option<i64>,
    },
    /// Sign this terminal in to a Gatehouse server with your own account: prints a link to
    /// confirm in a browser, then waits. The session is kept in ~/.config/gatehouse.
    Login {
        /// The server's public URL.
        #[arg(
            long,
            env = "GATEHOUSE_SERVER",
            default_value = "http://127.0.0.1:8102"
        )]
        server: String,
        /// The project whose account to use; `internal` is the dashboard's (its admins).
        #[arg(long, default_value = "internal")]
        project: String,
        #[arg(long, env = "GATEHOUSE_PUBLISHABLE_CLIENT_KEY")]
        publishable_client_key: Option<String>,
        /// How long to wait for the confirmation, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Print the user this terminal is signed in as (JSON).
    Whoami,
    /// One REST call with the terminal's session, printed as JSON: as the signed-in user, or
    /// with `--project`, as a dashboard admin of that project.
    Api {
        method: String,
        path: String,
        /// The JSON body.
        #[arg(long)]
        data: Option<String>,
        #[arg(long)]
        project: Option<String>,
    },
    /// End the terminal's session and forget it.
    Logout,
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
    // Logs go to stderr: as text, or with GATEHOUSE_LOG_FORMAT=json one JSON object a line
    // (a request's lines carry its id in their span).
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("GATEHOUSE_LOG_FORMAT").as_deref() {
        Ok("json") => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Ok("text") | Ok("") | Err(_) => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        Ok(other) => anyhow::bail!("GATEHOUSE_LOG_FORMAT is text or json, not {other:?}"),
    }
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    // The commands against a running server need none of its configuration.
    match command {
        Command::Login {
            server,
            project,
            publishable_client_key,
            timeout,
        } => {
            let timeout = std::time::Duration::from_secs(timeout);
            return gatehouse_server::remote::login(
                &server,
                &project,
                publishable_client_key,
                timeout,
            )
            .await;
        }
        Command::Whoami => return gatehouse_server::remote::whoami().await,
        Command::Api {
            method,
            path,
            data,
            project,
        } => return gatehouse_server::remote::api(&method, &path, data, project).await,
        Command::Logout => return gatehouse_server::remote::logout().await,
        _ => {}
    }
    let config = Config::from_env()?;
    match command {
        Command::Serve => {
            let app = Application::build(config).await?;
            tracing::info!("Gatehouse listening on {}", app.base_url);
            if let Some(link) = &app.setup_link {
                eprintln!("\n  This server has no dashboard admin yet, and dashboard sign-up is closed.\n  Create the first admin here (the link works once; a restart prints a new one):\n\n    {link}\n");
            }
            app.run_until_stopped().await
        }
        Command::Events {
            project_id,
            after,
            limit,
        } => {
            let core = Core::start(&cli_settings(&config)?).await?;
            for e in core.events_after(&project_id, after, limit).await? {
                let line = serde_json::json!({
                    "position": e.position,
                    "kind": e.kind,
                    "object_id": e.object_id,
                    "actor_type": e.actor_type,
                    "actor_id": e.actor_id,
                    "data": serde_json::from_str::<serde_json::Value>(&e.data)?,
                    "created_at_millis": e.created_at,
                });
                println!("{line}");
            }
            Ok(())
        }
        Command::Prune { as_of } => {
            let core = Core::start(&cli_settings(&config)?).await?;
            let now = as_of.unwrap_or_else(gatehouse_core::now_ms);
            println!("{}", gatehouse_server::worker::prune(&core, now).await?);
            Ok(())
        }
        Command::Project {
            command: ProjectCommand::Create { display_name },
        } => {
            let core = Core::start(&cli_settings(&config)?).await?;
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
                    &gatehouse_core::events::Who::System,
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
        Command::Login { .. } | Command::Whoami | Command::Api { .. } | Command::Logout => {
            unreachable!("handled above")
        }
    }
}

/// The core's settings for a CLI command (the server's, without serving).
fn cli_settings(config: &Config) -> anyhow::Result<Settings> {
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.addr));
    config.core_settings(public_url)
}
