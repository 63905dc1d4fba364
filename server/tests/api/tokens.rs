//! Access tokens checked from outside, the way the seed docs do it: a standard JWT library,
//! the project's JWKS, ES256, issuer and audience.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::helpers::TestApp;

async fn verify(
    app: &TestApp,
    project_id: &str,
    token: &str,
    jwks_query: &str,
    issuer_path: &str,
    audience: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let jwks: Value = app
        .anon()
        .get(&format!(
            "/projects/{project_id}/.well-known/jwks.json{jwks_query}"
        ))
        .await
        .ok();
    let header = decode_header(token)?;
    assert_eq!(header.alg, Algorithm::ES256);
    let kid = header.kid.expect("a kid in the header");
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
    else {
        return Err(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into());
    };
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    let key =
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())?;
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&[format!("{}/api/v1/{issuer_path}/{project_id}", app.base)]);
    v.set_audience(&[audience]);
    Ok(decode::<Value>(token, &key, &v)?.claims)
}

#[tokio::test]
async fn access_token_verifies_with_a_standard_jwt_library_through_the_jwks() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "jwt@example.com").await;
    let claims = verify(
        &app,
        &p.id,
        t["access_token"].as_str().unwrap(),
        "",
        "projects",
        &p.id,
    )
    .await
    .expect("valid token");
    assert_eq!(claims["sub"], t["user_id"]);
    assert_eq!(claims["project_id"], p.id.as_str());
    assert_eq!(claims["branch_id"], "main");
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["email"], "jwt@example.com");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["is_anonymous"], false);
    assert_eq!(claims["is_restricted"], false);
    assert_eq!(claims["restricted_reason"], Value::Null);
    assert_eq!(claims["requires_totp_mfa"], false);
    assert!(claims["refresh_token_id"].is_string());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 3600, "short-lived");
    for key in ["name", "selected_team_id", "signed_up_at"] {
        assert!(claims.get(key).is_some(), "claim {key}");
    }
    // Another project's keys do not verify it.
    let q = app.project().await;
    assert!(verify(
        &app,
        &q.id,
        t["access_token"].as_str().unwrap(),
        "",
        "projects",
        &p.id
    )
    .await
    .is_err());
}

#[tokio::test]
async fn anonymous_tokens_have_their_own_issuer_audience_and_key() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let anon = app
        .client(&p)
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    let at = anon["access_token"].as_str().unwrap();
    assert!(
        verify(&app, &p.id, at, "", "projects", &p.id)
            .await
            .is_err(),
        "plain JWKS does not vouch for anonymous users"
    );
    let claims = verify(
        &app,
        &p.id,
        at,
        "?include_anonymous=true",
        "projects-anonymous-users",
        &format!("{}:anon", p.id),
    )
    .await
    .expect("valid anonymous token");
    assert_eq!(claims["is_anonymous"], true);
    assert_eq!(claims["restricted_reason"]["type"], "anonymous");
    let jwks = app
        .anon()
        .get(&format!(
            "/projects/{}/.well-known/jwks.json?include_anonymous=true&include_restricted=true",
            p.id
        ))
        .await
        .ok();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn restricted_users_get_restricted_tokens() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let u = app.server(&p).post("/users", json!({ "primary_email": "r@example.com", "restricted_by_admin": true, "restricted_by_admin_reason": "Under review" })).await.ok();
    assert_eq!(u["is_restricted"], true);
    assert_eq!(
        u["restricted_reason"]["type"],
        "restricted_by_administrator"
    );
    let t = app
        .server(&p)
        .post("/auth/sessions", json!({ "user_id": u["id"] }))
        .await
        .ok();
    let claims = verify(
        &app,
        &p.id,
        t["access_token"].as_str().unwrap(),
        "?include_restricted=true",
        "projects-restricted-users",
        &format!("{}:restricted", p.id),
    )
    .await
    .expect("valid restricted token");
    assert_eq!(claims["is_restricted"], true);
    let r = app
        .server(&p)
        .post(
            "/users",
            json!({ "primary_email": "x@example.com", "restricted_by_admin_reason": "no" }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
}

#[tokio::test]
async fn tokens_are_checked_against_the_project_and_their_signature() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let q = app.project().await;
    let t = app.sign_up(&p, "t@example.com").await;
    let at = t["access_token"].as_str().unwrap();
    let r = app.client(&q).token(at).get("/users/me").await;
    r.known_error(401, "INVALID_PROJECT_FOR_ACCESS_TOKEN");
    assert_eq!(r.body["details"]["expected_project_id"], q.id.as_str());
    app.client(&p)
        .token("not.a.token")
        .get("/users/me")
        .await
        .known_error(401, "UNPARSABLE_ACCESS_TOKEN");
    // Tampering with the claims breaks the signature.
    let parts: Vec<&str> = at.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["email"] = json!("admin@example.com");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    app.client(&p)
        .token(&forged)
        .get("/users/me")
        .await
        .known_error(401, "UNPARSABLE_ACCESS_TOKEN");
    app.anon()
        .get("/projects/nope/.well-known/jwks.json")
        .await
        .known_error(404, "PROJECT_NOT_FOUND");
}
