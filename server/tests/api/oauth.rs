//! OAuth against a real OpenID Connect provider process (see `oauth_support`): the SDK's flow
//! over HTTP (authorize, the provider's login, callback, code exchange), every error of it,
//! merge strategies, sign-up rules, anonymous upgrade, linking an account with extra scopes, its
//! sealed tokens and their refresh, `/oauth-providers` and `/connected-accounts`, cross-domain
//! hand-off.

use base64::Engine;
use reqwest::header::SET_COOKIE;
use serde_json::{json, Value};
use sha2::Digest;

use crate::helpers::{Project, Req, TestApp, PASSWORD};
use crate::oauth_support::{
    location, no_redirects, provider_login, provider_url, query, Flow, CALLBACK,
};
use gatehouse_core::events::Who;
use gatehouse_core::setup::InternalSeed;

/// As Stack's development setup: dashboard sign-up open.
fn dev() -> InternalSeed {
    InternalSeed {
        sign_up_enabled: true,
        ..InternalSeed::default()
    }
}

/// Sets config in the project's environment override.
fn shared(provider: &str) -> Value {
    json!({ format!("auth.oauth.providers.{provider}"): {
        "type": provider, "isShared": true, "allowSignIn": true, "allowConnectedAccounts": true,
    }})
}

/// The generic OpenID Connect provider with the project's own keys at the test provider.
fn own_oidc() -> Value {
    json!({ "auth.oauth.providers.oidc": {
        "type": "oidc", "isShared": false, "clientId": "oidc", "clientSecret": "MOCK-SERVER-SECRET",
        "issuerUrl": provider_url(), "allowSignIn": true, "allowConnectedAccounts": true,
    }})
}

fn me(app: &TestApp, p: &Project, access_token: &str) -> Req {
    app.client(p).token(access_token)
}

