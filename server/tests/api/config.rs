//! The config tree over REST: the rendered config, overrides per level with Stack's access
//! rules and errors, the legacy project fields as a view of the same tree, and callback URLs
//! checked against the trusted domains.

use gatehouse_core::config::{Level, Overrides};
use serde_json::{json, Value};

use crate::helpers::{Project, Req, TestApp, PASSWORD};

async fn rendered(app: &TestApp, p: &Project) -> Value {
    let body = app.admin(p).get("/internal/config").await.ok();
    serde_json::from_str(body["config_string"].as_str().unwrap()).unwrap()
}

async fn stored(app: &TestApp, p: &Project, level: &str) -> Value {
    let body = app
        .admin(p)
        .get(&format!("/internal/config/override/{level}"))
        .await
        .ok();
    serde_json::from_str(body["config_string"].as_str().unwrap()).unwrap()
}

async fn patch(req: &Req, level: &str, over: Value) -> crate::helpers::Resp {
    patch_text(req, level, &over.to_string()).await
}

async fn patch_text(req: &Req, level: &str, text: &str) -> crate::helpers::Resp {
    req.patch(
        &format!("/internal/config/override/{level}"),
        json!({ "config_override_string": text }),
    )
    .await
}

/// A 400 (or other status) answered as Stack's StatusError: the message as plain text.
fn plain(resp: &crate::helpers::Resp, status: u16, text: &str) {
    assert_eq!(resp.status, status, "{}", resp.text);
    assert_eq!(resp.text, text);
    let kind = resp.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(kind.starts_with("text/plain"), "{kind}");
}

#[tokio::test]
async fn a_new_project_renders_stacks_defaults_and_creation_settings() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let c = rendered(&app, &p).await;
    assert_eq!(c["sourceOfTruth"], json!({ "type": "hosted" }));
    assert_eq!(c["auth"]["allowSignUp"], true);
    assert_eq!(c["auth"]["password"]["allowSignIn"], true);
    assert_eq!(c["auth"]["otp"]["allowSignIn"], false);
    assert_eq!(c["auth"]["oauth"]["accountMergeStrategy"], "link_method");
    assert_eq!(c["auth"]["signUpRulesDefaultAction"], "allow");
    assert_eq!(c["domains"]["allowLocalhost"], true);
    assert_eq!(c["domains"]["trustedDomains"], json!({}));
    assert_eq!(c["rbac"]["permissions"]["team_admin"]["scope"], "team");
    assert_eq!(
        c["rbac"]["permissions"]["team_member"]["containedPermissionIds"],
        json!({ "$read_members": true, "$invite_members": true })
    );
    assert_eq!(
        c["rbac"]["defaultPermissions"]["teamCreator"],
        json!({ "team_admin": true })
    );
    assert_eq!(
        c["apps"]["installed"]["authentication"],
        json!({ "enabled": true })
    );
    assert_eq!(
        c["apps"]["installed"]["payments"],
        json!({ "enabled": false })
    );
    assert_eq!(c["emails"]["server"]["isShared"], true);
    assert_eq!(
        c["emails"]["selectedThemeId"],
        "1df07ae6-abf3-4a40-83a5-a1a2cbe336ac"
    );
    assert_eq!(c["payments"]["testMode"], true);
    assert_eq!(c["project"]["requirePublishableClientKey"], false);

    // Only admins read it; server keys see the branch override only.
    app.server(&p)
        .get("/internal/config")
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    app.client(&p)
        .get("/internal/config/override/branch")
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    assert_eq!(stored(&app, &p, "branch").await, json!({}));
    plain(
        &app.server(&p)
            .get("/internal/config/override/environment")
            .await,
        403,
        "Server access can only manage branch config overrides.",
    );
    app.server(&p)
        .get("/internal/config/override/branch")
        .await
        .ok();
}

