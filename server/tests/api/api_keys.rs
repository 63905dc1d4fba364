//! User and team API keys over REST: Stack's format, the one-time secret, checks with Stack's
//! errors in Stack's order, revocation (by owners and by secret scanners), and who may manage
//! which keys.

use serde_json::json;

use crate::helpers::{Project, TestApp};

async fn enable(app: &TestApp, p: &Project) {
    app.admin(p)
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": json!({ "apiKeys.enabled.user": true, "apiKeys.enabled.team": true }).to_string() }),
        )
        .await
        .ok();
}

#[tokio::test]
async fn user_keys_are_made_shown_once_checked_and_revoked() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let (bob_id, _) = app.signed_up(&p, "bob@example.com").await;
    let body = json!({ "user_id": "me", "description": "CI", "expires_at_millis": null });

    let off = ada.post("/user-api-keys", body.clone()).await;
    assert_eq!(
        (off.status, off.text.as_str()),
        (400, "User API keys are not enabled for this project.")
    );
    enable(&app, &p).await;

    let made = ada.post("/user-api-keys", body.clone()).await;
    assert_eq!(made.status, 200, "{}", made.text);
    let secret = made.body["value"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("sk_") && secret.contains("574ck4u7h"),
        "{secret}"
    );
    assert!(secret.contains(&made.body["id"].as_str().unwrap().replace('-', "")));
    assert_eq!(made.body["user_id"], ada_id.as_str());
    assert_eq!(made.body["type"], "user");
    assert!(made.body.get("expires_at_millis").is_none());
    let id = made.body["id"].as_str().unwrap().to_string();
    // Only a hash is kept.
    let stored: Vec<(String,)> = sqlx::query_as("SELECT secret_hash FROM api_keys")
        .fetch_all(&app.core.db.pool)
        .await
        .unwrap();
    assert!(stored
        .iter()
        .all(|(h,)| h != &secret && !h.contains(&secret[3..20])));

    // Listed and read without the secret.
    let listed = ada.get("/user-api-keys?user_id=me").await.ok();
    assert_eq!(
        listed["items"][0]["value"],
        json!({ "last_four": &secret[secret.len() - 4..] })
    );
    let read = ada.get(&format!("/user-api-keys/{id}")).await.ok();
    assert_eq!(read["description"], "CI");
    let missing = ada.get("/user-api-keys").await;
    missing.known_error(400, "SCHEMA_ERROR");
    assert!(missing
        .message()
        .contains("user_id is required for user API keys"));
    let others = ada
        .post(
            "/user-api-keys",
            json!({ "user_id": bob_id, "description": "x", "expires_at_millis": null }),
        )
        .await;
    assert_eq!(
        (others.status, others.text.as_str()),
        (403, "Client can only manage their own api keys")
    );

    // The check: whose key it is, or why not, in Stack's order.
    let checked = server
        .post("/user-api-keys/check", json!({ "api_key": secret }))
        .await
        .ok();
    assert_eq!(checked["id"], id.as_str());
    assert_eq!(checked["user_id"], ada_id.as_str());
    ada.post("/user-api-keys/check", json!({ "api_key": secret }))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    let wrong = server
        .post("/team-api-keys/check", json!({ "api_key": secret }))
        .await;
    wrong.known_error(400, "WRONG_API_KEY_TYPE");
    assert_eq!(
        wrong.message(),
        "This endpoint is for team API keys, but a user API key was provided."
    );
    server
        .post("/user-api-keys/check", json!({ "api_key": "sk_nonsense" }))
        .await
        .known_error(404, "API_KEY_NOT_FOUND");
    // One character changed (to another one: a key may already have an x there).
    let other = if &secret[10..11] == "x" { "y" } else { "x" };
    let forged = format!("{}{other}{}", &secret[..10], &secret[11..]);
    server
        .post("/user-api-keys/check", json!({ "api_key": forged }))
        .await
        .known_error(404, "API_KEY_NOT_FOUND");

    let expired = ada
        .post(
            "/user-api-keys",
            json!({ "user_id": "me", "description": "old", "expires_at_millis": gatehouse_core::now_ms() - 1000 }),
        )
        .await
        .ok();
    let e = server
        .post(
            "/user-api-keys/check",
            json!({ "api_key": expired["value"] }),
        )
        .await;
    e.known_error(401, "API_KEY_EXPIRED");
    assert_eq!(e.message(), "API key has expired.");

    // Revoking is for good; public keys are not revoked this way.
    let renamed = ada
        .patch(
            &format!("/user-api-keys/{id}"),
            json!({ "description": "CI (old)", "revoked": true }),
        )
        .await
        .ok();
    assert_eq!(renamed["description"], "CI (old)");
    assert!(renamed["manually_revoked_at_millis"].as_i64().unwrap() > 0);
    server
        .post("/user-api-keys/check", json!({ "api_key": secret }))
        .await
        .known_error(401, "API_KEY_REVOKED");
    ada.patch(&format!("/user-api-keys/{id}"), json!({ "revoked": false }))
        .await
        .known_error(400, "SCHEMA_ERROR");
    let public = ada
        .post("/user-api-keys", json!({ "user_id": "me", "description": "widget", "expires_at_millis": null, "is_public": true }))
        .await
        .ok();
    assert!(public["value"].as_str().unwrap().starts_with("pk_"));
    let kept = ada
        .patch(
            &format!("/user-api-keys/{}", public["id"].as_str().unwrap()),
            json!({ "revoked": true }),
        )
        .await;
    assert_eq!(kept.status, 400, "{}", kept.text);

    // Someone else's key does not exist for a browser.
    let (_, bob) = app.signed_up(&p, "bob2@example.com").await;
    assert_eq!(bob.get(&format!("/user-api-keys/{id}")).await.status, 403);
}

