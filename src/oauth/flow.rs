//! The provider's callback and the app's code exchange: who signed in at the provider becomes
//! a user here (found, linked, or created under the project's merge strategy and sign-up
//! rules), and the app trades our authorization code, with its PKCE verifier, for a session.

use std::collections::HashMap;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::url::Url;
use oauth2::{
    AuthorizationCode, EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeVerifier,
    RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::accounts::{self, ProviderTokens};
use super::{pkce_matches, provider_config, providers, unavailable, Client, Profile};
use crate::accounts::{open_account, AccountData, Admitted, Arrival};
use crate::codes::{consume_code, issue_code, Code, CodeKind, NewCode};
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::sessions::Tokens;
use crate::sign_up_rules::AuthMethod;
use crate::users::User;
use crate::{now_ms, Core};

/// Our authorization codes live five minutes, as OAuth servers' usually do.
const AUTHORIZATION_CODE_MS: i64 = 5 * 60 * 1000;

/// The ID token, which OpenID Connect providers add to their token answer.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IdToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdToken {}

pub(crate) type ProviderTokenResponse = StandardTokenResponse<IdToken, BasicTokenType>;

pub(crate) type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    ProviderTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A token request to the provider failed: its refusal, or that it could not be reached.
pub(crate) fn token_error<E: std::error::Error + 'static>(
    e: RequestTokenError<E, BasicErrorResponse>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => Error::Status(
            400,
            format!(
                "The sign-in provider refused: {}. Please try again.",
                r.error_description()
                    .cloned()
                    .unwrap_or_else(|| r.error().to_string())
            ),
        ),
        other => unavailable("token request", other),
    }
}

impl From<&ProviderTokenResponse> for ProviderTokens {
    fn from(t: &ProviderTokenResponse) -> ProviderTokens {
        ProviderTokens {
            access_token: t.access_token().secret().clone(),
            refresh_token: t.refresh_token().map(|r| r.secret().clone()),
            expires_at: t.expires_in().map(|d| now_ms() + d.as_millis() as i64),
            scopes: Vec::new(),
        }
    }
}

/// How the callback ends: the browser goes on (to the app, with a code or an error), or the
/// error is shown here because there is nowhere trusted to send it.
#[derive(Debug)]
pub enum Finish {
    Redirect(String),
    Fail(Error),
}

/// A URL with query parameters added (any already there are kept, same-named ones replaced).
fn with_params(url: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut u = Url::parse(url).ok()?;
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Some(u.to_string())
}

/// Where a known error is sent after the provider's callback: the app's callback page if the
/// project trusts it, else its error page, with Stack's parameters.
fn error_redirect(core: &Core, project: &Project, data: &Value, e: &Error) -> Option<String> {
    let code = e.code()?;
    let target = ["redirect_uri", "error_redirect_url"]
        .iter()
        .filter_map(|k| data[*k].as_str())
        .find(|u| core.check_callback_url(project, u).is_ok())?;
    let message = e.message();
    let details = e.details().unwrap_or_else(|| json!({})).to_string();
    with_params(
        target,
        &[
            // The app's state too, so that it knows which of its flows failed.
            ("state", data["state"].as_str().unwrap_or_default()),
            ("error", "server_error"),
            ("error_description", &message),
            ("errorCode", code),
            ("message", &message),
            ("details", &details),
        ],
    )
}

/// What the callback decided to do with the account at the provider.
enum Plan {
    /// A known account: sign its user in (or refresh its tokens for the linking user).
    Known { account_id: String, user_id: String },
    /// Link the account to an existing user.
    Link { user_id: String },
    /// A new user (or an anonymous one upgraded) with this account, let in by the account
    /// door.
    Create {
        auth_enabled: bool,
        admitted: Box<Admitted>,
    },
}

