//! Sign-up rules over REST: conditions checked when saved, every action and the order they
//! run in, password sign-up (new and anonymous upgrade) and the emailed code, the country from
//! the trusted proxy's header, a rule failing at run time, the tester and the stats.

use serde_json::{json, Value};

use crate::email_flows::mail;
use crate::helpers::{Project, Req, TestApp, PASSWORD};

/// Sets rules (and anything else) in the environment override.
async fn set(app: &TestApp, p: &Project, config: Value) -> crate::helpers::Resp {
    app.admin(p)
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": config.to_string() }),
        )
        .await
}

fn rule(priority: i64, condition: &str, action: &str, message: Option<&str>) -> Value {
    let mut then = json!({ "type": action });
    if let Some(m) = message {
        then["message"] = json!(m);
    }
    json!({ "enabled": true, "displayName": format!("{action} rule"), "priority": priority, "condition": condition, "action": then })
}

async fn sign_up(client: &Req, email: &str) -> crate::helpers::Resp {
    client
        .post(
            "/auth/password/sign-up",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await
}

/// The claims of an access token (its middle part).
fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn conditions_are_checked_when_saved() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let refused = |r: crate::helpers::Resp| {
        assert_eq!(r.status, 400, "{}", r.text);
        r.text
    };
    let text = refused(
        set(
            &app,
            &p,
            json!({ "auth.signUpRules.bad": rule(0, "email ==", "reject", None) }),
        )
        .await,
    );
    assert!(
        text.starts_with("auth.signUpRules.bad.condition is not a valid condition: line 1, column"),
        "{text}"
    );
    let text = refused(
        set(&app, &p, json!({ "auth.signUpRules.typo": rule(0, "email == \"a\" ||\n emial == \"b\"", "reject", None) })).await,
    );
    assert!(
        text.contains("line 2, column 2: unknown variable `emial`"),
        "{text}"
    );
    let text = refused(
        set(
            &app,
            &p,
            json!({ "auth.signUpRules.text": rule(0, "emailDomain", "reject", None) }),
        )
        .await,
    );
    assert!(text.contains("must be true or false"), "{text}");
    let text = refused(
        set(
            &app,
            &p,
            json!({ "auth.signUpRules.re": rule(0, "email.matches(\"(a\")", "reject", None) }),
        )
        .await,
    );
    assert!(text.contains("invalid regular expression"), "{text}");
    let text = refused(
        set(
            &app,
            &p,
            json!({ "auth.signUpRules.neg": rule(-1, "true", "reject", None) }),
        )
        .await,
    );
    assert!(text.contains("priority must be a whole number"), "{text}");
    // Nothing was saved.
    let config = app.admin(&p).get("/internal/config").await.ok();
    let tree: Value = serde_json::from_str(config["config_string"].as_str().unwrap()).unwrap();
    assert_eq!(tree["auth"]["signUpRules"], json!({}));
}

