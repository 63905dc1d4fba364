//! Signing in with an OAuth provider ("Sign in with Google / GitHub"), as Stack's SDK drives it.
//!
//! Gatehouse is an OAuth server to the app and an OAuth client to the provider:
//!
//! 1. `GET /auth/oauth/authorize/{provider}` — the app sends its own state and PKCE challenge;
//!    Gatehouse keeps them as a one-time code of kind `OAUTH_OUTER` whose text is the state it
//!    sends the provider (with its own PKCE pair), binds the browser to it with a cookie, and
//!    redirects to the provider ([`Core::start_oauth`]).
//! 2. `…/callback/{provider}` — the provider's code is exchanged for its tokens, the profile
//!    read, the user signed in, linked or created, and the app's `redirect_uri` gets an
//!    authorization code of ours ([`flow`]).
//! 3. `POST /auth/oauth/token` with `grant_type=authorization_code` trades it, with the PKCE
//!    verifier, for a session.
//!
//! The provider's tokens are kept sealed (see [`accounts`]) for the app to use later.

pub mod accounts;
pub mod edit;
pub mod flow;
pub mod providers;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use oauth2::{
    AuthUrl, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope, TokenUrl,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cache::TtlCache;
use crate::codes::{issue_code, CodeKind, NewCode};
use crate::error::{Error, Result};
use crate::projects::{KeyKind, Project};
use crate::validation::{string, Input, Shape};
use crate::Core;

pub use providers::Profile;

/// How long the dance with the provider may take, as Stack allows.
const OUTER_FLOW_MS: i64 = 10 * 60 * 1000;
/// What the SDK sends as `client_secret` when it has no publishable key.
pub const NO_CLIENT_KEY: &str = "__stack_public_client__";
/// The client secret of every client of the development OpenID Connect server.
pub const MOCK_CLIENT_SECRET: &str = "MOCK-SERVER-SECRET";

/// The server-wide credentials of "shared" providers, as Stack's self-hosting variables give
/// them (`STACK_GITHUB_CLIENT_ID` / `_CLIENT_SECRET`). `MOCK` for both sends the provider to
/// the development OpenID Connect server at `STACK_OAUTH_MOCK_URL`.
#[derive(Clone, Debug, Default)]
pub struct SharedKeys {
    keys: HashMap<String, (String, String)>,
    pub mock_url: Option<String>,
    /// `STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS=true`: apps may have the provider tokens of
    /// shared keys too (they carry the server operator's app at the provider).
    pub allow_shared_access_tokens: bool,
}

impl SharedKeys {
    /// Reads the variables through `get` (the binary passes the environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> SharedKeys {
        let mut keys = HashMap::new();
        for p in providers::PROVIDERS {
            let upper = p.id.to_ascii_uppercase();
            let id = get(&format!("STACK_{upper}_CLIENT_ID")).filter(|v| !v.is_empty());
            let secret = get(&format!("STACK_{upper}_CLIENT_SECRET")).filter(|v| !v.is_empty());
            if let (Some(id), Some(secret)) = (id, secret) {
                keys.insert(p.id.to_string(), (id, secret));
            }
        }
        SharedKeys {
            keys,
            mock_url: get("STACK_OAUTH_MOCK_URL").filter(|v| !v.is_empty()),
            allow_shared_access_tokens: get("STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS").as_deref()
                == Some("true"),
        }
    }

    /// Whether the server has shared keys for a provider type.
    pub fn has_keys(&self, provider_type: &str) -> bool {
        self.keys.contains_key(provider_type)
    }

    /// Whether a shared provider of this type goes to the development server.
    pub fn is_mock(&self, provider_type: &str) -> bool {
        self.keys
            .get(provider_type)
            .is_some_and(|(id, _)| id == "MOCK")
    }
}

/// A provider as a project configures it (`auth.oauth.providers.<id>`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderConfig {
    pub id: String,
    pub provider_type: String,
    pub is_shared: bool,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub issuer_url: Option<String>,
    pub microsoft_tenant_id: Option<String>,
    pub custom_callback_url: Option<String>,
    /// A known provider's endpoints elsewhere than its public service (GitHub Enterprise
    /// Server, GitLab self-managed): authorization, token, profile, and email list.
    pub endpoints: [Option<String>; 4],
    pub allow_sign_in: bool,
    pub allow_connected_accounts: bool,
}

