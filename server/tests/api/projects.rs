//! The internal project, projects, key sets, admin access tokens and the CLI.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn internal_project_exists_with_stacks_defaults() {
    let app = TestApp::spawn().await;
    let p = app
        .client(&app.internal())
        .get("/projects/current")
        .await
        .ok();
    assert_eq!(p["id"], "internal");
    let c = &p["config"];
    assert_eq!(c["credential_enabled"], true);
    // One-time codes and localhost are off unless the seed variables turn them on; the test
    // server opens sign-up as Stack's development setup does.
    assert_eq!(c["magic_link_enabled"], false);
    assert_eq!(c["sign_up_enabled"], true);
    assert_eq!(c["client_team_creation_enabled"], true);
    assert_eq!(c["allow_localhost"], false);
    // The client view keeps admin-only settings to itself.
    assert!(c.get("create_team_on_sign_up").is_none());
    let admin = app
        .admin(&app.internal())
        .get("/internal/projects/current")
        .await
        .ok();
    assert_eq!(admin["config"]["create_team_on_sign_up"], true);
}

#[tokio::test]
async fn dashboard_user_creates_a_project_and_manages_it_with_their_access_token() {
    let app = TestApp::spawn().await;
    let (user_id, token) = app.dashboard_user("owner@example.com").await;
    let me = app
        .client(&app.internal())
        .token(&token)
        .get("/users/me")
        .await
        .ok();
    let team = me["selected_team_id"]
        .as_str()
        .expect("a personal team on sign-up")
        .to_string();
    assert_eq!(me["id"], user_id.as_str());

    let created = app
        .client(&app.internal())
        .token(&token)
        .post("/internal/projects", json!({ "display_name": "Acme", "config": { "sign_up_enabled": false, "domains": [{ "domain": "https://acme.test", "handler_path": "/handler" }] } }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["owner_team_id"], team.as_str());
    assert_eq!(created.body["config"]["sign_up_enabled"], false);
    assert_eq!(created.body["config"]["credential_enabled"], true);
    let id = created.body["id"].as_str().unwrap().to_string();

    let listed = app
        .client(&app.internal())
        .token(&token)
        .get("/internal/projects")
        .await
        .ok();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id.as_str());

    // The admin access token alone grants admin access to the project.
    let admin = |t: &str| {
        app.anon()
            .header("x-stack-access-type", "admin")
            .header("x-stack-project-id", &id)
            .header("x-stack-admin-access-token", t)
    };
    let current = admin(&token).get("/internal/projects/current").await.ok();
    assert_eq!(current["display_name"], "Acme");
    let patched = admin(&token)
        .patch(
            "/internal/projects/current",
            json!({ "display_name": "Acme Inc", "config": { "sign_up_enabled": true } }),
        )
        .await
        .ok();
    assert_eq!(patched["display_name"], "Acme Inc");
    assert_eq!(patched["config"]["sign_up_enabled"], true);
    assert_eq!(
        patched["config"]["domains"][0]["domain"],
        "https://acme.test"
    );
    // …and server access too.
    app.anon()
        .header("x-stack-access-type", "server")
        .header("x-stack-project-id", &id)
        .header("x-stack-admin-access-token", &token)
        .get("/users")
        .await
        .ok();

    // Someone else's token does not.
    let (_, stranger) = app.dashboard_user("stranger@example.com").await;
    admin(&stranger)
        .get("/internal/projects/current")
        .await
        .known_error(401, "ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN");
    admin("garbage")
        .get("/internal/projects/current")
        .await
        .known_error(401, "UNPARSABLE_ADMIN_ACCESS_TOKEN");
    // A token of the project itself is not an admin token.
    let p = app
        .project_of(&token, json!({ "display_name": "Other" }))
        .await;
    let user_token = app.sign_up(&p, "u@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.anon()
        .header("x-stack-access-type", "admin")
        .header("x-stack-project-id", &p.id)
        .header("x-stack-admin-access-token", &user_token)
        .get("/internal/projects/current")
        .await
        .known_error(401, "INVALID_PROJECT_FOR_ADMIN_ACCESS_TOKEN");
}

#[tokio::test]
async fn creating_projects_happens_on_the_internal_project_only() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let token = app.sign_up(&p, "u@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.client(&p)
        .token(&token)
        .post("/internal/projects", json!({ "display_name": "X" }))
        .await
        .known_error(401, "EXPECTED_INTERNAL_PROJECT");
    app.client(&app.internal())
        .post("/internal/projects", json!({ "display_name": "X" }))
        .await
        .known_error(401, "USER_AUTHENTICATION_REQUIRED");
}

#[tokio::test]
async fn project_config_updates_are_validated() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let r = app
        .admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "sign_up_enabld": false } }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
    assert!(r.message().contains("sign_up_enabld"), "{}", r.text);
    let r = app
        .admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "sign_up_enabled": "nope" } }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
    assert!(r.message().contains("sign_up_enabled"), "{}", r.text);
    let r = app
        .admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "domains": [{ "domain": "acme.test", "handler_path": "/h" }] } }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
    // Nothing was half-applied.
    let current = app.admin(&p).get("/internal/projects/current").await.ok();
    assert_eq!(current["config"]["sign_up_enabled"], true);
    assert_eq!(current["config"]["domains"], json!([]));
    app.server(&p)
        .get("/internal/projects/current")
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
}

