//! The account door: every way in (password, emailed code, OAuth) against every case, each in a
//! fresh project, with the outcomes Stack's code gives (`createOrUpgradeAnonymousUserWithRules`
//! in `lib/users.tsx` and its callers: `auth/password/sign-up/route.tsx`,
//! `auth/otp/sign-in/verification-code-handler.tsx` with `ensureUserForEmailAllowsOtp`, and
//! `lib/oauth.tsx` with the callback route's merge strategies). Gatehouse's one addition: a
//! project whose sign-up is closed lets in, by password, the person a team invitation was
//! mailed to.

use serde_json::{json, Value};

use crate::email_flows::{link_code, mail};
use crate::helpers::{Project, TestApp, PASSWORD};
use crate::oauth_support::{query, Flow, CALLBACK};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    Password,
    Code,
    OAuth,
}

#[derive(Clone, Copy, Debug)]
enum Case {
    NewUser,
    AnonymousUpgrade,
    AnonymousUpgradeWhileSignUpOff,
    SignUpOff,
    RuleRejects,
    RuleRestricts,
    EmailAlreadyUsed,
    SignUpOffButInvited,
}

impl Case {
    const ALL: [Case; 8] = [
        Case::NewUser,
        Case::AnonymousUpgrade,
        Case::AnonymousUpgradeWhileSignUpOff,
        Case::SignUpOff,
        Case::RuleRejects,
        Case::RuleRestricts,
        Case::EmailAlreadyUsed,
        Case::SignUpOffButInvited,
    ];
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// A new user with the address, not anonymous, unrestricted.
    Made,
    /// The signed-in anonymous user, now with the address.
    Upgraded,
    /// A new user, restricted by the rule that matched.
    Restricted,
    /// Refused with this known error.
    Refused(String),
}

use Case::*;
use Method::*;
use Outcome::*;

fn refused(code: &str) -> Outcome {
    Refused(code.into())
}

/// Stack's answer for each case and way in.
fn expected(case: Case, method: Method) -> Outcome {
    match (case, method) {
        (NewUser, _) => Made,
        (AnonymousUpgrade, _) => Upgraded,
        (AnonymousUpgradeWhileSignUpOff | SignUpOff, _) => refused("SIGN_UP_NOT_ENABLED"),
        (RuleRejects, _) => refused("SIGN_UP_REJECTED"),
        (RuleRestricts, _) => Restricted,
        // The address belongs to an account whose email is not verified.
        (EmailAlreadyUsed, Password | Code) => refused("USER_EMAIL_ALREADY_EXISTS"),
        (EmailAlreadyUsed, OAuth) => {
            refused("CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE")
        }
        (SignUpOffButInvited, Password) => Made,
        (SignUpOffButInvited, Code | OAuth) => refused("SIGN_UP_NOT_ENABLED"),
    }
}

/// What happened: the new account's id, or the known error's code.
type Attempt = Result<String, String>;

