//! Overrides as Stack writes them, and the rendered config they make.
//!
//! An override is a JSON object whose keys are dotted paths (`"auth.allowSignUp": false`) or
//! plain names holding nested objects (`"auth": {"allowSignUp": false}`); both spellings mean
//! the same. Setting a key replaces everything below it that an earlier override set; `null`
//! puts a key back to its default.

use serde_json::{Map, Value};

use super::schema::{self, default_of, field_at, Field, Kind, Level, SCHEMA};

pub type Override = Map<String, Value>;

/// `over` laid on top of `base`: each key of `over` replaces that key of `base` and every key
/// below it.
pub fn merge(base: &Override, over: &Override) -> Override {
    let mut out: Override = base
        .iter()
        .filter(|(k, _)| !over.keys().any(|o| is_within(k, o)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in over {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// Whether `key` is `ancestor` or lies below it.
fn is_within(key: &str, ancestor: &str) -> bool {
    key == ancestor
        || key
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The override without `keys` and what lies below them, in either spelling: removing
/// `teams` also removes `teams.allowClientTeamCreation` and `{"teams": {…}}`.
pub fn remove_keys(config: &Override, keys: &[String]) -> Override {
    let mut out = Override::new();
    for (key, value) in config {
        if keys.iter().any(|k| is_within(key, k)) {
            continue;
        }
        let inner: Vec<String> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(key.as_str())?.strip_prefix('.'))
            .map(str::to_string)
            .collect();
        match value {
            Value::Object(map) if !inner.is_empty() => {
                let rest = remove_keys(map, &inner);
                if !rest.is_empty() {
                    out.insert(key.clone(), Value::Object(rest));
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

/// Why `value` cannot be stored as an override at `level`, in Stack's words; `None` when it can.
pub fn override_error(level: Level, value: &Value) -> Option<String> {
    let map = match value {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Some("Config override must be plain old JavaScript object.".into())
        }
        _ => return Some("Config override must be a non-null object.".into()),
    };
    for v in map.values() {
        if let Some(key) = dotted_key_inside(v) {
            return Some(format!(
                "Key {key} contains a dot, which is not allowed in config override."
            ));
        }
    }
    if let Some(reason) = invalid_config_reason(map, "override") {
        return Some(format!("Invalid config format: {reason}"));
    }
    for (key, v) in map {
        let field = match field_at(level, key) {
            Ok(f) => f,
            Err(prefix) => {
                return Some(format!(
                    "The key {} is not valid (nested object not found in schema: {}).",
                    Value::from(key.as_str()),
                    Value::from(prefix)
                ))
            }
        };
        if let Err(message) = schema::check_value(field, key, v, level) {
            return Some(message);
        }
    }
    None
}

fn dotted_key_inside(v: &Value) -> Option<&str> {
    let Value::Object(map) = v else { return None };
    for (k, inner) in map {
        if k.contains('.') {
            return Some(k);
        }
        if let Some(found) = dotted_key_inside(inner) {
            return Some(found);
        }
    }
    None
}

/// Stack's rules for a config's keys and values: keys are dotted names of letters, digits,
/// `_ : $ -` (not starting with `-`), and lists hold no nulls.
fn invalid_config_reason(map: &Override, name: &str) -> Option<String> {
    for (key, value) in map {
        if !valid_key(key) {
            return Some(format!(
                "All keys of {name} must consist of only alphanumeric characters, dots, underscores, colons, dollar signs, or hyphens and start with a character other than a hyphen (found: {key})"
            ));
        }
        if let Some(reason) = invalid_value_reason(value, &format!("{name}.{key}")) {
            return Some(reason);
        }
    }
    None
}

fn invalid_value_reason(value: &Value, name: &str) -> Option<String> {
    match value {
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let at = format!("{name}[{i}]");
            if v.is_null() {
                Some(format!("{at} is null; tuple elements cannot be null"))
            } else {
                invalid_value_reason(v, &at)
            }
        }),
        Value::Object(map) => invalid_config_reason(map, name),
        _ => None,
    }
}

fn valid_key(key: &str) -> bool {
    key.split('.').all(|part| {
        let mut chars = part.chars();
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '$');
        chars.next().is_some_and(ok) && chars.all(|c| ok(c) || c == '-')
    })
}

/// The complete config: Stack's defaults with the overrides of each level laid on top, in
/// order (project, branch, environment).
pub fn render(levels: &[&Override]) -> Value {
    let merged = levels.iter().fold(Override::new(), |acc, o| merge(&acc, o));
    let mut out = default_of(&SCHEMA, "").unwrap_or_default();
    let mut keys: Vec<(&String, &Value)> = merged.iter().collect();
    // Shallow keys first, so `auth.allowSignUp` lands inside an `auth` set whole.
    keys.sort_by_key(|(k, _)| k.matches('.').count());
    for (key, value) in keys {
        apply(&mut out, key, value.clone());
    }
    tidy(&mut out);
    out
}

/// Sets one dotted key. A key whose parent does not exist (an entry of a record nobody made)
/// is dropped, as in Stack.
fn apply(out: &mut Value, key: &str, value: Value) {
    let parts: Vec<&str> = key.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut node = out;
    let mut field: Option<&Field> = Some(&SCHEMA);
    for part in parents {
        field = field.and_then(|f| descend(f, part));
        node = match node.get_mut(*part) {
            Some(v) if v.is_object() => v,
            _ => return,
        };
    }
    let Some(map) = node.as_object_mut() else {
        return;
    };
    let child = field.and_then(|f| descend(f, last));
    let value = match (value, field) {
        (Value::Null, Some(parent)) => {
            entry_default(parent, parents.last().copied().unwrap_or(""), last)
        }
        (Value::Null, None) => None,
        (v, _) => Some(match child {
            Some(c) => schema::with_defaults(c, last, v),
            None => v,
        }),
    };
    match value {
        Some(v) => {
            map.insert((*last).to_string(), v);
        }
        None => {
            map.shift_remove(*last);
        }
    }
}

fn descend<'a>(f: &'a Field, name: &str) -> Option<&'a Field> {
    match f.kind {
        Kind::Any => Some(f),
        _ => f.child(name, None),
    }
}

/// What `name` inside `parent` (itself named `parent_key`) is when reset: a field's default, a
/// preset record entry, or nothing.
fn entry_default(parent: &Field, parent_key: &str, name: &str) -> Option<Value> {
    if parent.is_record() {
        return default_of(parent, parent_key)?.get(name).cloned();
    }
    default_of(parent.child(name, None)?, parent_key)
}

/// The last touches Stack gives a rendered config: OAuth providers without a type are left
/// out, sign-up rules run in priority order, and the selected email theme exists.
fn tidy(c: &mut Value) {
    c["sourceOfTruth"] = serde_json::json!({ "type": "hosted" });
    if let Some(Value::Object(providers)) = c.pointer_mut("/auth/oauth/providers") {
        providers.retain(|_, p| p.get("type").is_some_and(|t| !t.is_null()));
    }
    if let Some(Value::Object(rules)) = c.pointer_mut("/auth/signUpRules") {
        let mut sorted: Vec<(String, Value)> = std::mem::take(rules).into_iter().collect();
        let priority = |v: &Value| v.get("priority").and_then(Value::as_f64).unwrap_or(0.0);
        sorted.sort_by(|(a_id, a), (b_id, b)| {
            priority(b)
                .total_cmp(&priority(a))
                .then_with(|| a_id.cmp(b_id))
        });
        rules.extend(sorted);
    }
    let theme_exists = c["emails"]["selectedThemeId"]
        .as_str()
        .is_some_and(|id| c["emails"]["themes"].get(id).is_some());
    if !theme_exists {
        c["emails"]["selectedThemeId"] = schema::DEFAULT_EMAIL_THEME_ID.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn o(v: Value) -> Override {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_later_key_replaces_what_lies_below_it() {
        let base = o(json!({"a": 1, "c.d": 3, "c.e.f": 4, "c.g": 5, "cc": 6}));
        let over = o(json!({"a": 9, "c.e": null, "c": {"x": 1}}));
        assert_eq!(
            merge(&base, &over),
            o(json!({"cc": 6, "a": 9, "c.e": null, "c": {"x": 1}}))
        );
    }

    #[test]
    fn removing_a_key_removes_both_spellings_below_it() {
        let c = o(json!({
            "teams.allowClientTeamCreation": true,
            "teams": {"createPersonalTeamOnSignUp": true, "x": 1},
            "auth.otp.allowSignIn": true,
        }));
        assert_eq!(
            remove_keys(
                &c,
                &["teams.allowClientTeamCreation".into(), "teams.x".into()]
            ),
            o(json!({"teams": {"createPersonalTeamOnSignUp": true}, "auth.otp.allowSignIn": true}))
        );
        assert_eq!(
            remove_keys(&c, &["teams".into(), "auth".into()]),
            Override::new()
        );
    }

    #[test]
    fn overrides_are_checked_as_stack_checks_them() {
        let err = |level, v| override_error(level, &v).unwrap_or_default();
        assert_eq!(
            err(Level::Branch, json!(null)),
            "Config override must be a non-null object."
        );
        assert_eq!(
            err(Level::Branch, json!([])),
            "Config override must be plain old JavaScript object."
        );
        assert_eq!(
            err(
                Level::Branch,
                json!({"auth": {"password.allowSignIn": true}})
            ),
            "Key password.allowSignIn contains a dot, which is not allowed in config override."
        );
        assert!(err(Level::Branch, json!({"-x": 1}))
            .starts_with("Invalid config format: All keys of override"));
        assert_eq!(
            err(Level::Branch, json!({"auth.allowSignUp": "yes"})),
            "auth.allowSignUp must be a `boolean` type, but the final value was: `\"yes\"`."
        );
        assert_eq!(
            err(Level::Branch, json!({"domains.allowLocalhost": true})),
            "The key \"domains.allowLocalhost\" is not valid (nested object not found in schema: \"domains.allowLocalhost\")."
        );
        assert_eq!(
            err(Level::Branch, json!({"project.requirePublishableClientKey": true})),
            "The key \"project.requirePublishableClientKey\" is not valid (nested object not found in schema: \"project\")."
        );
        assert_eq!(
            err(
                Level::Environment,
                json!({"auth": {"otp": {"allowSignIn": true}, "foo": 1, "bar": 2}})
            ),
            "auth contains unknown properties: foo, bar"
        );
        assert_eq!(
            err(Level::Environment, json!({"auth.oauth.accountMergeStrategy": "merge"})),
            "auth.oauth.accountMergeStrategy must be one of the following values: link_method, raise_error, allow_duplicates"
        );
        assert_eq!(
            err(
                Level::Branch,
                json!({"auth.oauth.providers.google": {"clientSecret": "s"}})
            ),
            "auth.oauth.providers.google contains unknown properties: clientSecret"
        );
        for ok in [
            json!({"auth.oauth.providers.google": {"type": "google", "clientSecret": "s"}}),
            json!({"domains.trustedDomains.a.baseUrl": "https://a.test", "auth.allowSignUp": null}),
            json!({"payments.products.pro": {"prices": {"monthly": {"USD": "9"}}}}),
        ] {
            assert_eq!(override_error(Level::Environment, &ok), None, "{ok}");
        }
        assert_eq!(
            override_error(
                Level::Project,
                &json!({"project": {"requirePublishableClientKey": true}})
            ),
            None
        );
    }

    #[test]
    fn rendering_fills_defaults_and_drops_dangling_keys() {
        let branch = o(json!({
            "auth": {"password": {"allowSignIn": true}},
            "auth.oauth.providers.github.allowSignIn": true,
            "rbac.permissions.editor": {"scope": "team"},
        }));
        let env = o(json!({
            "auth.allowSignUp": false,
            "domains.trustedDomains.main": {"baseUrl": "https://a.test"},
            "apps.installed.authentication": {"enabled": true},
            "apps.installed.emails": null,
        }));
        let c = render(&[&Override::new(), &branch, &env]);
        assert_eq!(c["auth"]["allowSignUp"], json!(false));
        assert_eq!(c["auth"]["password"]["allowSignIn"], json!(true));
        assert_eq!(c["auth"]["otp"]["allowSignIn"], json!(false));
        assert_eq!(c["auth"]["oauth"]["providers"], json!({}));
        assert_eq!(
            c["rbac"]["permissions"]["editor"],
            json!({"scope": "team", "containedPermissionIds": {}})
        );
        assert_eq!(
            c["domains"]["trustedDomains"]["main"],
            json!({"baseUrl": "https://a.test", "handlerPath": "/handler"})
        );
        assert_eq!(
            c["apps"]["installed"]["authentication"],
            json!({"enabled": true})
        );
        assert_eq!(c["apps"]["installed"]["emails"], json!({"enabled": false}));
        assert_eq!(c["sourceOfTruth"], json!({"type": "hosted"}));
        assert_eq!(
            c["emails"]["selectedThemeId"],
            json!(schema::DEFAULT_EMAIL_THEME_ID)
        );
    }
}
