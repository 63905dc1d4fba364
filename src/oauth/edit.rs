//! The dashboard's changes to a project's providers and merge strategy, written to the
//! environment override (where credentials belong), and the account page's disconnect.

use crate::events::Who;
use serde_json::json;

use super::{provider_config, providers};
use crate::config::Level;
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::users::User;
use crate::Core;

/// A provider as the dashboard's form sends it. An empty secret keeps the stored one.
#[derive(Clone, Debug, Default)]
pub struct ProviderInput {
    pub id: String,
    pub provider_type: String,
    pub is_shared: bool,
    pub client_id: String,
    pub client_secret: String,
    pub issuer_url: String,
    pub microsoft_tenant_id: String,
    pub allow_sign_in: bool,
    pub allow_connected_accounts: bool,
}

impl Core {
    pub async fn save_oauth_provider(
        &self,
        project: &Project,
        input: &ProviderInput,
        who: &Who,
    ) -> Result<()> {
        let id = input.id.trim();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(Error::Status(
                400,
                "A provider id is lower-case letters, digits and _ (such as github or company_sso).".into(),
            ));
        }
        let kind = input.provider_type.as_str();
        if kind == "oidc" && input.issuer_url.trim().is_empty() {
            return Err(Error::Status(
                400,
                "An OpenID Connect provider needs its issuer URL.".into(),
            ));
        }
        if kind == "oidc" && input.is_shared {
            return Err(Error::Status(
                400,
                "An OpenID Connect provider has no shared keys: enter its client id and secret."
                    .into(),
            ));
        }
        let before = provider_config(project, id);
        let secret = match input.client_secret.trim() {
            "" => before.and_then(|p| p.client_secret).unwrap_or_default(),
            s => s.to_string(),
        };
        if !input.is_shared && (input.client_id.trim().is_empty() || secret.is_empty()) {
            return Err(Error::Status(
                400,
                format!(
                    "{} needs the client id and secret of your app there, or the server's shared keys.",
                    providers::title(kind)
                ),
            ));
        }
        let mut p = json!({
            "type": kind,
            "isShared": input.is_shared,
            "allowSignIn": input.allow_sign_in,
            "allowConnectedAccounts": input.allow_connected_accounts,
        });
        if !input.is_shared {
            p["clientId"] = json!(input.client_id.trim());
            p["clientSecret"] = json!(secret);
        }
        if kind == "oidc" {
            p["issuerUrl"] = json!(input.issuer_url.trim());
        }
        if kind == "microsoft" && !input.microsoft_tenant_id.trim().is_empty() {
            p["microsoftTenantId"] = json!(input.microsoft_tenant_id.trim());
        }
        // Replaced whole, so a field the form no longer sends (a secret of shared keys) goes.
        self.replace_config_key(
            &project.id,
            who,
            Level::Environment,
            &format!("auth.oauth.providers.{id}"),
            p,
        )
        .await
    }

    pub async fn remove_oauth_provider(
        &self,
        project: &Project,
        id: &str,
        who: &Who,
    ) -> Result<()> {
        self.reset_config_keys(
            &project.id,
            who,
            Level::Environment,
            &[format!("auth.oauth.providers.{id}")],
        )
        .await
    }

    pub async fn set_oauth_merge_strategy(
        &self,
        project: &Project,
        strategy: &str,
        who: &Who,
    ) -> Result<()> {
        self.patch_config_override(
            &project.id,
            who,
            Level::Environment,
            &json!({ "auth.oauth.accountMergeStrategy": strategy }).to_string(),
        )
        .await
    }

    /// The account page's "Disconnect": never the user's last way to sign in.
    pub async fn disconnect_own_account(
        &self,
        project: &Project,
        user: &User,
        id: &str,
    ) -> Result<()> {
        let accounts = self.oauth_accounts(&project.id, Some(&user.id)).await?;
        let target = accounts
            .iter()
            .find(|a| a.id == id)
            .ok_or_else(|| Error::Status(404, "That account is not connected.".into()))?;
        let other_ways = user.password_hash.is_some()
            || (project.config.magic_link_enabled
                && user.primary_email_auth_enabled
                && user.primary_email.is_some())
            || accounts
                .iter()
                .any(|a| a.id != target.id && a.allow_sign_in);
        if target.allow_sign_in && !other_ways {
            return Err(Error::Status(
                400,
                "This is your only way to sign in. Set a password or connect another account first."
                    .into(),
            ));
        }
        let who = crate::events::Who::User(user.id.clone());
        self.delete_oauth_account(project, &user.id, id, &who).await
    }
}
