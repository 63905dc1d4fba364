//! Details where Gatehouse once answered differently from Stack, each read from Stack's source
//! (the file named beside it) and pinned here; `end2end/conformance.test.mjs` holds every answer
//! to Stack's published schemas.

use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};

/// `users/crud.tsx`: the server's new user has email sign-in only when asked, no emailed-code
/// sign-in unless asked, and its create answer names no selected team (the personal team is
/// made after the answer is read); the team is named after the whole email address.
#[tokio::test]
async fn users_made_by_the_server_follow_stacks_defaults() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    app.configure(&p, json!({ "teams.createPersonalTeamOnSignUp": true }))
        .await;

    let made = server
        .post("/users", json!({ "primary_email": "ada@example.com" }))
        .await
        .ok();
    assert_eq!(made["primary_email_auth_enabled"], false);
    assert_eq!(made["otp_auth_enabled"], false);
    assert_eq!(made["auth_with_email"], false);
    assert_eq!(made["has_password"], false);
    assert_eq!(made["selected_team"], Value::Null);
    assert_eq!(made["selected_team_id"], Value::Null);
    let id = made["id"].as_str().unwrap();
    let read = server.get(&format!("/users/{id}")).await.ok();
    assert_eq!(
        read["selected_team"]["display_name"],
        "ada@example.com's Team"
    );

    let named = server
        .post(
            "/users",
            json!({ "display_name": "Bob", "password": PASSWORD }),
        )
        .await
        .ok();
    let read = server
        .get(&format!("/users/{}", named["id"].as_str().unwrap()))
        .await
        .ok();
    assert_eq!(read["selected_team"]["display_name"], "Bob's Team");
    assert_eq!(
        read["auth_with_email"], true,
        "a password signs in with the email"
    );

    let nameless = server.post("/users", json!({})).await.ok();
    let read = server
        .get(&format!("/users/{}", nameless["id"].as_str().unwrap()))
        .await
        .ok();
    assert_eq!(read["selected_team"]["display_name"], "Personal Team");

    // Emailed-code sign-in is the project's to allow.
    let refused = server
        .post(
            "/users",
            json!({ "primary_email": "cy@example.com", "otp_auth_enabled": true }),
        )
        .await;
    assert_eq!(
        (refused.status, refused.text.as_str()),
        (400, "OTP auth not enabled in the project")
    );
    app.configure(&p, json!({ "auth.otp.allowSignIn": true }))
        .await;
    let otp = server
        .post(
            "/users",
            json!({ "primary_email": "cy@example.com", "otp_auth_enabled": true }),
        )
        .await
        .ok();
    assert_eq!(
        (
            otp["otp_auth_enabled"].clone(),
            otp["auth_with_email"].clone()
        ),
        (json!(true), json!(true))
    );
    let off = server
        .patch(
            &format!("/users/{}", otp["id"].as_str().unwrap()),
            json!({ "otp_auth_enabled": false }),
        )
        .await
        .ok();
    assert_eq!(off["otp_auth_enabled"], false);

    // An anonymous user gets a personal team too (Stack makes one for every new user).
    let anon = app
        .client(&p)
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    let me = app
        .client(&p)
        .token(anon["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(me["selected_team"]["display_name"], "Personal Team");
}

/// The server API takes addresses as yup's `email()` does (`emailSchema`); Stack's strict rule
/// is for what people type on its forms (`signInEmailSchema` on sign-up).
#[tokio::test]
async fn the_server_api_accepts_addresses_stacks_server_api_accepts() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let made = app
        .server(&p)
        .post("/users", json!({ "primary_email": "Ops@LocalHost" }))
        .await
        .ok();
    assert_eq!(made["primary_email"], "ops@localhost");
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "ops@localhost", "password": PASSWORD }),
        )
        .await
        .known_error(400, "SCHEMA_ERROR");
}