#[tokio::test]
async fn signing_in_with_a_shared_provider_makes_a_user_and_a_session() {
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    app.configure(&p, shared("github")).await;

    let flow = Flow::new();
    let tokens = flow
        .sign_in(
            &app,
            &p,
            "github",
            "Alice@Example.com",
            &[("after_callback_redirect_url", "http://localhost:3000/after")],
        )
        .await;
    assert_eq!(tokens["is_new_user"], true);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(
        tokens["after_callback_redirect_url"],
        "http://localhost:3000/after"
    );
    let user = me(&app, &p, tokens["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(user["primary_email"], "alice@example.com");
    assert_eq!(user["primary_email_verified"], true);
    // Stack's: neither a password nor emailed codes, so not "with email".
    assert_eq!(user["auth_with_email"], false);
    assert_eq!(user["has_password"], false);
    assert_eq!(
        user["oauth_providers"],
        json!([{ "id": "github", "account_id": "Alice@Example.com", "email": "alice@example.com" }])
    );
    // The refresh token works on the token endpoint like any session's.
    app.refresh(&p, tokens["refresh_token"].as_str().unwrap())
        .await
        .ok();

    // Again: the same user, not new.
    let again = Flow::new()
        .sign_in(&app, &p, "github", "Alice@Example.com", &[])
        .await;
    assert_eq!(again["is_new_user"], false);
    let user2 = me(&app, &p, again["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(user2["id"], user["id"]);

    // A code is good once, for the verifier it was asked with.
    let flow = Flow::new();
    let back = flow
        .run(&app, &p, "github", Some("Alice@Example.com"), &[])
        .await;
    let code = query(&back)["code"].clone();
    let wrong = Flow {
        verifier: "another-verifier-of-enough-length-0000000000".into(),
        state: flow.state.clone(),
    };
    let r = wrong.exchange(&app, &p, &code).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "INVALID_AUTHORIZATION_CODE"
    );
    // (A wrong try does not burn it: a correct one still works once.)
    assert_eq!(flow.exchange(&app, &p, &code).await.status(), 200);
    let replay = flow.exchange(&app, &p, &code).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["code"],
        "INVALID_AUTHORIZATION_CODE"
    );

    // The server lists the account; the user's provider accounts are Stack's objects.
    let uid = user["id"].as_str().unwrap();
    let listed = app
        .server(&p)
        .get(&format!("/oauth-providers?user_id={uid}"))
        .await
        .ok();
    assert_eq!(listed["items"][0]["provider_config_id"], "github");
    assert_eq!(listed["items"][0]["type"], "github");
    assert_eq!(listed["items"][0]["account_id"], "Alice@Example.com");
    assert_eq!(listed["items"][0]["allow_sign_in"], true);
}

#[tokio::test]
async fn the_flow_refuses_what_stack_refuses() {
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    app.configure(&p, shared("github")).await;
    let flow = Flow::new();
    let http = no_redirects();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let (s, b) = get(flow.authorize_url(&app, &p, "gitlab", &[])).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED"))
    );
    let (s, b) =
        get(flow.authorize_url(&app, &p, "github", &[("client_id", "no-such-project")])).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("INVALID_OAUTH_CLIENT_ID_OR_SECRET"))
    );
    assert_eq!(b["details"]["client_id"], "no-such-project");
    let (s, b) =
        get(flow.authorize_url(&app, &p, "github", &[("client_secret", "pck_wrong")])).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (401, Some("INVALID_PUBLISHABLE_CLIENT_KEY"))
    );
    let (s, b) = get(flow.authorize_url(
        &app,
        &p,
        "github",
        &[("redirect_uri", "https://evil.example/cb")],
    ))
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("REDIRECT_URL_NOT_WHITELISTED"))
    );
    let (s, b) = get(flow.authorize_url(
        &app,
        &p,
        "github",
        &[("after_callback_redirect_url", "https://evil.example/x")],
    ))
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("REDIRECT_URL_NOT_WHITELISTED"))
    );
    let (s, b) = get(flow.authorize_url(&app, &p, "github", &[("provider_scope", "repo")])).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (
            400,
            Some("OAUTH_EXTRA_SCOPE_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS")
        )
    );
    let r = http
        .get(flow.authorize_url(&app, &p, "github", &[("type", "link")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.text().await.unwrap(),
        "?token= query parameter is required for link type"
    );
    let r = app
        .anon()
        .get(&format!(
            "/auth/oauth/authorize/github?client_id={}&client_secret={}",
            p.id, p.pck
        ))
        .await;
    r.schema_error(
        "GET",
        "/auth/oauth/authorize/github",
        &[
            "query.redirect_uri must be defined",
            "query.scope must be defined",
            "query.state must be defined",
            "query.grant_type must be defined",
            "query.code_challenge must be defined",
            "query.code_challenge_method must be defined",
            "query.response_type must be defined",
        ],
    );

    // The provider's refusal goes back to the app, in Stack's parameters.
    let back = flow.run(&app, &p, "github", None, &[]).await;
    assert!(back.starts_with(CALLBACK), "{back}");
    let q = query(&back);
    assert_eq!(q["errorCode"], "OAUTH_PROVIDER_ACCESS_DENIED");
    assert_eq!(q["error"], "server_error");
    assert_eq!(
        q["message"],
        "The OAuth provider denied access to the user."
    );

    // A callback without the browser's cookie, or with a state nobody issued, is refused.
    let r = http
        .get(flow.authorize_url(&app, &p, "github", &[]))
        .send()
        .await
        .unwrap();
    let back = provider_login(&location(&r), Some("bob@example.com")).await;
    let r = http.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("Inner OAuth cookie not found"));
    let r = http
        .get(format!(
            "{}/api/v1/auth/oauth/callback/github?state=made-up&code=x",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.text().await.unwrap(),
        "Invalid OAuth state. Please try signing in again."
    );

    // The SDK's JSON mode: the location in the body, no cookie needed on the way back.
    let r = http
        .get(flow.authorize_url(&app, &p, "github", &[("stack_response_mode", "json")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get(SET_COOKIE).is_none());
    let at = r.json::<Value>().await.unwrap()["location"]
        .as_str()
        .unwrap()
        .to_string();
    let back = provider_login(&at, Some("carol@example.com")).await;
    let r = http.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with(CALLBACK));

    // Sign-up closed: no new user, said on the app's page.
    app.configure(&p, json!({ "auth.allowSignUp": false }))
        .await;
    let back = Flow::new()
        .run(&app, &p, "github", Some("dave@example.com"), &[])
        .await;
    assert_eq!(query(&back)["errorCode"], "SIGN_UP_NOT_ENABLED");
}

#[tokio::test]
async fn a_known_providers_profile_is_read_in_its_own_shape_from_overridden_endpoints() {
    // GitHub with the project's own keys, at endpoints of its own (as for GitHub Enterprise
    // Server): here the test provider, which answers GitHub's API shape.
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    let url = provider_url();
    app.configure(&p, json!({ "auth.oauth.providers.github": {
        "type": "github", "isShared": false, "clientId": "github", "clientSecret": "MOCK-SERVER-SECRET",
        "authorizationUrl": format!("{url}/auth"), "tokenUrl": format!("{url}/token"),
        "userinfoUrl": format!("{url}/github/user"), "emailsUrl": format!("{url}/github/user/emails"),
        "allowSignIn": true, "allowConnectedAccounts": true,
    }}))
    .await;
    let tokens = Flow::new()
        .sign_in(&app, &p, "github", "Octo.Cat@Example.com", &[])
        .await;
    let user = me(&app, &p, tokens["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    // The email from the list of addresses (GitHub keeps it off the profile), verified there.
    assert_eq!(user["primary_email"], "octo.cat@example.com");
    assert_eq!(user["primary_email_verified"], true);
    // No name: the login stands in; the avatar is the profile's.
    assert_eq!(user["display_name"], "Octo.Cat");
    assert!(user["profile_image_url"]
        .as_str()
        .unwrap()
        .ends_with("/avatars/Octo.Cat%40Example.com.png"));
    let account = user["oauth_providers"][0]["account_id"].as_str().unwrap();
    assert!(
        account.bytes().all(|b| b.is_ascii_digit()),
        "GitHub's numeric id: {account}"
    );
}

#[tokio::test]
async fn merge_strategies_decide_what_an_existing_email_means() {
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    app.configure(&p, shared("github")).await;
    let (uid, _) = app.signed_up(&p, "erin@example.com").await;

    // link_method (the default): not while the existing address is unverified…
    let back = Flow::new()
        .run(&app, &p, "github", Some("erin@example.com"), &[])
        .await;
    let q = query(&back);
    assert_eq!(
        q["errorCode"],
        "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE"
    );
    let details: Value = serde_json::from_str(&q["details"]).unwrap();
    assert_eq!(details["would_work_if_email_was_verified"], true);
    // …then it signs in to the same user, now with GitHub linked.
    app.server(&p)
        .patch(
            &format!("/users/{uid}"),
            json!({ "primary_email_verified": true }),
        )
        .await
        .ok();
    let tokens = Flow::new()
        .sign_in(&app, &p, "github", "erin@example.com", &[])
        .await;
    assert_eq!(tokens["is_new_user"], false);
    let user = me(&app, &p, tokens["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(user["id"], uid.as_str());
    assert_eq!(user["has_password"], true);
    assert_eq!(user["oauth_providers"][0]["id"], "github");

    // raise_error: refused outright.
    app.configure(
        &p,
        json!({ "auth.oauth.accountMergeStrategy": "raise_error" }),
    )
    .await;
    app.signed_up(&p, "frank@example.com").await;
    let back = Flow::new()
        .run(&app, &p, "github", Some("frank@example.com"), &[])
        .await;
    let q = query(&back);
    assert_eq!(
        q["errorCode"],
        "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&q["details"]).unwrap()["would_work_if_email_was_verified"],
        false
    );

    // allow_duplicates: a second user, whose email does not sign in.
    app.configure(
        &p,
        json!({ "auth.oauth.accountMergeStrategy": "allow_duplicates" }),
    )
    .await;
    let tokens = Flow::new()
        .sign_in(&app, &p, "github", "frank@example.com", &[])
        .await;
    assert_eq!(tokens["is_new_user"], true);
    let dup = me(&app, &p, tokens["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(dup["primary_email"], "frank@example.com");
    assert_eq!(dup["auth_with_email"], false);
    // The password account still signs in with its address.
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "frank@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
}

#[tokio::test]
async fn sign_up_rules_and_anonymous_upgrade_apply_to_oauth() {
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    app.configure(&p, shared("google")).await;
    app.configure(&p, json!({ "auth.signUpRules.no-blocked": {
        "enabled": true, "priority": 1, "condition": "authMethod == 'oauth' && oauthProvider == 'google' && emailDomain == 'blocked.example'",
        "action": { "type": "reject", "message": "Not from there, please." },
    }})).await;
    let back = Flow::new()
        .run(&app, &p, "google", Some("gina@blocked.example"), &[])
        .await;
    let q = query(&back);
    assert_eq!(q["errorCode"], "SIGN_UP_REJECTED");
    assert_eq!(q["message"], "Not from there, please.");

    // An anonymous user who signs in with a provider becomes that user, not a new one.
    let anon = app
        .client(&p)
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    let token = anon["access_token"].as_str().unwrap();
    let tokens = Flow::new()
        .sign_in(&app, &p, "google", "hank@example.com", &[("token", token)])
        .await;
    assert_eq!(tokens["is_new_user"], true);
    let user = me(&app, &p, tokens["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(user["id"], anon["user_id"]);
    assert_eq!(user["is_anonymous"], false);
    assert_eq!(user["primary_email"], "hank@example.com");
}

#[tokio::test]
async fn a_linked_account_gives_the_app_provider_tokens_with_the_scopes_it_asked_for() {
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    app.configure(&p, own_oidc()).await;
    // Someone signed in with a password links their account at the provider, with an extra
    // scope, as `user.getConnectedAccount('oidc', { scopes: ['repo'], or: 'redirect' })` does.
    let (uid, client) = app.signed_up(&p, "ivy@example.com").await;
    let signed_in = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ivy@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    let token = signed_in["access_token"].as_str().unwrap();
    let r = client
        .post(
            "/connected-accounts/me/oidc/access-token",
            json!({ "scope": "repo" }),
        )
        .await;
    r.known_error(400, "OAUTH_CONNECTION_NOT_CONNECTED_TO_USER");
    let back = Flow::new()
        .run(
            &app,
            &p,
            "oidc",
            Some("ivy-at-provider"),
            &[
                ("type", "link"),
                ("token", token),
                ("provider_scope", "repo"),
            ],
        )
        .await;
    assert!(query(&back).contains_key("code"), "{back}");

    let listed = client.get("/connected-accounts/me").await.ok();
    assert_eq!(
        listed["items"],
        json!([{ "user_id": uid, "provider": "oidc", "provider_account_id": "ivy-at-provider" }])
    );
    let r = client
        .post(
            "/connected-accounts/me/oidc/access-token",
            json!({ "scope": "repo" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let access = r.body["access_token"].as_str().unwrap().to_string();
    // It is the provider's own token: its userinfo answers to it.
    let info: Value = reqwest::Client::new()
        .get(format!("{}/me", provider_url()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], "ivy-at-provider");
    client
        .post(
            "/connected-accounts/me/oidc/ivy-at-provider/access-token",
            json!({}),
        )
        .await
        .ok();
    client
        .post(
            "/connected-accounts/me/oidc/access-token",
            json!({ "scope": "calendar" }),
        )
        .await
        .known_error(400, "OAUTH_CONNECTION_DOES_NOT_HAVE_REQUIRED_SCOPE");

    // Stored sealed: neither token appears in the database.
    let pool = &app.core.db.pool;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT sealed_token FROM oauth_tokens")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(stored.len() >= 2, "an access and a refresh token");
    assert!(stored.iter().all(|(t,)| !t.contains(&access)));
    // Expired: refreshed at the provider with the kept refresh token.
    sqlx::query("UPDATE oauth_tokens SET expires_at = 1 WHERE kind = 'access'")
        .execute(pool)
        .await
        .unwrap();
    let r = client
        .post(
            "/connected-accounts/me/oidc/access-token",
            json!({ "scope": "repo" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_ne!(r.body["access_token"], access.as_str());

    // The same provider account cannot be linked to someone else.
    let (_, _) = app.signed_up(&p, "jack@example.com").await;
    let other = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "jack@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    let back = Flow::new()
        .run(
            &app,
            &p,
            "oidc",
            Some("ivy-at-provider"),
            &[
                ("type", "link"),
                ("token", other["access_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        query(&back)["errorCode"],
        "OAUTH_CONNECTION_ALREADY_CONNECTED_TO_ANOTHER_USER"
    );

    // Linked accounts sign in too; turning that off keeps them for the app only (signing in
    // with it then makes a new user, as in Stack).
    let tokens = Flow::new()
        .sign_in(&app, &p, "oidc", "ivy-at-provider", &[])
        .await;
    assert_eq!(tokens["is_new_user"], false);
    let accounts = client
        .get(&format!("/oauth-providers?user_id={uid}"))
        .await
        .ok();
    let id = accounts["items"][0]["id"].as_str().unwrap().to_string();
    assert!(
        accounts["items"][0].get("account_id").is_none(),
        "clients do not see account ids"
    );
    let updated = client
        .patch(
            &format!("/oauth-providers/me/{id}"),
            json!({ "allow_sign_in": false }),
        )
        .await
        .ok();
    assert_eq!(updated["allow_sign_in"], false);
    let again = Flow::new()
        .sign_in(&app, &p, "oidc", "ivy-at-provider", &[])
        .await;
    assert_eq!(again["is_new_user"], true);
    let stranger = me(&app, &p, again["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_ne!(stranger["id"], uid.as_str());
    client
        .delete(&format!("/oauth-providers/me/{id}"))
        .await
        .ok();
    client
        .post("/connected-accounts/me/oidc/access-token", json!({}))
        .await
        .known_error(400, "OAUTH_CONNECTION_NOT_CONNECTED_TO_USER");
}

#[tokio::test]
async fn oauth_provider_records_follow_stacks_rules() {
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    app.configure(&p, own_oidc()).await;
    let (uid, client) = app.signed_up(&p, "kim@example.com").await;
    let (other, _) = app.signed_up(&p, "lee@example.com").await;
    let server = app.server(&p);
    let made = server
        .post("/oauth-providers", json!({ "user_id": uid, "provider_config_id": "oidc", "account_id": "kim-1", "email": "kim@example.com", "allow_sign_in": true, "allow_connected_accounts": true }))
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.body["account_id"], "kim-1");
    server
        .post("/oauth-providers", json!({ "user_id": other, "provider_config_id": "oidc", "account_id": "kim-1", "allow_sign_in": true, "allow_connected_accounts": false }))
        .await
        .known_error(400, "OAUTH_PROVIDER_ACCOUNT_ID_ALREADY_USED_FOR_SIGN_IN");
    let r = server
        .post("/oauth-providers", json!({ "user_id": uid, "provider_config_id": "nope", "account_id": "x", "allow_sign_in": false, "allow_connected_accounts": false }))
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (404, "OAuth provider nope not found or not configured")
    );
    client
        .post("/oauth-providers", json!({ "user_id": "me", "provider_config_id": "oidc", "account_id": "y", "allow_sign_in": false, "allow_connected_accounts": false }))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    let r = client
        .get(&format!("/oauth-providers?user_id={other}"))
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            403,
            "Client can only list OAuth providers for their own user."
        )
    );
    let id = made.body["id"].as_str().unwrap();
    let r = client
        .get(&format!("/oauth-providers/me/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(r.status, 404);
    let read = client.get(&format!("/oauth-providers/me/{id}")).await.ok();
    assert_eq!(read["email"], "kim@example.com");
    // The user object lists it.
    let user = server.get(&format!("/users/{uid}")).await.ok();
    assert_eq!(
        user["oauth_providers"],
        json!([{ "id": "oidc", "account_id": "kim-1", "email": "kim@example.com" }])
    );
}

#[tokio::test]
async fn cross_domain_hand_off_and_seeded_dashboard_providers() {
    let app = TestApp::spawn_with_oauth(InternalSeed {
        oauth_providers: vec!["github".into()],
        allow_localhost: true,
        ..dev()
    })
    .await;
    // STACK_SEED_INTERNAL_PROJECT_OAUTH_PROVIDERS: the dashboard signs in with GitHub.
    let internal = app.internal();
    let config = app.admin(&internal).get("/internal/config").await.ok();
    let tree: Value = serde_json::from_str(config["config_string"].as_str().unwrap()).unwrap();
    assert_eq!(
        tree["auth"]["oauth"]["providers"]["github"]["isShared"],
        true
    );
    assert_eq!(
        tree["auth"]["oauth"]["providers"]["github"]["allowSignIn"],
        true
    );
    let tokens = Flow::new()
        .sign_in(&app, &internal, "github", "admin@example.com", &[])
        .await;
    assert_eq!(tokens["is_new_user"], true);

    let p = app.project().await;
    let signed = app.sign_up(&p, "mia@example.com").await;
    let flow = Flow::new();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(flow.verifier.as_bytes()));
    let client = app
        .client(&p)
        .token(signed["access_token"].as_str().unwrap())
        .header(
            "x-stack-refresh-token",
            signed["refresh_token"].as_str().unwrap(),
        );
    let r = client
        .post(
            "/auth/oauth/cross-domain/authorize",
            json!({ "redirect_uri": CALLBACK, "state": flow.state, "code_challenge": challenge }),
        )
        .await
        .ok();
    let url = r["redirect_url"].as_str().unwrap();
    let code = query(url)["code"].clone();
    let res = flow.exchange(&app, &p, &code).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let user = me(&app, &p, body["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(user["id"], signed["user_id"]);
    let r = client
        .clone()
        .without("x-stack-refresh-token")
        .post(
            "/auth/oauth/cross-domain/authorize",
            json!({ "redirect_uri": CALLBACK, "state": "s", "code_challenge": challenge }),
        )
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            400,
            "Cross-domain auth handoff requires passing the current refresh token."
        )
    );
    client
        .post("/auth/oauth/cross-domain/authorize", json!({ "redirect_uri": "https://evil.example/cb", "state": "s", "code_challenge": challenge }))
        .await
        .known_error(400, "REDIRECT_URL_NOT_WHITELISTED");
}

#[tokio::test]
async fn a_refused_provider_edit_leaves_the_provider_as_it_was() {
    use gatehouse_core::oauth::{edit::ProviderInput, provider_config};
    let app = TestApp::spawn_with_oauth(dev()).await;
    let p = app.project().await;
    let load = || async { app.core.project(&p.id).await.unwrap().unwrap() };
    let mut input = ProviderInput {
        id: "github".into(),
        provider_type: "github".into(),
        is_shared: true,
        allow_sign_in: true,
        ..ProviderInput::default()
    };
    app.core
        .save_oauth_provider(&load().await, &input, &Who::Admin(None))
        .await
        .unwrap();
    // The dashboard's form: a type the config refuses is an error, and the old provider stays.
    input.provider_type = "myspace".into();
    let refused = app
        .core
        .save_oauth_provider(&load().await, &input, &Who::Admin(None))
        .await;
    assert!(refused
        .unwrap_err()
        .message()
        .contains("must be one of the following values"));
    let kept = provider_config(&load().await, "github").expect("still configured");
    assert_eq!(
        (kept.provider_type.as_str(), kept.is_shared),
        ("github", true)
    );
}
