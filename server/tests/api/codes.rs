//! One-time codes through the core, on the test database: single use, expiry, the attempt
//! limit per nonce, kinds kept apart, and check without use.

use gatehouse_core::codes::{consume_code, issue_code, CodeKind, NewCode, MAX_ATTEMPTS};
use gatehouse_core::Error;
use serde_json::json;

use crate::helpers::TestApp;

async fn issue(
    app: &TestApp,
    project: &str,
    kind: CodeKind,
    lifetime_ms: Option<i64>,
) -> gatehouse_core::codes::IssuedCode {
    let mut tx = app.core.begin().await.unwrap();
    let code = issue_code(
        &mut tx,
        NewCode {
            project_id: project.into(),
            kind,
            user_id: None,
            method: json!({ "email": "ada@example.com" }),
            data: json!({ "purpose": "test" }),
            redirect_url: None,
            lifetime_ms,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    code
}

async fn redeem(app: &TestApp, project: &str, kind: CodeKind, code: &str) -> Result<(), Error> {
    let found = app.core.check_code(project, kind, code).await?;
    let mut tx = app.core.begin().await.unwrap();
    consume_code(&mut tx, &found).await?;
    tx.commit().await.unwrap();
    Ok(())
}

fn code_of(e: Result<impl std::fmt::Debug, Error>) -> &'static str {
    e.expect_err("refused").code().unwrap()
}

#[tokio::test]
async fn a_code_is_good_once_in_any_case_and_only_for_its_kind_and_project() {
    let app = TestApp::spawn().await;
    let (p, other) = (app.project().await, app.project().await);
    let issued = issue(&app, &p.id, CodeKind::PasswordReset, None).await;
    assert_eq!(issued.code.len(), 45);
    assert_eq!(issued.otp().len(), 6);
    assert_eq!(
        format!("{}{}", issued.otp().to_lowercase(), issued.nonce()),
        issued.code
    );
    // Stored only as a hash.
    let stored: i64 = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM one_time_codes WHERE code_hash = $1 OR nonce_hash = $1",
    )
    .bind(&issued.code)
    .fetch_one(&app.core.db.pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);

    assert_eq!(
        code_of(redeem(&app, &p.id, CodeKind::TeamInvitation, &issued.code).await),
        "VERIFICATION_CODE_NOT_FOUND"
    );
    assert_eq!(
        code_of(redeem(&app, &other.id, CodeKind::PasswordReset, &issued.code).await),
        "VERIFICATION_CODE_NOT_FOUND"
    );
    // Checking does not use it; the code is accepted in upper case as emails show it.
    let checked = app
        .core
        .check_code(&p.id, CodeKind::PasswordReset, &issued.code.to_uppercase())
        .await
        .unwrap();
    assert_eq!(checked.data, json!({ "purpose": "test" }));
    assert_eq!(checked.method, json!({ "email": "ada@example.com" }));
    redeem(&app, &p.id, CodeKind::PasswordReset, &issued.code)
        .await
        .unwrap();
    let again = redeem(&app, &p.id, CodeKind::PasswordReset, &issued.code).await;
    assert_eq!(code_of(again), "VERIFICATION_CODE_ALREADY_USED");
    let e = app
        .core
        .check_code(&p.id, CodeKind::PasswordReset, &issued.code)
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.message().as_str()),
        (409, "The verification link has already been used.")
    );
}

#[tokio::test]
async fn a_code_expires() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let issued = issue(&app, &p.id, CodeKind::ContactChannelVerification, Some(-1)).await;
    let e = app
        .core
        .check_code(&p.id, CodeKind::ContactChannelVerification, &issued.code)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code().unwrap(), e.status(), e.message().as_str()),
        (
            "VERIFICATION_CODE_EXPIRED",
            400,
            "The verification code has expired."
        )
    );
    let fresh = issue(&app, &p.id, CodeKind::ContactChannelVerification, None).await;
    let week = fresh.record.expires_at - fresh.record.created_at;
    assert_eq!(
        week,
        7 * 24 * 3600 * 1000,
        "seven days unless the kind says otherwise"
    );
}

#[tokio::test]
async fn wrong_guesses_at_a_one_time_password_use_up_its_nonce() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let issued = issue(&app, &p.id, CodeKind::OneTimePassword, None).await;
    // Wrong passwords sent with the right nonce: each one counts.
    let wrong = if issued.code.starts_with("000000") {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..MAX_ATTEMPTS {
        let guess = format!("{wrong}{}", issued.nonce());
        let e = app
            .core
            .check_code(&p.id, CodeKind::OneTimePassword, &guess)
            .await
            .unwrap_err();
        assert_eq!(
            (e.code().unwrap(), e.status()),
            ("VERIFICATION_CODE_NOT_FOUND", 404)
        );
    }
    // Now even the right one is refused.
    let e = app
        .core
        .check_code(&p.id, CodeKind::OneTimePassword, &issued.code)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("VERIFICATION_CODE_MAX_ATTEMPTS_REACHED"));
    assert_eq!(e.message(), "The verification code nonce has reached the maximum number of attempts. This code is not valid anymore.");
    // Another code's nonce is untouched.
    let other = issue(&app, &p.id, CodeKind::OneTimePassword, None).await;
    redeem(&app, &p.id, CodeKind::OneTimePassword, &other.code)
        .await
        .unwrap();
}

#[tokio::test]
async fn live_codes_list_and_revoke() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let a = issue(&app, &p.id, CodeKind::TeamInvitation, None).await;
    let b = issue(&app, &p.id, CodeKind::TeamInvitation, None).await;
    issue(&app, &p.id, CodeKind::TeamInvitation, Some(-1)).await;
    redeem(&app, &p.id, CodeKind::TeamInvitation, &b.code)
        .await
        .unwrap();
    let live: Vec<_> = app
        .core
        .live_codes(&p.id, CodeKind::TeamInvitation)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        live,
        vec![a.record.id.clone()],
        "used and expired codes are not live"
    );
    assert!(app
        .core
        .revoke_code(&p.id, CodeKind::TeamInvitation, &a.record.id)
        .await
        .unwrap());
    assert_eq!(
        code_of(redeem(&app, &p.id, CodeKind::TeamInvitation, &a.code).await),
        "VERIFICATION_CODE_NOT_FOUND"
    );
}
