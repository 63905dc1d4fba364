//! Hostile input and abuse: common passwords, rate limits with their headers, the account
//! lockout (email, unlock), addresses only from trusted proxies, and bodies no handler should
//! ever see.

use std::time::{Duration, Instant};

use gatehouse_core::events::Who;
use reqwest::Method;
use serde_json::json;

use crate::email_flows::mail;
use crate::helpers::{Project, Resp, TestApp, PASSWORD};

fn assert_rate_limited(r: &Resp) -> u64 {
    assert_eq!(r.status, 429, "{}", r.text);
    let header = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{n} in {:?}", r.headers))
            .to_string()
    };
    let reset: u64 = header("ratelimit-reset").parse().unwrap();
    // A wait a client can sleep through is in Retry-After too (Stack's SDK honours it).
    match r.headers.get("retry-after") {
        Some(v) => {
            let retry: u64 = v.to_str().unwrap().parse().unwrap();
            assert!(
                (1..=60).contains(&retry) && retry == reset.max(1),
                "{retry} {reset}"
            );
        }
        None => assert!(reset > 60, "{reset}"),
    }
    assert_eq!(header("ratelimit-remaining"), "0");
    assert!(header("ratelimit-policy").contains(";w="));
    // Stack's SDK reads a 429 as plain text (and waits `Retry-After`): no known-error header.
    assert!(r.headers.get("x-stack-known-error").is_none());
    assert!(r.text.starts_with("Too many"), "{}", r.text);
    reset
}

async fn sign_in(app: &TestApp, p: &Project, email: &str, password: &str) -> Resp {
    app.client(p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": email, "password": password }),
        )
        .await
}

#[tokio::test]
async fn common_passwords_are_refused_unless_the_project_allows_them() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    for password in ["password", "Password1", "iloveyou", "qwertyuiop"] {
        let r = app
            .client(&p)
            .post(
                "/auth/password/sign-up",
                json!({ "email": "a@example.com", "password": password }),
            )
            .await;
        r.known_error(400, "PASSWORD_REQUIREMENTS_NOT_MET");
        assert!(r.message().contains("most common passwords"), "{}", r.text);
        assert_eq!(r.body["details"]["message"], r.body["error"]);
    }
    // Servers setting a password are held to the same list.
    app.server(&p)
        .post(
            "/users",
            json!({ "primary_email": "b@example.com", "password": "password" }),
        )
        .await
        .known_error(400, "PASSWORD_REQUIREMENTS_NOT_MET");
    // Too short is still Stack's own error, first.
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "a@example.com", "password": "pass" }),
        )
        .await
        .known_error(400, "PASSWORD_TOO_SHORT");

    app.configure(&p, json!({ "security.refuseCommonPasswords": false }))
        .await;
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "a@example.com", "password": "password" }),
        )
        .await
        .ok();
}

#[tokio::test]
async fn a_hundred_wrong_passwords_lock_the_account_tell_its_owner_and_an_admin_unlocks_it() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    // Room for this test's hundred tries from one address: the account is what is counted here.
    app.configure(&p, json!({ "security.rateLimits.signIn.perIp.max": 1000 }))
        .await;
    let user = app.sign_up(&p, "victim@example.com").await;
    let user_id = user["user_id"].as_str().unwrap();

    let mut mismatches = 0;
    let mut limited = 0;
    for i in 0..100 {
        let r = sign_in(&app, &p, "victim@example.com", &format!("guess number {i}")).await;
        match r.status {
            400 => {
                r.known_error(400, "EMAIL_PASSWORD_MISMATCH");
                mismatches += 1;
            }
            _ => {
                assert_rate_limited(&r);
                limited += 1;
            }
        }
    }
    // Ten failures (the default), then the lockout (15 minutes).
    assert_eq!(mismatches, 10);
    assert_eq!(limited, 90);
    // Even the right password waits out the lockout.
    let r = sign_in(&app, &p, "victim@example.com", PASSWORD).await;
    let retry = assert_rate_limited(&r);
    assert!(retry > 60, "{retry}");
    assert!(
        r.text.contains("failed sign-in attempts for this account"),
        "{}",
        r.text
    );

    // The owner was told, once.
    let server = app.server(&p);
    let email = mail(&server, "was paused").await;
    assert!(email["html"].as_str().unwrap().contains("forgot-password"));
    let outbox = server.get("/emails/outbox").await.ok();
    let paused = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["subject"].as_str().unwrap().contains("was paused"))
        .count();
    assert_eq!(paused, 1);

    // An address nobody has gets the same answers, in the same order (no enumeration).
    let mut answers = vec![];
    for i in 0..12 {
        answers.push(
            sign_in(&app, &p, "nobody@example.com", &format!("guess {i}"))
                .await
                .status,
        );
    }
    assert_eq!(answers, [vec![400; 10], vec![429; 2]].concat());

    // The dashboard shows the lock; unlocking lifts it at once.
    assert!(app
        .core
        .locked_until(&p.id, user_id)
        .await
        .unwrap()
        .is_some());
    app.core
        .unlock_user(&p.id, user_id, &Who::Admin(None))
        .await
        .unwrap();
    assert!(app
        .core
        .locked_until(&p.id, user_id)
        .await
        .unwrap()
        .is_none());
    sign_in(&app, &p, "victim@example.com", PASSWORD).await.ok();
}