impl Core {
    /// `GET/POST /auth/oauth/callback/{provider_id}`: `params` are the provider's (query and
    /// form together), `has_cookie(state)` whether this browser holds the flow's cookie.
    pub async fn finish_oauth(
        &self,
        provider_id: &str,
        params: &HashMap<String, String>,
        has_cookie: &(dyn Fn(&str) -> bool + Sync),
        country_code: Option<&str>,
    ) -> Finish {
        let state = params.get("state").cloned().unwrap_or_default();
        let invalid_state = || {
            Error::Status(
                400,
                "Invalid OAuth state. Please try signing in again.".into(),
            )
        };
        let outer = match self.code_by_text(CodeKind::OAuthOuter, &state).await {
            Ok(Some(c)) if c.used_at.is_none() => c,
            Ok(_) => return Finish::Fail(invalid_state()),
            Err(e) => return Finish::Fail(e),
        };
        if outer.data["response_mode"] != "json" && !has_cookie(&state) {
            return Finish::Fail(Error::Status(400, "Inner OAuth cookie not found. This is likely because you refreshed the page during the OAuth sign in process. Please try signing in again".into()));
        }
        let project = match self.project(&outer.project_id).await {
            Ok(Some(p)) => p,
            Ok(None) => return Finish::Fail(invalid_state()),
            Err(e) => return Finish::Fail(e),
        };
        match self
            .settle_callback(&project, provider_id, &outer, params, country_code)
            .await
        {
            Ok(url) => Finish::Redirect(url),
            Err(e) => match error_redirect(self, &project, &outer.data, &e) {
                Some(url) => Finish::Redirect(url),
                None => Finish::Fail(e),
            },
        }
    }

