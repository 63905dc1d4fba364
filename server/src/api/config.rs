//! The config tree: the rendered config, and the override at each level.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::auth::{AccessType, Auth};
use gatehouse_core::config::Level;
use gatehouse_core::validation::{array, invalid, object, string, Input, Shape};
use gatehouse_core::{Core, Error};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Authed, Body};
use super::{success, ApiResult};

/// `GET /internal/config`: the rendered config, as JSON text.
pub async fn rendered(Authed(auth): Authed) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    Ok(Json(
        json!({ "config_string": auth.project.config.tree.to_string() }),
    ))
}

/// The level in the path, after the access check Stack makes first: server keys manage the
/// branch override only.
fn level_for(auth: &Auth, level: &str, allowed: &[Level]) -> Result<Level, Error> {
    let level = Level::parse(level)
        .filter(|l| allowed.contains(l))
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|l| l.as_str()).collect();
            invalid(format!(
                "params.level must be one of the following values: {}",
                names.join(", ")
            ))
        })?;
    if auth.access == AccessType::Server && level != Level::Branch {
        return Err(Error::Status(
            403,
            "Server access can only manage branch config overrides.".into(),
        ));
    }
    Ok(level)
}

pub async fn get_override(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(level): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let level = level_for(&auth, &level, &Level::ALL)?;
    let overrides = core.config_overrides(&auth.project.id).await?;
    let text = Value::Object(overrides.get(level).clone()).to_string();
    Ok(Json(json!({ "config_string": text })))
}

#[derive(Deserialize)]
pub struct SetOverride {
    config_string: String,
    source: Option<Value>,
}

impl Input for SetOverride {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("config_string", string().defined())
            .field("source", object().custom(check_source))
    }
}

/// Where a pushed branch config came from: GitHub (with the repository, branch, commit and
/// file), somewhere unknown, or nowhere (`unlinked`: edited in the dashboard).
fn check_source(at: &str, v: &Value) -> Option<String> {
    let needs: &[&str] = match v["type"].as_str() {
        Some("pushed-from-github") => &["owner", "repo", "branch", "commit_hash", "config_file_path"],
        Some("pushed-from-unknown" | "unlinked") => &[],
        _ => {
            return Some(format!(
                "{at}.type must be one of the following values: pushed-from-github, pushed-from-unknown, unlinked"
            ))
        }
    };
    needs
        .iter()
        .find(|f| !v[**f].is_string())
        .map(|f| format!("{at}.{f} must be defined"))
}

/// `PUT …/override/{level}`: replaces the override. A branch override says where it came from.
pub async fn set_override(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(level): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let input: SetOverride = body.read(&auth)?;
    let level = level_for(&auth, &level, &Level::ALL)?;
    core.set_config_override(
        &auth.project.id,
        &auth.who(),
        level,
        &input.config_string,
        input.source.as_ref(),
    )
    .await?;
    Ok(success())
}

#[derive(Deserialize)]
pub struct PatchOverride {
    config_override_string: String,
}

impl Input for PatchOverride {
    fn shape(_: bool) -> Shape {
        Shape::new().field("config_override_string", string().defined())
    }
}

/// `PATCH …/override/{level}`: lays the given keys over the stored override.
pub async fn patch_override(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(level): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let input: PatchOverride = body.read(&auth)?;
    let level = level_for(&auth, &level, &Level::ALL)?;
    core.patch_config_override(
        &auth.project.id,
        &auth.who(),
        level,
        &input.config_override_string,
    )
    .await?;
    Ok(success())
}

#[derive(Deserialize)]
pub struct ResetKeys {
    keys: Vec<String>,
}

impl Input for ResetKeys {
    fn shape(_: bool) -> Shape {
        Shape::new().field("keys", array(string().defined()).defined())
    }
}

/// `POST …/override/{branch|environment}/reset-keys`: removes keys and what lies below them.
pub async fn reset_keys(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path(level): Path<String>,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let input: ResetKeys = body.read(&auth)?;
    let level = level_for(&auth, &level, &[Level::Branch, Level::Environment])?;
    core.reset_config_keys(&auth.project.id, &auth.who(), level, &input.keys)
        .await?;
    Ok(success())
}

/// `GET /internal/config/source`: where the branch config was pushed from.
pub async fn source(State(core): State<Core>, Authed(auth): Authed) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let source = core.config_source(&auth.project.id).await?;
    Ok(Json(json!({ "source": source })))
}

/// `DELETE /internal/config/source`: the branch config is edited here from now on.
pub async fn unlink_source(
    State(core): State<Core>,
    Authed(auth): Authed,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    core.unlink_config_source(&auth.project.id, &auth.who())
        .await?;
    Ok(success())
}
