//! Sessions: created by servers, refreshed, listed, revoked, signed out.

use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn server_creates_a_session_that_refreshes() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let u = app
        .server(&p)
        .post("/users", json!({ "primary_email": "s@example.com" }))
        .await
        .ok();
    let r = app
        .server(&p)
        .post(
            "/auth/sessions",
            json!({ "user_id": u["id"], "expires_in_millis": 60_000 }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refresh = r.body["refresh_token"].as_str().unwrap();
    let fresh = app
        .client(&p)
        .header("x-stack-refresh-token", refresh)
        .post("/auth/sessions/current/refresh", json!({}))
        .await
        .ok();
    let me = app
        .client(&p)
        .token(fresh["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(me["id"], u["id"]);
    app.client(&p)
        .post("/auth/sessions", json!({ "user_id": u["id"] }))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    app.server(&p)
        .post(
            "/auth/sessions",
            json!({ "user_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await
        .known_error(400, "USER_ID_DOES_NOT_EXIST");
    app.server(&p)
        .post(
            "/auth/sessions",
            json!({ "user_id": u["id"], "expires_in_millis": 1_000_000_000_000i64 }),
        )
        .await
        .known_error(400, "SCHEMA_ERROR");
}

#[tokio::test]
async fn bogus_refresh_token_is_rejected() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.refresh(&p, "nope")
        .await
        .known_error(401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED");
    app.client(&p)
        .post("/auth/sessions/current/refresh", json!({}))
        .await
        .schema_error(
            "POST",
            "/auth/sessions/current/refresh",
            &["headers.x-stack-refresh-token must be defined"],
        );
    // A refresh token of another project is no token here.
    let q = app.project().await;
    let t = app.sign_up(&q, "q@example.com").await;
    app.refresh(&p, t["refresh_token"].as_str().unwrap())
        .await
        .known_error(401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED");
}

#[tokio::test]
async fn users_list_and_revoke_their_sessions_but_not_the_current_one() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let a = app.sign_up(&p, "multi@example.com").await;
    let b = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "multi@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    let at = a["access_token"].as_str().unwrap();
    let list = app
        .client(&p)
        .token(at)
        .get("/auth/sessions?user_id=me")
        .await
        .ok();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let current: Vec<_> = items
        .iter()
        .filter(|s| s["is_current_session"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    let other = items
        .iter()
        .find(|s| s["is_current_session"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = current[0]["id"].as_str().unwrap().to_string();

    app.client(&p)
        .token(at)
        .delete(&format!("/auth/sessions/{mine}?user_id=me"))
        .await
        .known_error(400, "CANNOT_DELETE_CURRENT_SESSION");
    app.client(&p)
        .token(at)
        .delete(&format!("/auth/sessions/{other}?user_id=me"))
        .await
        .ok();
    app.client(&p)
        .token(b["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .known_error(401, "ACCESS_TOKEN_EXPIRED");
    app.refresh(&p, b["refresh_token"].as_str().unwrap())
        .await
        .known_error(401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED");
    assert_eq!(
        app.client(&p)
            .token(at)
            .get("/auth/sessions?user_id=me")
            .await
            .ok()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Someone else's sessions are not the client's to see; a server's they are.
    let c = app.sign_up(&p, "c@example.com").await;
    let c_id = c["user_id"].as_str().unwrap();
    app.client(&p)
        .token(at)
        .get(&format!("/auth/sessions?user_id={c_id}"))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    assert_eq!(
        app.server(&p)
            .get(&format!("/auth/sessions?user_id={c_id}"))
            .await
            .ok()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn sign_out_ends_the_session_and_its_tokens() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "out@example.com").await;
    let (at, rt) = (
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    );
    app.client(&p)
        .token(at)
        .header("x-stack-refresh-token", rt)
        .delete("/auth/sessions/current")
        .await
        .ok();
    app.client(&p)
        .token(at)
        .get("/users/me")
        .await
        .known_error(401, "ACCESS_TOKEN_EXPIRED");
    app.refresh(&p, rt)
        .await
        .known_error(401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED");
    app.client(&p)
        .header("x-stack-refresh-token", rt)
        .delete("/auth/sessions/current")
        .await
        .known_error(401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED");
    // Signing out with only the refresh token works too.
    let t = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "out@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    app.client(&p)
        .header(
            "x-stack-refresh-token",
            t["refresh_token"].as_str().unwrap(),
        )
        .delete("/auth/sessions/current")
        .await
        .ok();
    app.client(&p)
        .token(t["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .known_error(401, "ACCESS_TOKEN_EXPIRED");
}

#[tokio::test]
async fn the_oauth_token_endpoint_refreshes_like_the_sdk_asks() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "oauth@example.com").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let form = |secret: &str, token: &str| {
        vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", p.id.clone()),
            ("client_secret", secret.to_string()),
            ("refresh_token", token.to_string()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        app.http
            .post(format!("{}/api/v1/auth/oauth/token", app.base))
            .form(&f)
            .send()
    };
    let ok: serde_json::Value = post(form(&p.pck, rt)).await.unwrap().json().await.unwrap();
    assert_eq!(ok["token_type"], "Bearer");
    assert!(ok["expires_in"].as_i64().unwrap() > 0);
    app.client(&p)
        .token(ok["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    // Without a publishable key the SDK sends a sentinel; fine unless the project requires keys.
    assert_eq!(
        post(form("__stack_public_client__", rt))
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = post(form(&p.pck, "not a token")).await.unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.headers()["x-stack-known-error"],
        "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED"
    );
    let wrong_key = post(form("pck_wrong", rt)).await.unwrap();
    assert_eq!(
        wrong_key.headers()["x-stack-known-error"],
        "INVALID_PUBLISHABLE_CLIENT_KEY"
    );
    let grant = app
        .http
        .post(format!("{}/api/v1/auth/oauth/token", app.base))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn sessions_opened_as_impersonation_are_listed_to_admins_only() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let (user_id, me) = app.signed_up(&p, "seen@example.com").await;
    let imp = app
        .admin(&p)
        .post(
            "/auth/sessions",
            json!({ "user_id": user_id, "is_impersonation": true }),
        )
        .await
        .ok();
    assert!(imp["refresh_token"].is_string());
    let flags = |list: serde_json::Value| -> Vec<bool> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["is_impersonation"].as_bool().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let path = format!("/auth/sessions?user_id={user_id}");
    assert_eq!(flags(app.admin(&p).get(&path).await.ok()), [false, true]);
    assert_eq!(flags(app.server(&p).get(&path).await.ok()), [false]);
    assert_eq!(flags(me.get(&path).await.ok()), [false]);
}