#[tokio::test]
async fn later_levels_win_and_patches_replace_what_lies_below_their_keys() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let admin = app.admin(&p);

    patch(&admin, "environment", json!({ "auth.allowSignUp": false }))
        .await
        .ok();
    assert_eq!(
        stored(&app, &p, "environment").await["auth.allowSignUp"],
        false
    );
    assert_eq!(rendered(&app, &p).await["auth"]["allowSignUp"], false);
    // The core acts on it, and the legacy fields show it.
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "SIGN_UP_NOT_ENABLED");
    assert_eq!(
        app.client(&p).get("/projects/current").await.ok()["config"]["sign_up_enabled"],
        false
    );

    // The branch sits under the environment: its allowSignUp loses, its OTP switch shows.
    let server = app.server(&p);
    patch(
        &server,
        "branch",
        json!({ "auth": { "allowSignUp": true, "otp": { "allowSignIn": true } } }),
    )
    .await
    .ok();
    let c = rendered(&app, &p).await;
    assert_eq!(
        (
            c["auth"]["allowSignUp"].clone(),
            c["auth"]["otp"]["allowSignIn"].clone()
        ),
        (json!(false), json!(true))
    );

    // Resetting the environment's key lets the branch's value through.
    admin
        .post(
            "/internal/config/override/environment/reset-keys",
            json!({ "keys": ["auth.allowSignUp"] }),
        )
        .await
        .ok();
    assert!(stored(&app, &p, "environment")
        .await
        .get("auth.allowSignUp")
        .is_none());
    assert_eq!(rendered(&app, &p).await["auth"]["allowSignUp"], true);
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .ok();

    // A key replaces everything below it that the same level set before.
    patch(
        &admin,
        "environment",
        json!({ "teams.allowClientTeamCreation": true, "users.allowClientUserDeletion": true }),
    )
    .await
    .ok();
    patch(
        &admin,
        "environment",
        json!({ "teams": { "createPersonalTeamOnSignUp": true } }),
    )
    .await
    .ok();
    let env = stored(&app, &p, "environment").await;
    assert_eq!(env["users.allowClientUserDeletion"], true);
    assert_eq!(env["teams"], json!({ "createPersonalTeamOnSignUp": true }));
    assert!(env.get("teams.allowClientTeamCreation").is_none());
    let c = rendered(&app, &p).await;
    assert_eq!(
        c["teams"],
        json!({ "createPersonalTeamOnSignUp": true, "allowClientTeamCreation": false })
    );
    // null puts a key back to its default.
    patch(
        &admin,
        "environment",
        json!({ "users.allowClientUserDeletion": null }),
    )
    .await
    .ok();
    assert_eq!(
        rendered(&app, &p).await["users"]["allowClientUserDeletion"],
        false
    );

    // A PUT replaces the level whole: the password switch new projects start with goes too.
    let put = admin
        .send(
            reqwest::Method::PUT,
            "/internal/config/override/environment",
            Some(json!({ "config_string": json!({ "auth.allowSignUp": false }).to_string() })),
        )
        .await;
    assert_eq!(put.ok(), json!({ "success": true }));
    assert_eq!(
        stored(&app, &p, "environment").await,
        json!({ "auth.allowSignUp": false })
    );
    let legacy = admin.get("/internal/projects/current").await.ok();
    assert_eq!(
        (
            legacy["config"]["sign_up_enabled"].clone(),
            legacy["config"]["credential_enabled"].clone()
        ),
        (json!(false), json!(false))
    );

    // A branch config is replaced only with its source; the source is kept and can be unlinked.
    let put_branch = |body: Value| {
        let admin = admin.clone();
        async move {
            admin
                .send(
                    reqwest::Method::PUT,
                    "/internal/config/override/branch",
                    Some(body),
                )
                .await
        }
    };
    plain(
        &put_branch(json!({ "config_string": "{}" })).await,
        400,
        "source is required for branch level config",
    );
    let source = json!({ "type": "pushed-from-github", "owner": "acme", "repo": "app", "branch": "main", "commit_hash": "abc123", "config_file_path": "stack.config.ts" });
    put_branch(json!({ "config_string": "{\"apiKeys.enabled.user\": true}", "source": source }))
        .await
        .ok();
    assert_eq!(
        stored(&app, &p, "branch").await,
        json!({ "apiKeys.enabled.user": true })
    );
    assert_eq!(
        admin.get("/internal/config/source").await.ok()["source"],
        source
    );
    admin.delete("/internal/config/source").await.ok();
    assert_eq!(
        admin.get("/internal/config/source").await.ok()["source"],
        json!({ "type": "unlinked" })
    );
    put_branch(json!({ "config_string": "{}", "source": { "type": "pushed-from-github" } }))
        .await
        .schema_error(
            "PUT",
            "/internal/config/override/branch",
            &["body.source.owner must be defined"],
        );
}

