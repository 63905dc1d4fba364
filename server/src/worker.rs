//! The background worker: runs the core's durable jobs (see `gatehouse_core::jobs`). Every
//! `gatehouse serve` runs one beside the HTTP server; more instances on one PostgreSQL share the
//! queue safely. Each job kind has one handler; a run that returns an error (or panics) is
//! retried by the core's backoff, and one that outlives its lease is left to another worker.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::jobs::{Job, DEFAULT_LEASE};
use gatehouse_core::Core;

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Handler = Arc<dyn Fn(Core, Job) -> JobFuture + Send + Sync>;

#[derive(Clone)]
pub struct Worker {
    core: Core,
    /// Names this worker in the leases it takes (host, process, a random part).
    pub id: String,
    handlers: HashMap<String, Handler>,
    /// Kinds retried on a schedule of their own (waits in ms by attempt), not the core's
    /// backoff.
    schedules: HashMap<String, Vec<i64>>,
    lease: Duration,
    /// Jobs run at once.
    batch: i64,
    /// How often it looks for due jobs when nobody tells it of new ones.
    poll: Duration,
}

/// The worker `gatehouse serve` runs: every job kind the product has, each with its handler.
pub fn standard(core: Core) -> Worker {
    let webhook_schedule = core.webhooks.schedule();
    Worker::new(core)
        .handle(gatehouse_core::emails::SEND_JOB, crate::mailer::send_job)
        .handle(
            gatehouse_core::sign_in_codes::RESET_EMAIL_JOB,
            |core: Core, job: Job| async move {
                let project = job.project_id.clone().unwrap_or_default();
                core.run_password_reset_job(&project, &job.payload)
                    .await
                    .map_err(|e| e.to_string())
            },
        )
        .handle(
            gatehouse_core::webhooks::DELIVER_JOB,
            |core: Core, job: Job| async move {
                let project = job.project_id.clone().unwrap_or_default();
                core.run_webhook_delivery(&project, &job.payload).await
            },
        )
        .retry_schedule(gatehouse_core::webhooks::DELIVER_JOB, webhook_schedule)
        .handle(
            gatehouse_core::payments::products::PURCHASE_JOB,
            |core: Core, job: Job| async move {
                let project = job.project_id.clone().unwrap_or_default();
                core.run_purchase_job(&project, &job.payload)
                    .await
                    .map_err(|e| e.to_string())
            },
        )
        .handle(
            gatehouse_core::payments::stripe::STRIPE_END_JOB,
            |core: Core, job: Job| async move {
                let project = job.project_id.clone().unwrap_or_default();
                core.run_stripe_end_job(&project, &job.payload)
                    .await
                    .map_err(|e| e.to_string())
            },
        )
}

impl Worker {
    pub fn new(core: Core) -> Worker {
        Worker {
            core,
            id: format!("{}-{}", std::process::id(), &gatehouse_core::new_id()[..8]),
            handlers: HashMap::new(),
            schedules: HashMap::new(),
            lease: DEFAULT_LEASE,
            batch: 8,
            poll: Duration::from_secs(1),
        }
    }

    /// Registers the handler of one job kind.
    pub fn handle<F, Fut>(mut self, kind: &str, handler: F) -> Worker
    where
        F: Fn(Core, Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_owned(),
            Arc::new(move |core, job| Box::pin(handler(core, job))),
        );
        self
    }

    /// Retries `kind` after `schedule[n]` ms when its `n`th attempt fails.
    pub fn retry_schedule(mut self, kind: &str, schedule: Vec<i64>) -> Worker {
        self.schedules.insert(kind.to_owned(), schedule);
        self
    }

    pub fn lease(mut self, lease: Duration) -> Worker {
        self.lease = lease;
        self
    }

    pub fn poll_every(mut self, poll: Duration) -> Worker {
        self.poll = poll;
        self
    }

    /// Runs jobs until the process ends.
    pub async fn run(self) {
        if self.handlers.is_empty() {
            return;
        }
        loop {
            match self.run_due().await {
                Ok(0) => self.core.wait_for_jobs(self.idle_wait().await).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the job queue could not be read; trying again");
                    tokio::time::sleep(self.poll).await;
                }
            }
        }
    }

    /// How long to wait with nothing due: until the next pending job's time, at most a poll.
    async fn idle_wait(&self) -> Duration {
        let kinds: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        match self.core.next_job_due(&kinds).await {
            Ok(Some(at)) => {
                let ms = (at - gatehouse_core::now_ms()).clamp(10, self.poll.as_millis() as i64);
                Duration::from_millis(ms as u64)
            }
            _ => self.poll,
        }
    }

    /// Claims the jobs due now (up to a batch) and runs them together; returns how many ran.
    pub async fn run_due(&self) -> gatehouse_core::Result<usize> {
        let kinds: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        let jobs = self
            .core
            .claim_jobs(&self.id, &kinds, self.batch, self.lease)
            .await?;
        let n = jobs.len();
        futures::future::join_all(jobs.into_iter().map(|job| self.run_one(job))).await;
        Ok(n)
    }

    async fn run_one(&self, job: Job) {
        let handler = self.handlers[&job.kind].clone();
        let run = tokio::spawn(handler(self.core.clone(), job.clone()));
        let abort = run.abort_handle();
        let renew = async {
            let mut tick = tokio::time::interval(self.lease / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                // A failed renewal (the database busy) is tried again at the next tick.
                if let Ok(false) = self.core.renew_lease(&self.id, &job.id, self.lease).await {
                    return;
                }
            }
        };
        let outcome = tokio::select! {
            joined = run => match joined {
                Ok(outcome) => outcome,
                Err(e) if e.is_panic() => Err("the job's handler panicked".to_owned()),
                Err(e) => Err(e.to_string()),
            },
            () = renew => {
                abort.abort();
                tracing::warn!(job = %job.id, kind = %job.kind, "lost the lease on a job; another worker may run it");
                return;
            }
        };
        if let Err(e) = &outcome {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "a job failed");
        }
        if let Err(e) = self
            .core
            .finish_job(
                &self.id,
                &job,
                outcome,
                self.schedules.get(&job.kind).map(Vec::as_slice),
            )
            .await
        {
            tracing::warn!(job = %job.id, error = %e, "a job's outcome could not be recorded");
        }
    }
}

/// Deletes what each project keeps for a time once its retention is over, as of `now`: analytics
/// events and replays, audit entries. Says how many went (`gatehouse prune` prints it).
pub async fn prune(core: &Core, now: i64) -> gatehouse_core::Result<serde_json::Value> {
    let events = core.apply_analytics_retention(now).await?;
    let entries = core.apply_audit_retention(now).await?;
    Ok(serde_json::json!({ "deleted_events": events, "deleted_audit_entries": entries }))
}

/// [`prune`] hourly, for the life of the process (`gatehouse serve` starts it).
pub async fn prune_hourly(core: Core) {
    loop {
        if let Err(e) = prune(&core, gatehouse_core::now_ms()).await {
            tracing::warn!("what retention ends could not be deleted: {e}");
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