/// A project's providers, by id.
pub fn provider_configs(tree: &Value) -> Vec<ProviderConfig> {
    let text = |p: &Value, k: &str| p[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let mut list: Vec<ProviderConfig> = tree
        .pointer("/auth/oauth/providers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(id, p)| {
            Some(ProviderConfig {
                id: id.clone(),
                provider_type: p["type"].as_str()?.to_string(),
                is_shared: p["isShared"] != json!(false),
                client_id: text(p, "clientId"),
                client_secret: text(p, "clientSecret"),
                issuer_url: text(p, "issuerUrl"),
                microsoft_tenant_id: text(p, "microsoftTenantId"),
                custom_callback_url: text(p, "customCallbackUrl"),
                endpoints: ["authorizationUrl", "tokenUrl", "userinfoUrl", "emailsUrl"]
                    .map(|k| text(p, k)),
                allow_sign_in: p["allowSignIn"] == json!(true),
                allow_connected_accounts: p["allowConnectedAccounts"] == json!(true),
            })
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

/// One provider of a project, if it is configured.
pub fn provider_config(project: &Project, id: &str) -> Option<ProviderConfig> {
    provider_configs(&project.config.tree)
        .into_iter()
        .find(|p| p.id == id)
}

/// Where the provider sends people back to: this server's callback, unless the project
/// registered another.
pub fn callback_url(public_url: &str, provider: &ProviderConfig) -> String {
    provider
        .custom_callback_url
        .clone()
        .unwrap_or_else(|| format!("{public_url}/api/v1/auth/oauth/callback/{}", provider.id))
}

/// A provider ready to talk to: credentials, endpoints and how its profile reads.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub http: reqwest::Client,
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: Option<String>,
    /// Where the addresses are listed (the URL, perhaps overridden, and how to read them).
    pub emails_url: Option<(String, providers::EmailList)>,
    pub scope: String,
    pub mapping: providers::Mapping,
    pub authorize_params: Vec<(String, String)>,
    pub client_id_header: Option<&'static str>,
    /// (issuer, JWKS URL) whose signature the ID token must carry.
    pub id_token_keys: Option<(String, String)>,
    /// The development server: the account's email is its subject.
    pub email_is_subject: bool,
    pub redirect_url: String,
}

/// Documents fetched from providers (discovery, JWKS): kept ten minutes.
fn fetched() -> &'static TtlCache<String, Value> {
    static CACHE: OnceLock<TtlCache<String, Value>> = OnceLock::new();
    CACHE.get_or_init(|| TtlCache::new(Duration::from_secs(600), 1000))
}

impl Core {
    /// The HTTP client for providers: no redirects followed, a deadline on every call. One per
    /// core (its pooled connections belong to the runtime that made them), made on first use so
    /// that servers without OAuth never load TLS roots at start-up.
    pub(crate) fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(15))
                .user_agent("Gatehouse")
                .build()
                .expect("the HTTP client builds")
        })
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    tracing::warn!("OAuth provider: {what}: {e}");
    Error::OAuthProviderTemporarilyUnavailable
}

/// A JSON document from a provider, through the cache.
pub(crate) async fn fetch_json(http: &reqwest::Client, url: &str) -> Result<Value> {
    if let Some(v) = fetched().get(url) {
        return Ok(v);
    }
    let v: Value = http
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| unavailable(url, e))?
        .json()
        .await
        .map_err(|e| unavailable(url, e))?;
    fetched().insert(url.to_string(), v.clone());
    Ok(v)
}

/// An OpenID Connect issuer's discovery document.
async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Value> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    fetch_json(http, &url).await
}