#[tokio::test]
async fn bad_overrides_get_stacks_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let admin = app.admin(&p);
    let before = rendered(&app, &p).await;
    for (level, over, message) in [
        ("environment", "{\"auth\": ", "Invalid config JSON"),
        ("environment", "[1]", "Config override must be plain old JavaScript object."),
        ("environment", "null", "Config override must be a non-null object."),
        (
            "environment",
            r#"{"auth.allowSignUp": "yes"}"#,
            "auth.allowSignUp must be a `boolean` type, but the final value was: `\"yes\"`.",
        ),
        (
            "environment",
            r#"{"auth.nope": true}"#,
            r#"The key "auth.nope" is not valid (nested object not found in schema: "auth.nope")."#,
        ),
        (
            "environment",
            r#"{"auth": {"nope": 1}}"#,
            "auth contains unknown properties: nope",
        ),
        (
            "branch",
            r#"{"domains.trustedDomains.a.baseUrl": "https://a.test"}"#,
            r#"The key "domains.trustedDomains.a.baseUrl" is not valid (nested object not found in schema: "domains.trustedDomains")."#,
        ),
        (
            "project",
            r#"{"auth.allowSignUp": false}"#,
            r#"The key "auth.allowSignUp" is not valid (nested object not found in schema: "auth")."#,
        ),
        (
            "environment",
            r#"{"auth.oauth.accountMergeStrategy": "merge"}"#,
            "auth.oauth.accountMergeStrategy must be one of the following values: link_method, raise_error, allow_duplicates",
        ),
        (
            "environment",
            r#"{"domains.trustedDomains.a": {"baseUrl": "not a url"}}"#,
            "domains.trustedDomains.a.baseUrl contains spaces",
        ),
        (
            "environment",
            r#"{"domains.trustedDomains.a": {"baseUrl": "https://a.test", "handlerPath": "handler"}}"#,
            "domains.trustedDomains.a.handlerPath: Handler path must start with /",
        ),
    ] {
        plain(&patch_text(&admin, level, over).await, 400, message);
    }
    assert_eq!(rendered(&app, &p).await, before);

    admin
        .get("/internal/config/override/organization")
        .await
        .schema_error(
            "GET",
            "/internal/config/override/organization",
            &["params.level must be one of the following values: project, branch, environment"],
        );
    admin
        .post(
            "/internal/config/override/project/reset-keys",
            json!({ "keys": ["project"] }),
        )
        .await
        .schema_error(
            "POST",
            "/internal/config/override/project/reset-keys",
            &["params.level must be one of the following values: branch, environment"],
        );
    admin
        .patch("/internal/config/override/branch", json!({}))
        .await
        .schema_error(
            "PATCH",
            "/internal/config/override/branch",
            &["body.config_override_string must be defined"],
        );
    // Project-level keys belong to admins, and are set there.
    plain(
        &patch(
            &app.server(&p),
            "project",
            json!({ "project.requirePublishableClientKey": true }),
        )
        .await,
        403,
        "Server access can only manage branch config overrides.",
    );
    patch(
        &admin,
        "project",
        json!({ "project.requirePublishableClientKey": true }),
    )
    .await
    .ok();
    assert_eq!(
        rendered(&app, &p).await["project"]["requirePublishableClientKey"],
        true
    );
}

