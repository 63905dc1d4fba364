//! The flows that ride on emails, driven over REST and read back from the outbox (the dev
//! inbox) or a real SMTP server: email verification and contact channels, sign-in by emailed
//! code (magic link / OTP), and password reset.

use std::time::{Duration, Instant};

use gatehouse_core::jobs::JobStatus;
use serde_json::{json, Value};

use crate::helpers::{Project, Req, TestApp, PASSWORD};
use crate::smtp::SmtpSink;

/// The newest email in the outbox whose subject contains `subject`, waiting for it (30 s).
pub(crate) async fn mail(server: &Req, subject: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = server.get("/emails/outbox").await.ok();
        if let Some(m) = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["subject"].as_str().unwrap().contains(subject))
        {
            return m.clone();
        }
        assert!(Instant::now() < deadline, "no email {subject:?} in {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The six-character code at the end of a sign-in email's subject ("…: Your code is ABC123"),
/// as typed (lower case: codes are case-insensitive).
pub(crate) fn subject_code(email: &Value) -> String {
    let subject = email["subject"].as_str().expect("a subject");
    subject.rsplit(' ').next().unwrap().to_lowercase()
}

/// The code in an email's link (`…?code=<45 characters>`).
pub(crate) fn link_code(email: &Value) -> String {
    let text = email["text"].as_str().unwrap();
    let at = text.find("code=").expect("a link with a code") + 5;
    text[at..at + 45].to_string()
}

async fn enable_otp(app: &TestApp, p: &Project) {
    app.admin(p)
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": "{\"auth.otp.allowSignIn\": true}" }),
        )
        .await
        .ok();
}

