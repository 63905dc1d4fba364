//! One `Application` builder, used by `main` and by every integration test: bind, connect,
//! migrate, assemble the router (REST API + pages), serve.

use axum::Router;
use axum::ServiceExt;
use gatehouse_core::Core;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use crate::config::Config;

pub struct Application {
    listener: TcpListener,
    router: Router,
    pub core: Core,
    pub base_url: String,
    /// The one-time link to create the first admin, when nobody else can (see `setup`).
    pub setup_link: Option<String>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.addr))?;
        let local = listener.local_addr()?;
        let base_url = config.public_url.clone().unwrap_or_else(|| {
            let host = if local.ip().is_unspecified() {
                "localhost".to_string()
            } else {
                local.ip().to_string()
            };
            format!("http://{host}:{}", local.port())
        });
        let core = Core::start(&config.core_settings(base_url.clone())?).await?;
        let internal = core
            .project(gatehouse_core::projects::INTERNAL_PROJECT_ID)
            .await?;
        let closed = internal.is_some_and(|p| !p.config.sign_up_enabled);
        let setup_link = if closed && !core.has_dashboard_admin().await? {
            let token = core.new_setup_token().await?;
            Some(format!("{base_url}/setup?token={token}"))
        } else {
            None
        };
        let policy = crate::headers::Policy {
            https: base_url.starts_with("https://"),
            core: core.clone(),
            live_reload: std::env::var_os("LEPTOS_WATCH").is_some(),
        };
        let metrics = crate::observe::Metrics::new(
            config.metrics_token.clone(),
            config.trusted_proxies.clone(),
        );
        let router = crate::routes::router(
            core.clone(),
            local,
            policy,
            config.trusted_proxies.clone(),
            metrics,
        )?;
        Ok(Application {
            listener,
            router,
            core,
            base_url,
            setup_link,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        // `/api/v1/users/` is `/api/v1/users`, as clients that build URLs by joining expect.
        // Background jobs run beside the HTTP server, in the same process.
        tokio::spawn(crate::worker::standard(self.core.clone()).run());
        // Other instances sharing the database: their changes reach this one's caches.
        tokio::spawn(self.core.clone().follow_other_instances());
        // Webhooks: the change log read into messages, which the worker delivers.
        tokio::spawn(self.core.clone().make_webhook_messages_forever());
        // Analytics: queued events written, the change log read into events.
        tokio::spawn(self.core.clone().write_analytics_forever());
        tokio::spawn(self.core.clone().analytics_from_log_forever());
        // Analytics events and replays, and audit entries, deleted once their retention ends.
        tokio::spawn(crate::worker::prune_hourly(self.core.clone()));
        let app = NormalizePathLayer::trim_trailing_slash().layer(self.router);
        axum::serve(
            self.listener,
            ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                std::net::SocketAddr,
            >(app),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