#[tokio::test]
async fn legacy_project_fields_read_and_write_the_same_tree() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let admin = app.admin(&p);
    let legacy = json!({
        "sign_up_enabled": false,
        "magic_link_enabled": true,
        "passkey_enabled": true,
        "client_team_creation_enabled": true,
        "client_user_deletion_enabled": true,
        "allow_localhost": false,
        "allow_user_api_keys": true,
        "allow_team_api_keys": true,
        "create_team_on_sign_up": true,
        "oauth_account_merge_strategy": "raise_error",
        "require_email_verification": true,
        "email_theme": "a0172b5d-cff0-463b-83bb-85124697373a",
        "domains": [{ "domain": "https://app.acme.test", "handler_path": "/auth" }],
        "oauth_providers": [
            { "id": "github", "type": "standard", "client_id": "gh-id", "client_secret": "gh-secret" },
            { "id": "google", "type": "shared" },
        ],
        "email_config": { "type": "standard", "host": "smtp.acme.test", "port": 587, "username": "u", "password": "p", "sender_name": "Acme", "sender_email": "no-reply@acme.test" },
        "team_member_default_permissions": [{ "id": "team_admin" }],
        "user_default_permissions": [],
    });
    let written = admin
        .patch("/internal/projects/current", json!({ "config": legacy }))
        .await
        .ok();

    let c = rendered(&app, &p).await;
    assert_eq!(c["auth"]["allowSignUp"], false);
    assert_eq!(c["auth"]["otp"]["allowSignIn"], true);
    assert_eq!(c["auth"]["passkey"]["allowSignIn"], true);
    assert_eq!(c["auth"]["oauth"]["accountMergeStrategy"], "raise_error");
    assert_eq!(
        c["teams"],
        json!({ "createPersonalTeamOnSignUp": true, "allowClientTeamCreation": true })
    );
    assert_eq!(c["users"]["allowClientUserDeletion"], true);
    assert_eq!(
        c["apiKeys"]["enabled"],
        json!({ "team": true, "user": true })
    );
    assert_eq!(c["onboarding"]["requireEmailVerification"], true);
    assert_eq!(c["domains"]["allowLocalhost"], false);
    let domains: Vec<&Value> = c["domains"]["trustedDomains"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(
        domains,
        [&json!({ "baseUrl": "https://app.acme.test", "handlerPath": "/auth" })]
    );
    assert_eq!(
        c["auth"]["oauth"]["providers"]["github"],
        json!({ "type": "github", "isShared": false, "clientId": "gh-id", "clientSecret": "gh-secret", "allowSignIn": true, "allowConnectedAccounts": true })
    );
    assert_eq!(c["emails"]["server"]["host"], "smtp.acme.test");
    assert_eq!(c["emails"]["server"]["isShared"], false);
    assert_eq!(
        c["emails"]["selectedThemeId"],
        "a0172b5d-cff0-463b-83bb-85124697373a"
    );
    assert_eq!(
        c["rbac"]["defaultPermissions"]["teamMember"],
        json!({ "team_admin": true })
    );

    // Reading the legacy fields back gives what was written.
    let read = admin.get("/internal/projects/current").await.ok();
    assert_eq!(read["config"], written["config"]);
    let rc = &read["config"];
    for field in [
        "sign_up_enabled",
        "magic_link_enabled",
        "passkey_enabled",
        "client_team_creation_enabled",
        "client_user_deletion_enabled",
        "allow_localhost",
        "allow_user_api_keys",
        "allow_team_api_keys",
        "create_team_on_sign_up",
        "oauth_account_merge_strategy",
        "email_theme",
        "domains",
        "email_config",
        "team_member_default_permissions",
        "user_default_permissions",
    ] {
        assert_eq!(rc[field], legacy[field], "{field}");
    }
    assert_eq!(
        rc["team_creator_default_permissions"],
        json!([{ "id": "team_admin" }])
    );
    assert_eq!(
        rc["oauth_providers"],
        json!([
            { "provider_config_id": "github", "id": "github", "type": "standard", "client_id": "gh-id", "client_secret": "gh-secret" },
            { "provider_config_id": "google", "id": "google", "type": "shared" },
        ])
    );
    assert_eq!(
        app.client(&p).get("/projects/current").await.ok()["config"]["enabled_oauth_providers"],
        json!([{ "id": "github" }, { "id": "google" }])
    );

    // And the other way: tree keys show in the legacy fields.
    patch(&admin, "environment", json!({ "auth.allowSignUp": true, "auth.oauth.providers.github.allowSignIn": false, "domains.trustedDomains.second": { "baseUrl": "https://b.acme.test" } })).await.ok();
    let rc = admin.get("/internal/projects/current").await.ok()["config"].clone();
    assert_eq!(rc["sign_up_enabled"], true);
    assert_eq!(rc["oauth_providers"].as_array().unwrap().len(), 1);
    assert_eq!(
        rc["domains"],
        json!([{ "domain": "https://app.acme.test", "handler_path": "/auth" }, { "domain": "https://b.acme.test", "handler_path": "/handler" }])
    );
    // Undefined permissions are not shown as defaults.
    patch(
        &admin,
        "environment",
        json!({ "rbac.defaultPermissions.signUp": { "nobody": true } }),
    )
    .await
    .ok();
    assert_eq!(
        admin.get("/internal/projects/current").await.ok()["config"]["user_default_permissions"],
        json!([])
    );
}