async fn by_password(app: &TestApp, p: &Project, email: &str, anon: Option<&str>) -> Attempt {
    let client = match anon {
        Some(t) => app.client(p).token(t),
        None => app.client(p),
    };
    let r = client
        .post(
            "/auth/password/sign-up",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    refused_or(&r.body, r.status, || {
        r.body["user_id"].as_str().unwrap().into()
    })
}

async fn by_code(app: &TestApp, p: &Project, email: &str, anon: Option<&str>) -> Attempt {
    let client = match anon {
        Some(t) => app.client(p).token(t),
        None => app.client(p),
    };
    let sent = client
        .post(
            "/auth/otp/send-sign-in-code",
            json!({ "email": email, "callback_url": "http://localhost:3000/cb" }),
        )
        .await;
    if sent.status != 200 {
        return refused_or(&sent.body, sent.status, String::new);
    }
    let nonce = sent.body["nonce"].as_str().unwrap();
    // Each case has a project of its own: its one sign-in email.
    let m = mail(&app.server(p), "Sign in to Test project").await;
    let otp = crate::email_flows::subject_code(&m);
    let r = client
        .post(
            "/auth/otp/sign-in",
            json!({ "code": format!("{otp}{nonce}") }),
        )
        .await;
    refused_or(&r.body, r.status, || {
        r.body["user_id"].as_str().unwrap().into()
    })
}

async fn by_oauth(app: &TestApp, p: &Project, email: &str, anon: Option<&str>) -> Attempt {
    let flow = Flow::new();
    let extra: Vec<(&str, &str)> = anon.map(|t| ("token", t)).into_iter().collect();
    let back = flow.run(app, p, "github", Some(email), &extra).await;
    let q = query(&back);
    assert!(back.starts_with(CALLBACK), "{back}");
    if let Some(code) = q.get("errorCode") {
        return Err(code.clone());
    }
    let res = flow.exchange(app, p, &q["code"]).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    let me = app
        .client(p)
        .token(tokens["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    Ok(me["id"].as_str().unwrap().into())
}

fn refused_or(body: &Value, status: u16, id: impl FnOnce() -> String) -> Attempt {
    if status < 300 {
        Ok(id())
    } else {
        Err(body["code"]
            .as_str()
            .unwrap_or("(not a known error)")
            .to_string())
    }
}

/// Runs one case for one way in, in a project of its own; returns what Stack's rules say
/// happened.
async fn run(app: &TestApp, case: Case, method: Method) -> Outcome {
    let p = app.project().await;
    let server = app.server(&p);
    app.configure(
        &p,
        json!({
            "auth.otp.allowSignIn": true,
            "auth.oauth.providers.github": {
                "type": "github", "isShared": true, "allowSignIn": true, "allowConnectedAccounts": true,
            },
            "auth.signUpRules.block": {
                "enabled": true, "displayName": "Blocked", "priority": 2,
                "condition": "emailDomain == \"blocked.example\"", "action": { "type": "reject" },
            },
            "auth.signUpRules.watch": {
                "enabled": true, "displayName": "Watch list", "priority": 1,
                "condition": "emailDomain == \"watched.example\"", "action": { "type": "restrict" },
            },
        }),
    )
    .await;
    let email = match case {
        RuleRejects => "ada@blocked.example",
        RuleRestricts => "ada@watched.example",
        _ => "ada@example.com",
    };
    let anon = match case {
        AnonymousUpgrade | AnonymousUpgradeWhileSignUpOff => {
            let t = app
                .client(&p)
                .post("/auth/anonymous/sign-up", json!({}))
                .await
                .ok();
            Some((
                t["user_id"].as_str().unwrap().to_string(),
                t["access_token"].as_str().unwrap().to_string(),
            ))
        }
        _ => None,
    };
    if let EmailAlreadyUsed = case {
        // An account signing in with the address, not yet verified.
        app.sign_up(&p, email).await;
    }
    if let AnonymousUpgradeWhileSignUpOff | SignUpOff | SignUpOffButInvited = case {
        app.configure(&p, json!({ "auth.allowSignUp": false }))
            .await;
    }
    let invitation = match case {
        SignUpOffButInvited => {
            let team = server
                .post("/teams", json!({ "display_name": "Lab" }))
                .await
                .ok();
            server
                .post(
                    "/team-invitations/send-code",
                    json!({ "team_id": team["id"], "email": email, "callback_url": "http://localhost:3000/join" }),
                )
                .await
                .ok();
            Some(link_code(&mail(&server, "invited to join Lab").await))
        }
        _ => None,
    };
    let anon_token = anon.as_ref().map(|(_, t)| t.as_str());
    let attempt = match (method, &invitation) {
        (Password, Some(code)) => {
            let project = app.core.project(&p.id).await.unwrap().unwrap();
            let input = gatehouse_core::sign_up::PasswordSignUp {
                email: email.into(),
                password: PASSWORD.into(),
                ..Default::default()
            };
            app.core
                .password_sign_up_by_invitation(&project, input, code)
                .await
                .map(|t| t.user_id)
                .map_err(|e| e.code().unwrap_or("(not a known error)").to_string())
        }
        (Password, None) => by_password(app, &p, email, anon_token).await,
        (Code, _) => by_code(app, &p, email, anon_token).await,
        (OAuth, _) => by_oauth(app, &p, email, anon_token).await,
    };
    let id = match attempt {
        Ok(id) => id,
        Err(code) => return Refused(code),
    };
    let user = server.get(&format!("/users/{id}")).await.ok();
    assert_eq!(
        user["primary_email"], email,
        "{case:?} by {method:?}: {user}"
    );
    assert_eq!(user["is_anonymous"], false);
    if invitation.is_some() {
        assert_eq!(
            user["primary_email_verified"], true,
            "the invitation's code proved it"
        );
    }
    if let Some((anon_id, _)) = &anon {
        return if *anon_id == id { Upgraded } else { Made };
    }
    if user["restricted_by_admin"] == true {
        assert_eq!(
            user["restricted_by_admin_private_details"],
            "Restricted by sign-up rule: watch (Watch list)"
        );
        return Restricted;
    }
    Made
}

#[tokio::test]
async fn every_way_in_meets_every_case_as_stack_answers() {
    let app = TestApp::spawn_with_oauth(gatehouse_core::setup::InternalSeed {
        sign_up_enabled: true,
        ..Default::default()
    })
    .await;
    // Dozens of dashboard sign-ups (a project per case) from this one address.
    app.configure(
        &app.internal(),
        json!({ "security.rateLimits.signUp.perIp.max": 0 }),
    )
    .await;
    let mut wrong = vec![];
    for case in Case::ALL {
        for method in [Password, Code, OAuth] {
            let got = run(&app, case, method).await;
            let want = expected(case, method);
            if got != want {
                wrong.push(format!(
                    "{case:?} by {method:?}: got {got:?}, Stack gives {want:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