    async fn settle_callback(
        &self,
        project: &Project,
        provider_id: &str,
        outer: &Code,
        params: &HashMap<String, String>,
        country_code: Option<&str>,
    ) -> Result<String> {
        if outer.expires_at < now_ms() {
            return Err(Error::OuterOAuthTimeout);
        }
        let data = &outer.data;
        let mut tx = self.begin().await?;
        consume_code(&mut tx, outer).await?;
        tx.commit().await?;
        let provider = provider_config(project, provider_id)
            .filter(|p| data["provider_id"] == p.id.as_str())
            .ok_or(Error::OAuthProviderNotFoundOrNotEnabled)?;
        if let Some(error) = params.get("error") {
            return Err(if error == "access_denied" {
                Error::OAuthProviderAccessDenied
            } else {
                Error::Status(
                    400,
                    format!(
                        "The sign-in provider answered with an error: {}. Please try again.",
                        params.get("error_description").unwrap_or(error)
                    ),
                )
            });
        }
        let code = params.get("code").ok_or_else(|| {
            Error::Status(
                400,
                "The sign-in provider sent no code back. Please try signing in again.".into(),
            )
        })?;
        let client = self.oauth_client(&provider).await?;
        let verifier = data["inner_code_verifier"].as_str().unwrap_or_default();
        let answer = client
            .oauth2()?
            .exchange_code(AuthorizationCode::new(code.clone()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.into()))
            .request_async(&client.http)
            .await
            .map_err(token_error)?;
        let profile = read_profile(&client, &answer).await?;
        let mut tokens = ProviderTokens::from(&answer);
        tokens.scopes = client.scopes(data["provider_scope"].as_str());

        let plan = self
            .plan_account(project, &provider.id, data, &profile, country_code)
            .await?;
        let mut tx = self.begin().await?;
        // (user, the account if it is known already, whether the user is new)
        let (user_id, known, is_new) = match plan {
            Plan::Known {
                account_id,
                user_id,
            } => (user_id, Some(account_id), false),
            Plan::Link { user_id } => (user_id, None, false),
            Plan::Create {
                auth_enabled,
                admitted,
            } => {
                let data = AccountData {
                    email: profile.email.clone(),
                    email_verified: profile.email_verified,
                    email_auth_enabled: auth_enabled,
                    display_name: profile.display_name.clone(),
                    profile_image_url: profile.picture.clone(),
                    ..AccountData::default()
                };
                let user_id = open_account(&mut tx, self, project, *admitted, data).await?;
                (user_id, None, true)
            }
        };
        let account_id = match known {
            Some(id) => id,
            None => {
                let who = crate::events::Who::User(user_id.clone());
                accounts::insert_account(
                    &mut tx,
                    &project.id,
                    &user_id,
                    &provider.id,
                    &profile,
                    &who,
                )
                .await?
            }
        };
        accounts::store_tokens(&mut tx, &self.sealing, &account_id, &tokens).await?;
        let redirect_uri = data["redirect_uri"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::OAuthAuthorization,
                user_id: Some(user_id.clone()),
                method: json!({}),
                data: json!({
                    "user_id": user_id,
                    "new_user": is_new,
                    "after_callback_redirect_url": data["after_callback_redirect_url"],
                    "redirect_uri": redirect_uri,
                    "code_challenge": data["code_challenge"],
                    "code_challenge_method": data["code_challenge_method"],
                }),
                redirect_url: None,
                lifetime_ms: Some(AUTHORIZATION_CODE_MS),
            },
        )
        .await?;
        tx.commit().await?;
        let state = data["state"].as_str().unwrap_or_default();
        with_params(&redirect_uri, &[("code", &issued.code), ("state", state)])
            .ok_or(Error::RedirectUrlNotWhitelisted)
    }

    /// Decides, before anything is written, what the account at the provider means here.
    async fn plan_account(
        &self,
        project: &Project,
        provider_id: &str,
        data: &Value,
        profile: &Profile,
        country_code: Option<&str>,
    ) -> Result<Plan> {
        let signed_in = data["user_id"].as_str();
        let known =
            accounts::find_account(self, &project.id, provider_id, &profile.account_id).await?;
        if data["type"] == "link" {
            let user_id = signed_in.ok_or(Error::UserAuthenticationRequired)?;
            return match known {
                Some(a) if a.user_id != user_id => {
                    Err(Error::OAuthConnectionAlreadyConnectedToAnotherUser)
                }
                Some(a) => Ok(Plan::Known {
                    account_id: a.id,
                    user_id: a.user_id,
                }),
                None => Ok(Plan::Link {
                    user_id: user_id.into(),
                }),
            };
        }
        if let Some(a) = known {
            return Ok(Plan::Known {
                account_id: a.id,
                user_id: a.user_id,
            });
        }
        let mut auth_enabled = profile.email.is_some();
        if let Some(email) = &profile.email {
            if let Some(existing) = self.user_by_auth_email(&project.id, email).await? {
                let strategy = super::merge_strategy(project);
                let taken = |would_work| Error::ContactChannelAlreadyUsedForAuthBySomeoneElse {
                    value: email.clone(),
                    would_work_if_email_was_verified: would_work,
                };
                match strategy {
                    "allow_duplicates" => auth_enabled = false,
                    "raise_error" => return Err(taken(false)),
                    _ => {
                        if !self.auth_channel_verified(&project.id, email).await? {
                            return Err(taken(true));
                        }
                        if !profile.email_verified {
                            return Err(taken(false));
                        }
                        return Ok(Plan::Link {
                            user_id: existing.id,
                        });
                    }
                }
            }
        }
        let current = match signed_in {
            Some(id) => self.user(&project.id, id).await?,
            None => None,
        };
        let arrival = Arrival {
            method: AuthMethod::Oauth,
            oauth_provider: Some(provider_id),
            country_code,
            invited: false,
            bot: 0,
        };
        let admitted = self
            .admit_account(project, current.as_ref(), profile.email.as_deref(), arrival)
            .await?;
        Ok(Plan::Create {
            auth_enabled,
            admitted: Box::new(admitted),
        })
    }
}

