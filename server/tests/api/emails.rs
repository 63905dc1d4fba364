//! Emails through the outbox to a real SMTP server (aiosmtpd), or into the dev inbox when none is
//! configured: sending to users, retries after SMTP failures, and changing queued emails.

use std::time::{Duration, Instant};

use gatehouse_core::emails::{templates, Content, NewEmail, Recipient, SmtpServer};
use serde_json::{json, Value};

use crate::helpers::{Project, Req, TestApp};
use crate::smtp::SmtpSink;

async fn use_own_smtp(app: &TestApp, p: &Project, port: u16) {
    app.admin(p)
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": json!({ "emails.server": {
                "isShared": false, "host": "127.0.0.1", "port": port,
                "senderName": "Acme Mail", "senderEmail": "noreply@acme.test",
            } }).to_string() }),
        )
        .await
        .ok();
}

async fn user(app: &TestApp, p: &Project, email: &str) -> String {
    let u = app
        .server(p)
        .post(
            "/users",
            json!({ "primary_email": email, "primary_email_auth_enabled": true, "display_name": "Ada" }),
        )
        .await
        .ok();
    u["id"].as_str().unwrap().to_string()
}

/// Polls the outbox entry until `done` holds (30 s at most).
async fn outbox_until(server: &Req, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let e = server.get(&format!("/emails/outbox/{id}")).await.ok();
        if done(&e) {
            return e;
        }
        assert!(Instant::now() < deadline, "the email never got there: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn newest(server: &Req) -> Value {
    server.get("/emails/outbox?limit=1").await.ok()["items"][0].clone()
}

#[tokio::test]
async fn send_email_goes_through_the_projects_own_smtp_server() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let ada = user(&app, &p, "ada@example.com").await;
    let bob = user(&app, &p, "bob@example.com").await;

    // As in Stack, the shared server does not send to users on request.
    server
        .post(
            "/emails/send-email",
            json!({ "user_ids": [ada], "html": "<p>Hi</p>", "subject": "Hi" }),
        )
        .await
        .known_error(400, "REQUIRES_CUSTOM_EMAIL_SERVER");

    let sink = SmtpSink::start().await;
    use_own_smtp(&app, &p, sink.port).await;
    let sent = server
        .post(
            "/emails/send-email",
            json!({ "user_ids": [ada], "template_id": templates::MAGIC_LINK, "variables": { "otp": "K4Q9ZT", "magicLink": "https://app.acme.test/m?code=1" } }),
        )
        .await
        .ok();
    assert_eq!(sent, json!({ "results": [{ "user_id": ada }] }));
    let mail = sink.wait_for("ada@example.com", "K4Q9ZT").await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Sign in to Test project: Your code is K4Q9ZT")
    );
    assert!(
        mail.header("from").unwrap().contains("noreply@acme.test"),
        "{:?}",
        mail.header("from")
    );
    assert!(mail.raw.contains("https://app.acme.test/m?code=1"));

    let all = server
        .post("/emails/send-email", json!({ "all_users": true, "html": "<p>News for <b>you</b></p>", "subject": "News", "notification_category_name": "Marketing" }))
        .await
        .ok();
    assert_eq!(all["results"].as_array().unwrap().len(), 2);
    sink.wait_for("bob@example.com", "News for").await;
    sink.wait_for("ada@example.com", "News for").await;

    let listed = server.get("/emails/outbox").await.ok();
    assert_eq!(listed["is_paginated"], true);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let news = outbox_until(&server, items[0]["id"].as_str().unwrap(), |e| {
        e["status"] == "sent"
    })
    .await;
    assert_eq!(news["simple_status"], "ok");
    assert_eq!(news["is_transactional"], false);
    assert_eq!(news["subject"], "News");
    assert!(news["text"].as_str().unwrap().contains("News for you"));
    assert!(news["delivered_at_millis"].is_i64());
    // Pages of one, by cursor.
    let first = server.get("/emails/outbox?limit=1").await.ok();
    let cursor = first["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let second = server
        .get(&format!("/emails/outbox?limit=1&cursor={cursor}"))
        .await
        .ok();
    assert_eq!(second["items"][0]["id"], cursor);
    assert_eq!(
        server.get("/emails/outbox?simple_status=error").await.ok()["items"],
        json!([])
    );

    // A sent email cannot be changed.
    server
        .patch(
            &format!("/emails/outbox/{}", news["id"].as_str().unwrap()),
            json!({ "is_paused": true }),
        )
        .await
        .known_error(400, "EMAIL_NOT_EDITABLE");

    // Stack's refusals.
    server
        .post(
            "/emails/send-email",
            json!({ "user_ids": [bob], "all_users": true, "html": "x" }),
        )
        .await
        .known_error(400, "SCHEMA_ERROR");
    let r = server
        .post("/emails/send-email", json!({ "user_ids": ["00000000-0000-4000-8000-000000000000"], "html": "x", "subject": "s" }))
        .await;
    r.known_error(400, "USER_ID_DOES_NOT_EXIST");
    let r = server
        .post(
            "/emails/send-email",
            json!({ "user_ids": [bob], "template_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (400, "No template found with given template_id")
    );
    let r = server
        .post(
            "/emails/send-email",
            json!({ "user_ids": [bob], "html": "x", "notification_category_name": "Gossip" }),
        )
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (400, "Notification category not found with given name")
    );
    let r = server.get("/emails/outbox?limit=1000").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (400, "Limit cannot exceed 100")
    );
    app.client(&p)
        .get("/emails/outbox")
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    let r = server
        .get("/emails/outbox/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!((r.status, r.text.as_str()), (404, "Email not found"));
}

#[tokio::test]
async fn a_failing_smtp_server_is_retried_until_it_answers() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let ada = user(&app, &p, "ada@example.com").await;
    let mut sink = SmtpSink::reserved();
    use_own_smtp(&app, &p, sink.port).await;
    server
        .post(
            "/emails/send-email",
            json!({ "user_ids": [ada], "html": "<p>Persistent</p>", "subject": "Retry me" }),
        )
        .await
        .ok();
    let id = newest(&server).await["id"].as_str().unwrap().to_string();
    let failed = outbox_until(&server, &id, |e| {
        e["send_attempt_errors"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(failed["status"], "queued");
    let attempt = &failed["send_attempt_errors"][0];
    assert_eq!(attempt["attempt_number"], 1);
    assert!(attempt["internal_message"]
        .as_str()
        .unwrap()
        .contains(&sink.port.to_string()));

    sink.listen().await;
    sink.wait_for("ada@example.com", "Persistent").await;
    let sent = outbox_until(&server, &id, |e| e["status"] == "sent").await;
    assert!(sent["send_retries"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn queued_emails_can_be_changed_paused_and_cancelled_until_they_are_sent() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let ada = user(&app, &p, "ada@example.com").await;
    let sink = SmtpSink::start().await;
    use_own_smtp(&app, &p, sink.port).await;
    let later = gatehouse_core::now_ms() + 3_600_000;
    let send_later = |otp: &'static str| {
        let server = server.clone();
        let ada = ada.clone();
        async move {
            server
                .post("/emails/send-email", json!({ "user_ids": [ada], "template_id": templates::MAGIC_LINK, "variables": { "otp": otp, "magicLink": "https://x.test" }, "scheduled_at_millis": later }))
                .await
                .ok();
            newest(&server).await
        }
    };

    let e = send_later("AAAAAA").await;
    assert_eq!(e["status"], "scheduled");
    let path = format!("/emails/outbox/{}", e["id"].as_str().unwrap());
    let changed = server
        .patch(
            &path,
            json!({ "variables": { "otp": "BBBBBB", "magicLink": "https://x.test" } }),
        )
        .await
        .ok();
    assert_eq!(
        changed["subject"],
        "Sign in to Test project: Your code is BBBBBB"
    );
    assert_eq!(
        server.patch(&path, json!({ "is_paused": true })).await.ok()["status"],
        "paused"
    );
    let cancelled = server.patch(&path, json!({ "cancel": true })).await.ok();
    assert_eq!(
        (
            cancelled["status"].clone(),
            cancelled["skipped_reason"].clone()
        ),
        (json!("skipped"), json!("MANUALLY_CANCELLED"))
    );
    let r = server.patch(&path, json!({ "is_paused": false })).await;
    r.known_error(400, "EMAIL_NOT_EDITABLE");
    assert_eq!(
        r.body["details"],
        json!({ "email_id": e["id"], "status": "SKIPPED" })
    );

    // Moved to now, it is sent at once.
    let e = send_later("CCCCCC").await;
    let path = format!("/emails/outbox/{}", e["id"].as_str().unwrap());
    server
        .patch(
            &path,
            json!({ "scheduled_at_millis": gatehouse_core::now_ms() }),
        )
        .await
        .ok();
    sink.wait_for("ada@example.com", "CCCCCC").await;
    outbox_until(&server, e["id"].as_str().unwrap(), |e| {
        e["status"] == "sent"
    })
    .await;
    assert!(!sink
        .delivered()
        .iter()
        .any(|m| m.raw.contains("BBBBBB") || m.raw.contains("AAAAAA")));
}

#[tokio::test]
async fn with_no_smtp_server_anywhere_emails_land_in_the_dev_inbox() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let ada = user(&app, &p, "ada@example.com").await;
    let project = app.core.project(&p.id).await.unwrap().unwrap();
    let email = app
        .core
        .queue_email(
            &project,
            NewEmail {
                to: Recipient::UserPrimaryEmail { user_id: ada.clone() },
                content: Content::Template {
                    id: templates::EMAIL_VERIFICATION.into(),
                    variables: json!({ "emailVerificationLink": "https://app.test/verify?code=abc" }),
                },
                subject: None,
                theme_id: None,
                notification_category_id: None,
                is_high_priority: false,
                scheduled_at: None,
                unsubscribe_link: None,
            },
        )
        .await
        .unwrap();
    let sent = outbox_until(&app.server(&p), &email.id, |e| e["status"] == "sent").await;
    assert_eq!(sent["subject"], "Verify your email at Test project");
    assert_eq!(
        sent["to"],
        json!({ "type": "user-primary-email", "user_id": ada })
    );
    let kept = app.core.email(&p.id, &email.id).await.unwrap().unwrap();
    assert_eq!(kept.delivered_via.as_deref(), Some("inbox"));
    assert!(kept.html.contains("Hi Ada"));
}

#[tokio::test]
async fn the_server_wide_smtp_server_sends_for_projects_without_their_own() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_smtp(SmtpServer {
        host: "127.0.0.1".into(),
        port: sink.port,
        username: None,
        password: None,
        sender_name: String::new(),
        sender_email: "auth@gatehouse.test".into(),
        implicit_tls: false,
    })
    .await;
    let p = app.project().await;
    let ada = user(&app, &p, "ada@example.com").await;
    let project = app.core.project(&p.id).await.unwrap().unwrap();
    app.core
        .queue_email(
            &project,
            NewEmail {
                to: Recipient::UserPrimaryEmail { user_id: ada },
                content: Content::Template {
                    id: templates::PASSWORD_RESET.into(),
                    variables: json!({ "passwordResetLink": "https://app.test/reset?code=xyz" }),
                },
                subject: None,
                theme_id: None,
                notification_category_id: None,
                is_high_priority: false,
                scheduled_at: None,
                unsubscribe_link: None,
            },
        )
        .await
        .unwrap();
    let mail = sink.wait_for("ada@example.com", "xyz").await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Reset your password at Test project")
    );
    // Named after the project when the server-wide sender has no name.
    assert!(
        mail.header("from").unwrap().contains("Test project"),
        "{:?}",
        mail.header("from")
    );
}

#[tokio::test]
async fn marketing_emails_carry_an_unsubscribe_link_that_the_outbox_honours() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let ada = user(&app, &p, "ada@example.com").await;
    let sink = SmtpSink::start().await;
    use_own_smtp(&app, &p, sink.port).await;
    let send = |category: Option<&'static str>, subject: &'static str| {
        let (server, ada) = (server.clone(), ada.clone());
        async move {
            let mut body = json!({ "user_ids": [ada], "html": "<p>Hello</p>", "subject": subject });
            if let Some(c) = category {
                body["notification_category_name"] = json!(c);
            }
            server.post("/emails/send-email", body).await.ok();
            newest(&server).await
        }
    };
    let news = send(Some("Marketing"), "News one").await;
    let text = news["text"].as_str().unwrap();
    let at = text
        .find("unsubscribe-link?code=")
        .expect("an unsubscribe link")
        + "unsubscribe-link?code=".len();
    let code = text[at..at + 45].to_string();
    sink.wait_for("ada@example.com", "Unsubscribe").await;
    // Transactional emails have none.
    let receipt = send(None, "Receipt").await;
    assert!(!receipt["text"].as_str().unwrap().contains("unsubscribe"));

    let link = format!("/api/v1/emails/unsubscribe-link?code={code}");
    let r = app.anon().get(&link).await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (
            200,
            "<p>Successfully unsubscribed from notification group</p>"
        )
    );
    let r = app.anon().get(&link).await;
    assert_eq!(
        r.text,
        "<p>You have already unsubscribed from this notification group</p>"
    );
    assert_eq!(
        app.anon()
            .get("/api/v1/emails/unsubscribe-link?code=short")
            .await
            .status,
        400
    );

    let prefs = server
        .get(&format!("/emails/notification-preference/{ada}"))
        .await
        .ok();
    assert_eq!(
        prefs["items"],
        json!([
            { "notification_category_id": gatehouse_core::emails::TRANSACTIONAL, "notification_category_name": "Transactional", "enabled": true, "can_disable": false },
            { "notification_category_id": gatehouse_core::emails::MARKETING, "notification_category_name": "Marketing", "enabled": false, "can_disable": true },
        ])
    );
    let skipped = send(Some("Marketing"), "News two").await;
    let skipped = outbox_until(&server, skipped["id"].as_str().unwrap(), |e| {
        e["status"] != "queued" && e["status"] != "sending"
    })
    .await;
    assert_eq!(
        (skipped["status"].clone(), skipped["skipped_reason"].clone()),
        (json!("skipped"), json!("USER_UNSUBSCRIBED"))
    );
    outbox_until(&server, receipt["id"].as_str().unwrap(), |e| {
        e["status"] == "sent"
    })
    .await;

    // A user manages their own preferences, nobody else's.
    let t = app.sign_up(&p, "bob@example.com").await;
    let bob = app.client(&p).token(t["access_token"].as_str().unwrap());
    let path = format!(
        "/emails/notification-preference/me/{}",
        gatehouse_core::emails::MARKETING
    );
    assert_eq!(
        bob.patch(&path, json!({ "enabled": false })).await.ok()["enabled"],
        false
    );
    assert_eq!(
        bob.get("/emails/notification-preference/me").await.ok()["items"][1]["enabled"],
        false
    );
    let r = bob
        .get(&format!("/emails/notification-preference/{ada}"))
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (403, "You can only view your own notification preferences")
    );
    let r = bob
        .patch(
            "/emails/notification-preference/me/00000000-0000-4000-8000-000000000000",
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (404, "Notification category not found")
    );
}

