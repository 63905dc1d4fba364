//! Stack's wire format to the letter: every endpoint's success status, and SCHEMA_ERROR texts
//! exactly as Stack's backend words them (request line, then one line per failing field).

use serde_json::{json, Value};

use crate::helpers::{Project, Req, TestApp, PASSWORD};

/// Who sends a request in the table.
#[derive(Clone, Copy, Debug)]
enum As {
    Nobody,
    Client,
    User,
    Server,
    Admin,
    Dashboard,
}

struct World {
    app: TestApp,
    project: Project,
    user_id: String,
    access_token: String,
    refresh_token: String,
    dashboard_token: String,
}

impl World {
    async fn new() -> World {
        let app = TestApp::spawn().await;
        let (_, dashboard_token) = app.dashboard_user("owner@example.com").await;
        let project = app
            .project_of(&dashboard_token, json!({ "display_name": "Wire" }))
            .await;
        let t = app.sign_up(&project, "ada@example.com").await;
        World {
            user_id: t["user_id"].as_str().unwrap().into(),
            access_token: t["access_token"].as_str().unwrap().into(),
            refresh_token: t["refresh_token"].as_str().unwrap().into(),
            app,
            project,
            dashboard_token,
        }
    }

    fn req(&self, who: As) -> Req {
        match who {
            As::Nobody => self.app.anon(),
            As::Client => self.app.client(&self.project),
            As::User => self
                .app
                .client(&self.project)
                .token(&self.access_token)
                .header("x-stack-refresh-token", &self.refresh_token),
            As::Server => self.app.server(&self.project),
            As::Admin => self.app.admin(&self.project),
            As::Dashboard => self
                .app
                .client(&self.app.internal())
                .token(&self.dashboard_token),
        }
    }
}

