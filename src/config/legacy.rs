//! The project fields older clients read and write (`config.sign_up_enabled`,
//! `config.domains`, …) are views of the tree, not settings of their own: reading renders them
//! from it, writing turns them into an environment override.

use serde_json::{json, Map, Value};

use super::format::Override;
use crate::new_id;

/// The legacy `config` object of the admin view, read off a rendered config: exactly Stack's
/// fields (`projectsCrudAdminReadSchema`). Settings of Gatehouse's own live in the tree only.
pub fn admin_fields(c: &Value) -> Value {
    let providers = oauth_providers(c);
    let enabled = enabled_providers(&providers);
    json!({
        "allow_localhost": c["domains"]["allowLocalhost"],
        "sign_up_enabled": c["auth"]["allowSignUp"],
        "credential_enabled": c["auth"]["password"]["allowSignIn"],
        "magic_link_enabled": c["auth"]["otp"]["allowSignIn"],
        "passkey_enabled": c["auth"]["passkey"]["allowSignIn"],
        "client_team_creation_enabled": c["teams"]["allowClientTeamCreation"],
        "client_user_deletion_enabled": c["users"]["allowClientUserDeletion"],
        "allow_user_api_keys": c["apiKeys"]["enabled"]["user"],
        "allow_team_api_keys": c["apiKeys"]["enabled"]["team"],
        "create_team_on_sign_up": c["teams"]["createPersonalTeamOnSignUp"],
        "oauth_account_merge_strategy": c["auth"]["oauth"]["accountMergeStrategy"],
        "oauth_providers": providers,
        "enabled_oauth_providers": enabled,
        "domains": domains(c),
        "email_config": email_config(&c["emails"]["server"]),
        "email_theme": c["emails"]["selectedThemeId"],
        "team_creator_default_permissions": default_permissions(c, "teamCreator", "team"),
        "team_member_default_permissions": default_permissions(c, "teamMember", "team"),
        "user_default_permissions": default_permissions(c, "signUp", "project"),
    })
}

/// The legacy `config` object a browser may see (`/projects/current`).
pub fn client_fields(c: &Value) -> Value {
    let admin = admin_fields(c);
    let mut out = Map::new();
    for key in [
        "sign_up_enabled",
        "credential_enabled",
        "magic_link_enabled",
        "passkey_enabled",
        "client_team_creation_enabled",
        "client_user_deletion_enabled",
        "allow_localhost",
        "allow_user_api_keys",
        "allow_team_api_keys",
        "domains",
    ] {
        out.insert(key.into(), admin[key].clone());
    }
    out.insert(
        "enabled_oauth_providers".into(),
        admin["enabled_oauth_providers"].clone(),
    );
    Value::Object(out)
}

fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// `{id}` of each provider, as Stack's CRUD handler strips its provider objects down to.
fn enabled_providers(providers: &Value) -> Value {
    providers
        .as_array()
        .map(|ps| ps.iter().map(|p| json!({ "id": p["id"] })).collect())
        .unwrap_or_default()
}

/// The project's sign-in providers of Stack's types; Gatehouse's own (`oidc`) live in the
/// config tree only, since Stack's legacy object cannot name them.
fn oauth_providers(c: &Value) -> Value {
    let mut list: Vec<Value> = entries(&c["auth"]["oauth"]["providers"])
        .filter(|(_, p)| {
            p["type"]
                .as_str()
                .is_some_and(|t| crate::config::schema::STACK_OAUTH_PROVIDERS.contains(&t))
                && p["allowSignIn"] == json!(true)
        })
        .map(|(id, p)| {
            let mut v = json!({
                "provider_config_id": id,
                "id": p["type"],
                "type": if p["isShared"] == json!(false) { "standard" } else { "shared" },
            });
            for (from, to) in [
                ("clientId", "client_id"),
                ("clientSecret", "client_secret"),
                ("facebookConfigId", "facebook_config_id"),
                ("microsoftTenantId", "microsoft_tenant_id"),
            ] {
                if let Some(x) = p.get(from) {
                    v[to] = x.clone();
                }
            }
            if let Some(bundles) = p.get("appleBundles") {
                v["apple_bundle_ids"] = entries(bundles)
                    .filter_map(|(_, b)| b.get("bundleId").cloned())
                    .collect();
            }
            v
        })
        .collect();
    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Value::Array(list)
}