impl Core {
    /// The project an OAuth client id names (`project` or `project#branch`), once its client
    /// secret (a publishable key, or the SDK's stand-in where none is required) checks out.
    pub async fn oauth_client_project(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<std::sync::Arc<Project>> {
        let project_id = client_id.split('#').next().unwrap_or_default();
        let project = self
            .project_cached(project_id)
            .await?
            .ok_or_else(|| Error::InvalidOAuthClientIdOrSecret(Some(client_id.into())))?;
        if secret == NO_CLIENT_KEY || secret.is_empty() {
            if project.config.require_publishable_client_key {
                return Err(Error::PublishableClientKeyRequiredForProject(
                    project.id.clone(),
                ));
            }
        } else if !self
            .check_project_key(&project.id, KeyKind::PublishableClient, secret)
            .await?
        {
            return Err(Error::InvalidPublishableClientKey(project.id.clone()));
        }
        Ok(project)
    }

    /// The provider's endpoints and credentials for a configured provider.
    pub(crate) async fn oauth_client(&self, provider: &ProviderConfig) -> Result<Client> {
        let redirect_url = callback_url(&self.public_url, provider);
        let not_ready = |why: String| Error::Status(400, why);
        let title = providers::title(&provider.provider_type);
        let (client_id, client_secret, mock) = if provider.is_shared {
            let Some((id, secret)) = self.oauth.keys.get(&provider.provider_type).cloned() else {
                return Err(not_ready(format!(
                    "{title} sign-in uses shared keys, but this server has none (STACK_{}_CLIENT_ID and _CLIENT_SECRET). The project's admin can enter the project's own client id and secret instead.",
                    provider.provider_type.to_ascii_uppercase()
                )));
            };
            if id == "MOCK" {
                (
                    provider.provider_type.clone(),
                    MOCK_CLIENT_SECRET.to_string(),
                    true,
                )
            } else {
                (id, secret, false)
            }
        } else {
            match (&provider.client_id, &provider.client_secret) {
                (Some(id), Some(secret)) => (id.clone(), secret.clone(), false),
                _ => {
                    return Err(not_ready(format!(
                        "{title} sign-in is missing its client id or secret. The project's admin can enter them in the dashboard."
                    )))
                }
            }
        };
        let issuer = if mock {
            Some(self.oauth.mock_url.clone().ok_or_else(|| {
                not_ready(
                    "The shared OAuth keys say MOCK, but STACK_OAUTH_MOCK_URL is not set.".into(),
                )
            })?)
        } else if provider.provider_type == "oidc" {
            Some(provider.issuer_url.clone().ok_or_else(|| {
                not_ready(format!(
                    "The OpenID Connect provider {} has no issuer URL.",
                    provider.id
                ))
            })?)
        } else {
            None
        };
        if let Some(issuer) = issuer {
            let d = discover(self.http(), &issuer).await?;
            let endpoint = |k: &str| -> Result<String> {
                d[k].as_str()
                    .map(str::to_string)
                    .ok_or_else(|| unavailable(&issuer, format!("discovery lacks {k}")))
            };
            let offline = d["scopes_supported"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == "offline_access"));
            let scope = if mock {
                "openid offline_access".to_string()
            } else if offline {
                "openid email profile offline_access".to_string()
            } else {
                "openid email profile".to_string()
            };
            return Ok(Client {
                http: self.http().clone(),
                client_id,
                client_secret,
                authorize_url: endpoint("authorization_endpoint")?,
                token_url: endpoint("token_endpoint")?,
                userinfo_url: d["userinfo_endpoint"].as_str().map(str::to_string),
                emails_url: None,
                scope,
                mapping: providers::OIDC_MAPPING,
                authorize_params: if offline {
                    vec![("prompt".into(), "consent".into())]
                } else {
                    vec![]
                },
                client_id_header: None,
                id_token_keys: Some((
                    d["issuer"].as_str().unwrap_or(&issuer).to_string(),
                    endpoint("jwks_uri")?,
                )),
                email_is_subject: mock,
                redirect_url,
            });
        }
        let known = providers::provider(&provider.provider_type)
            .ok_or(Error::OAuthProviderNotFoundOrNotEnabled)?;
        let tenant = provider
            .microsoft_tenant_id
            .clone()
            .unwrap_or_else(|| "common".into());
        let id_token_keys = match known.id_token_issuer {
            Some(iss) => {
                let d = discover(self.http(), iss).await?;
                d["jwks_uri"]
                    .as_str()
                    .map(|j| (iss.to_string(), j.to_string()))
            }
            None => None,
        };
        let [authorize, token, userinfo, emails] = provider.endpoints.clone();
        Ok(Client {
            http: self.http().clone(),
            client_id,
            client_secret,
            authorize_url: authorize
                .unwrap_or_else(|| known.authorize_url.replace("{tenant}", &tenant)),
            token_url: token.unwrap_or_else(|| known.token_url.replace("{tenant}", &tenant)),
            userinfo_url: userinfo.or(known.userinfo_url.map(str::to_string)),
            emails_url: known
                .emails_url
                .map(|e| (emails.unwrap_or_else(|| e.url.to_string()), e)),
            scope: known.scope.to_string(),
            mapping: known.mapping,
            authorize_params: known
                .authorize_params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            client_id_header: known.client_id_header,
            id_token_keys,
            email_is_subject: false,
            redirect_url,
        })
    }
}

