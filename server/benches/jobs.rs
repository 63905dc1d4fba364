//! Jobs per second through the durable queue: writes JOBS_BENCH_COUNT jobs (1,000 per
//! transaction), then drains them with two workers whose handler does nothing, so what is
//! measured is the queue itself (claim with a lease, record the outcome). JOBS_BENCH_DB names a
//! fresh database (default: a temporary SQLite file). `cargo bench --bench jobs`; scripts/bench
//! reads the `enqueue_per_s` and `run_per_s` lines.

use std::time::{Duration, Instant};

use gatehouse_core::jobs::{enqueue, NewJob};
use gatehouse_core::{Core, Settings};
use gatehouse_server::worker::Worker;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = std::env::var("JOBS_BENCH_DB")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("jobs.db").display()));
        let count: usize = std::env::var("JOBS_BENCH_COUNT")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        let core = Core::start(&Settings {
            database_url: url,
            secret: b"benchmark secret, long enough".to_vec(),
            public_url: "http://127.0.0.1".into(),
            ..Settings::default()
        })
        .await
        .expect("database");

        let start = Instant::now();
        for chunk in 0..count.div_ceil(1000) {
            let mut tx = core.begin().await.unwrap();
            for n in chunk * 1000..((chunk + 1) * 1000).min(count) {
                enqueue(
                    &mut tx,
                    NewJob::new("bench.noop", None, serde_json::json!({ "n": n })),
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
        let enqueue_s = start.elapsed().as_secs_f64();

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
        let worker = || {
            Worker::new(core.clone())
                .lease(Duration::from_secs(30))
                .handle("bench.noop", |_core, _job| async { Ok(()) })
        };
        let (a, b) = tokio::join!(drain(worker()), drain(worker()));
        let run_s = start.elapsed().as_secs_f64();
        assert_eq!(a + b, count, "every job ran once");
        println!("jobs {count}");
        println!("enqueue_per_s {:.0}", count as f64 / enqueue_s);
        println!("run_per_s {:.0}", count as f64 / run_s);
    });
}