#[tokio::test]
async fn a_thousand_sign_ups_from_one_address_meet_the_limit_with_its_headers() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let mut statuses = vec![];
    for i in 0..1000 {
        let r = app
            .client(&p)
            .post("/auth/anonymous/sign-up", json!({}))
            .await;
        if r.status == 429 {
            assert_rate_limited(&r);
        } else {
            assert_eq!(r.status, 200, "{}", r.text);
            // Successful attempts carry the count too.
            let remaining: u32 = r.headers["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(remaining, 19 - i);
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 20);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 980);
    // The app's own backend (a secret key) signs up for many people from one address: only
    // accounts are counted for it.
    for _ in 0..30 {
        app.server(&p)
            .post("/auth/anonymous/sign-up", json!({}))
            .await
            .ok();
    }
    // X-Forwarded-For from a client that is not a trusted proxy changes nothing.
    let r = app
        .client(&p)
        .header("x-forwarded-for", "198.51.100.1")
        .post("/auth/anonymous/sign-up", json!({}))
        .await;
    assert_rate_limited(&r);
    // Another project counts on its own; so do its settings.
    let q = app.project().await;
    app.configure(
        &q,
        json!({ "security.rateLimits.signUp.perIp": { "max": 2, "windowSeconds": 60 } }),
    )
    .await;
    let (_, me) = app.signed_up(&q, "someone@example.com").await;
    let r2 = app
        .client(&q)
        .post("/auth/anonymous/sign-up", json!({}))
        .await;
    assert_eq!(r2.headers["ratelimit-policy"], "2;w=60");
    assert_eq!(r2.headers["ratelimit-remaining"], "0");
    assert_rate_limited(
        &app.client(&q)
            .post("/auth/anonymous/sign-up", json!({}))
            .await,
    );
    // The hot reads are never counted.
    for _ in 0..100 {
        assert!(me
            .get("/users/me")
            .await
            .headers
            .get("ratelimit-limit")
            .is_none());
    }
}

#[tokio::test]
async fn codes_are_limited_per_address_typed() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.configure(&p, json!({ "auth.otp.allowSignIn": true }))
        .await;
    let send = |email: &'static str| {
        let req = app.client(&p);
        async move {
            req.post(
                "/auth/otp/send-sign-in-code",
                json!({ "email": email, "callback_url": "http://localhost:3000/magic" }),
            )
            .await
        }
    };
    for _ in 0..5 {
        send("one@example.com").await.ok();
    }
    assert_rate_limited(&send("one@example.com").await);
    // Another address from the same IP is still fine (the IP's own limit is 10 a minute).
    send("two@example.com").await.ok();
}

