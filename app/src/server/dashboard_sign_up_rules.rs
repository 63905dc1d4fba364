//! The dashboard's server functions for sign-up rules: the ordered list with each rule's
//! triggers over 48 hours, the editor, the order, the default action, and the tester.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SignUpRulesView {
    pub project_name: String,
    /// In the order they run.
    pub rules: Vec<SignUpRuleRow>,
    pub default_allows: bool,
    /// Triggers in the last 48 hours by action: allow, reject, restrict, log.
    pub by_action: Vec<(String, i64)>,
    /// The first hour of the chart (ms).
    pub first_hour: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SignUpRuleRow {
    pub id: String,
    pub display_name: String,
    pub enabled: bool,
    pub condition: String,
    pub action: String,
    pub message: String,
    /// Triggers per hour, oldest first (48).
    pub hourly: Vec<i64>,
    pub all_time: i64,
}

#[server(prefix = "/_sfn")]
pub async fn load_sign_up_rules(project_id: String) -> Result<SignUpRulesView, ServerFnError> {
    use gatehouse_core::sign_up_rules::{default_allows, rules, Action, STATS_HOURS};
    let project = ssr::administered_project(&project_id).await?;
    let stats = ssr::core()
        .sign_up_rule_stats(&project.id)
        .await
        .map_err(ssr::shown)?;
    let tree = &project.config.tree;
    let rows = rules(tree)
        .into_iter()
        .map(|r| {
            let counted = stats.rules.iter().find(|t| t.rule_id == r.id);
            SignUpRuleRow {
                hourly: counted.map_or_else(|| vec![0; STATS_HOURS as usize], |t| t.hourly.clone()),
                all_time: counted.map_or(0, |t| t.all_time),
                id: r.id,
                display_name: r.display_name,
                enabled: r.enabled,
                condition: r.condition,
                action: r.action.as_str().into(),
                message: r.message.unwrap_or_default(),
            }
        })
        .collect();
    Ok(SignUpRulesView {
        project_name: project.display_name.clone(),
        rules: rows,
        default_allows: default_allows(tree),
        by_action: Action::ALL
            .iter()
            .zip(stats.by_action)
            .map(|(a, n)| (a.as_str().to_string(), n))
            .collect(),
        first_hour: stats.first_hour,
    })
}

/// Where and why a condition does not compile, for the editor to point at.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConditionProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Creates a rule (no `old_id`) or changes one. A condition that does not compile comes back
/// as a [`ConditionProblem`] (nothing saved); a new rule opens in the editor once saved.
#[server(prefix = "/_sfn")]
#[allow(clippy::too_many_arguments)]
pub async fn save_sign_up_rule(
    project_id: String,
    old_id: Option<String>,
    id: String,
    display_name: String,
    condition: String,
    action: String,
    message: String,
    enabled: Option<String>,
) -> Result<Option<ConditionProblem>, ServerFnError> {
    use gatehouse_core::sign_up_rules::{Action, RuleInput};
    let project = ssr::administered_project(&project_id).await?;
    let action = Action::parse(&action)
        .ok_or_else(|| ServerFnError::new(format!("Unknown action {action:?}.")))?;
    let input = RuleInput {
        id: id.trim().to_string(),
        display_name,
        condition,
        action,
        message: ssr::non_empty(message),
        enabled: enabled.is_some(),
    };
    let old_id = old_id.filter(|o| !o.is_empty());
    let saved_id = input.id.clone();
    let problem = ssr::core()
        .save_sign_up_rule(
            &project,
            old_id.as_deref(),
            input,
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)?;
    if let Some(p) = problem {
        return Ok(Some(ConditionProblem {
            line: p.line,
            column: p.column,
            message: p.message,
        }));
    }
    if old_id.as_deref() != Some(saved_id.as_str()) {
        leptos_axum::redirect(&format!(
            "/projects/{project_id}/sign-up-rules?edit={saved_id}"
        ));
    }
    Ok(None)
}

#[server(prefix = "/_sfn")]
pub async fn delete_sign_up_rule(project_id: String, id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .delete_sign_up_rule(&project, &id, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)
}

/// Moves a rule one place `up` (runs earlier) or `down`.
#[server(prefix = "/_sfn")]
pub async fn move_sign_up_rule(
    project_id: String,
    id: String,
    direction: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .move_sign_up_rule(
            &project,
            &id,
            direction == "up",
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)
}

#[server(prefix = "/_sfn")]
pub async fn set_sign_up_default_action(
    project_id: String,
    action: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .set_sign_up_default_action(&project, action != "reject", &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)
}

/// What the rules make of a hypothetical sign-up.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleTest {
    /// Rule id, status (`matched`, `not_matched`, `disabled`, `missing_condition`, `error`),
    /// and the error of a failing rule.
    pub evaluations: Vec<(String, String, Option<String>)>,
    pub should_allow: bool,
    pub decision: String,
    pub decided_by: Option<String>,
    pub restricted_by: Option<String>,
}

#[server(prefix = "/_sfn")]
pub async fn test_sign_up_rules(
    project_id: String,
    email: String,
    auth_method: String,
    oauth_provider: String,
    country_code: String,
) -> Result<RuleTest, ServerFnError> {
    use gatehouse_core::sign_up_rules::{evaluate, AuthMethod, Facts, Status};
    let project = ssr::administered_project(&project_id).await?;
    let method = AuthMethod::parse(&auth_method).unwrap_or(AuthMethod::Password);
    let facts = Facts::new(
        Some(email.as_str()),
        method,
        Some(oauth_provider.trim()),
        Some(country_code.as_str()),
    );
    let trace = evaluate(&project.config.tree, &facts);
    Ok(RuleTest {
        evaluations: trace
            .evaluations
            .iter()
            .map(|e| {
                let error = match &e.status {
                    Status::Error(m) => Some(m.clone()),
                    _ => None,
                };
                (e.rule.id.clone(), e.status.as_str().to_string(), error)
            })
            .collect(),
        should_allow: trace.outcome.should_allow,
        decision: trace.outcome.decision.to_string(),
        decided_by: trace.outcome.decided_by.map(|r| r.id),
        restricted_by: trace.outcome.restricted_by.map(|r| r.id),
    })
}