#[tokio::test]
async fn sign_up_mails_a_verification_link_that_verifies_the_address() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    let server = app.server(&p);

    client
        .post("/auth/password/sign-up", json!({ "email": "eve@example.com", "password": PASSWORD, "verification_callback_url": "https://evil.test/verify" }))
        .await
        .known_error(400, "REDIRECT_URL_NOT_WHITELISTED");
    // Nothing was created.
    client
        .post(
            "/auth/password/sign-in",
            json!({ "email": "eve@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");

    let t = client
        .post("/auth/password/sign-up", json!({ "email": "ada@example.com", "password": PASSWORD, "verification_callback_url": "http://localhost:3000/verify?from=signup" }))
        .await
        .ok();
    let me = client.clone().token(t["access_token"].as_str().unwrap());
    let email = mail(&server, "Verify your email at Test project").await;
    assert_eq!(
        email["to"],
        json!({ "type": "user-custom-emails", "user_id": t["user_id"], "emails": ["ada@example.com"] })
    );
    assert!(email["text"]
        .as_str()
        .unwrap()
        .contains("http://localhost:3000/verify?from=signup&code="));
    let code = link_code(&email);

    assert_eq!(
        client
            .post(
                "/contact-channels/verify/check-code",
                json!({ "code": code })
            )
            .await
            .ok(),
        json!({ "is_code_valid": true })
    );
    assert_eq!(
        me.get("/users/me").await.ok()["primary_email_verified"],
        false
    );
    client
        .post("/contact-channels/verify", json!({ "code": code }))
        .await
        .ok();
    assert_eq!(
        me.get("/users/me").await.ok()["primary_email_verified"],
        true
    );
    client
        .post("/contact-channels/verify", json!({ "code": code }))
        .await
        .known_error(409, "VERIFICATION_CODE_ALREADY_USED");
    client
        .post("/contact-channels/verify", json!({ "code": "short" }))
        .await
        .schema_error(
            "POST",
            "/contact-channels/verify",
            &["body.code must be exactly 45 characters"],
        );
    me.post(
        "/contact-channels/send-verification-code",
        json!({ "email": "ada@example.com", "callback_url": "http://localhost:3000/verify" }),
    )
    .await
    .known_error(409, "EMAIL_ALREADY_VERIFIED");
    me.post(
        "/contact-channels/send-verification-code",
        json!({ "email": "other@example.com", "callback_url": "http://localhost:3000/verify" }),
    )
    .await
    .known_error(400, "EMAIL_IS_NOT_PRIMARY_EMAIL");

    // A second address: added, verified by its own link, made primary.
    let channels = me.get("/contact-channels?user_id=me").await.ok();
    let first = channels["items"][0].clone();
    assert_eq!(
        first,
        json!({ "user_id": t["user_id"], "id": first["id"], "value": "ada@example.com", "type": "email", "used_for_auth": true, "is_verified": true, "is_primary": true })
    );
    let work = me
        .post("/contact-channels", json!({ "user_id": "me", "value": "Ada@Work.example", "type": "email", "used_for_auth": false }))
        .await;
    assert_eq!(work.status, 201, "{}", work.text);
    let work_id = work.body["id"].as_str().unwrap().to_string();
    assert_eq!(work.body["value"], "ada@work.example");
    me.post(
        &format!("/contact-channels/me/{work_id}/send-verification-code"),
        json!({ "callback_url": "http://localhost:3000/verify" }),
    )
    .await
    .ok();
    let code = link_code(&mail(&server, "Verify your email").await);
    client
        .post("/contact-channels/verify", json!({ "code": code }))
        .await
        .ok();
    let work = me
        .patch(
            &format!("/contact-channels/me/{work_id}"),
            json!({ "is_primary": true }),
        )
        .await
        .ok();
    assert_eq!(
        (work["is_primary"].clone(), work["is_verified"].clone()),
        (json!(true), json!(true))
    );
    let u = me.get("/users/me").await.ok();
    assert_eq!(
        (
            u["primary_email"].clone(),
            u["primary_email_verified"].clone()
        ),
        (json!("ada@work.example"), json!(true))
    );
    // Signing in still works with the first address, which stays a sign-in address.
    client
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    me.delete(&format!(
        "/contact-channels/me/{}",
        first["id"].as_str().unwrap()
    ))
    .await
    .ok();
    client
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");

    // An address signs in to one account only; other users' channels are not a client's.
    let bob = app.sign_up(&p, "bob@example.com").await;
    let as_bob = client.clone().token(bob["access_token"].as_str().unwrap());
    let r = as_bob
        .post("/contact-channels", json!({ "user_id": "me", "value": "ada@work.example", "type": "email", "used_for_auth": false }))
        .await;
    assert_eq!(
        r.status, 201,
        "an address may be on two accounts, signing in to neither: {}",
        r.text
    );
    let r = server
        .post("/contact-channels", json!({ "user_id": bob["user_id"], "value": "ADA@work.example ", "type": "email", "used_for_auth": true }))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let mine = as_bob.get("/contact-channels?user_id=me").await.ok();
    let shared = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"] == "ada@work.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    me.patch(
        &format!("/contact-channels/me/{work_id}"),
        json!({ "used_for_auth": true }),
    )
    .await
    .ok();
    as_bob
        .patch(
            &format!("/contact-channels/me/{shared}"),
            json!({ "used_for_auth": true }),
        )
        .await
        .known_error(409, "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE");
    let r = as_bob
        .get(&format!(
            "/contact-channels?user_id={}",
            t["user_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            403,
            "Client can only list contact channels for their own user."
        )
    );
}

#[tokio::test]
async fn an_emailed_code_or_link_signs_in_and_signs_up() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    let server = app.server(&p);
    let send = |email: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(
                    "/auth/otp/send-sign-in-code",
                    json!({ "email": email, "callback_url": "http://localhost:3000/magic" }),
                )
                .await
        }
    };
    let r = send("new@example.com").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (403, "OTP sign-in is not enabled for this project")
    );
    enable_otp(&app, &p).await;

    let nonce = send("new@example.com").await.ok()["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(nonce.len(), 39);
    let email = mail(&server, "Sign in to Test project: Your code is").await;
    let otp = subject_code(&email);
    assert_eq!(otp.len(), 6);
    client
        .post(
            "/auth/otp/sign-in",
            json!({ "code": format!("{}{}", "000000", &nonce) }),
        )
        .await
        .known_error(404, "VERIFICATION_CODE_NOT_FOUND");
    let code = format!("{otp}{nonce}");
    assert_eq!(
        client
            .post("/auth/otp/sign-in/check-code", json!({ "code": code }))
            .await
            .ok(),
        json!({ "is_code_valid": true })
    );
    let first = client
        .post("/auth/otp/sign-in", json!({ "code": code }))
        .await
        .ok();
    assert_eq!(first["is_new_user"], true);
    let me = client
        .clone()
        .token(first["access_token"].as_str().unwrap());
    let u = me.get("/users/me").await.ok();
    assert_eq!(
        (
            u["primary_email"].clone(),
            u["primary_email_verified"].clone()
        ),
        (json!("new@example.com"), json!(true))
    );
    client
        .post("/auth/otp/sign-in", json!({ "code": code }))
        .await
        .known_error(409, "VERIFICATION_CODE_ALREADY_USED");

    // The link in the next email signs the same user in.
    send("new@example.com").await.ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    let second = loop {
        let items = server.get("/emails/outbox").await.ok()["items"].clone();
        let magic: Vec<&Value> = items
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["subject"].as_str().unwrap().contains("Your code is"))
            .collect();
        if magic.len() == 2 {
            break magic[0].clone();
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let again = client
        .post("/auth/otp/sign-in", json!({ "code": link_code(&second) }))
        .await
        .ok();
    assert_eq!(
        (again["is_new_user"].clone(), again["user_id"].clone()),
        (json!(false), first["user_id"].clone())
    );

    // An account whose address is unverified is not signed in by mail; closed projects take
    // nobody new.
    app.sign_up(&p, "unverified@example.com").await;
    let r = send("unverified@example.com").await;
    r.known_error(409, "USER_EMAIL_ALREADY_EXISTS");
    assert_eq!(r.body["details"]["would_work_if_email_was_verified"], true);
    client
        .post(
            "/auth/otp/send-sign-in-code",
            json!({ "email": "x@example.com", "callback_url": "https://evil.test/m" }),
        )
        .await
        .known_error(400, "REDIRECT_URL_NOT_WHITELISTED");
    app.admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "sign_up_enabled": false } }),
        )
        .await
        .ok();
    send("stranger@example.com")
        .await
        .known_error(400, "SIGN_UP_NOT_ENABLED");
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    let server = app.server(&p);
    let t = app.sign_up(&p, "ada@example.com").await;
    let body =
        |email: &str| json!({ "email": email, "callback_url": "http://localhost:3000/reset" });

    // The same answer, whether or not the address has an account.
    let unknown = client
        .post("/auth/password/send-reset-code", body("nobody@example.com"))
        .await;
    let known = client
        .post("/auth/password/send-reset-code", body("ada@example.com"))
        .await;
    assert_eq!(unknown.text, known.text);
    assert_eq!(
        known.ok(),
        json!({ "success": "maybe, only if user with e-mail exists" })
    );
    client
        .post(
            "/auth/password/send-reset-code",
            json!({ "email": "ada@example.com", "callback_url": "https://evil.test/r" }),
        )
        .await
        .known_error(400, "REDIRECT_URL_NOT_WHITELISTED");

    let email = mail(&server, "Reset your password at Test project").await;
    assert_eq!(email["to"]["emails"], json!(["ada@example.com"]));
    let code = link_code(&email);
    // Both requests were handled; only the known address got an email.
    let deadline = Instant::now() + Duration::from_secs(30);
    while app
        .core
        .project_jobs(&p.id, 100)
        .await
        .unwrap()
        .iter()
        .any(|j| j.kind == "password.reset_email" && j.status != JobStatus::Succeeded)
    {
        assert!(Instant::now() < deadline, "reset requests still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outbox = server.get("/emails/outbox").await.ok();
    assert!(!outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["text"].as_str().unwrap().contains("nobody")));
    assert_eq!(
        outbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["subject"].as_str().unwrap().starts_with("Reset"))
            .count(),
        1
    );

    assert_eq!(
        client
            .post("/auth/password/reset/check-code", json!({ "code": code }))
            .await
            .ok(),
        json!({ "is_code_valid": true })
    );
    client
        .post(
            "/auth/password/reset",
            json!({ "code": code, "password": "short" }),
        )
        .await
        .known_error(400, "PASSWORD_TOO_SHORT");
    client
        .post(
            "/auth/password/reset",
            json!({ "code": code, "password": "a brand new password" }),
        )
        .await
        .ok();
    app.refresh(&p, t["refresh_token"].as_str().unwrap())
        .await
        .known_error(401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED");
    client
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");
    client
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ada@example.com", "password": "a brand new password" }),
        )
        .await
        .ok();
    client
        .post(
            "/auth/password/reset",
            json!({ "code": code, "password": "another new password" }),
        )
        .await
        .known_error(409, "VERIFICATION_CODE_ALREADY_USED");
}