fn domains(c: &Value) -> Value {
    let mut list: Vec<Value> = entries(&c["domains"]["trustedDomains"])
        .filter(|(_, d)| d["baseUrl"].is_string())
        .map(|(_, d)| json!({ "domain": d["baseUrl"], "handler_path": d["handlerPath"] }))
        .collect();
    list.sort_by(|a, b| a["domain"].as_str().cmp(&b["domain"].as_str()));
    Value::Array(list)
}

/// The origins allowed to frame the hosted pages (`hostedPages.frameOrigins`, Gatehouse's own).
pub(crate) fn frame_origins(c: &Value) -> Value {
    entries(&c["hostedPages"]["frameOrigins"])
        .map(|(_, o)| o.clone())
        .collect()
}

fn email_config(server: &Value) -> Value {
    if server["isShared"] != json!(false) {
        return json!({ "type": "shared" });
    }
    let mut v = json!({ "type": "standard" });
    for (from, to) in [
        ("host", "host"),
        ("port", "port"),
        ("username", "username"),
        ("password", "password"),
        ("senderName", "sender_name"),
        ("senderEmail", "sender_email"),
    ] {
        if let Some(x) = server.get(from) {
            v[to] = x.clone();
        }
    }
    v
}

/// The permissions granted by default that are defined (system team permissions count).
fn default_permissions(c: &Value, who: &str, scope: &str) -> Value {
    let defined = |id: &str| {
        (scope == "team" && super::TEAM_SYSTEM_PERMISSIONS.contains(&id))
            || c["rbac"]["permissions"][id]["scope"] == json!(scope)
    };
    let mut ids: Vec<&String> = entries(&c["rbac"]["defaultPermissions"][who])
        .filter(|(id, on)| **on == json!(true) && defined(id))
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    ids.into_iter().map(|id| json!({ "id": id })).collect()
}

/// The overrides a legacy `config` update stands for: most of it belongs to the environment;
/// `require_publishable_client_key` to the project. Only the fields present are written. Beside
/// Stack's fields this reads three the REST door refuses (`require_publishable_client_key`,
/// `after_sign_in_url`, `allowed_frame_origins`): the dashboard's settings form and settings
/// stored before the config tree use them.
pub fn overrides(update: &Value) -> (Override, Override) {
    let mut env = Override::new();
    let mut project = Override::new();
    let Some(fields) = update.as_object() else {
        return (env, project);
    };
    for (field, value) in fields {
        let mut put = |key: &str, v: Value| {
            env.insert(key.into(), v);
        };
        match field.as_str() {
            "sign_up_enabled" => put("auth.allowSignUp", value.clone()),
            "credential_enabled" => put("auth.password.allowSignIn", value.clone()),
            "magic_link_enabled" => put("auth.otp.allowSignIn", value.clone()),
            "passkey_enabled" => put("auth.passkey.allowSignIn", value.clone()),
            "oauth_account_merge_strategy" => put("auth.oauth.accountMergeStrategy", value.clone()),
            "client_user_deletion_enabled" => put("users.allowClientUserDeletion", value.clone()),
            "client_team_creation_enabled" => put("teams.allowClientTeamCreation", value.clone()),
            "create_team_on_sign_up" => put("teams.createPersonalTeamOnSignUp", value.clone()),
            "allow_localhost" => put("domains.allowLocalhost", value.clone()),
            "allow_user_api_keys" => put("apiKeys.enabled.user", value.clone()),
            "allow_team_api_keys" => put("apiKeys.enabled.team", value.clone()),
            "email_theme" => put("emails.selectedThemeId", value.clone()),
            "require_email_verification" => {
                put("onboarding.requireEmailVerification", value.clone())
            }
            "after_sign_in_url" => put("hostedPages.afterSignInUrl", value.clone()),
            "require_publishable_client_key" => {
                project.insert("project.requirePublishableClientKey".into(), value.clone());
            }
            "domains" => put(
                "domains.trustedDomains",
                keyed(
                    value,
                    |d| json!({ "baseUrl": d["domain"], "handlerPath": d["handler_path"] }),
                ),
            ),
            "allowed_frame_origins" => put("hostedPages.frameOrigins", keyed(value, Value::clone)),
            "oauth_providers" => put(
                "auth.oauth.providers",
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        (
                            p["id"].as_str().unwrap_or_default().to_string(),
                            oauth_provider(p),
                        )
                    })
                    .collect::<Map<_, _>>()
                    .into(),
            ),
            "email_config" => put("emails.server", email_server(value)),
            "team_creator_default_permissions" => {
                put("rbac.defaultPermissions.teamCreator", id_set(value))
            }
            "team_member_default_permissions" => {
                put("rbac.defaultPermissions.teamMember", id_set(value))
            }
            "user_default_permissions" => put("rbac.defaultPermissions.signUp", id_set(value)),
            _ => {}
        }
    }
    (env, project)
}