impl Client {
    pub(crate) fn oauth2(&self) -> Result<flow::OAuthClient> {
        let invalid = |u: &str| {
            Error::Status(
                400,
                format!("The OAuth provider's URL {u} is not a valid URL."),
            )
        };
        let auth =
            AuthUrl::new(self.authorize_url.clone()).map_err(|_| invalid(&self.authorize_url))?;
        let token = TokenUrl::new(self.token_url.clone()).map_err(|_| invalid(&self.token_url))?;
        let redirect =
            RedirectUrl::new(self.redirect_url.clone()).map_err(|_| invalid(&self.redirect_url))?;
        Ok(oauth2::Client::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.clone()))
            .set_auth_uri(auth)
            .set_token_uri(token)
            .set_redirect_uri(redirect))
    }

    /// The scopes Gatehouse asks for, plus the app's extra ones.
    pub(crate) fn scopes(&self, extra: Option<&str>) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        for s in self
            .scope
            .split_whitespace()
            .chain(extra.unwrap_or_default().split_whitespace())
        {
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_string());
            }
        }
        scopes
    }
}

/// `GET /auth/oauth/authorize/{provider_id}`'s query (Stack's, which the SDK sends).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizeQuery {
    #[serde(rename = "type", default = "authenticate")]
    pub flow: String,
    #[serde(default)]
    pub token: String,
    pub provider_scope: Option<String>,
    pub error_redirect_url: Option<String>,
    pub error_redirect_uri: Option<String>,
    pub after_callback_redirect_url: Option<String>,
    pub stack_response_mode: Option<String>,
    pub hexclave_response_mode: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub grant_type: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub response_type: String,
}

fn authenticate() -> String {
    "authenticate".into()
}

impl Input for AuthorizeQuery {
    fn shape(_: bool) -> Shape {
        let modes = [json!("json"), json!("redirect")];
        Shape::new()
            .field(
                "type",
                string().one_of(&[json!("authenticate"), json!("link")]),
            )
            .field("token", string())
            .field("provider_scope", string())
            .field("error_redirect_url", string().url())
            .field("error_redirect_uri", string().url())
            .field("after_callback_redirect_url", string().url())
            .field("stack_response_mode", string().one_of(&modes))
            .field("hexclave_response_mode", string().one_of(&modes))
            .field("client_id", string().defined())
            .field("client_secret", string().defined())
            .field("redirect_uri", string().url().defined())
            .field("scope", string().defined())
            .field("state", string().defined())
            .field(
                "grant_type",
                string().one_of(&[json!("authorization_code")]).defined(),
            )
            .field("code_challenge", string().defined())
            .field("code_challenge_method", string().defined())
            .field("response_type", string().defined())
            .bot_challenge()
            .open()
    }
}

impl AuthorizeQuery {
    /// The SDK asks for JSON (`{location}`) so it can navigate itself; browsers get a redirect.
    pub fn wants_json(&self) -> bool {
        self.stack_response_mode.as_deref() == Some("json")
            || self.hexclave_response_mode.as_deref() == Some("json")
    }
}

/// Where to send the browser, and the state the provider will send back.
#[derive(Clone, Debug)]
pub struct Started {
    pub location: String,
    pub inner_state: String,
}

