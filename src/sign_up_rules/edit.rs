//! Changing the rule list, as the dashboard does: save a rule, delete it, move it up or down,
//! set the default action. The list's order is its priority: every change renumbers the rules
//! from n-1 down to 0, so that what the admin sees first runs first and no two tie.

use crate::events::Who;
use serde_json::{json, Map, Value};

use super::condition::{Condition, Problem};
use super::{default_allows, rules, Action, Rule};
use crate::config::{format, schema, ProjectConfig};
use crate::projects::Project;
use crate::{Core, Error, Result};

/// A rule as the dashboard's editor sends it.
#[derive(Clone, Debug)]
pub struct RuleInput {
    pub id: String,
    pub display_name: String,
    pub condition: String,
    pub action: Action,
    pub message: Option<String>,
    pub enabled: bool,
}

impl Rule {
    fn to_config(&self, priority: usize) -> Value {
        let mut action = json!({ "type": self.action.as_str() });
        if let Some(m) = &self.message {
            action["message"] = json!(m);
        }
        json!({
            "enabled": self.enabled,
            "displayName": self.display_name,
            "priority": priority,
            "condition": self.condition,
            "action": action,
        })
    }
}

fn bad(message: String) -> Error {
    Error::Status(400, message)
}

impl Core {
    /// Lets `edit` change the ordered list and the default (`true`: allow), then writes both
    /// into the environment override.
    async fn change_sign_up_rules(
        &self,
        project: &Project,
        who: &Who,
        edit: impl FnOnce(&mut Vec<Rule>, &mut bool) -> Result<()>,
    ) -> Result<()> {
        self.change_overrides(&project.id, who, |o| {
            let current = ProjectConfig::from_overrides(o);
            let mut list = rules(&current.tree);
            let mut allow = default_allows(&current.tree);
            edit(&mut list, &mut allow)?;
            let n = list.len();
            let map: Map<String, Value> = list
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), r.to_config(n - 1 - i)))
                .collect();
            let mut change = Map::new();
            change.insert("auth.signUpRules".into(), Value::Object(map));
            change.insert(
                "auth.signUpRulesDefaultAction".into(),
                json!(if allow { "allow" } else { "reject" }),
            );
            o.environment = format::merge(&o.environment, &change);
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Creates a rule (`old_id` none: it goes last) or changes one in its place (a new id
    /// renames it). A condition that does not compile is not saved: its problem (where and
    /// why) is the answer.
    pub async fn save_sign_up_rule(
        &self,
        project: &Project,
        old_id: Option<&str>,
        input: RuleInput,
        who: &Who,
    ) -> Result<Option<Problem>> {
        let id = input.id.trim().to_string();
        if !schema::is_user_id(&id) {
            return Err(bad(format!(
                "{id:?} is not a valid rule ID: use letters, digits, _ and - (not first), at most 63."
            )));
        }
        let condition = input.condition.trim().to_string();
        if condition.is_empty() {
            return Err(bad(
                "Write a condition, such as emailDomain == \"example.com\".".into(),
            ));
        }
        if let Err(problem) = Condition::compile(&condition) {
            return Ok(Some(problem));
        }
        let rule = Rule {
            id: id.clone(),
            enabled: input.enabled,
            display_name: input.display_name.trim().to_string(),
            priority: 0,
            condition,
            action: input.action,
            message: input
                .message
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty()),
        };
        self.change_sign_up_rules(project, who, |list, _| {
            let taken = list.iter().any(|r| r.id == id);
            match old_id {
                Some(old) => {
                    let at = list
                        .iter()
                        .position(|r| r.id == old)
                        .ok_or_else(|| bad(format!("There is no rule {old:?}.")))?;
                    if old != id && taken {
                        return Err(bad(format!("A rule with the ID {id:?} already exists.")));
                    }
                    list[at] = rule;
                }
                None if taken => {
                    return Err(bad(format!("A rule with the ID {id:?} already exists.")))
                }
                None => list.push(rule),
            }
            Ok(())
        })
        .await?;
        Ok(None)
    }

    pub async fn delete_sign_up_rule(&self, project: &Project, id: &str, who: &Who) -> Result<()> {
        self.change_sign_up_rules(project, who, |list, _| {
            list.retain(|r| r.id != id);
            Ok(())
        })
        .await
    }

    /// Moves a rule one place earlier (`up`) or later in the order.
    pub async fn move_sign_up_rule(
        &self,
        project: &Project,
        id: &str,
        up: bool,
        who: &Who,
    ) -> Result<()> {
        self.change_sign_up_rules(project, who, |list, _| {
            if let Some(at) = list.iter().position(|r| r.id == id) {
                let to = if up { at.checked_sub(1) } else { Some(at + 1) };
                if let Some(to) = to.filter(|t| *t < list.len()) {
                    list.swap(at, to);
                }
            }
            Ok(())
        })
        .await
    }

    /// What happens to a sign-up no rule decides.
    pub async fn set_sign_up_default_action(
        &self,
        project: &Project,
        allow: bool,
        who: &Who,
    ) -> Result<()> {
        self.change_sign_up_rules(project, who, |_, default| {
            *default = allow;
            Ok(())
        })
        .await
    }
}