/// Who signed in, from the provider's profile endpoint and, where it sends one, its verified
/// ID token.
async fn read_profile(client: &Client, answer: &ProviderTokenResponse) -> Result<Profile> {
    let access_token = answer.access_token().secret();
    let claims = match (&client.id_token_keys, &answer.extra_fields().id_token) {
        (Some((issuer, jwks)), Some(id_token)) => {
            Some(verify_id_token(&client.http, id_token, issuer, jwks, &client.client_id).await?)
        }
        _ => None,
    };
    let raw = match &client.userinfo_url {
        Some(url) => provider_get(client, url, access_token).await?,
        None => claims
            .clone()
            .ok_or_else(|| Error::Status(400, "The sign-in provider sent no ID token.".into()))?,
    };
    let mut profile = providers::read_profile(&client.mapping, &raw).ok_or_else(|| {
        Error::Status(
            400,
            "The sign-in provider's profile names no account.".into(),
        )
    })?;
    if let Some(claims) = &claims {
        if claims["sub"]
            .as_str()
            .is_some_and(|s| s != profile.account_id)
            && client.userinfo_url.is_some()
            && client.mapping == providers::OIDC_MAPPING
        {
            return Err(Error::Status(
                400,
                "The sign-in provider's profile and ID token name different accounts.".into(),
            ));
        }
    }
    if profile.email.is_none() {
        if let Some((url, at)) = &client.emails_url {
            let list = provider_get(client, url, access_token).await?;
            if let Some((email, verified)) = providers::primary_email(&list, at) {
                profile.email = Some(email);
                profile.email_verified = verified;
            }
        }
    }
    if client.email_is_subject {
        profile.email = Some(profile.account_id.to_lowercase());
        profile.email_verified = true;
    }
    Ok(profile)
}

/// A GET on the provider's API with the user's access token.
pub(crate) async fn provider_get(client: &Client, url: &str, access_token: &str) -> Result<Value> {
    let mut request = client
        .http
        .get(url)
        .bearer_auth(access_token)
        .header("accept", "application/json");
    if let Some(h) = client.client_id_header {
        request = request.header(h, &client.client_id);
    }
    let response = request.send().await.map_err(|e| unavailable(url, e))?;
    if !response.status().is_success() {
        return Err(Error::Status(
            400,
            format!(
                "The sign-in provider refused to tell who signed in ({}). Please try again.",
                response.status()
            ),
        ));
    }
    response.json().await.map_err(|e| unavailable(url, e))
}

/// Checks an ID token's signature against the issuer's keys, and its issuer and audience.
async fn verify_id_token(
    http: &reqwest::Client,
    token: &str,
    issuer: &str,
    jwks_url: &str,
    audience: &str,
) -> Result<Value> {
    let refused = |why: String| {
        Error::Status(
            400,
            format!("The sign-in provider's ID token did not verify: {why}"),
        )
    };
    let header = jsonwebtoken::decode_header(token).map_err(|e| refused(e.to_string()))?;
    let keys: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(super::fetch_json(http, jwks_url).await?)
            .map_err(|e| unavailable(jwks_url, e))?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }
    .ok_or_else(|| refused("no key of the issuer signed it".into()))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| refused(e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| refused(e.to_string()))
}

/// What the app gets for its authorization code.
#[derive(Debug)]
pub struct CodeGrant {
    pub tokens: Tokens,
    pub is_new_user: bool,
    pub after_callback_redirect_url: Option<String>,
}

/// The body of `POST /auth/oauth/cross-domain/authorize`.
#[derive(Clone, Debug, Deserialize)]
pub struct CrossDomainAuthorize {
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    #[serde(default = "s256")]
    pub code_challenge_method: String,
    pub after_callback_redirect_url: Option<String>,
}

fn s256() -> String {
    "S256".into()
}