#[tokio::test]
async fn with_smtp_configured_the_same_mails_arrive_at_the_smtp_server() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_smtp(gatehouse_core::emails::SmtpServer {
        host: "127.0.0.1".into(),
        port: sink.port,
        username: None,
        password: None,
        sender_name: "Gatehouse".into(),
        sender_email: "auth@gatehouse.test".into(),
        implicit_tls: false,
    })
    .await;
    let p = app.project().await;
    enable_otp(&app, &p).await;
    app.client(&p)
        .post("/auth/password/sign-up", json!({ "email": "ada@example.com", "password": PASSWORD, "verification_callback_url": "http://localhost:3000/verify" }))
        .await
        .ok();
    sink.wait_for("ada@example.com", "Verify your email at Test project")
        .await;
    app.client(&p)
        .post(
            "/auth/otp/send-sign-in-code",
            json!({ "email": "otp@example.com", "callback_url": "http://localhost:3000/magic" }),
        )
        .await
        .ok();
    sink.wait_for("otp@example.com", "Your code is").await;
    app.client(&p)
        .post(
            "/auth/password/send-reset-code",
            json!({ "email": "ada@example.com", "callback_url": "http://localhost:3000/reset" }),
        )
        .await
        .ok();
    sink.wait_for("ada@example.com", "Reset your password")
        .await;
}

