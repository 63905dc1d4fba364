//! Who may claim a fresh server: dashboard sign-up is closed unless the seed variables open it,
//! the start-up setup link creates the first admin once, and a seeded admin needs no link.

use gatehouse_core::setup::InternalSeed;
use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap().to_string()
}

#[tokio::test]
async fn a_fresh_server_refuses_dashboard_sign_up_and_prints_a_setup_link_that_works_once() {
    let app = TestApp::spawn_with(InternalSeed::default()).await;
    app.client(&app.internal())
        .post(
            "/auth/password/sign-up",
            json!({ "email": "stranger@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "SIGN_UP_NOT_ENABLED");
    let link = app.setup_link.clone().expect("a setup link at start");
    assert!(
        link.starts_with(&format!("{}/setup?token=", app.base)),
        "{link}"
    );
    let token = token_of(&link);

    let claim = |token: String, email: &str| {
        let form = [
            ("token", token),
            ("email", email.to_string()),
            ("password", PASSWORD.to_string()),
        ];
        app.http
            .post(format!("{}/_sfn/claim_server", app.base))
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    let wrong = claim("0".repeat(48), "thief@example.com").await.unwrap();
    assert!(!wrong.status().is_success(), "a wrong token is refused");
    let ok = claim(token.clone(), "owner@example.com").await.unwrap();
    assert!(
        ok.status().is_success() || ok.status().is_redirection(),
        "{}",
        ok.status()
    );
    let again = claim(token, "second@example.com").await.unwrap();
    assert!(!again.status().is_success(), "the link works once");

    // The first admin owns the dashboard's own project, so its settings are theirs.
    let projects = projects_of(&app, "owner@example.com").await;
    assert_eq!(projects["items"][0]["id"], "internal", "{projects}");
    app.client(&app.internal())
        .post(
            "/auth/password/sign-in",
            json!({ "email": "second@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");
}

#[tokio::test]
async fn a_seeded_admin_needs_no_setup_link_and_owns_the_dashboard_project() {
    let app = TestApp::spawn_with(InternalSeed {
        admin: Some(("root@example.com".into(), PASSWORD.into())),
        ..InternalSeed::default()
    })
    .await;
    assert!(app.setup_link.is_none());
    let projects = projects_of(&app, "root@example.com").await;
    assert_eq!(projects["items"][0]["id"], "internal");
}

#[tokio::test]
async fn open_dashboard_sign_up_prints_no_link() {
    let app = TestApp::spawn().await;
    assert!(app.setup_link.is_none());
    app.dashboard_user("anyone@example.com").await;
}

/// The dashboard projects a dashboard admin sees, signed in with the test password.
async fn projects_of(app: &TestApp, email: &str) -> serde_json::Value {
    let t = app
        .client(&app.internal())
        .post(
            "/auth/password/sign-in",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await
        .ok();
    app.client(&app.internal())
        .token(t["access_token"].as_str().unwrap())
        .get("/internal/projects")
        .await
        .ok()
}