#[tokio::test]
async fn key_sets_are_shown_once_listed_by_last_four_and_revocable() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let created = app
        .admin(&p)
        .post("/internal/api-keys", json!({ "description": "CI", "expires_at_millis": gatehouse_core::now_ms() + 60_000, "has_publishable_client_key": false, "has_secret_server_key": true, "has_super_secret_admin_key": false }))
        .await;
    assert_eq!(created.status, 200, "Stack answers 200 here");
    let ssk = created.body["secret_server_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ssk.starts_with("ssk_"));
    assert!(created.body.get("publishable_client_key").is_none());
    let id = created.body["id"].as_str().unwrap().to_string();
    let with_new_key = crate::helpers::Project {
        ssk: ssk.clone(),
        ..p.clone()
    };
    app.server(&with_new_key).get("/users").await.ok();

    let listed = app.admin(&p).get("/internal/api-keys").await.ok();
    let entry = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        entry["secret_server_key"]["last_four"],
        &ssk[ssk.len() - 4..]
    );
    assert!(
        !listed.to_string().contains(&ssk),
        "the key itself is never listed"
    );

    let revoked = app
        .admin(&p)
        .patch(
            &format!("/internal/api-keys/{id}"),
            json!({ "revoked": true }),
        )
        .await
        .ok();
    assert!(revoked["manually_revoked_at_millis"].is_i64());
    app.server(&with_new_key)
        .get("/users")
        .await
        .known_error(401, "INVALID_SECRET_SERVER_KEY");
    app.admin(&p)
        .patch(
            "/internal/api-keys/00000000-0000-4000-8000-000000000000",
            json!({ "revoked": true }),
        )
        .await
        .known_error(404, "API_KEY_NOT_FOUND");
    let r = app.admin(&p).post("/internal/api-keys", json!({ "description": "none", "expires_at_millis": gatehouse_core::now_ms() + 60_000, "has_publishable_client_key": false, "has_secret_server_key": false, "has_super_secret_admin_key": false })).await;
    r.known_error(400, "SCHEMA_ERROR");
}

#[tokio::test]
async fn keys_are_stored_only_as_hashes() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let core = gatehouse_core::db::Db::connect(&app.database_url)
        .await
        .unwrap();
    let rows: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT secret_server_key_hash FROM api_key_sets")
            .fetch_all(&core.pool)
            .await
            .unwrap();
    assert!(!rows.is_empty());
    for (h,) in rows {
        assert_ne!(h.as_deref(), Some(p.ssk.as_str()));
    }
    let dump: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&core.pool)
        .await
        .unwrap();
    assert!(dump.iter().all(|(h,)| h.len() == 64));
}

#[tokio::test]
async fn cli_creates_a_project_with_working_keys() {
    let app = TestApp::spawn().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["project", "create", "--display-name", "From the CLI"])
        .env("DATABASE_URL", &app.database_url)
        .env("GATEHOUSE_SECRET", &app.secret)
        .env("GATEHOUSE_DATA_DIR", &app.data_dir)
        .output()
        .expect("run gatehouse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let p = crate::helpers::Project {
        id: printed["project_id"].as_str().unwrap().into(),
        pck: printed["publishable_client_key"].as_str().unwrap().into(),
        ssk: printed["secret_server_key"].as_str().unwrap().into(),
        sak: printed["super_secret_admin_key"].as_str().unwrap().into(),
    };
    assert_eq!(
        app.admin(&p).get("/internal/projects/current").await.ok()["display_name"],
        "From the CLI"
    );
    app.server(&p).get("/users").await.ok();
    app.client(&p).get("/projects/current").await.ok();
}