/// `lib/turnstile.tsx`: the SDK adds bot-challenge fields to sign-up, emailed-code and OAuth
/// requests; they are accepted (acting on them is the abuse work's), and checked as Stack checks.
#[tokio::test]
async fn bot_challenge_fields_are_accepted_where_the_sdk_sends_them() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    client
        .post(
            "/auth/password/sign-up",
            json!({ "email": "ada@example.com", "password": PASSWORD, "bot_challenge_token": "t", "bot_challenge_phase": "invisible" }),
        )
        .await
        .ok();
    client
        .post(
            "/auth/password/sign-up",
            json!({ "email": "bob@example.com", "password": PASSWORD, "bot_challenge_unavailable": "true" }),
        )
        .await
        .ok();
    client
        .post(
            "/auth/password/sign-up",
            json!({ "email": "cy@example.com", "password": PASSWORD, "bot_challenge_phase": "loud" }),
        )
        .await
        .schema_error(
            "POST",
            "/auth/password/sign-up",
            &["body.bot_challenge_phase must be one of the following values: invisible, visible"],
        );
    app.configure(&p, json!({ "auth.otp.allowSignIn": true }))
        .await;
    client
        .post(
            "/auth/otp/send-sign-in-code",
            json!({ "email": "dee@example.com", "callback_url": "http://localhost:3000/cb", "bot_challenge_unavailable": "true" }),
        )
        .await
        .ok();
}

/// Stack serves every route under `/api/latest` too.
#[tokio::test]
async fn every_route_is_served_under_api_latest_too() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "ada@example.com").await;
    let me = app
        .client(&p)
        .token(t["access_token"].as_str().unwrap())
        .get("/api/latest/users/me")
        .await
        .ok();
    assert_eq!(me["primary_email"], "ada@example.com");
    let nope = app.server(&p).get("/api/latest/nope").await;
    assert_eq!(nope.status, 404, "{}", nope.text);
}

/// `internal/projects/current/crud.tsx`: an admin deletes the project; other access types are
/// refused with Stack's details.
#[tokio::test]
async fn an_admin_deletes_the_current_project() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let refused = app.server(&p).delete("/internal/projects/current").await;
    refused.known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    assert_eq!(
        refused.body["details"],
        json!({ "actual_access_type": "server", "allowed_access_types": ["admin"] })
    );
    app.sign_up(&p, "ada@example.com").await;
    assert_eq!(
        app.admin(&p)
            .delete("/internal/projects/current")
            .await
            .ok(),
        json!({ "success": true })
    );
    app.server(&p)
        .get("/users")
        .await
        .known_error(400, "CURRENT_PROJECT_NOT_FOUND");
    // The dashboard's own project stays.
    let internal = app.internal();
    assert_eq!(
        app.admin(&internal)
            .delete("/internal/projects/current")
            .await
            .status,
        400
    );
}

/// `auth/otp/sign-in/verification-code-handler.tsx`: signing in by emailed code makes (or
/// marks) the account one that signs in with codes.
#[tokio::test]
async fn an_emailed_code_turns_on_code_sign_in_for_the_account() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.configure(&p, json!({ "auth.otp.allowSignIn": true }))
        .await;
    let made = app
        .server(&p)
        .post(
            "/users",
            json!({ "primary_email": "ada@example.com", "primary_email_verified": true, "primary_email_auth_enabled": true, "password": PASSWORD }),
        )
        .await
        .ok();
    let ada = app.server(&p);
    let me = format!("/users/{}", made["id"].as_str().unwrap());
    let before = ada.get(&me).await.ok();
    assert_eq!(
        (
            before["otp_auth_enabled"].clone(),
            before["auth_with_email"].clone()
        ),
        (json!(false), json!(true))
    );
    let nonce = app
        .client(&p)
        .post(
            "/auth/otp/send-sign-in-code",
            json!({ "email": "ada@example.com", "callback_url": "http://localhost:3000/cb" }),
        )
        .await
        .ok()["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let mail = crate::email_flows::mail(&app.server(&p), "Your code is").await;
    let otp = crate::email_flows::subject_code(&mail);
    let t = app
        .client(&p)
        .post(
            "/auth/otp/sign-in",
            json!({ "code": format!("{otp}{nonce}") }),
        )
        .await
        .ok();
    assert_eq!(t["is_new_user"], false);
    let after = ada.get(&me).await.ok();
    assert_eq!(after["otp_auth_enabled"], true);
}