#[tokio::test]
async fn hostile_bodies_get_a_clear_4xx_never_a_500() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    // Larger than the limit: 413, said in words.
    let big = "x".repeat(3 * 1024 * 1024);
    let r = client
        .send(
            Method::POST,
            "/auth/password/sign-up",
            Some(json!({ "email": "a@example.com", "password": big })),
        )
        .await;
    assert_eq!(r.status, 413, "{}", &r.text[..r.text.len().min(200)]);
    assert!(r.text.contains("larger than"));
    // Nested beyond reason.
    let deep: &'static str =
        Box::leak(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_boxed_str());
    let r = client
        .raw(Method::POST, "/auth/password/sign-up", deep)
        .await;
    r.known_error(400, "BODY_PARSING_ERROR");
    // Not UTF-8.
    let r = app
        .http
        .post(format!("{}/api/v1/auth/password/sign-up", app.base))
        .header("content-type", "application/json")
        .header("x-stack-access-type", "client")
        .header("x-stack-project-id", &p.id)
        .header("x-stack-publishable-client-key", &p.pck)
        .body(vec![b'{', 0xff, 0xfe, b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-stack-known-error"], "BODY_PARSING_ERROR");
    // A type Stack does not read is refused by name; a form is read as Stack reads one.
    let r = app
        .http
        .post(format!("{}/api/v1/auth/password/sign-in", app.base))
        .header("content-type", "application/xml")
        .header("x-stack-access-type", "client")
        .header("x-stack-project-id", &p.id)
        .header("x-stack-publishable-client-key", &p.pck)
        .body("<sign-in/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({ "code": "BODY_PARSING_ERROR", "error": "Unknown content type in request body: application/xml" })
    );
    let r = app
        .http
        .post(format!("{}/api/v1/auth/password/sign-in", app.base))
        .header("x-stack-access-type", "client")
        .header("x-stack-project-id", &p.id)
        .header("x-stack-publishable-client-key", &p.pck)
        .form(&[
            ("email", "nobody@example.com"),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-stack-known-error"],
        "EMAIL_PASSWORD_MISMATCH"
    );
    // A header of a megabyte is refused by the HTTP layer, not answered with a 500.
    let r = app
        .http
        .get(format!("{}/api/v1/users/me", app.base))
        .header("x-stack-access-token", "a".repeat(1024 * 1024))
        .send()
        .await;
    if let Ok(r) = r {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    // The server is still answering.
    app.anon().get("/").await;
    assert_eq!(app.anon().get("/").await.status, 200);
}

#[tokio::test]
async fn the_visitors_address_comes_from_a_trusted_proxy_only() {
    let app = TestApp::spawn_with_trusted_proxies("127.0.0.1").await;
    let p = app.project().await;
    app.configure(&p, json!({ "security.rateLimits.signUp.perIp.max": 1 }))
        .await;
    let from = |ip: &str| app.client(&p).header("x-forwarded-for", ip);
    from("198.51.100.1")
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    assert_rate_limited(
        &from("198.51.100.1")
            .post("/auth/anonymous/sign-up", json!({}))
            .await,
    );
    // Behind the trusted proxy, another visitor has a count of their own.
    from("198.51.100.2")
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    // Forwarded (RFC 7239) is read as well.
    app.client(&p)
        .header("forwarded", "for=\"[2001:db8::5]:1234\"")
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
}

#[tokio::test]
async fn failed_sign_ins_take_as_long_for_unknown_addresses_as_for_accounts() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    // Limits and lockouts off: this measures only the answer's timing.
    app.configure(
        &p,
        json!({
            "security.lockout.maxFailures": 0,
            "security.rateLimits.signIn.perAccount.max": 0,
            "security.rateLimits.signIn.perIp.max": 0,
        }),
    )
    .await;
    app.sign_up(&p, "known@example.com").await;
    let mut known = vec![];
    let mut unknown = vec![];
    // Interleaved, so that whatever else the machine does falls on both alike.
    for i in 0..30 {
        for (email, into) in [
            ("known@example.com", &mut known),
            ("unknown@example.com", &mut unknown),
        ] {
            let start = Instant::now();
            let r = sign_in(&app, &p, email, &format!("wrong {i}")).await;
            into.push(start.elapsed());
            r.known_error(400, "EMAIL_PASSWORD_MISMATCH");
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    let diff = k.abs_diff(u);
    // An unknown address runs the same password hash; what is left is noise well under the
    // hash's own cost.
    assert!(
        diff < k.max(u) / 5,
        "median {k:?} for an account, {u:?} for an unknown address"
    );
}

/// Signs up with a password and whatever else `extra` adds to the body.
async fn sign_up_with(app: &TestApp, p: &Project, email: &str, extra: serde_json::Value) -> Resp {
    let mut body = json!({ "email": email, "password": PASSWORD });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.client(p).post("/auth/password/sign-up", body).await
}

async fn risk_of(app: &TestApp, p: &Project, user_id: &str) -> serde_json::Value {
    app.server(p).get(&format!("/users/{user_id}")).await.ok()["risk_scores"]["sign_up"].clone()
}

#[tokio::test]
async fn a_proof_of_work_guards_sign_up_and_is_spent_once() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    // Off by default: no challenge to ask for.
    assert_eq!(
        app.client(&p)
            .post("/auth/bot-challenge", json!({}))
            .await
            .status,
        400
    );
    app.configure(
        &p,
        json!({ "security.botChallenge": { "mode": "proofOfWork", "proofOfWorkBits": 10 } }),
    )
    .await;
    // A client that sends nothing is told what is needed.
    let r = sign_up_with(&app, &p, "lazy@example.com", json!({})).await;
    r.known_error(400, "BOT_CHALLENGE_FAILED");
    assert!(
        r.message().contains("POST /api/v1/auth/bot-challenge"),
        "{}",
        r.text
    );

    let puzzle = app
        .client(&p)
        .post("/auth/bot-challenge", json!({}))
        .await
        .ok();
    assert_eq!(puzzle["type"], "proof_of_work");
    assert_eq!(puzzle["difficulty_bits"], 10);
    let challenge = puzzle["challenge"].as_str().unwrap();
    let nonce = (0u64..)
        .find(|n| gatehouse_core::bot_challenge::solves(challenge, &n.to_string(), 10))
        .unwrap();
    // A wrong answer is refused (and in Stack's visible phase, as Stack words it).
    let wrong = (0u64..)
        .find(|n| !gatehouse_core::bot_challenge::solves(challenge, &n.to_string(), 10))
        .unwrap();
    let r = sign_up_with(
        &app,
        &p,
        "wrong@example.com",
        json!({ "bot_challenge_token": format!("{challenge}.{wrong}"), "bot_challenge_phase": "visible" }),
    )
    .await;
    r.known_error(400, "BOT_CHALLENGE_FAILED");
    assert_eq!(r.message(), "Visible bot challenge verification failed");
    let token = format!("{challenge}.{nonce}");
    let t = sign_up_with(
        &app,
        &p,
        "solved@example.com",
        json!({ "bot_challenge_token": token }),
    )
    .await
    .ok();
    assert_eq!(
        risk_of(&app, &p, t["user_id"].as_str().unwrap()).await,
        json!({ "bot": 0, "free_trial_abuse": 0 })
    );
    // Spent: the same answer does not open a second account; Stack's invisible phase asks for
    // a visible challenge.
    sign_up_with(
        &app,
        &p,
        "again@example.com",
        json!({ "bot_challenge_token": token }),
    )
    .await
    .known_error(400, "BOT_CHALLENGE_FAILED");
    sign_up_with(
        &app,
        &p,
        "again@example.com",
        json!({ "bot_challenge_token": token, "bot_challenge_phase": "invisible" }),
    )
    .await
    .known_error(409, "BOT_CHALLENGE_REQUIRED");
}

/// A stand-in for Cloudflare's siteverify that answers as Turnstile's documented test secret
/// keys do: `1x0000000000000000000000000000000AA` always passes, `2x…AA` always fails.
async fn turnstile_stand_in() -> String {
    use axum::routing::post;
    async fn siteverify(
        axum::Form(form): axum::Form<Vec<(String, String)>>,
    ) -> axum::Json<serde_json::Value> {
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let ok = field("secret").as_deref() == Some("1x0000000000000000000000000000000AA")
            && field("response").is_some_and(|r| !r.is_empty());
        axum::Json(if ok {
            json!({ "success": true, "hostname": "example.com", "action": "sign_up_with_credential", "error-codes": [] })
        } else {
            json!({ "success": false, "error-codes": ["invalid-input-response"] })
        })
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/turnstile/v0/siteverify", post(siteverify));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/turnstile/v0/siteverify")
}

#[tokio::test]
async fn turnstile_follows_stacks_phases_and_feeds_the_sign_up_rules() {
    let app = TestApp::spawn_with_turnstile(&turnstile_stand_in().await).await;
    let p = app.project().await;
    let keys = |secret: &str| {
        json!({ "security.botChallenge": {
            "mode": "turnstile", "turnstileSiteKey": "1x00000000000000000000AA", "turnstileSecretKey": secret,
        } })
    };
    let token = json!({ "bot_challenge_token": "XXXX.DUMMY.TOKEN.XXXX" });
    app.configure(&p, keys("1x0000000000000000000000000000000AA"))
        .await;
    let t = sign_up_with(&app, &p, "person@example.com", token.clone())
        .await
        .ok();
    assert_eq!(
        risk_of(&app, &p, t["user_id"].as_str().unwrap()).await["bot"],
        0
    );

    app.configure(&p, keys("2x0000000000000000000000000000000AA"))
        .await;
    // Stack's phases: a failed invisible challenge asks for a visible one; a failed visible one
    // is refused; a client that names no phase signs up, with the bot score for the rules.
    let phase = |p: &str| json!({ "bot_challenge_token": "XXXX.DUMMY.TOKEN.XXXX", "bot_challenge_phase": p });
    sign_up_with(&app, &p, "bot@example.com", phase("invisible"))
        .await
        .known_error(409, "BOT_CHALLENGE_REQUIRED");
    sign_up_with(&app, &p, "bot@example.com", phase("visible"))
        .await
        .known_error(400, "BOT_CHALLENGE_FAILED");
    let t = sign_up_with(&app, &p, "legacy@example.com", token.clone())
        .await
        .ok();
    assert_eq!(
        risk_of(&app, &p, t["user_id"].as_str().unwrap()).await["bot"],
        100
    );
    let t = sign_up_with(
        &app,
        &p,
        "cannot@example.com",
        json!({ "bot_challenge_unavailable": "true" }),
    )
    .await
    .ok();
    assert_eq!(
        risk_of(&app, &p, t["user_id"].as_str().unwrap()).await["bot"],
        60
    );

    // A rule on the score turns such sign-ups away.
    app.configure(
        &p,
        json!({ "auth.signUpRules.no-bots": {
            "enabled": true, "priority": 1, "condition": "riskScores.bot > 50",
            "action": { "type": "reject", "message": "Bots are not welcome." },
        } }),
    )
    .await;
    let r = sign_up_with(&app, &p, "bot2@example.com", token).await;
    r.known_error(403, "SIGN_UP_REJECTED");
    assert_eq!(r.message(), "Bots are not welcome.");
}

#[tokio::test]
async fn another_free_trial_of_the_same_mailbox_scores_as_such() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let mut scores = vec![];
    for email in [
        "ann@example.com",
        "ann+trial2@example.com",
        "Ann+trial3@Example.com",
        "bob@example.com",
    ] {
        let t = sign_up_with(&app, &p, email, json!({})).await.ok();
        scores.push(
            risk_of(&app, &p, t["user_id"].as_str().unwrap()).await["free_trial_abuse"].clone(),
        );
    }
    assert_eq!(scores, [json!(0), json!(50), json!(100), json!(0)]);
    // Conditions read it as a number.
    app.configure(
        &p,
        json!({ "auth.signUpRules.one-trial": {
            "enabled": true, "priority": 1, "condition": "riskScores.free_trial_abuse >= 50",
            "action": { "type": "reject" },
        } }),
    )
    .await;
    sign_up_with(&app, &p, "bob+again@example.com", json!({}))
        .await
        .known_error(403, "SIGN_UP_REJECTED");
}

#[tokio::test]
async fn failed_api_key_checks_are_counted_and_passing_ones_are_not() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.configure(
        &p,
        json!({ "apiKeys.enabled.user": true, "security.rateLimits.apiKeyCheck.perIp.max": 5 }),
    )
    .await;
    let (_, ada) = app.signed_up(&p, "ada@example.com").await;
    let key = ada
        .post(
            "/user-api-keys",
            json!({ "user_id": "me", "description": "ci", "expires_at_millis": null }),
        )
        .await
        .ok()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let check = |k: String| {
        let server = app.server(&p);
        async move {
            server
                .post("/user-api-keys/check", json!({ "api_key": k }))
                .await
        }
    };
    // A key that checks out, as often as a backend likes: never counted.
    for _ in 0..20 {
        check(key.clone()).await.ok();
    }
    let wrong = format!("{}x", &key[..key.len() - 1]);
    for _ in 0..5 {
        check(wrong.clone())
            .await
            .known_error(404, "API_KEY_NOT_FOUND");
    }
    // Past five failures, the address is refused, even with a good key, until the window ends.
    let r = check(key.clone()).await;
    assert_rate_limited(&r);
    assert!(r.text.contains("failed API key checks"), "{}", r.text);
}
