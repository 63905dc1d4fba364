//! What this process counts for its metrics (the server's `/metrics`): sign-ins by method and
//! result, read from the changes it commits, and job attempts that failed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::events::Changed;

#[derive(Default)]
pub struct Counters {
    sign_ins: Mutex<BTreeMap<(String, &'static str), u64>>,
    job_failures: AtomicU64,
}

impl Counters {
    /// Counts the sign-ins among committed changes: a session opened by a sign-in or sign-up
    /// (`success`), a failed sign-in (`failure`).
    pub(crate) fn follow(&self, changes: &[Changed]) {
        for c in changes {
            let result = match c.kind.as_str() {
                "session.created" => "success",
                "sign_in.failed" => "failure",
                _ => continue,
            };
            let Some(method) = c.data.get("method").and_then(|m| m.as_str()) else {
                continue;
            };
            if let Ok(mut counts) = self.sign_ins.lock() {
                *counts.entry((method.to_string(), result)).or_default() += 1;
            }
        }
    }

    pub(crate) fn job_failed(&self) {
        self.job_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Sign-ins so far, by method and result.
    pub fn sign_ins(&self) -> Vec<(String, &'static str, u64)> {
        self.sign_ins
            .lock()
            .map(|c| c.iter().map(|((m, r), n)| (m.clone(), *r, *n)).collect())
            .unwrap_or_default()
    }

    /// Job attempts that failed so far.
    pub fn job_failures(&self) -> u64 {
        self.job_failures.load(Ordering::Relaxed)
    }
}
