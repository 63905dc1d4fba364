//! OAuth in the pages: the account page's connected accounts (connect is a link to the
//! server's `hosted_oauth`; disconnect a form post), and the dashboard's auth methods room and
//! a user's linked accounts. Each is a few lines over the core calls the REST API makes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// One of a user's accounts at a provider.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LinkedAccount {
    pub id: String,
    pub provider_id: String,
    /// The name people know the provider by ("GitHub").
    pub title: String,
    pub account_id: String,
    pub email: Option<String>,
    pub allow_sign_in: bool,
    pub allow_connected_accounts: bool,
}

/// The account page's section: what is linked, and what may be.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MyAccounts {
    pub linked: Vec<LinkedAccount>,
    /// Providers the user may connect: (id, title).
    pub connectable: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
fn linked(
    project: &gatehouse_core::projects::Project,
    a: gatehouse_core::oauth::accounts::OAuthAccount,
) -> LinkedAccount {
    let kind = gatehouse_core::oauth::accounts::provider_type(project, &a.provider_id);
    LinkedAccount {
        id: a.id,
        title: gatehouse_core::oauth::providers::title(&kind).to_string(),
        provider_id: a.provider_id,
        account_id: a.account_id,
        email: a.email,
        allow_sign_in: a.allow_sign_in,
        allow_connected_accounts: a.allow_connected_accounts,
    }
}

#[server(prefix = "/_sfn")]
pub async fn my_oauth_accounts(project_id: String) -> Result<MyAccounts, ServerFnError> {
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(MyAccounts::default());
    };
    let project = ssr::project(&project_id).await?;
    let accounts = ssr::core()
        .oauth_accounts(&project.id, Some(&user.id))
        .await
        .map_err(ssr::shown)?;
    let connectable = gatehouse_core::oauth::providers_for(&project, "link");
    Ok(MyAccounts {
        linked: accounts.into_iter().map(|a| linked(&project, a)).collect(),
        connectable,
    })
}

#[server(prefix = "/_sfn")]
pub async fn disconnect_my_account(
    project_id: String,
    account_id: String,
) -> Result<(), ServerFnError> {
    let (_, user) = ssr::signed_in(&project_id).await?;
    let project = ssr::project(&project_id).await?;
    ssr::core()
        .disconnect_own_account(&project, &user, &account_id)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings#connected-accounts"
    ));
    Ok(())
}

/// A provider as the dashboard lists it (never its secret).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProviderRow {
    pub id: String,
    pub provider_type: String,
    pub title: String,
    pub is_shared: bool,
    pub client_id: String,
    pub has_secret: bool,
    pub issuer_url: String,
    pub microsoft_tenant_id: String,
    pub allow_sign_in: bool,
    pub allow_connected_accounts: bool,
    /// The URL to register at the provider.
    pub callback_url: String,
    /// Shared keys of this server that go to the development provider (`MOCK`).
    pub development_only: bool,
    /// Shared keys are chosen, but this server has none for the provider.
    pub missing_shared_keys: bool,
}

/// The auth methods room.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuthMethodsView {
    pub project_name: String,
    pub providers: Vec<ProviderRow>,
    pub merge_strategy: String,
    /// Every provider type: (type, title).
    pub types: Vec<(String, String)>,
    /// The callback URL of a provider id, before the id is known: with `{id}` in it.
    pub callback_pattern: String,
}

#[server(prefix = "/_sfn")]
pub async fn load_auth_methods(project_id: String) -> Result<AuthMethodsView, ServerFnError> {
    use gatehouse_core::oauth::{callback_url, provider_configs, providers};
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let rows = provider_configs(&project.config.tree)
        .into_iter()
        .map(|p| ProviderRow {
            title: providers::title(&p.provider_type).to_string(),
            callback_url: callback_url(&core.public_url, &p),
            development_only: p.is_shared && core.oauth.is_mock(&p.provider_type),
            missing_shared_keys: p.is_shared && !core.oauth.has_keys(&p.provider_type),
            has_secret: p.client_secret.is_some(),
            client_id: p.client_id.unwrap_or_default(),
            issuer_url: p.issuer_url.unwrap_or_default(),
            microsoft_tenant_id: p.microsoft_tenant_id.unwrap_or_default(),
            id: p.id,
            provider_type: p.provider_type,
            is_shared: p.is_shared,
            allow_sign_in: p.allow_sign_in,
            allow_connected_accounts: p.allow_connected_accounts,
        })
        .collect();
    Ok(AuthMethodsView {
        project_name: project.display_name.clone(),
        providers: rows,
        merge_strategy: gatehouse_core::oauth::merge_strategy(&project).to_string(),
        types: gatehouse_core::config::schema::OAUTH_PROVIDERS
            .iter()
            .map(|t| (t.to_string(), providers::title(t).to_string()))
            .collect(),
        callback_pattern: format!("{}/api/v1/auth/oauth/callback/{{id}}", core.public_url),
    })
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/_sfn")]
pub async fn save_provider(
    project_id: String,
    id: String,
    provider_type: String,
    shared: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    issuer_url: Option<String>,
    microsoft_tenant_id: Option<String>,
    allow_sign_in: Option<String>,
    allow_connected_accounts: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let input = gatehouse_core::oauth::edit::ProviderInput {
        id: if id.trim().is_empty() {
            provider_type.clone()
        } else {
            id
        },
        provider_type,
        is_shared: shared.is_some(),
        client_id: client_id.unwrap_or_default(),
        client_secret: client_secret.unwrap_or_default(),
        issuer_url: issuer_url.unwrap_or_default(),
        microsoft_tenant_id: microsoft_tenant_id.unwrap_or_default(),
        allow_sign_in: allow_sign_in.is_some(),
        allow_connected_accounts: allow_connected_accounts.is_some(),
    };
    ssr::core()
        .save_oauth_provider(&project, &input, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{project_id}/auth-methods"));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn remove_provider(project_id: String, id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .remove_oauth_provider(&project, &id, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{project_id}/auth-methods"));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn set_merge_strategy(project_id: String, strategy: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .set_oauth_merge_strategy(&project, &strategy, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{project_id}/auth-methods"));
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn user_oauth_accounts(
    project_id: String,
    user_id: String,
) -> Result<Vec<LinkedAccount>, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let user = ssr::project_user(&project, &user_id).await?;
    let accounts = ssr::core()
        .oauth_accounts(&project.id, Some(&user.id))
        .await
        .map_err(ssr::shown)?;
    Ok(accounts.into_iter().map(|a| linked(&project, a)).collect())
}

#[server(prefix = "/_sfn")]
pub async fn unlink_user_account(
    project_id: String,
    user_id: String,
    account_id: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let user = ssr::project_user(&project, &user_id).await?;
    ssr::core()
        .delete_oauth_account(&project, &user.id, &account_id, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{project_id}/users/{user_id}"));
    Ok(())
}