#[tokio::test]
async fn where_the_project_requires_it_unverified_users_are_restricted_until_they_verify() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    let server = app.server(&p);
    app.admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "require_email_verification": true } }),
        )
        .await
        .ok();
    let t = client
        .post("/auth/password/sign-up", json!({ "email": "ada@example.com", "password": PASSWORD, "verification_callback_url": "http://localhost:3000/verify" }))
        .await
        .ok();
    let token = t["access_token"].as_str().unwrap();
    let plain = client.clone().header("x-stack-access-token", token);
    let r = plain.get("/users/me").await;
    r.known_error(403, "RESTRICTED_USER_NOT_ALLOWED");
    assert_eq!(
        r.body["details"],
        json!({ "restricted_reason": { "type": "email_not_verified" } })
    );
    let me = plain
        .clone()
        .header("x-stack-allow-restricted-user", "true")
        .get("/users/me")
        .await
        .ok();
    assert_eq!(
        (me["is_restricted"].clone(), me["restricted_reason"].clone()),
        (json!(true), json!({ "type": "email_not_verified" }))
    );
    let listed = |q: &'static str| {
        let server = server.clone();
        async move {
            server.get(&format!("/users{q}")).await.ok()["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(listed("").await, 0);
    assert_eq!(listed("?include_restricted=true").await, 1);

    let code = link_code(&mail(&server, "Verify your email").await);
    client
        .post("/contact-channels/verify", json!({ "code": code }))
        .await
        .ok();
    let fresh = app
        .refresh(&p, t["refresh_token"].as_str().unwrap())
        .await
        .ok();
    let me = client
        .clone()
        .header(
            "x-stack-access-token",
            fresh["access_token"].as_str().unwrap(),
        )
        .get("/users/me")
        .await
        .ok();
    assert_eq!(
        (me["is_restricted"].clone(), me["restricted_reason"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(listed("").await, 1);
}

#[tokio::test]
async fn a_server_patch_of_the_primary_email_keeps_the_channels_in_step() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let u = server
        .post("/users", json!({ "primary_email": "old@example.com", "primary_email_verified": true, "primary_email_auth_enabled": true }))
        .await
        .ok();
    let id = u["id"].as_str().unwrap();
    server
        .patch(
            &format!("/users/{id}"),
            json!({ "primary_email": "New@Example.com" }),
        )
        .await
        .ok();
    let channels = server
        .get(&format!("/contact-channels?user_id={id}"))
        .await
        .ok();
    assert_eq!(
        channels["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (
                c["value"].clone(),
                c["is_primary"].clone(),
                c["is_verified"].clone(),
                c["used_for_auth"].clone()
            ))
            .collect::<Vec<_>>(),
        [(
            json!("new@example.com"),
            json!(true),
            json!(false),
            json!(true)
        )]
    );
    // And the other way: a channel made primary is the user's primary email.
    let c = server
        .post("/contact-channels", json!({ "user_id": id, "value": "third@example.com", "type": "email", "used_for_auth": false, "is_verified": true, "is_primary": true }))
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let user = server.get(&format!("/users/{id}")).await.ok();
    assert_eq!(
        (
            user["primary_email"].clone(),
            user["primary_email_verified"].clone()
        ),
        (json!("third@example.com"), json!(true))
    );
    server
        .patch(&format!("/users/{id}"), json!({ "primary_email": null }))
        .await
        .ok();
    let channels = server
        .get(&format!("/contact-channels?user_id={id}"))
        .await
        .ok();
    assert_eq!(channels["items"].as_array().unwrap().len(), 1, "{channels}");
    assert_eq!(channels["items"][0]["value"], "new@example.com");
    assert_eq!(
        server.get(&format!("/users/{id}")).await.ok()["primary_email"],
        Value::Null
    );
}
