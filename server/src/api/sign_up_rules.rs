//! `POST /internal/sign-up-rules-test` (what every rule makes of a hypothetical sign-up) and
//! `GET /internal/sign-up-rules-stats` (triggers per rule per hour): the admin's tools for the
//! project's sign-up rules, which live in the config tree.

use axum::extract::State;
use axum::Json;
use gatehouse_core::sign_up_rules::{self, country_code_of, AuthMethod, Facts};
use gatehouse_core::users::RiskScores;
use gatehouse_core::validation::{integer, nested, string, Input, Shape};
use gatehouse_core::Core;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Authed, Body};
use super::ApiResult;

#[derive(Deserialize)]
pub struct TestSignUp {
    email: Option<String>,
    auth_method: String,
    oauth_provider: Option<String>,
    country_code: Option<String>,
    turnstile_result: Option<String>,
    risk_scores: Option<Value>,
}

fn country_rule(at: &str, v: &Value) -> Option<String> {
    let s = v.as_str()?;
    country_code_of(s)
        .is_none()
        .then(|| format!("{at} must be a two-letter ISO 3166-1 country code"))
}

impl Input for TestSignUp {
    fn shape(_: bool) -> Shape {
        let methods: Vec<Value> = AuthMethod::ALL.iter().map(|m| json!(m.as_str())).collect();
        Shape::new()
            .field("email", string().nullable().defined())
            .field("auth_method", string().one_of(&methods).defined())
            .field("oauth_provider", string().nullable().defined())
            .field(
                "country_code",
                string().nullable().defined().custom(country_rule),
            )
            .field(
                "turnstile_result",
                string().one_of(&[json!("ok"), json!("invalid"), json!("error")]),
            )
            .field(
                "risk_scores",
                nested(
                    Shape::new()
                        .field("bot", integer().min(0.0).max(100.0).defined())
                        .field("free_trial_abuse", integer().min(0.0).max(100.0).defined()),
                ),
            )
    }
}

pub async fn test(Authed(auth): Authed, body: Body) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let b: TestSignUp = body.read(&auth)?;
    let method = AuthMethod::parse(&b.auth_method).unwrap_or(AuthMethod::Password);
    let score = |field: &str| {
        b.risk_scores
            .as_ref()
            .and_then(|r| r[field].as_u64())
            .unwrap_or(0)
            .min(100) as u8
    };
    let risk = RiskScores {
        bot: score("bot"),
        free_trial_abuse: score("free_trial_abuse"),
    };
    let facts = Facts::new(
        b.email.as_deref(),
        method,
        b.oauth_provider.as_deref(),
        b.country_code.as_deref(),
    )
    .with_risk(risk);
    let mut answer = sign_up_rules::evaluate(&auth.project.config.tree, &facts).to_json();
    // Stack's context carries the bot check's result and the risk scores: what the request
    // says (the tester asks "what if"), else Stack's defaults for a sign-up without a check.
    answer["context"]["turnstile_result"] =
        json!(b.turnstile_result.as_deref().unwrap_or("invalid"));
    answer["context"]["risk_scores"] = json!(risk);
    Ok(Json(answer))
}

pub async fn stats(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    Ok(Json(
        core.sign_up_rule_stats(&auth.project.id).await?.to_json(),
    ))
}
