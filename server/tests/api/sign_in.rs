//! Password sign-up, sign-in, update and set; anonymous sign-up and its upgrade.

use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn sign_up_then_sign_in_with_password() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "new@example.com").await;
    assert!(t["refresh_token"].as_str().unwrap().len() >= 32);
    let me = app
        .client(&p)
        .token(t["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(me["primary_email"], "new@example.com");
    assert_eq!(me["has_password"], true);
    assert_eq!(me["auth_with_email"], true);
    assert_eq!(
        me["selected_team_id"],
        serde_json::Value::Null,
        "new projects do not make personal teams"
    );
    let again = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "NEW@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    assert_eq!(again["user_id"], t["user_id"]);
}

#[tokio::test]
async fn sign_up_with_a_taken_email_is_rejected() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.sign_up(&p, "taken@example.com").await;
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "taken@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(409, "USER_EMAIL_ALREADY_EXISTS");
}

#[tokio::test]
async fn passwords_must_meet_the_length_rules() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let r = app
        .client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "s@example.com", "password": "short" }),
        )
        .await;
    r.known_error(400, "PASSWORD_TOO_SHORT");
    assert_eq!(r.body["details"]["min_length"], 8);
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "s@example.com", "password": "x".repeat(71) }),
        )
        .await
        .schema_error(
            "POST",
            "/auth/password/sign-up",
            &["body.password must be at most 70 characters"],
        );
    // Nothing was created by the failed attempts.
    app.sign_up(&p, "s@example.com").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.sign_up(&p, "me@example.com").await;
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "me@example.com", "password": "wrong password" }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "nobody@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");
    // A user without a password cannot sign in with one.
    app.server(&p)
        .post("/users", json!({ "primary_email": "nopw@example.com" }))
        .await
        .ok();
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "nopw@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");
}

#[tokio::test]
async fn project_config_can_close_sign_up_and_password_auth() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.sign_up(&p, "early@example.com").await;
    app.admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "sign_up_enabled": false } }),
        )
        .await
        .ok();
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "late@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "SIGN_UP_NOT_ENABLED");
    // Existing users still sign in, and servers still create users.
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "early@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    app.server(&p)
        .post("/users", json!({ "primary_email": "late@example.com" }))
        .await
        .ok();
    app.admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "credential_enabled": false } }),
        )
        .await
        .ok();
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "early@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "PASSWORD_AUTHENTICATION_NOT_ENABLED");
}

#[tokio::test]
async fn password_update_checks_the_old_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let first = app.sign_up(&p, "pw@example.com").await;
    let second = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "pw@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    let at = first["access_token"].as_str().unwrap();
    app.client(&p)
        .token(at)
        .post(
            "/auth/password/update",
            json!({ "old_password": "not it at all", "new_password": "a new password" }),
        )
        .await
        .known_error(400, "PASSWORD_CONFIRMATION_MISMATCH");
    app.client(&p)
        .token(at)
        .post(
            "/auth/password/update",
            json!({ "old_password": PASSWORD, "new_password": "short" }),
        )
        .await
        .known_error(400, "PASSWORD_TOO_SHORT");
    app.client(&p)
        .token(at)
        .post(
            "/auth/password/update",
            json!({ "old_password": PASSWORD, "new_password": "a new password" }),
        )
        .await
        .ok();
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "pw@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "pw@example.com", "password": "a new password" }),
        )
        .await
        .ok();
    // This session goes on; the other one ended.
    app.client(&p).token(at).get("/users/me").await.ok();
    app.client(&p)
        .token(second["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .known_error(401, "ACCESS_TOKEN_EXPIRED");
    app.client(&p)
        .post(
            "/auth/password/update",
            json!({ "old_password": "a", "new_password": "b" }),
        )
        .await
        .schema_error(
            "POST",
            "/auth/password/update",
            &["auth.user must be defined"],
        );
}

#[tokio::test]
async fn password_set_gives_a_password_to_a_user_without_one() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let u = app
        .server(&p)
        .post(
            "/users",
            json!({ "primary_email": "set@example.com", "primary_email_auth_enabled": true }),
        )
        .await
        .ok();
    let t = app
        .server(&p)
        .post("/auth/sessions", json!({ "user_id": u["id"] }))
        .await
        .ok();
    let at = t["access_token"].as_str().unwrap();
    app.client(&p)
        .token(at)
        .post("/auth/password/set", json!({ "password": "tiny" }))
        .await
        .known_error(400, "PASSWORD_TOO_SHORT");
    app.client(&p)
        .token(at)
        .post("/auth/password/set", json!({ "password": PASSWORD }))
        .await
        .ok();
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "set@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    let r = app
        .client(&p)
        .token(at)
        .post(
            "/auth/password/set",
            json!({ "password": "another password" }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn anonymous_users_upgrade_to_password_users_keeping_their_id() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let anon = app
        .client(&p)
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    let at = anon["access_token"].as_str().unwrap();
    let me = app
        .client(&p)
        .token(at)
        .patch(
            "/users/me",
            json!({ "client_metadata": { "cart": [1, 2] } }),
        )
        .await
        .ok();
    assert_eq!(me["is_anonymous"], true);
    assert_eq!(me["is_restricted"], true);
    assert_eq!(me["restricted_reason"]["type"], "anonymous");
    // Without the allow header, an anonymous token is refused.
    app.client(&p)
        .header("x-stack-access-token", at)
        .get("/users/me")
        .await
        .known_error(401, "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED");

    let up = app
        .client(&p)
        .token(at)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "up@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    assert_eq!(up["user_id"], anon["user_id"]);
    let me = app
        .client(&p)
        .token(up["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(me["is_anonymous"], false);
    assert_eq!(me["is_restricted"], false);
    assert_eq!(me["primary_email"], "up@example.com");
    assert_eq!(me["client_metadata"]["cart"], json!([1, 2]));
}

#[tokio::test]
async fn the_internal_project_gives_every_new_user_a_personal_team() {
    let app = TestApp::spawn().await;
    let t = app.sign_up(&app.internal(), "admin@example.com").await;
    let me = app
        .client(&app.internal())
        .token(t["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert!(me["selected_team_id"].is_string());
    assert_eq!(
        me["selected_team"]["display_name"],
        "admin@example.com's Team"
    );
}