/// A legacy list as a record under fresh ids (records, not lists, live in the tree).
fn keyed(list: &Value, each: impl Fn(&Value) -> Value) -> Value {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|item| (new_id(), each(item)))
        .collect::<Map<_, _>>()
        .into()
}

fn id_set(list: &Value) -> Value {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?.to_string(), json!(true))))
        .collect::<Map<_, _>>()
        .into()
}

fn oauth_provider(p: &Value) -> Value {
    let mut v = json!({
        "type": p["id"],
        "isShared": p["type"] == json!("shared"),
        "allowSignIn": true,
        "allowConnectedAccounts": true,
    });
    for (from, to) in [
        ("client_id", "clientId"),
        ("client_secret", "clientSecret"),
        ("facebook_config_id", "facebookConfigId"),
        ("microsoft_tenant_id", "microsoftTenantId"),
    ] {
        if let Some(x) = p.get(from).filter(|x| !x.is_null()) {
            v[to] = x.clone();
        }
    }
    if let Some(ids) = p.get("apple_bundle_ids").and_then(Value::as_array) {
        v["appleBundles"] = keyed(&Value::Array(ids.clone()), |id| json!({ "bundleId": id }));
    }
    v
}

fn email_server(c: &Value) -> Value {
    let mut v = json!({ "isShared": c["type"] == json!("shared"), "provider": "smtp" });
    for (from, to) in [
        ("host", "host"),
        ("port", "port"),
        ("username", "username"),
        ("password", "password"),
        ("sender_name", "senderName"),
        ("sender_email", "senderEmail"),
    ] {
        if let Some(x) = c.get(from).filter(|x| !x.is_null()) {
            v[to] = x.clone();
        }
    }
    v
}

/// What every new project starts with beyond Stack's defaults, as Stack's project creation
/// writes it: password sign-in, the two team roles and their default grants, and the
/// authentication and emails apps switched on.
pub fn creation_defaults() -> Override {
    let mut o = Override::new();
    o.insert(
        "rbac.permissions.team_member".into(),
        json!({
            "description": "Default permission for team members",
            "scope": "team",
            "containedPermissionIds": { "$read_members": true, "$invite_members": true },
        }),
    );
    o.insert(
        "rbac.permissions.team_admin".into(),
        json!({
            "description": "Default permission for team admins",
            "scope": "team",
            "containedPermissionIds": {
                "$update_team": true,
                "$delete_team": true,
                "$read_members": true,
                "$remove_members": true,
                "$invite_members": true,
                "$manage_api_keys": true,
            },
        }),
    );
    o.insert(
        "rbac.defaultPermissions.teamCreator".into(),
        json!({ "team_admin": true }),
    );
    o.insert(
        "rbac.defaultPermissions.teamMember".into(),
        json!({ "team_member": true }),
    );
    o.insert("auth.password.allowSignIn".into(), json!(true));
    o.insert("apps.installed.authentication.enabled".into(), json!(true));
    o.insert("apps.installed.emails.enabled".into(), json!(true));
    o
}