impl Core {
    /// Begins a sign-in (or, with `type=link`, connecting an account) at a provider, for a
    /// project whose client credentials were checked ([`Core::oauth_client_project`]).
    pub async fn start_oauth(
        &self,
        project: &Project,
        provider_id: &str,
        q: &AuthorizeQuery,
    ) -> Result<Started> {
        let provider = provider_config(project, provider_id)
            .filter(|p| p.allows(&q.flow))
            .ok_or(Error::OAuthProviderNotFoundOrNotEnabled)?;
        if q.flow == "link" && q.token.is_empty() {
            return Err(Error::Status(
                400,
                "?token= query parameter is required for link type".into(),
            ));
        }
        if let Some(url) = &q.after_callback_redirect_url {
            self.check_callback_url(project, url)?;
        }
        self.check_callback_url(project, &q.redirect_uri)?;
        if q.provider_scope
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
            && provider.is_shared
        {
            return Err(Error::OAuthExtraScopeNotAvailableWithSharedOAuthKeys);
        }
        let user_id = if q.token.is_empty() {
            None
        } else {
            match self.signer.verify(&q.token, &project.id, false) {
                Ok(claims) => Some(claims.sub.clone()),
                Err(Error::InvalidProjectForAccessToken { .. }) => {
                    return Err(Error::Status(
                        403,
                        "The access token is not valid for this project".into(),
                    ))
                }
                Err(e) => return Err(e),
            }
        };
        let client = self.oauth_client(&provider).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut tx = self.begin().await?;
        let outer = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::OAuthOuter,
                user_id: user_id.clone(),
                method: json!({}),
                data: json!({
                    "provider_id": provider.id,
                    "type": q.flow,
                    "user_id": user_id,
                    "inner_code_verifier": verifier.secret(),
                    "provider_scope": q.provider_scope,
                    "redirect_uri": q.redirect_uri.split('#').next().unwrap_or_default(),
                    "error_redirect_url": q.error_redirect_uri.clone().or(q.error_redirect_url.clone()),
                    "after_callback_redirect_url": q.after_callback_redirect_url,
                    "scope": q.scope,
                    "state": q.state,
                    "code_challenge": q.code_challenge,
                    "code_challenge_method": q.code_challenge_method,
                    "response_mode": if q.wants_json() { "json" } else { "redirect" },
                }),
                redirect_url: None,
                lifetime_ms: Some(OUTER_FLOW_MS),
            },
        )
        .await?;
        tx.commit().await?;
        let state = outer.code.clone();
        let oauth2 = client.oauth2()?;
        let mut request = oauth2
            .authorize_url(|| CsrfToken::new(state.clone()))
            .set_pkce_challenge(challenge);
        for s in client.scopes(q.provider_scope.as_deref()) {
            request = request.add_scope(Scope::new(s));
        }
        for (k, v) in &client.authorize_params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        let (url, _) = request.url();
        Ok(Started {
            location: url.to_string(),
            inner_state: state,
        })
    }
}

/// The S256 challenge of a PKCE verifier (of any length: the app's verifier is its own
/// business, and a wrong one simply does not match).
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Whether a PKCE verifier answers a challenge (`S256` or `plain`).
pub fn pkce_matches(method: &str, challenge: &str, verifier: &str) -> bool {
    match method {
        "plain" => challenge == verifier,
        _ => pkce_challenge(verifier) == challenge,
    }
}

impl ProviderConfig {
    /// Whether a flow of this type (`authenticate` or `link`) may use the provider.
    pub fn allows(&self, flow: &str) -> bool {
        match flow {
            "link" => self.allow_connected_accounts || self.allow_sign_in,
            _ => self.allow_sign_in,
        }
    }
}

/// The providers a flow of this type may use, as (id, the name people know it by) pairs: the
/// hosted pages' "Continue with" (`authenticate`) and account settings' "Connect" (`link`).
pub fn providers_for(project: &Project, flow: &str) -> Vec<(String, String)> {
    provider_configs(&project.config.tree)
        .into_iter()
        .filter(|p| p.allows(flow))
        .map(|p| {
            let title = providers::title(&p.provider_type).to_string();
            (p.id, title)
        })
        .collect()
}

/// `auth.oauth.accountMergeStrategy`: what an OAuth sign-up with a taken email does.
pub fn merge_strategy(project: &Project) -> &str {
    project
        .config
        .tree
        .pointer("/auth/oauth/accountMergeStrategy")
        .and_then(Value::as_str)
        .unwrap_or("link_method")
}

/// Whether the project configures any provider (user reads list linked accounts only then).
pub(crate) fn has_providers(project: &Project) -> bool {
    project
        .config
        .tree
        .pointer("/auth/oauth/providers")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_checks_both_methods() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            "S256",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            verifier
        ));
        assert!(!pkce_matches("S256", verifier, verifier));
        assert!(pkce_matches("plain", verifier, verifier));
    }

    #[test]
    fn shared_keys_come_in_pairs_and_mock_is_the_development_server() {
        let env: HashMap<&str, &str> = [
            ("STACK_GITHUB_CLIENT_ID", "MOCK"),
            ("STACK_GITHUB_CLIENT_SECRET", "MOCK"),
            ("STACK_GOOGLE_CLIENT_ID", "only-an-id"),
            ("STACK_OAUTH_MOCK_URL", "http://127.0.0.1:8114"),
        ]
        .into();
        let keys = SharedKeys::from_lookup(|k| env.get(k).map(|v| v.to_string()));
        assert!(keys.is_mock("github"));
        assert!(!keys.keys.contains_key("google"));
        assert_eq!(keys.mock_url.as_deref(), Some("http://127.0.0.1:8114"));
    }
}