#[tokio::test]
async fn every_endpoint_answers_with_stacks_status() {
    let w = World::new().await;
    let other = w.app.sign_up(&w.project, "bob@example.com").await;
    let other_id = other["user_id"].as_str().unwrap().to_string();
    let sessions = w
        .req(As::Server)
        .get(&format!("/auth/sessions?user_id={other_id}"))
        .await
        .ok();
    let other_session = sessions["items"][0]["id"].as_str().unwrap().to_string();
    let key_sets = w.req(As::Admin).get("/internal/api-keys").await.ok();
    let key_set = key_sets["items"][0]["id"].as_str().unwrap().to_string();
    let uid = w.user_id.clone();
    let p = w.project.id.clone();
    let expires = gatehouse_core::now_ms() + 3_600_000;
    // (who, method, path, body, Stack's status)
    let table: Vec<(As, &str, String, Option<Value>, u16)> = vec![
        (As::Nobody, "GET", "/".into(), None, 200),
        (As::Client, "GET", "/projects/current".into(), None, 200),
        (
            As::Nobody,
            "GET",
            format!("/projects/{p}/.well-known/jwks.json"),
            None,
            200,
        ),
        (As::Dashboard, "GET", "/internal/projects".into(), None, 200),
        (
            As::Dashboard,
            "POST",
            "/internal/projects".into(),
            Some(json!({ "display_name": "Another" })),
            201,
        ),
        (
            As::Admin,
            "GET",
            "/internal/projects/current".into(),
            None,
            200,
        ),
        (
            As::Admin,
            "PATCH",
            "/internal/projects/current".into(),
            Some(json!({ "description": "d" })),
            200,
        ),
        (As::Admin, "GET", "/internal/api-keys".into(), None, 200),
        (
            As::Admin,
            "POST",
            "/internal/api-keys".into(),
            Some(
                json!({ "description": "k", "expires_at_millis": expires, "has_publishable_client_key": true, "has_secret_server_key": false, "has_super_secret_admin_key": false }),
            ),
            200,
        ),
        (
            As::Admin,
            "GET",
            format!("/internal/api-keys/{key_set}"),
            None,
            200,
        ),
        (
            As::Admin,
            "PATCH",
            format!("/internal/api-keys/{key_set}"),
            Some(json!({})),
            200,
        ),
        (As::Admin, "GET", "/internal/config".into(), None, 200),
        (
            As::Server,
            "GET",
            "/internal/config/override/branch".into(),
            None,
            200,
        ),
        (
            As::Admin,
            "PUT",
            "/internal/config/override/project".into(),
            Some(json!({ "config_string": "{}" })),
            200,
        ),
        (
            As::Server,
            "PATCH",
            "/internal/config/override/branch".into(),
            Some(json!({ "config_override_string": "{}" })),
            200,
        ),
        (
            As::Admin,
            "POST",
            "/internal/config/override/branch/reset-keys".into(),
            Some(json!({ "keys": [] })),
            200,
        ),
        (
            As::Admin,
            "GET",
            "/internal/config/source".into(),
            None,
            200,
        ),
        (
            As::Admin,
            "DELETE",
            "/internal/config/source".into(),
            None,
            200,
        ),
        (
            As::Admin,
            "POST",
            "/internal/sign-up-rules-test".into(),
            Some(
                json!({ "email": "x@example.com", "auth_method": "otp", "oauth_provider": null, "country_code": null }),
            ),
            200,
        ),
        (
            As::Admin,
            "GET",
            "/internal/sign-up-rules-stats".into(),
            None,
            200,
        ),
        (As::Server, "GET", "/users".into(), None, 200),
        (
            As::Server,
            "POST",
            "/users".into(),
            Some(json!({ "primary_email": "carol@example.com" })),
            201,
        ),
        (As::User, "GET", "/users/me".into(), None, 200),
        (As::Server, "GET", format!("/users/{uid}"), None, 200),
        (
            As::User,
            "PATCH",
            "/users/me".into(),
            Some(json!({ "display_name": "Ada" })),
            200,
        ),
        (
            As::Server,
            "PATCH",
            format!("/users/{uid}"),
            Some(json!({ "server_metadata": { "a": 1 } })),
            200,
        ),
        (
            As::Client,
            "POST",
            "/auth/password/sign-up".into(),
            Some(json!({ "email": "dan@example.com", "password": PASSWORD })),
            200,
        ),
        (
            As::Client,
            "POST",
            "/auth/password/sign-in".into(),
            Some(json!({ "email": "ada@example.com", "password": PASSWORD })),
            200,
        ),
        (
            As::User,
            "POST",
            "/auth/password/update".into(),
            Some(json!({ "old_password": PASSWORD, "new_password": PASSWORD })),
            200,
        ),
        (
            As::Client,
            "POST",
            "/auth/anonymous/sign-up".into(),
            None,
            200,
        ),
        (
            As::Server,
            "POST",
            "/auth/sessions".into(),
            Some(json!({ "user_id": other_id })),
            200,
        ),
        (
            As::Server,
            "GET",
            format!("/auth/sessions?user_id={other_id}"),
            None,
            200,
        ),
        (
            As::Server,
            "DELETE",
            format!("/auth/sessions/{other_session}?user_id={other_id}"),
            None,
            200,
        ),
        (
            As::Server,
            "DELETE",
            format!("/users/{other_id}"),
            None,
            200,
        ),
    ];
    for (who, method, path, body, status) in table {
        let r = w.req(who).send(method.parse().unwrap(), &path, body).await;
        assert_eq!(r.status, status, "{method} {path} as {who:?}: {}", r.text);
    }
    // The password update above revoked the other sessions; these need a fresh one.
    let t = w.app.sign_up(&w.project, "erin@example.com").await;
    let c = w.app.client(&w.project);
    let r = c
        .clone()
        .header(
            "x-stack-refresh-token",
            t["refresh_token"].as_str().unwrap(),
        )
        .post("/auth/sessions/current/refresh", json!({}))
        .await;
    assert_eq!(r.status, 200, "refresh: {}", r.text);
    let r = c
        .clone()
        .token(t["access_token"].as_str().unwrap())
        .post("/auth/password/set", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(r.status, 400, "set when a password exists: {}", r.text);
    assert_eq!(r.text, "User already has a password set.");
    let r = c
        .token(t["access_token"].as_str().unwrap())
        .delete("/auth/sessions/current")
        .await;
    assert_eq!(r.status, 200, "sign-out: {}", r.text);
}

/// The teams, memberships, invitations and permissions endpoints, in an order where each finds
/// what it needs.
#[tokio::test]
async fn team_endpoints_answer_with_stacks_status() {
    let w = World::new().await;
    let uid = w.user_id.clone();
    let other = w.app.sign_up(&w.project, "bob@example.com").await;
    let other_id = other["user_id"].as_str().unwrap().to_string();
    let team = w
        .req(As::Server)
        .post(
            "/teams",
            json!({ "display_name": "T", "creator_user_id": uid }),
        )
        .await;
    assert_eq!(team.status, 201);
    let t = team.body["id"].as_str().unwrap().to_string();
    let own = format!("{}/handler/{}/team-invitation", w.app.base, w.project.id);
    let invitation = w
        .req(As::User)
        .post(
            "/team-invitations/send-code",
            json!({ "team_id": t, "email": "cy@example.com", "callback_url": own }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let table: Vec<(As, &str, String, Option<Value>, u16)> = vec![
        (As::User, "GET", "/teams?user_id=me".into(), None, 200),
        (As::User, "GET", format!("/teams/{t}"), None, 200),
        (
            As::User,
            "PATCH",
            format!("/teams/{t}"),
            Some(json!({ "display_name": "T2" })),
            200,
        ),
        (
            As::Server,
            "POST",
            format!("/team-memberships/{t}/{other_id}"),
            Some(json!({})),
            201,
        ),
        (
            As::User,
            "GET",
            format!("/team-member-profiles?team_id={t}"),
            None,
            200,
        ),
        (
            As::User,
            "GET",
            format!("/team-member-profiles/{t}/me"),
            None,
            200,
        ),
        (
            As::User,
            "PATCH",
            format!("/team-member-profiles/{t}/me"),
            Some(json!({ "display_name": "A" })),
            200,
        ),
        (
            As::User,
            "GET",
            format!("/team-invitations?team_id={t}"),
            None,
            200,
        ),
        (
            As::User,
            "GET",
            "/team-invitations?user_id=me".into(),
            None,
            200,
        ),
        (
            As::User,
            "DELETE",
            format!("/team-invitations/{invitation}?team_id={t}"),
            None,
            200,
        ),
        (
            As::Admin,
            "GET",
            "/team-permission-definitions".into(),
            None,
            200,
        ),
        (
            As::Admin,
            "POST",
            "/team-permission-definitions".into(),
            Some(json!({ "id": "p1" })),
            201,
        ),
        (
            As::Admin,
            "PATCH",
            "/team-permission-definitions/p1".into(),
            Some(json!({ "description": "d" })),
            200,
        ),
        (
            As::Server,
            "POST",
            format!("/team-permissions/{t}/{other_id}/p1"),
            Some(json!({})),
            201,
        ),
        (
            As::User,
            "GET",
            format!("/team-permissions?team_id={t}&user_id=me&recursive=true"),
            None,
            200,
        ),
        (
            As::Server,
            "DELETE",
            format!("/team-permissions/{t}/{other_id}/p1"),
            None,
            200,
        ),
        (
            As::Admin,
            "DELETE",
            "/team-permission-definitions/p1".into(),
            None,
            200,
        ),
        (
            As::Admin,
            "GET",
            "/project-permission-definitions".into(),
            None,
            200,
        ),
        (
            As::Admin,
            "POST",
            "/project-permission-definitions".into(),
            Some(json!({ "id": "p2" })),
            201,
        ),
        (
            As::Admin,
            "PATCH",
            "/project-permission-definitions/p2".into(),
            Some(json!({ "id": "p3" })),
            200,
        ),
        (
            As::Server,
            "POST",
            format!("/project-permissions/{other_id}/p3"),
            Some(json!({})),
            201,
        ),
        (
            As::User,
            "GET",
            "/project-permissions?user_id=me".into(),
            None,
            200,
        ),
        (
            As::Server,
            "DELETE",
            format!("/project-permissions/{other_id}/p3"),
            None,
            200,
        ),
        (
            As::Admin,
            "DELETE",
            "/project-permission-definitions/p3".into(),
            None,
            200,
        ),
        (
            As::Server,
            "DELETE",
            format!("/team-memberships/{t}/{other_id}"),
            None,
            200,
        ),
        (As::User, "DELETE", format!("/teams/{t}"), None, 200),
    ];
    for (who, method, path, body, status) in table {
        let r = w.req(who).send(method.parse().unwrap(), &path, body).await;
        assert_eq!(r.status, status, "{method} {path} as {who:?}: {}", r.text);
    }
}

/// The API key endpoints, in an order where each finds what it needs.
#[tokio::test]
async fn api_key_endpoints_answer_with_stacks_status() {
    let w = World::new().await;
    w.req(As::Admin)
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": "{\"apiKeys.enabled.user\": true, \"apiKeys.enabled.team\": true}" }),
        )
        .await
        .ok();
    let team = w
        .req(As::Server)
        .post(
            "/teams",
            json!({ "display_name": "T", "creator_user_id": w.user_id }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let made = w
        .req(As::User)
        .post(
            "/user-api-keys",
            json!({ "user_id": "me", "description": "k", "expires_at_millis": null }),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    let (key, secret) = (
        made.body["id"].as_str().unwrap().to_string(),
        made.body["value"].as_str().unwrap().to_string(),
    );
    let table: Vec<(As, &str, String, Option<Value>, u16)> = vec![
        (
            As::User,
            "GET",
            "/user-api-keys?user_id=me".into(),
            None,
            200,
        ),
        (As::User, "GET", format!("/user-api-keys/{key}"), None, 200),
        (
            As::User,
            "PATCH",
            format!("/user-api-keys/{key}"),
            Some(json!({ "description": "k2" })),
            200,
        ),
        (
            As::Server,
            "POST",
            "/user-api-keys/check".into(),
            Some(json!({ "api_key": secret })),
            200,
        ),
        (
            As::User,
            "POST",
            "/team-api-keys".into(),
            Some(json!({ "team_id": team, "description": "t", "expires_at_millis": null })),
            200,
        ),
        (
            As::User,
            "GET",
            format!("/team-api-keys?team_id={team}"),
            None,
            200,
        ),
        (
            As::Nobody,
            "POST",
            "/integrations/credential-scanning/revoke".into(),
            Some(json!({ "api_key": secret })),
            200,
        ),
    ];
    for (who, method, path, body, status) in table {
        let r = w.req(who).send(method.parse().unwrap(), &path, body).await;
        assert_eq!(r.status, status, "{method} {path} as {who:?}: {}", r.text);
    }
}

#[tokio::test]
async fn schema_errors_are_worded_as_stack_words_them() {
    let w = World::new().await;
    let uid = w.user_id.clone();
    // (who, method, path, body, the lines Stack sends)
    let table: Vec<(As, &str, String, Value, Vec<&str>)> = vec![
        (As::Client, "POST", "/auth/password/sign-in".into(), json!({ "email": "", "password": "x" }),
            vec!["body.email must not be empty"]),
        (As::Client, "POST", "/auth/password/sign-in".into(), json!({}),
            vec!["body.email must be defined", "body.password must be defined"]),
        (As::Client, "POST", "/auth/password/sign-up".into(), json!({ "email": "ada@example", "password": "p".repeat(71), "extra": 1 }),
            vec![
                r#"body.email must match the following: "/^[^.]+(\.[^.]+)*@.*\.[^.][^.]+$/""#,
                "body.password must be at most 70 characters",
                "body contains unknown properties: extra",
            ]),
        (As::Client, "POST", "/auth/password/update".into(), json!({ "new_password": PASSWORD }),
            vec!["auth.user must be defined", "body.old_password must be defined"]),
        (As::User, "POST", "/auth/password/update".into(), json!({ "new_password": PASSWORD }),
            vec!["body.old_password must be defined"]),
        (As::Client, "POST", "/auth/password/set".into(), json!({ "password": null }),
            vec!["auth.user must be defined", "body.password cannot be null"]),
        (As::Server, "POST", "/auth/sessions".into(), json!({ "user_id": uid, "expires_in_millis": 31708800001i64 }),
            vec!["body.expires_in_millis must be less than or equal to 31708800000"]),
        (As::Server, "POST", "/auth/sessions".into(), json!({ "user_id": "not-a-user", "is_impersonation": "yes" }),
            vec![
                "body.user_id must be a valid UUID",
                "body.is_impersonation must be a `boolean` type, but the final value was: `\"yes\"`.",
            ]),
        (As::Server, "GET", "/auth/sessions".into(), Value::Null,
            vec!["query.user_id must be defined"]),
        (As::Server, "PATCH", format!("/users/{uid}"), json!({ "is_anonymous": true }),
            vec!["body.is_anonymous must be one of the following values: false"]),
        (As::User, "PATCH", "/users/me".into(), json!({ "client_read_only_metadata": {}, "display_name": {} }),
            vec![
                "body.display_name must be a `string` type, but the final value was: `{}`.",
                "body contains unknown properties: client_read_only_metadata",
            ]),
        (As::Server, "POST", "/users".into(), json!({ "primary_email": "", "profile_image_url": "not a url" }),
            vec![
                "body.profile_image_url contains spaces",
                "body.profile_image_url is not a valid URL",
                "body.primary_email must not be empty",
            ]),
        (As::Server, "GET", "/users/not-a-uuid".into(), Value::Null,
            vec!["params.user_id must be a valid UUID"]),
        (As::Server, "GET", "/users?limit=0&desc=maybe&extra=1".into(), Value::Null,
            vec![
                "query.limit must be greater than or equal to 1",
                "query.desc must be one of the following values: true, false",
                "query contains unknown properties: extra",
            ]),
        (As::Server, "GET", "/users?limit=ten".into(), Value::Null,
            vec!["query.limit must be a `number` type, but the final value was: `NaN` (cast from the value `\"ten\"`)."]),
        (As::Admin, "POST", "/internal/api-keys".into(), json!({ "description": "k", "has_publishable_client_key": 1 }),
            vec![
                "body.expires_at_millis must be defined",
                "body.has_secret_server_key must be defined",
                "body.has_super_secret_admin_key must be defined",
            ]),
        (As::Admin, "PATCH", "/internal/projects/current".into(), json!({ "config": { "sign_up_enabld": false, "domains": [{ "domain": "https://a.test" }] } }),
            vec![
                "body.config.domains[0].handler_path must be defined",
                "body.config contains unknown properties: sign_up_enabld",
            ]),
        (As::Client, "POST", "/auth/sessions/current/refresh".into(), json!({}),
            vec!["headers.x-stack-refresh-token must be defined"]),
    ];
    for (who, method, path, body, lines) in table {
        let body = (!body.is_null()).then_some(body);
        let r = w.req(who).send(method.parse().unwrap(), &path, body).await;
        let bare = path.split('?').next().unwrap();
        r.schema_error(method, bare, &lines);
    }
}

#[tokio::test]
async fn access_type_errors_come_before_schema_errors_and_known_errors_after() {
    let w = World::new().await;
    // A client may not create users: that is said before anything about the body.
    w.req(As::Client)
        .post("/users", json!({ "primary_email": 5, "nonsense": true }))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    // The body is well-formed but the password breaks the project's rules: a known error.
    w.req(As::Client)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "short@example.com", "password": "short" }),
        )
        .await
        .known_error(400, "PASSWORD_TOO_SHORT");
    // Stack reads a number where text is expected as its digits.
    let r = w
        .req(As::Client)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "digits@example.com", "password": 7391846205u64 }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Broken JSON is a body parsing error, not a schema error.
    w.req(As::Client)
        .raw(reqwest::Method::POST, "/auth/password/sign-in", "{")
        .await
        .known_error(400, "BODY_PARSING_ERROR");
}

