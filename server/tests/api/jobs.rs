//! Durable jobs through the core and the server's worker, on the test database: retries with
//! backoff, a worker process killed mid-run whose job another worker finishes, and two worker
//! processes sharing one queue without running a job twice.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_core::jobs::{JobStatus, NewJob};
use gatehouse_core::{Core, Settings};
use gatehouse_server::worker::Worker;
use serde_json::json;

use crate::helpers::TestApp;

const LEASE: Duration = Duration::from_secs(1);

/// Fast-forwards a job's retry time to now (its backoff is checked, not waited out).
async fn make_due(core: &Core, id: &str) {
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2")
        .bind(gatehouse_core::now_ms())
        .bind(id)
        .execute(&core.db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_job_that_fails_twice_is_retried_with_backoff_then_succeeds() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let core = app.core.clone();
    let id = core
        .enqueue_job(NewJob::new("test.flaky", Some(&p.id), json!({ "n": 1 })))
        .await
        .unwrap();
    let worker =
        Worker::new(core.clone())
            .lease(LEASE)
            .handle("test.flaky", |_core, job| async move {
                if job.attempts < 3 {
                    Err(format!("attempt {} failed", job.attempts))
                } else {
                    Ok(())
                }
            });
    for attempt in 1..=2_i64 {
        assert_eq!(worker.run_due().await.unwrap(), 1);
        let job = core.job(&id).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Pending);
        assert_eq!(job.attempts, attempt);
        assert_eq!(
            job.last_error.as_deref(),
            Some(format!("attempt {attempt} failed").as_str())
        );
        // Doubling from two seconds, with up to half of it random.
        let wait = job.run_at - gatehouse_core::now_ms();
        let base = 2_000 << (attempt - 1);
        assert!(
            (base / 2 - 200..=base).contains(&wait),
            "retry {attempt} waits {wait} ms"
        );
        assert_eq!(worker.run_due().await.unwrap(), 0, "not before its time");
        make_due(&core, &id).await;
    }
    assert_eq!(worker.run_due().await.unwrap(), 1);
    let job = core.job(&id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 3));
    assert!(job.finished_at.is_some());
    assert_eq!(core.project_jobs(&p.id, 10).await.unwrap()[0].id, id);
}

#[tokio::test]
async fn a_job_out_of_attempts_is_marked_failed_and_kept() {
    let app = TestApp::spawn().await;
    let core = app.core.clone();
    let mut job = NewJob::new("test.broken", None, json!({}));
    job.max_attempts = Some(2);
    let id = core.enqueue_job(job).await.unwrap();
    let worker = Worker::new(core.clone())
        .handle("test.broken", |_core, _job| async { panic!("handler bug") });
    worker.run_due().await.unwrap();
    make_due(&core, &id).await;
    worker.run_due().await.unwrap();
    let job = core.job(&id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Failed, 2));
    assert_eq!(
        job.last_error.as_deref(),
        Some("the job's handler panicked")
    );
    assert_eq!(
        worker.run_due().await.unwrap(),
        0,
        "a failed job stays failed"
    );
}

#[tokio::test]
async fn a_job_is_written_with_its_change_or_not_at_all() {
    let app = TestApp::spawn().await;
    let core = app.core.clone();
    let mut tx = core.begin().await.unwrap();
    let id = gatehouse_core::jobs::enqueue(&mut tx, NewJob::new("test.any", None, json!({})))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(core.job(&id).await.unwrap().is_none());
}

/// A worker in a process of its own: this test binary run again with only [`worker_child`].
fn spawn_worker(database_url: &str, mode: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "jobs::worker_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GATEHOUSE_JOB_CHILD_DB", database_url)
        .env("GATEHOUSE_JOB_CHILD_MODE", mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// What follows `marker` in a worker process's output line (the test harness may have written
/// its own words before it on the same line).
fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.split_once(marker).map(|(_, rest)| rest.trim())
}

/// Reads a worker process's output until a line with `marker`; returns what follows it.
fn wait_for_line(out: &mut impl BufRead, marker: &str) -> Option<String> {
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = after(&line, marker) {
            return Some(rest.to_owned());
        }
        line.clear();
    }
    None
}

/// The jobs a worker process says it ran, once it has ended.
fn ran_jobs(mut child: Child, out: impl BufRead) -> Vec<String> {
    let ran = out
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| after(&l, "ran ").map(str::to_owned))
        .collect();
    child.wait().unwrap();
    ran
}

