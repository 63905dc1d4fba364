//! How often each rule matched: counted per hour in `sign_up_rule_triggers` as sign-ups meet
//! the rules, and read back for the dashboard's chart and `/internal/sign-up-rules-stats`.

use serde_json::{json, Value};

use super::{Action, Status, Trace};
use crate::{now_ms, Core, Result};

const HOUR_MS: i64 = 3_600_000;
/// The dashboard's chart looks this far back.
pub const STATS_HOURS: i64 = 48;

impl Core {
    /// Counts each matched rule in its hour. A failure to count is logged: the sign-up itself
    /// does not depend on the chart.
    pub(super) async fn count_triggers(&self, project_id: &str, trace: &Trace) {
        let hour = now_ms() / HOUR_MS * HOUR_MS;
        for e in trace
            .evaluations
            .iter()
            .filter(|e| e.status == Status::Matched)
        {
            let counted = sqlx::query(
                "INSERT INTO sign_up_rule_triggers (project_id, rule_id, action, hour, count) \
                 VALUES ($1, $2, $3, $4, 1) \
                 ON CONFLICT (project_id, rule_id, action, hour) \
                 DO UPDATE SET count = sign_up_rule_triggers.count + 1",
            )
            .bind(project_id)
            .bind(&e.rule.id)
            .bind(e.rule.action.as_str())
            .bind(hour)
            .execute(&self.db.pool)
            .await;
            if let Err(err) = counted {
                tracing::warn!(rule = %e.rule.id, error = %err, "could not count a sign-up rule trigger");
            }
        }
    }

    /// Triggers per rule per hour over the last [`STATS_HOURS`] hours (the current hour last),
    /// with all-time totals.
    pub async fn sign_up_rule_stats(&self, project_id: &str) -> Result<Stats> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT rule_id, action, hour, count FROM sign_up_rule_triggers WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&self.db.pool)
        .await?;
        let last = now_ms() / HOUR_MS * HOUR_MS;
        let first_hour = last - (STATS_HOURS - 1) * HOUR_MS;
        let mut stats = Stats {
            first_hour,
            ..Stats::default()
        };
        for (rule_id, action, hour, count) in rows {
            let at = match stats.rules.binary_search_by(|r| r.rule_id.cmp(&rule_id)) {
                Ok(at) => at,
                Err(at) => {
                    stats.rules.insert(
                        at,
                        RuleTriggers {
                            rule_id,
                            all_time: 0,
                            hourly: vec![0; STATS_HOURS as usize],
                        },
                    );
                    at
                }
            };
            let rule = &mut stats.rules[at];
            rule.all_time += count;
            if (first_hour..=last).contains(&hour) {
                rule.hourly[((hour - first_hour) / HOUR_MS) as usize] += count;
                if let Some(a) = Action::ALL.iter().position(|a| a.as_str() == action) {
                    stats.by_action[a] += count;
                }
            }
        }
        Ok(stats)
    }
}

/// How often each rule matched (see [`Core::sign_up_rule_stats`]).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// The start of the first hour shown (ms).
    pub first_hour: i64,
    /// By rule id.
    pub rules: Vec<RuleTriggers>,
    /// In the hours shown, in the order of [`Action::ALL`].
    pub by_action: [i64; 4],
}

#[derive(Clone, Debug)]
pub struct RuleTriggers {
    pub rule_id: String,
    pub all_time: i64,
    /// One count per hour, oldest first.
    pub hourly: Vec<i64>,
}

impl RuleTriggers {
    pub fn recent(&self) -> i64 {
        self.hourly.iter().sum()
    }
}

impl Stats {
    /// The body of `GET /internal/sign-up-rules-stats`, Stack's shape.
    pub fn to_json(&self) -> Value {
        let rule_triggers: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                json!({
                    "rule_id": r.rule_id,
                    "total_count": r.recent(),
                    "all_time_count": r.all_time,
                    "hourly_counts": r.hourly.iter().enumerate().map(|(i, count)| json!({
                        "hour": crate::iso_time(self.first_hour + i as i64 * HOUR_MS),
                        "count": count,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let by_action: serde_json::Map<String, Value> = Action::ALL
            .iter()
            .zip(self.by_action)
            .map(|(a, n)| (a.as_str().to_string(), json!(n)))
            .collect();
        json!({
            "rule_triggers": rule_triggers,
            "analytics_hours": STATS_HOURS,
            "total_triggers": self.by_action.iter().sum::<i64>(),
            "triggers_by_action": by_action,
        })
    }
}