#[tokio::test]
async fn callback_urls_are_checked_in_one_place_against_trusted_domains() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    patch(
        &app.admin(&p),
        "environment",
        json!({ "domains.allowLocalhost": false, "domains.trustedDomains": { "acme": { "baseUrl": "https://*.acme.test" } } }),
    )
    .await
    .ok();
    let project = app.core.project(&p.id).await.unwrap().unwrap();
    for ok in [
        "https://app.acme.test/verify?x=1",
        "/handler/email-verification",
    ] {
        project.check_callback_url(ok).unwrap();
    }
    for bad in [
        "https://acme.test/",
        "https://app.acme.test.evil.test/",
        "http://localhost:3000/",
        "javascript:alert(1)",
    ] {
        let err = project.check_callback_url(bad).expect_err(bad);
        assert_eq!(err.code(), Some("REDIRECT_URL_NOT_WHITELISTED"));
        assert_eq!(err.status(), 400);
        assert!(
            err.message().contains("trusted domains"),
            "{}",
            err.message()
        );
    }
    patch(
        &app.admin(&p),
        "environment",
        json!({ "domains.allowLocalhost": true }),
    )
    .await
    .ok();
    let project = app.core.project(&p.id).await.unwrap().unwrap();
    project
        .check_callback_url("http://localhost:3000/cb")
        .unwrap();
}

#[tokio::test]
async fn settings_stored_before_the_tree_move_into_it_on_start() {
    let app = TestApp::spawn().await;
    let id = gatehouse_core::new_id();
    let old = json!({
        "allow_localhost": false, "sign_up_enabled": false, "credential_enabled": true, "magic_link_enabled": true,
        "passkey_enabled": false, "client_team_creation_enabled": false, "client_user_deletion_enabled": true,
        "allow_user_api_keys": false, "allow_team_api_keys": false, "create_team_on_sign_up": false,
        "require_publishable_client_key": true,
        "domains": [{ "domain": "https://old.test", "handler_path": "/handler" }],
        "after_sign_in_url": "https://old.test/home", "allowed_frame_origins": ["https://partner.test"],
    });
    sqlx::query("INSERT INTO projects (id, display_name, description, owner_team_id, config, created_at) VALUES ($1, 'Old', '', NULL, $2, 0)")
        .bind(&id)
        .bind(old.to_string())
        .execute(&app.core.db.pool)
        .await
        .unwrap();
    let again = gatehouse_core::Core::start(&gatehouse_core::Settings {
        database_url: app.database_url.clone(),
        secret: app.secret.as_bytes().to_vec(),
        public_url: app.base.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let project = again.project(&id).await.unwrap().unwrap();
    let c = &project.config;
    assert!(
        !c.sign_up_enabled
            && c.magic_link_enabled
            && c.client_user_deletion_enabled
            && !c.allow_localhost
    );
    assert!(c.require_publishable_client_key);
    assert_eq!(
        c.domains,
        [("https://old.test".to_string(), "/handler".to_string())]
    );
    assert_eq!(
        c.after_sign_in_url.as_deref(),
        Some("https://old.test/home")
    );
    assert_eq!(c.allowed_frame_origins, ["https://partner.test"]);
    assert_eq!(c.tree["rbac"]["permissions"]["team_admin"]["scope"], "team");
    let overrides: Overrides = again.config_overrides(&id).await.unwrap();
    assert_eq!(
        overrides.get(Level::Project),
        json!({ "project.requirePublishableClientKey": true })
            .as_object()
            .unwrap()
    );
    let left: String = sqlx::query_scalar("SELECT config FROM projects WHERE id = $1")
        .bind(&id)
        .fetch_one(&again.db.pool)
        .await
        .unwrap();
    assert_eq!(left, "{}");
}