#[tokio::test]
async fn a_worker_killed_mid_run_leaves_its_job_to_another() {
    let app = TestApp::spawn().await;
    let core = app.core.clone();
    let id = core
        .enqueue_job(NewJob::new("test.hold", None, json!({})))
        .await
        .unwrap();
    let mut child = spawn_worker(&app.database_url, "hold");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let started = tokio::task::spawn_blocking(move || wait_for_line(&mut stdout, "started "))
        .await
        .unwrap();
    assert_eq!(started.as_deref(), Some(id.as_str()));
    let held = core.job(&id).await.unwrap().unwrap();
    assert_eq!((held.status, held.attempts), (JobStatus::Running, 1));
    child.kill().unwrap(); // SIGKILL: no clean-up, the lease just stops being renewed
    child.wait().unwrap();

    let worker = Worker::new(core.clone())
        .lease(LEASE)
        .handle("test.hold", |_core, _job| async { Ok(()) });
    let deadline = Instant::now() + Duration::from_secs(20);
    while worker.run_due().await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "nobody took over the job");
        core.wait_for_jobs(Duration::from_millis(50)).await;
    }
    let job = core.job(&id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 2));
}

#[tokio::test]
async fn two_worker_processes_on_one_database_never_run_a_job_twice() {
    let app = TestApp::spawn().await;
    let core = app.core.clone();
    let mut tx = core.begin().await.unwrap();
    let mut ids = vec![];
    for n in 0..300 {
        ids.push(
            gatehouse_core::jobs::enqueue(
                &mut tx,
                NewJob::new("test.record", None, json!({ "n": n })),
            )
            .await
            .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    let (ran_a, ran_b) = {
        let url = app.database_url.clone();
        tokio::task::spawn_blocking(move || {
            // Both start, then both are told to go, so that they compete for the same jobs.
            let mut workers: Vec<_> = (0..2)
                .map(|_| {
                    let mut child = spawn_worker(&url, "record");
                    let mut out = BufReader::new(child.stdout.take().unwrap());
                    wait_for_line(&mut out, "ready").expect("the worker started");
                    (child, out)
                })
                .collect();
            for (child, _) in &mut workers {
                writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
            }
            let mut ran = workers.into_iter().map(|(child, out)| ran_jobs(child, out));
            (ran.next().unwrap(), ran.next().unwrap())
        })
        .await
        .unwrap()
    };
    assert!(
        !ran_a.is_empty() && !ran_b.is_empty(),
        "both workers took jobs ({} and {})",
        ran_a.len(),
        ran_b.len()
    );
    let mut all: Vec<_> = ran_a.into_iter().chain(ran_b).collect();
    all.sort();
    ids.sort();
    assert_eq!(all, ids, "every job ran exactly once");
    let unfinished: i64 =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM jobs WHERE status <> 'succeeded'")
            .fetch_one(&core.db.pool)
            .await
            .unwrap();
    assert_eq!(unfinished, 0);
}

/// The body of a worker process (see [`spawn_worker`]); does nothing in a normal test run.
#[tokio::test]
#[ignore = "run by the job tests as a separate worker process"]
async fn worker_child() {
    let (Ok(url), Ok(mode)) = (
        std::env::var("GATEHOUSE_JOB_CHILD_DB"),
        std::env::var("GATEHOUSE_JOB_CHILD_MODE"),
    ) else {
        return;
    };
    let core = Core::start(&Settings {
        database_url: url,
        secret: "test secret that is long enough".into(),
        public_url: "http://127.0.0.1".into(),
        ..Settings::default()
    })
    .await
    .unwrap();
    let worker = Worker::new(core).lease(LEASE);
    match mode.as_str() {
        "hold" => {
            let worker = worker.handle("test.hold", |_core, job| async move {
                println!("started {}", job.id);
                std::future::pending::<()>().await;
                Ok(())
            });
            worker.run().await;
        }
        _ => {
            let worker = worker.handle("test.record", |_core, job| async move {
                println!("ran {}", job.id);
                // Long enough for the other worker to claim its share meanwhile.
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(())
            });
            println!("ready");
            let mut go = String::new();
            std::io::stdin().read_line(&mut go).unwrap();
            while worker.run_due().await.unwrap() > 0 {}
        }
    }
}