#[tokio::test]
async fn known_errors_carry_both_header_spellings() {
    let w = World::new().await;
    let r = w.req(As::Client).get("/users/me").await;
    r.known_error(400, "CANNOT_GET_OWN_USER_WITHOUT_USER");
    assert_eq!(
        r.headers.get("x-hexclave-known-error").unwrap(),
        "CANNOT_GET_OWN_USER_WITHOUT_USER"
    );
}

#[tokio::test]
async fn oauth_endpoints_answer_with_stacks_status() {
    let w = World::new().await;
    let config = json!({ "auth.oauth.providers.oidc": {
        "type": "oidc", "isShared": false, "clientId": "oidc", "clientSecret": "MOCK-SERVER-SECRET",
        "issuerUrl": crate::oauth_support::provider_url(), "allowSignIn": true, "allowConnectedAccounts": true,
    }});
    w.req(As::Admin)
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": config.to_string() }),
        )
        .await
        .ok();
    let made = w
        .req(As::Server)
        .post(
            "/oauth-providers",
            json!({ "user_id": w.user_id, "provider_config_id": "oidc", "account_id": "ada-1", "allow_sign_in": true, "allow_connected_accounts": true }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_string();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let table: Vec<(As, &str, String, Option<Value>, u16)> = vec![
        (
            As::User,
            "GET",
            "/oauth-providers?user_id=me".into(),
            None,
            200,
        ),
        (As::Server, "GET", "/oauth-providers".into(), None, 200),
        (
            As::User,
            "GET",
            format!("/oauth-providers/me/{id}"),
            None,
            200,
        ),
        (
            As::User,
            "PATCH",
            format!("/oauth-providers/me/{id}"),
            Some(json!({ "allow_connected_accounts": true })),
            200,
        ),
        (As::User, "GET", "/connected-accounts/me".into(), None, 200),
        (
            As::User,
            "POST",
            "/auth/oauth/cross-domain/authorize".into(),
            Some(
                json!({ "redirect_uri": "http://localhost:3000/cb", "state": "s", "code_challenge": challenge }),
            ),
            200,
        ),
        (
            As::User,
            "DELETE",
            format!("/oauth-providers/me/{id}"),
            None,
            200,
        ),
    ];
    for (who, method, path, body, status) in table {
        let r = w.req(who).send(method.parse().unwrap(), &path, body).await;
        assert_eq!(r.status, status, "{method} {path} as {who:?}: {}", r.text);
    }
}