#[tokio::test]
async fn team_keys_need_manage_api_keys_and_leaked_keys_are_revoked_with_an_email() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    enable(&app, &p).await;
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let (bob_id, bob) = app.signed_up(&p, "bob@example.com").await;
    let team = server
        .post(
            "/teams",
            json!({ "display_name": "Acme", "creator_user_id": ada_id }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .post(&format!("/team-memberships/{team}/{bob_id}"), json!({}))
        .await
        .ok();
    let body = json!({ "team_id": team, "description": "deploys", "expires_at_millis": null });
    bob.post("/team-api-keys", body.clone())
        .await
        .known_error(404, "API_KEY_NOT_FOUND");
    let made = ada.post("/team-api-keys", body.clone()).await.ok();
    let secret = made["value"].as_str().unwrap().to_string();
    assert_eq!(made["team_id"], team.as_str());
    assert_eq!(made["type"], "team");
    assert!(secret.contains("team"));
    bob.get(&format!("/team-api-keys?team_id={team}"))
        .await
        .known_error(404, "API_KEY_NOT_FOUND");
    let listed = ada
        .get(&format!("/team-api-keys?team_id={team}"))
        .await
        .ok();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let checked = server
        .post("/team-api-keys/check", json!({ "api_key": secret }))
        .await
        .ok();
    assert_eq!(checked["team_id"], team.as_str());

    // A secret scanner reports it: revoked, and the team's key managers are told.
    let anon = app.anon();
    anon.post(
        "/integrations/credential-scanning/revoke",
        json!({ "api_key": secret }),
    )
    .await
    .ok();
    server
        .post("/team-api-keys/check", json!({ "api_key": secret }))
        .await
        .known_error(401, "API_KEY_REVOKED");
    let mail = crate::email_flows::mail(&server, "API key revoked: deploys").await;
    assert_eq!(mail["to"]["user_id"], ada_id.as_str());
    // Again: nothing more to do.
    anon.post(
        "/integrations/credential-scanning/revoke",
        json!({ "api_key": secret }),
    )
    .await
    .ok();
    anon.post(
        "/integrations/credential-scanning/revoke",
        json!({ "api_key": "sk_unknown" }),
    )
    .await
    .known_error(404, "API_KEY_NOT_FOUND");
    let public = ada
        .post("/team-api-keys", json!({ "team_id": team, "description": "p", "expires_at_millis": null, "is_public": true }))
        .await
        .ok();
    anon.post(
        "/integrations/credential-scanning/revoke",
        json!({ "api_key": public["value"] }),
    )
    .await
    .known_error(400, "PUBLIC_API_KEY_CANNOT_BE_REVOKED");
}