#[tokio::test]
async fn rules_decide_password_sign_ups_in_priority_order() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    set(
        &app,
        &p,
        json!({
            "auth.signUpRules.a-block-domain": rule(5, "emailDomain == \"blocked.com\"", "reject", Some("We do not take sign-ups from blocked.com.")),
            "auth.signUpRules.b-no-message": rule(5, "email.startsWith(\"spam\")", "reject", None),
            "auth.signUpRules.count-plus": rule(9, "email.contains(\"+\")", "log", None),
            "auth.signUpRules.restrict-test": rule(8, "email.endsWith(\"@test.org\")", "restrict", None),
            "auth.signUpRules.allow-vip": rule(7, "email.matches(\"^vip[0-9]+@\")", "allow", None),
            "auth.signUpRules.off": { "enabled": false, "priority": 10, "condition": "true", "action": { "type": "reject" } },
            "auth.signUpRulesDefaultAction": "allow",
        }),
    )
    .await
    .ok();

    // A reject rule's message is what the person is told.
    let r = sign_up(&client, "ann@blocked.com").await;
    r.known_error(403, "SIGN_UP_REJECTED");
    assert_eq!(r.message(), "We do not take sign-ups from blocked.com.");
    assert_eq!(
        r.body["details"]["message"],
        "We do not take sign-ups from blocked.com."
    );
    let r = sign_up(&client, "spammer@example.com").await;
    r.known_error(403, "SIGN_UP_REJECTED");
    assert_eq!(
        r.message(),
        "Your sign up was rejected by an administrator's sign-up rule."
    );
    // Nobody was created.
    let users = app.server(&p).get("/users").await.ok();
    assert_eq!(users["items"], json!([]));

    // A higher-priority allow decides before a lower reject; log and restrict pass on.
    sign_up(&client, "vip1@blocked.com").await.ok();
    let made = sign_up(&client, "x+y@test.org").await.ok();
    let id = made["user_id"].as_str().unwrap();
    let user = app.server(&p).get(&format!("/users/{id}")).await.ok();
    assert_eq!(user["restricted_by_admin"], true);
    assert_eq!(user["restricted_by_admin_reason"], Value::Null);
    assert_eq!(
        user["restricted_by_admin_private_details"],
        "Restricted by sign-up rule: restrict-test (restrict rule)"
    );
    assert_eq!(
        user["restricted_reason"],
        json!({ "type": "restricted_by_administrator" })
    );
    let c = claims(made["access_token"].as_str().unwrap());
    assert_eq!(
        (c["is_restricted"].clone(), c["restricted_reason"].clone()),
        (
            json!(true),
            json!({ "type": "restricted_by_administrator" })
        )
    );
    // The restricted user's token is refused where restricted users are not allowed.
    app.client(&p)
        .token(made["access_token"].as_str().unwrap())
        .without("x-stack-allow-anonymous-user")
        .get("/users/me")
        .await
        .known_error(403, "RESTRICTED_USER_NOT_ALLOWED");
    sign_up(&client, "plain@example.com").await.ok();

    // The default decides what no rule did; anonymous sign-up is never judged, its upgrade is.
    set(
        &app,
        &p,
        json!({ "auth.signUpRulesDefaultAction": "reject" }),
    )
    .await
    .ok();
    sign_up(&client, "nobody@example.com")
        .await
        .known_error(403, "SIGN_UP_REJECTED");
    let anon = client.post("/auth/anonymous/sign-up", json!({})).await.ok();
    let anon_client = app
        .client(&p)
        .header("x-stack-allow-anonymous-user", "true")
        .token(anon["access_token"].as_str().unwrap());
    sign_up(&anon_client, "anon@example.com")
        .await
        .known_error(403, "SIGN_UP_REJECTED");
    let upgraded = sign_up(&anon_client, "vip2@example.com").await.ok();
    assert_eq!(upgraded["user_id"], anon["user_id"]);

    // Every match was counted, by rule and action.
    let stats = app
        .admin(&p)
        .get("/internal/sign-up-rules-stats")
        .await
        .ok();
    assert_eq!(stats["analytics_hours"], 48);
    let count = |rule: &str| {
        let r = stats["rule_triggers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule_id"] == rule)
            .unwrap_or_else(|| panic!("{rule} in {stats}"));
        assert_eq!(r["hourly_counts"].as_array().unwrap().len(), 48);
        assert_eq!(r["total_count"], r["all_time_count"]);
        r["total_count"].as_i64().unwrap()
    };
    assert_eq!(count("a-block-domain"), 1);
    assert_eq!(count("b-no-message"), 1);
    assert_eq!(count("count-plus"), 1);
    assert_eq!(count("restrict-test"), 1);
    assert_eq!(count("allow-vip"), 2);
    assert_eq!(
        stats["triggers_by_action"],
        json!({ "allow": 2, "reject": 2, "restrict": 1, "log": 1 })
    );
    assert_eq!(stats["total_triggers"], 6);
    let last_hour = &stats["rule_triggers"][0]["hourly_counts"][47];
    assert!(last_hour["hour"].as_str().unwrap().ends_with(":00:00.000Z"));
    app.server(&p)
        .get("/internal/sign-up-rules-stats")
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
}

