//! Webhooks per second: WEBHOOKS_BENCH_COUNT users made (each a `user.created` change in the
//! log, with its object kept for the webhook), the log read into messages, then the messages
//! delivered by two workers (sign, POST to a local receiver that answers 200, log the attempt,
//! record the job's outcome). WEBHOOKS_BENCH_DB names a fresh database (default: a temporary
//! SQLite file). `cargo bench --bench webhooks`; scripts/bench reads the `*_per_s` lines.

use std::time::Instant;

use gatehouse_core::events::Who;
use gatehouse_core::projects::ProjectCreate;
use gatehouse_core::users::UserCreate;
use gatehouse_core::webhooks::{EndpointInput, WebhookSettings};
use gatehouse_core::{Core, Settings};
use gatehouse_server::worker::Worker;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = std::env::var("WEBHOOKS_BENCH_DB")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("webhooks.db").display()));
        let count: usize = std::env::var("WEBHOOKS_BENCH_COUNT")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2_000);
        let core = Core::start(&Settings {
            database_url: url,
            secret: b"benchmark secret, long enough".to_vec(),
            public_url: "http://127.0.0.1".into(),
            webhooks: WebhookSettings {
                allow_private_addresses: true,
                ..Default::default()
            },
            ..Settings::default()
        })
        .await
        .expect("database");

        // The receiver: answers every delivery 200.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, receiver).await });

        let who = Who::System;
        let project = core
            .create_project(
                None,
                ProjectCreate {
                    display_name: "Bench".into(),
                    ..Default::default()
                },
                &who,
            )
            .await
            .unwrap();
        let input = EndpointInput {
            url: format!("http://127.0.0.1:{port}/hook"),
            ..Default::default()
        };
        core.create_webhook_endpoint(&project, input, &who)
            .await
            .unwrap();

        let start = Instant::now();
        for n in 0..count {
            let user = UserCreate {
                primary_email: Some(format!("user{n}@example.com")),
                ..Default::default()
            };
            core.create_user(&project, user, &who).await.unwrap();
        }
        let changes_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let mut made = 0;
        while made < count {
            made += core.make_webhook_messages().await.unwrap();
        }
        let messages_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let drain = |worker: Worker| async move {
            let mut ran = 0;
            loop {
                match worker.run_due().await.unwrap() {
                    0 => return ran,
                    n => ran += n,
                }
            }
        };
        // The server's own worker: the delivery handler and its retry schedule as `serve` runs them.
        let worker = || gatehouse_server::worker::standard(core.clone());
        let (a, b) = tokio::join!(drain(worker()), drain(worker()));
        let delivered_s = start.elapsed().as_secs_f64();
        assert_eq!(a + b, count, "every message delivered once");
        println!("messages {count}");
        println!("changes_per_s {:.0}", count as f64 / changes_s);
        println!("messages_per_s {:.0}", count as f64 / messages_s);
        println!("deliveries_per_s {:.0}", count as f64 / delivered_s);
    });
}
