//! Sign-up rules: the project's own conditions (`auth.signUpRules` in the config tree, CEL over
//! the facts of a sign-up) deciding who may create an account. Rules run highest priority first,
//! ties by id; the first `allow` or `reject` that matches decides, `log` is counted and passed,
//! the first `restrict` marks the new user restricted and passes; no decision leaves it to
//! `auth.signUpRulesDefaultAction`.
//!
//! [`Core::admit_sign_up`] is called by the account door alone ([`crate::accounts`]), which
//! every way of creating an account goes through. An anonymous sign-up is never judged: it has
//! nothing to judge.
//!
//! Each matching rule is counted per hour (`stats.rs`), for the dashboard's chart.

pub mod condition;
mod edit;
pub mod risk;
mod stats;

pub use edit::RuleInput;
pub use stats::{RuleTriggers, Stats, STATS_HOURS};

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::projects::Project;
use crate::{Core, Error, Result};
use condition::Condition;

/// How a person is signing up; `authMethod` in conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    Otp,
    Oauth,
    Passkey,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::Password,
        AuthMethod::Otp,
        AuthMethod::Oauth,
        AuthMethod::Passkey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Otp => "otp",
            AuthMethod::Oauth => "oauth",
            AuthMethod::Passkey => "passkey",
        }
    }

    pub fn parse(s: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// What the rules see of a sign-up. Unknown facts are empty strings, so that conditions never
/// meet a missing value.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub email: String,
    pub email_domain: String,
    pub country_code: String,
    pub auth_method: AuthMethod,
    pub oauth_provider: String,
    /// `riskScores.bot`, `riskScores.free_trial_abuse` (see [`risk`]).
    pub risk: crate::users::RiskScores,
}

impl Facts {
    pub fn new(
        email: Option<&str>,
        auth_method: AuthMethod,
        oauth_provider: Option<&str>,
        country_code: Option<&str>,
    ) -> Facts {
        let email = email.unwrap_or_default().trim().to_lowercase();
        let email_domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        Facts {
            email,
            email_domain,
            country_code: country_code.and_then(country_code_of).unwrap_or_default(),
            auth_method,
            oauth_provider: oauth_provider.unwrap_or_default().to_string(),
            risk: Default::default(),
        }
    }

    pub fn with_risk(mut self, risk: crate::users::RiskScores) -> Facts {
        self.risk = risk;
        self
    }

    fn variables(&self) -> [(&'static str, &str); 5] {
        [
            ("email", &self.email),
            ("emailDomain", &self.email_domain),
            ("authMethod", self.auth_method.as_str()),
            ("oauthProvider", &self.oauth_provider),
            ("countryCode", &self.country_code),
        ]
    }
}

/// An ISO 3166-1 alpha-2 country code as rules compare it ("us " → "US"), if it is one.
pub fn country_code_of(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    Reject,
    Restrict,
    Log,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Allow, Action::Reject, Action::Restrict, Action::Log];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Reject => "reject",
            Action::Restrict => "restrict",
            Action::Log => "log",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One rule of the config tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub id: String,
    pub enabled: bool,
    pub display_name: String,
    pub priority: i64,
    pub condition: String,
    pub action: Action,
    /// Shown to the person a `reject` rule turns away (Stack's generic text otherwise).
    pub message: Option<String>,
}

/// The project's rules in the order they run: highest priority first, ties by id.
pub fn rules(tree: &Value) -> Vec<Rule> {
    let Some(Value::Object(all)) = tree.pointer("/auth/signUpRules") else {
        return Vec::new();
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut rules: Vec<Rule> = all
        .iter()
        .map(|(id, r)| Rule {
            id: id.clone(),
            enabled: r["enabled"].as_bool() == Some(true),
            display_name: text(&r["displayName"]),
            priority: r["priority"].as_i64().unwrap_or(0),
            condition: text(&r["condition"]),
            action: r["action"]["type"]
                .as_str()
                .and_then(Action::parse)
                .unwrap_or(Action::Allow),
            message: r["action"]["message"]
                .as_str()
                .filter(|m| !m.trim().is_empty())
                .map(str::to_string),
        })
        .collect();
    rules.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id)));
    rules
}