impl crate::validation::Input for CrossDomainAuthorize {
    fn shape(_: bool) -> crate::validation::Shape {
        use crate::validation::{string, Shape};
        Shape::new()
            .field("redirect_uri", string().url().defined())
            .field("state", string().defined().non_empty().max_chars(512))
            .field(
                "code_challenge",
                string().defined().custom(|at, v| {
                    let s = v.as_str()?;
                    let ok = (43..=128).contains(&s.len())
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c));
                    (!ok).then(|| {
                        format!("{at} must match the following: \"/^[A-Za-z0-9._~-]{{43,128}}$/\"")
                    })
                }),
            )
            .field("code_challenge_method", string().one_of(&[json!("S256")]))
            .field("after_callback_redirect_url", string().url())
    }
}

impl Core {
    /// `POST /auth/oauth/token` with `grant_type=authorization_code`.
    pub async fn exchange_authorization_code(
        &self,
        project: &Project,
        code: &str,
        code_verifier: Option<&str>,
        redirect_uri: Option<&str>,
    ) -> Result<CodeGrant> {
        let found = self
            .check_code(&project.id, CodeKind::OAuthAuthorization, code)
            .await
            .map_err(|e| match e {
                Error::Internal(_) => e,
                _ => Error::InvalidAuthorizationCode,
            })?;
        let data = &found.data;
        let challenge = data["code_challenge"].as_str().unwrap_or_default();
        if !challenge.is_empty() {
            let method = data["code_challenge_method"].as_str().unwrap_or("S256");
            if !code_verifier.is_some_and(|v| pkce_matches(method, challenge, v)) {
                return Err(Error::InvalidAuthorizationCode);
            }
        }
        if let Some(uri) = redirect_uri {
            if uri.split('#').next() != data["redirect_uri"].as_str() {
                return Err(Error::Status(400, "Invalid redirect URI. Your redirect URI must be the same as the one used to get the authorization code.".into()));
            }
        }
        let user_id = data["user_id"].as_str().unwrap_or_default().to_string();
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &found)
            .await
            .map_err(|_| Error::InvalidAuthorizationCode)?;
        let is_new_user = data["new_user"] == json!(true);
        let tokens = self
            .commit_sign_in(tx, &project.id, user_id, is_new_user, "oauth")
            .await?;
        Ok(CodeGrant {
            tokens,
            is_new_user,
            after_callback_redirect_url: data["after_callback_redirect_url"]
                .as_str()
                .map(str::to_string),
        })
    }

    /// `POST /auth/oauth/cross-domain/authorize`: an authorization code for the signed-in user,
    /// for an app on another domain to trade for a session of its own.
    pub async fn cross_domain_authorize(
        &self,
        project: &Project,
        user: &User,
        body: &CrossDomainAuthorize,
    ) -> Result<String> {
        self.check_callback_url(project, &body.redirect_uri)?;
        if let Some(url) = &body.after_callback_redirect_url {
            self.check_callback_url(project, url)?;
        }
        let mut tx = self.begin().await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::OAuthAuthorization,
                user_id: Some(user.id.clone()),
                method: json!({}),
                data: json!({
                    "user_id": user.id,
                    "new_user": false,
                    "after_callback_redirect_url": body.after_callback_redirect_url,
                    "redirect_uri": body.redirect_uri.split('#').next().unwrap_or_default(),
                    "code_challenge": body.code_challenge,
                    "code_challenge_method": body.code_challenge_method,
                }),
                redirect_url: None,
                lifetime_ms: Some(AUTHORIZATION_CODE_MS),
            },
        )
        .await?;
        tx.commit().await?;
        with_params(
            &body.redirect_uri,
            &[("code", &issued.code), ("state", &body.state)],
        )
        .ok_or(Error::RedirectUrlNotWhitelisted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_join_the_query_and_replace_their_namesakes() {
        assert_eq!(
            with_params(
                "http://app.test/cb?x=1&code=old#frag",
                &[("code", "c"), ("state", "s t")]
            )
            .unwrap(),
            "http://app.test/cb?x=1&code=c&state=s+t#frag"
        );
        assert_eq!(with_params("not a url", &[("a", "b")]), None);
    }
}
