//! The dashboard's server functions for webhooks: endpoints (make, enable or disable, delete),
//! an endpoint's secret (reveal, rotate), its delivery attempts with payload and answer,
//! replay, and the test event. Each is a few lines over the core calls the REST API makes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Empty: every event type.
    pub event_types: Vec<String>,
    pub disabled: bool,
    /// When its current run of failed attempts began.
    pub failing_since: Option<i64>,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WebhooksView {
    pub project_name: String,
    pub endpoints: Vec<EndpointRow>,
    /// Every event type an endpoint can listen to.
    pub event_types: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttemptRow {
    pub id: String,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    pub succeeded: bool,
    pub status_code: i64,
    pub response: String,
    pub duration_ms: i64,
    pub manual: bool,
    pub at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EndpointView {
    pub project_name: String,
    pub endpoint: EndpointRow,
    /// Newest first.
    pub attempts: Vec<AttemptRow>,
    /// Shown only when the page asks (`?secret=show`).
    pub secret: Option<String>,
}

#[cfg(feature = "ssr")]
fn endpoint_row(e: gatehouse_core::webhooks::Endpoint) -> EndpointRow {
    EndpointRow {
        id: e.id,
        url: e.url,
        description: e.description,
        event_types: e.event_types.unwrap_or_default(),
        disabled: e.disabled,
        failing_since: e.failing_since,
        created_at: e.created_at,
    }
}

#[server(prefix = "/_sfn")]
pub async fn load_webhooks(project_id: String) -> Result<WebhooksView, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let endpoints = ssr::core()
        .webhook_endpoints(&project.id)
        .await
        .map_err(ssr::shown)?;
    Ok(WebhooksView {
        project_name: project.display_name,
        endpoints: endpoints.into_iter().map(endpoint_row).collect(),
        event_types: gatehouse_core::webhooks::EVENT_TYPES
            .iter()
            .map(|t| t.to_string())
            .collect(),
    })
}

/// Makes an endpoint and opens its page. `event_types` are the boxes ticked (none: all).
#[server(prefix = "/_sfn")]
pub async fn create_webhook(
    project_id: String,
    url: String,
    description: String,
    event_types: Option<Vec<String>>,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let input = gatehouse_core::webhooks::EndpointInput {
        url: url.trim().to_string(),
        description: description.trim().to_string(),
        event_types: event_types.filter(|t| !t.is_empty()),
        disabled: false,
        secret: None,
    };
    let endpoint = ssr::core()
        .create_webhook_endpoint(&project, input, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{project_id}/webhooks/{}", endpoint.id));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn load_webhook_endpoint(
    project_id: String,
    endpoint_id: String,
    show_secret: bool,
) -> Result<EndpointView, ServerFnError> {
    use gatehouse_core::webhooks::AttemptsOf;
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let endpoint = core
        .webhook_endpoint(&project.id, &endpoint_id)
        .await
        .map_err(ssr::shown)?;
    let attempts = core
        .webhook_attempts(&project.id, AttemptsOf::Endpoint(&endpoint_id), 100, None)
        .await
        .map_err(ssr::shown)?
        .items;
    let mut rows = Vec::with_capacity(attempts.len());
    let mut messages = std::collections::HashMap::new();
    for a in attempts {
        if !messages.contains_key(&a.message_id) {
            let m = core.webhook_message(&project.id, &a.message_id).await.ok();
            messages.insert(a.message_id.clone(), m);
        }
        let message = messages[&a.message_id].as_ref();
        rows.push(AttemptRow {
            event_type: message.map(|m| m.event_type.clone()).unwrap_or_default(),
            payload: message
                .and_then(|m| serde_json::to_string_pretty(&m.payload).ok())
                .unwrap_or_default(),
            succeeded: a.status == "success",
            manual: a.trigger_type == "manual",
            id: a.id,
            message_id: a.message_id,
            status_code: a.response_status_code,
            response: a.response,
            duration_ms: a.duration_ms,
            at: a.created_at,
        });
    }
    let secret = if show_secret {
        Some(
            core.webhook_secret(&project.id, &endpoint_id)
                .await
                .map_err(ssr::shown)?,
        )
    } else {
        None
    };
    Ok(EndpointView {
        project_name: project.display_name,
        endpoint: endpoint_row(endpoint),
        attempts: rows,
        secret,
    })
}

/// Switches an endpoint on or off (`enable`: "true" or "false").
#[server(prefix = "/_sfn")]
pub async fn set_webhook_enabled(
    project_id: String,
    endpoint_id: String,
    enable: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let e = core
        .webhook_endpoint(&project.id, &endpoint_id)
        .await
        .map_err(ssr::shown)?;
    let input = gatehouse_core::webhooks::EndpointInput {
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        disabled: enable != "true",
        secret: None,
    };
    core.update_webhook_endpoint(&project, &endpoint_id, input, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn delete_webhook(project_id: String, endpoint_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .delete_webhook_endpoint(&project, &endpoint_id, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{project_id}/webhooks"));
    Ok(())
}

/// A new secret; the old one keeps signing for a day beside it.
#[server(prefix = "/_sfn")]
pub async fn rotate_webhook_secret(
    project_id: String,
    endpoint_id: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .rotate_webhook_secret(
            &project,
            &endpoint_id,
            None,
            None,
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)
}

#[server(prefix = "/_sfn")]
pub async fn replay_webhook(
    project_id: String,
    endpoint_id: String,
    message_id: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .resend_webhook_message(&project.id, &message_id, &endpoint_id)
        .await
        .map_err(ssr::shown)
}

/// Sends a `stack.test` event and says how its attempt went.
#[server(prefix = "/_sfn")]
pub async fn send_test_webhook(
    project_id: String,
    endpoint_id: String,
) -> Result<String, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    match ssr::core()
        .send_test_webhook(&project, &endpoint_id)
        .await
        .map_err(ssr::shown)?
    {
        Ok(()) => Ok("The test event was delivered.".into()),
        Err(why) => Err(ServerFnError::ServerError(why)),
    }
}