#[tokio::test]
async fn the_emailed_code_and_the_country_meet_the_rules() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let client = app.client(&p);
    let server = app.server(&p);
    set(
        &app,
        &p,
        json!({
            "auth.otp.allowSignIn": true,
            "auth.signUpRules.no-otp-here": rule(1, "authMethod == \"otp\" && emailDomain == \"otp.test\"", "reject", Some("Use a password.")),
            "auth.signUpRules.not-from-de": rule(1, "countryCode in [\"DE\", \"AT\"]", "reject", None),
        }),
    )
    .await
    .ok();
    let nonce = client
        .post(
            "/auth/otp/send-sign-in-code",
            json!({ "email": "new@otp.test", "callback_url": "http://localhost:3000/magic" }),
        )
        .await
        .ok()["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let email = mail(&server, "Your code is").await;
    let otp = crate::email_flows::subject_code(&email);
    let r = client
        .post(
            "/auth/otp/sign-in",
            json!({ "code": format!("{otp}{nonce}") }),
        )
        .await;
    r.known_error(403, "SIGN_UP_REJECTED");
    assert_eq!(r.message(), "Use a password.");
    // The same address signs up with a password.
    sign_up(&client, "new@otp.test").await.ok();

    // The trusted proxy's header (the test server reads `x-test-country`) gives the country.
    sign_up(
        &client.clone().header("x-test-country", "de"),
        "hans@example.com",
    )
    .await
    .known_error(403, "SIGN_UP_REJECTED");
    sign_up(
        &client.clone().header("x-test-country", "FR"),
        "jean@example.com",
    )
    .await
    .ok();
}

#[tokio::test]
async fn a_rule_failing_at_run_time_does_not_match_and_the_tester_says_so() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    set(
        &app,
        &p,
        json!({
            // Passes every check when saved, and overflows when it runs.
            "auth.signUpRules.overflows": rule(3, "size(email) * 9223372036854775807 > 1", "reject", None),
            "auth.signUpRules.restrict-example": rule(2, "emailDomain == \"example.com\"", "restrict", None),
            "auth.signUpRules.allow-ann": rule(1, "email == \"ann@example.com\"", "allow", None),
            "auth.signUpRules.no-condition": { "enabled": true, "priority": 0, "action": { "type": "reject" } },
            "auth.signUpRules.disabled": { "enabled": false, "priority": 0, "condition": "true", "action": { "type": "reject" } },
            "auth.signUpRulesDefaultAction": "reject",
        }),
    )
    .await
    .ok();
    sign_up(&app.client(&p), "ann@example.com").await.ok();

    let admin = app.admin(&p);
    let test = |email: Value, country: Value| {
        let admin = admin.clone();
        async move {
            admin
                .post(
                    "/internal/sign-up-rules-test",
                    json!({ "email": email, "auth_method": "password", "oauth_provider": null, "country_code": country }),
                )
                .await
        }
    };
    let t = test(json!("Ann@Example.com"), json!("us")).await.ok();
    assert_eq!(
        t["context"],
        json!({
            "email": "ann@example.com", "email_domain": "example.com", "country_code": "US", "auth_method": "password", "oauth_provider": "",
            "turnstile_result": "invalid", "risk_scores": { "bot": 0, "free_trial_abuse": 0 },
        })
    );
    let statuses: Vec<(String, String)> = t["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rule_id"].as_str().unwrap().into(),
                e["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("overflows".to_string(), "error".to_string()),
            ("restrict-example".into(), "matched".into()),
            ("allow-ann".into(), "matched".into()),
        ]
    );
    assert!(
        t["evaluations"][0]["error"]
            .as_str()
            .unwrap()
            .contains("verflow"),
        "{t}"
    );
    assert_eq!(
        t["outcome"],
        json!({ "should_allow": true, "decision": "allow", "decision_rule_id": "allow-ann", "restricted_because_of_rule_id": "restrict-example" })
    );
    let t = test(json!(null), json!(null)).await.ok();
    assert_eq!(t["outcome"]["decision"], "default-reject");
    let ids: Vec<&str> = t["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "overflows",
            "restrict-example",
            "allow-ann",
            "disabled",
            "no-condition"
        ]
    );
    assert_eq!(t["evaluations"][3]["status"], "disabled");
    assert_eq!(t["evaluations"][4]["status"], "missing_condition");

    test(json!("a@b.c"), json!("usa")).await.schema_error(
        "POST",
        "/internal/sign-up-rules-test",
        &["body.country_code must be a two-letter ISO 3166-1 country code"],
    );
    app.server(&p)
        .post("/internal/sign-up-rules-test", json!({ "email": null, "auth_method": "password", "oauth_provider": null, "country_code": null }))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
}