/// `auth.signUpRulesDefaultAction`: whether a sign-up no rule decided goes through.
pub fn default_allows(tree: &Value) -> bool {
    tree.pointer("/auth/signUpRulesDefaultAction")
        .and_then(Value::as_str)
        != Some("reject")
}

/// The rules' settings beyond their types, checked when the config is saved: priorities are
/// whole numbers from 0, and every condition compiles and gives true or false.
pub(crate) fn check_config(tree: &Value) -> std::result::Result<(), String> {
    let Some(Value::Object(all)) = tree.pointer("/auth/signUpRules") else {
        return Ok(());
    };
    for (id, r) in all {
        let at = format!("auth.signUpRules.{id}");
        let priority = &r["priority"];
        if !priority.is_null() && priority.as_u64().is_none_or(|p| p > i64::MAX as u64) {
            return Err(format!("{at}.priority must be a whole number, 0 or more"));
        }
        if let Some(source) = r["condition"].as_str().filter(|c| !c.trim().is_empty()) {
            Condition::compile(source)
                .map_err(|p| format!("{at}.condition is not a valid condition: {p}"))?;
        }
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Matched,
    NotMatched,
    Disabled,
    MissingCondition,
    /// The condition failed to run; it counts as not matching.
    Error(String),
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Matched => "matched",
            Status::NotMatched => "not_matched",
            Status::Disabled => "disabled",
            Status::MissingCondition => "missing_condition",
            Status::Error(_) => "error",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Evaluation {
    pub rule: Rule,
    pub status: Status,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub should_allow: bool,
    /// `allow`, `reject`, `default-allow` or `default-reject`.
    pub decision: &'static str,
    pub decided_by: Option<Rule>,
    pub restricted_by: Option<Rule>,
}

/// Every rule's evaluation for one sign-up, and what came of it.
#[derive(Clone, Debug)]
pub struct Trace {
    pub facts: Facts,
    pub evaluations: Vec<Evaluation>,
    pub outcome: Outcome,
}

/// All of one sign-up's conditions together get this long; a rule reached after it is spent
/// counts as failing (and is logged), never as a reason to hold the sign-up.
const TIME_BUDGET: Duration = Duration::from_millis(50);

/// Runs the rules of `tree` over `facts`, stopping at the first `allow` or `reject`.
pub fn evaluate(tree: &Value, facts: &Facts) -> Trace {
    let started = Instant::now();
    let mut evaluations = Vec::new();
    let mut restricted_by = None;
    for rule in rules(tree) {
        let status = if !rule.enabled {
            Status::Disabled
        } else if rule.condition.trim().is_empty() {
            Status::MissingCondition
        } else if started.elapsed() > TIME_BUDGET {
            Status::Error("the time allowed for this sign-up's rules ran out".into())
        } else {
            match Condition::compile(&rule.condition)
                .map_err(|p| p.to_string())
                .and_then(|c| c.evaluate(facts))
            {
                Ok(true) => Status::Matched,
                Ok(false) => Status::NotMatched,
                Err(e) => Status::Error(e),
            }
        };
        if let Status::Error(e) = &status {
            tracing::warn!(rule = %rule.id, error = %e, "a sign-up rule failed and counts as not matching");
        }
        let matched = status == Status::Matched;
        evaluations.push(Evaluation {
            rule: rule.clone(),
            status,
        });
        if !matched {
            continue;
        }
        match rule.action {
            Action::Restrict if restricted_by.is_none() => restricted_by = Some(rule),
            Action::Allow | Action::Reject => {
                let allow = rule.action == Action::Allow;
                return Trace {
                    facts: facts.clone(),
                    evaluations,
                    outcome: Outcome {
                        should_allow: allow,
                        decision: rule.action.as_str(),
                        decided_by: Some(rule),
                        restricted_by,
                    },
                };
            }
            _ => {}
        }
    }
    let allow = default_allows(tree);
    Trace {
        facts: facts.clone(),
        evaluations,
        outcome: Outcome {
            should_allow: allow,
            decision: if allow {
                "default-allow"
            } else {
                "default-reject"
            },
            decided_by: None,
            restricted_by,
        },
    }
}

impl Trace {
    /// The body of `POST /internal/sign-up-rules-test`.
    pub fn to_json(&self) -> Value {
        let f = &self.facts;
        json!({
            "context": {
                "email": f.email,
                "email_domain": f.email_domain,
                "country_code": f.country_code,
                "auth_method": f.auth_method.as_str(),
                "oauth_provider": f.oauth_provider,
            },
            "evaluations": self.evaluations.iter().map(|e| {
                let mut action = json!({ "type": e.rule.action.as_str() });
                if let Some(m) = &e.rule.message {
                    action["message"] = json!(m);
                }
                let mut v = json!({
                    "rule_id": e.rule.id,
                    "display_name": e.rule.display_name,
                    "enabled": e.rule.enabled,
                    "condition": e.rule.condition,
                    "status": e.status.as_str(),
                    "action": action,
                });
                if let Status::Error(error) = &e.status {
                    v["error"] = json!(error);
                }
                v
            }).collect::<Vec<_>>(),
            "outcome": {
                "should_allow": self.outcome.should_allow,
                "decision": self.outcome.decision,
                "decision_rule_id": self.outcome.decided_by.as_ref().map(|r| &r.id),
                "restricted_because_of_rule_id": self.outcome.restricted_by.as_ref().map(|r| &r.id),
            },
        })
    }
}

/// How an admitted sign-up is to be created: restricted, with these private details, when a
/// `restrict` rule matched.
#[derive(Clone, Debug, Default)]
pub struct Admission {
    pub restriction: Option<String>,
}

impl Admission {
    /// Applies the restriction to a user's fields, after what an admin already noted.
    pub fn restrict(&self, restricted: &mut bool, private_details: &mut Option<String>) {
        if let Some(note) = &self.restriction {
            *restricted = true;
            *private_details = Some(match private_details.take() {
                Some(before) if !before.is_empty() => format!("{before}\n\n{note}"),
                _ => note.clone(),
            });
        }
    }
}

impl Core {
    /// The country a request came from, read from the header the trusted proxy sets
    /// (`header(name)` looks it up), if one is configured and it holds a country code.
    pub fn request_country<'a>(
        &self,
        header: impl FnOnce(&str) -> Option<&'a str>,
    ) -> Option<String> {
        country_code_of(header(self.country_header.as_deref()?)?)
    }

    /// The gate of every account creation but anonymous sign-up: runs the project's rules,
    /// counts the ones that matched, and refuses with `SIGN_UP_REJECTED` (the rule's message, if
    /// it has one) or admits, perhaps restricted. Called before the caller's transaction opens.
    pub(crate) async fn admit_sign_up(
        &self,
        project: &Project,
        facts: &Facts,
    ) -> Result<Admission> {
        let trace = evaluate(&project.config.tree, facts);
        self.count_triggers(&project.id, &trace).await;
        for e in trace
            .evaluations
            .iter()
            .filter(|e| e.status == Status::Matched)
        {
            let data = serde_json::json!({
                "project_id": project.id,
                "branch_id": "main",
                "rule_id": e.rule.id,
                "action": e.rule.action.as_str(),
                "email": (!facts.email.is_empty()).then_some(&facts.email),
                "auth_method": facts.auth_method.as_str(),
                "oauth_provider": (!facts.oauth_provider.is_empty()).then_some(&facts.oauth_provider),
            });
            let event = crate::analytics::NewEvent::system("$sign-up-rule-trigger", None, data);
            self.track(project, event);
        }
        let outcome = trace.outcome;
        if !outcome.should_allow {
            return Err(Error::SignUpRejected(
                outcome.decided_by.and_then(|r| r.message),
            ));
        }
        Ok(Admission {
            restriction: outcome.restricted_by.map(|r| {
                if r.display_name.is_empty() {
                    format!("Restricted by sign-up rule: {}", r.id)
                } else {
                    format!("Restricted by sign-up rule: {} ({})", r.id, r.display_name)
                }
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(rules: Value, default: &str) -> Value {
        json!({ "auth": { "signUpRules": rules, "signUpRulesDefaultAction": default } })
    }

    fn rule(priority: i64, condition: &str, action: &str) -> Value {
        json!({ "enabled": true, "priority": priority, "condition": condition, "action": { "type": action } })
    }

    #[test]
    fn facts_are_normalised() {
        let f = Facts::new(
            Some(" Ann@Example.COM "),
            AuthMethod::Otp,
            None,
            Some(" us"),
        );
        assert_eq!(f.email, "ann@example.com");
        assert_eq!(f.email_domain, "example.com");
        assert_eq!(f.country_code, "US");
        assert_eq!(
            Facts::new(None, AuthMethod::Oauth, Some("github"), Some("usa")).country_code,
            ""
        );
    }

    #[test]
    fn priority_then_id_and_the_first_decision_wins() {
        let t = tree(
            json!({
                "b-log": rule(5, "true", "log"),
                "a-restrict": rule(5, "true", "restrict"),
                "c-restrict": rule(5, "true", "restrict"),
                "reject-low": rule(1, "true", "reject"),
                "allow-high": rule(3, "emailDomain == \"ok.com\"", "allow"),
                "off": json!({ "enabled": false, "priority": 9, "condition": "true", "action": { "type": "reject" } }),
                "empty": json!({ "enabled": true, "priority": 9, "action": { "type": "reject" } }),
            }),
            "allow",
        );
        let ok = evaluate(
            &t,
            &Facts::new(Some("x@ok.com"), AuthMethod::Password, None, None),
        );
        let order: Vec<_> = ok
            .evaluations
            .iter()
            .map(|e| (e.rule.id.as_str(), e.status.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("empty", "missing_condition"),
                ("off", "disabled"),
                ("a-restrict", "matched"),
                ("b-log", "matched"),
                ("c-restrict", "matched"),
                ("allow-high", "matched"),
            ]
        );
        assert_eq!(ok.outcome.decision, "allow");
        assert_eq!(ok.outcome.restricted_by.unwrap().id, "a-restrict");
        let no = evaluate(
            &t,
            &Facts::new(Some("x@no.com"), AuthMethod::Password, None, None),
        );
        assert_eq!(no.outcome.decision, "reject");
        assert!(!no.outcome.should_allow);
    }

    #[test]
    fn the_default_decides_when_no_rule_does_and_errors_do_not_match() {
        let t = tree(
            json!({ "broken": rule(0, "email.matches(\"(\")", "reject") }),
            "reject",
        );
        let trace = evaluate(
            &t,
            &Facts::new(Some("a@b.c"), AuthMethod::Password, None, None),
        );
        assert_eq!(trace.evaluations[0].status.as_str(), "error");
        assert_eq!(trace.outcome.decision, "default-reject");
    }

    #[test]
    fn config_checks_name_the_rule() {
        let bad = tree(json!({ "r1": rule(0, "email ==", "reject") }), "allow");
        let e = check_config(&bad).unwrap_err();
        assert!(
            e.starts_with("auth.signUpRules.r1.condition is not a valid condition: line 1, column"),
            "{e}"
        );
        let negative = tree(json!({ "r1": rule(-1, "true", "reject") }), "allow");
        assert!(check_config(&negative).unwrap_err().contains("priority"));
    }
}
