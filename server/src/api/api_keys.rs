//! `/user-api-keys` and `/team-api-keys` (the two kinds share every handler, told apart by the
//! route), and `/integrations/credential-scanning/revoke`.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::api_keys::{ApiKeyCreate, ApiKeyUpdate, KeyType, Owner};
use gatehouse_core::auth::Auth;
use gatehouse_core::teams::Actor;
use gatehouse_core::validation::{self, string, Input, Issues, Shape};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::Value;

use super::extract::{user_or_me, uuid_param, Authed, Body, QueryParams};
use super::{list, success, ApiResult};

fn key_type(team: bool) -> KeyType {
    if team {
        KeyType::Team
    } else {
        KeyType::User
    }
}

/// The owner a request names (`user_id`, which may be `me`, or `team_id`), or Stack's schema
/// message when it names none.
fn owner(
    auth: &Auth,
    team: bool,
    user_id: Option<&str>,
    team_id: Option<&str>,
    at: &str,
) -> Result<Owner, Error> {
    if team {
        let id = team_id
            .ok_or_else(|| Error::SchemaMessage("team_id is required for team API keys".into()))?;
        Ok(Owner::Team(id.to_string()))
    } else {
        let id = user_id
            .ok_or_else(|| Error::SchemaMessage("user_id is required for user API keys".into()))?;
        Ok(Owner::User(user_or_me(auth, &format!("{at}.user_id"), id)?))
    }
}

pub async fn create<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let mut issues = Issues::new();
    let input: Option<ApiKeyCreate> =
        issues.read("body", body.0, &ApiKeyCreate::shape(key_type(TEAM)));
    issues.finish()?;
    let input = input.ok_or_else(|| Error::internal("validated body without a value"))?;
    let owner = owner(
        &auth,
        TEAM,
        input.user_id.as_deref(),
        input.team_id.as_deref(),
        "body",
    )?;
    let (key, secret) = core
        .create_api_key(&auth.project, Actor::of(&auth), owner, input, &auth.who())
        .await?;
    Ok(Json(key.view(Some(&secret))))
}

#[derive(Deserialize)]
pub struct ListQuery {
    user_id: Option<String>,
    team_id: Option<String>,
}

pub fn list_shape(team: bool) -> Shape {
    if team {
        Shape::new().field("team_id", string().uuid().defined())
    } else {
        Shape::new().field("user_id", string().user_id_or_me())
    }
}

pub async fn list_keys<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let query: ListQuery =
        validation::read("query", validation::query_value(&q.0), &list_shape(TEAM))?;
    let owner = owner(
        &auth,
        TEAM,
        query.user_id.as_deref(),
        query.team_id.as_deref(),
        "query",
    )?;
    let keys = core
        .list_api_keys(&auth.project, Actor::of(&auth), &owner)
        .await?;
    Ok(list(keys.iter().map(|k| k.view(None)).collect(), None))
}

pub async fn read<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    uuid_param("api_key_id", &id)?;
    let key = core
        .api_key(&auth.project, Actor::of(&auth), key_type(TEAM), &id)
        .await?;
    Ok(Json(key.view(None)))
}

pub async fn update<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    uuid_param("api_key_id", &id)?;
    let input: ApiKeyUpdate = body.read(&auth)?;
    let key = core
        .update_api_key(
            &auth.project,
            Actor::of(&auth),
            key_type(TEAM),
            &id,
            input,
            &auth.who(),
        )
        .await?;
    Ok(Json(key.view(None)))
}

#[derive(Deserialize)]
pub struct CheckBody {
    api_key: String,
}

impl Input for CheckBody {
    fn shape(_: bool) -> Shape {
        Shape::new().field("api_key", string().defined())
    }
}

/// `POST /…-api-keys/check` (server access): the key's owner, or why it is not good.
pub async fn check<const TEAM: bool>(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let b: CheckBody = body.read(&auth)?;
    let key = core
        .check_api_key(&auth.project, key_type(TEAM), &b.api_key)
        .await?;
    Ok(Json(key.view(None)))
}

/// `POST /integrations/credential-scanning/revoke`: no credentials; holding the key is the
/// proof.
pub async fn revoke_leaked(State(core): State<Core>, body: Body) -> ApiResult<Json<Value>> {
    let b: CheckBody = validation::read("body", body.0, &CheckBody::shape(true))?;
    core.revoke_leaked_api_key(&b.api_key).await?;
    Ok(success())
}