#[tokio::test]
async fn templates_are_edited_in_the_config_and_read_in_the_users_language() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let reset = templates::PASSWORD_RESET;
    let patch = |over: Value| {
        let admin = app.admin(&p);
        async move {
            admin
                .patch(
                    "/internal/config/override/environment",
                    json!({ "config_override_string": over.to_string() }),
                )
                .await
        }
    };
    patch(json!({
        format!("emails.templates.{reset}.subject"): "New password for {{ project.display_name }}",
        format!("emails.templates.{reset}.translations.de"): {
            "subject": "Neues Passwort für {{ project.display_name }}",
            "html": "<p>Hier entlang: <a href=\"{{ variables.passwordResetLink }}\">neues Passwort</a></p>",
        },
    }))
    .await
    .ok();
    let r = patch(json!({ format!("emails.templates.{reset}.html"): "<p>{% if %}</p>" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.starts_with(&format!(
            "emails.templates.{reset}.html is not a valid template:"
        )),
        "{}",
        r.text
    );

    let ada = user(&app, &p, "ada@example.com").await;
    user(&app, &p, "bob@example.com").await;
    // `language` is Gatehouse's own: a Stack client neither sends nor sees it, and a request
    // that asks for Gatehouse's fields does both.
    server
        .patch(&format!("/users/{ada}"), json!({ "language": "de-AT" }))
        .await
        .schema_error(
            "PATCH",
            &format!("/users/{ada}"),
            &["body contains unknown properties: language"],
        );
    let server = server.header("x-gatehouse-fields", "language");
    let german = server
        .patch(&format!("/users/{ada}"), json!({ "language": "de-AT" }))
        .await
        .ok();
    assert_eq!(german["language"], "de-AT");
    let plain = app.server(&p).get(&format!("/users/{ada}")).await.ok();
    assert!(plain.get("language").is_none(), "{plain}");
    server
        .patch(
            &format!("/users/{ada}"),
            json!({ "language": "not a tag!" }),
        )
        .await
        .schema_error(
            "PATCH",
            &format!("/users/{ada}"),
            &["body.language must be a language tag such as de or pt-BR"],
        );
    for email in ["ada@example.com", "bob@example.com"] {
        app.client(&p)
            .post(
                "/auth/password/send-reset-code",
                json!({ "email": email, "callback_url": "http://localhost:3000/reset" }),
            )
            .await
            .ok();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let items = loop {
        let items = server.get("/emails/outbox").await.ok()["items"]
            .as_array()
            .unwrap()
            .clone();
        if items.len() == 2 {
            break items;
        }
        assert!(Instant::now() < deadline, "two reset emails");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let to = |m: &Value| m["to"]["emails"][0].as_str().unwrap().to_string();
    let ada_mail = items.iter().find(|m| to(m) == "ada@example.com").unwrap();
    let bob_mail = items.iter().find(|m| to(m) == "bob@example.com").unwrap();
    // `de-AT` reads the `de` translation; its text body falls back to one made from its HTML.
    assert_eq!(ada_mail["subject"], "Neues Passwort für Test project");
    assert!(ada_mail["html"]
        .as_str()
        .unwrap()
        .contains("neues Passwort"));
    assert!(
        ada_mail["text"].as_str().unwrap().contains("Hier entlang"),
        "{}",
        ada_mail["text"]
    );
    assert_eq!(bob_mail["subject"], "New password for Test project");
    assert!(bob_mail["html"]
        .as_str()
        .unwrap()
        .contains("Choose a new password"));
}
