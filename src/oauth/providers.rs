//! The OAuth providers Gatehouse knows, as data: where each one signs people in, where it hands
//! out tokens, where it tells who signed in, and where in its answer the account id, the email
//! and the name are. A provider that speaks OpenID Connect needs none of that: its issuer URL
//! says it all (see [`super::discovery`]).

use serde_json::Value;

/// Where the email's verification is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    /// A boolean at this JSON pointer.
    At(&'static str),
    /// The provider only hands out addresses it verified.
    Always,
    /// The provider does not say.
    Never,
}

/// How a provider's profile answer maps to an account: JSON pointers into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub account_id: &'static str,
    pub email: &'static str,
    pub email_verified: Verified,
    pub name: &'static [&'static str],
    pub picture: &'static str,
}

/// OpenID Connect's standard claims.
pub const OIDC_MAPPING: Mapping = Mapping {
    account_id: "/sub",
    email: "/email",
    email_verified: Verified::At("/email_verified"),
    name: &["/name", "/preferred_username"],
    picture: "/picture",
};

/// Where a provider lists a user's addresses, and JSON pointers into its answer: to the list
/// (empty: the answer is the list), and in each entry to the address, whether it is the
/// primary one, and whether it is verified.
#[derive(Clone, Copy, Debug)]
pub struct EmailList {
    pub url: &'static str,
    pub items: &'static str,
    pub address: &'static str,
    pub primary: &'static str,
    pub verified: &'static str,
}

/// A provider with its own endpoints.
#[derive(Clone, Copy, Debug)]
pub struct Provider {
    pub id: &'static str,
    pub title: &'static str,
    /// `{tenant}` is replaced by the Microsoft tenant (`common` unless configured).
    pub authorize_url: &'static str,
    pub token_url: &'static str,
    /// `None`: the profile is the ID token's claims (Apple).
    pub userinfo_url: Option<&'static str>,
    /// For providers that answer the email apart (GitHub, Bitbucket).
    pub emails_url: Option<EmailList>,
    pub scope: &'static str,
    pub mapping: Mapping,
    /// Extra parameters of the authorization request (refresh tokens from Google…).
    pub authorize_params: &'static [(&'static str, &'static str)],
    /// Twitch wants the client id on API calls too.
    pub client_id_header: Option<&'static str>,
    /// The issuer whose JWKS signs the ID token, where the profile comes from it.
    pub id_token_issuer: Option<&'static str>,
}

pub const PROVIDERS: &[Provider] = &[
    Provider {
        id: "google",
        title: "Google",
        authorize_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        userinfo_url: Some("https://openidconnect.googleapis.com/v1/userinfo"),
        emails_url: None,
        scope: "openid email profile",
        mapping: OIDC_MAPPING,
        authorize_params: &[("access_type", "offline"), ("prompt", "consent")],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "github",
        title: "GitHub",
        authorize_url: "https://github.com/login/oauth/authorize",
        token_url: "https://github.com/login/oauth/access_token",
        userinfo_url: Some("https://api.github.com/user"),
        emails_url: Some(EmailList {
            url: "https://api.github.com/user/emails",
            items: "",
            address: "/email",
            primary: "/primary",
            verified: "/verified",
        }),
        scope: "user:email",
        mapping: Mapping {
            account_id: "/id",
            email: "/email",
            email_verified: Verified::Never,
            name: &["/name", "/login"],
            picture: "/avatar_url",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "microsoft",
        title: "Microsoft",
        authorize_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        userinfo_url: Some("https://graph.microsoft.com/v1.0/me"),
        emails_url: None,
        scope: "User.Read openid offline_access",
        mapping: Mapping {
            account_id: "/id",
            email: "/mail",
            email_verified: Verified::Never,
            name: &["/displayName"],
            picture: "",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "discord",
        title: "Discord",
        authorize_url: "https://discord.com/oauth2/authorize",
        token_url: "https://discord.com/api/oauth2/token",
        userinfo_url: Some("https://discord.com/api/users/@me"),
        emails_url: None,
        scope: "identify email",
        mapping: Mapping {
            account_id: "/id",
            email: "/email",
            email_verified: Verified::At("/verified"),
            name: &["/global_name", "/username"],
            picture: "",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "gitlab",
        title: "GitLab",
        authorize_url: "https://gitlab.com/oauth/authorize",
        token_url: "https://gitlab.com/oauth/token",
        userinfo_url: Some("https://gitlab.com/api/v4/user"),
        emails_url: None,
        scope: "read_user",
        mapping: Mapping {
            account_id: "/id",
            email: "/email",
            // GitLab answers only the confirmed primary address.
            email_verified: Verified::Always,
            name: &["/name", "/username"],
            picture: "/avatar_url",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "bitbucket",
        title: "Bitbucket",
        authorize_url: "https://bitbucket.org/site/oauth2/authorize",
        token_url: "https://bitbucket.org/site/oauth2/access_token",
        userinfo_url: Some("https://api.bitbucket.org/2.0/user"),
        emails_url: Some(EmailList {
            url: "https://api.bitbucket.org/2.0/user/emails",
            items: "/values",
            address: "/email",
            primary: "/is_primary",
            verified: "/is_confirmed",
        }),
        scope: "account email",
        mapping: Mapping {
            account_id: "/uuid",
            email: "/email",
            email_verified: Verified::Never,
            name: &["/display_name", "/username"],
            picture: "/links/avatar/href",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "linkedin",
        title: "LinkedIn",
        authorize_url: "https://www.linkedin.com/oauth/v2/authorization",
        token_url: "https://www.linkedin.com/oauth/v2/accessToken",
        userinfo_url: Some("https://api.linkedin.com/v2/userinfo"),
        emails_url: None,
        scope: "openid profile email",
        mapping: OIDC_MAPPING,
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "spotify",
        title: "Spotify",
        authorize_url: "https://accounts.spotify.com/authorize",
        token_url: "https://accounts.spotify.com/api/token",
        userinfo_url: Some("https://api.spotify.com/v1/me"),
        emails_url: None,
        scope: "user-read-email user-read-private",
        mapping: Mapping {
            account_id: "/id",
            email: "/email",
            email_verified: Verified::Never,
            name: &["/display_name"],
            picture: "/images/0/url",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "twitch",
        title: "Twitch",
        authorize_url: "https://id.twitch.tv/oauth2/authorize",
        token_url: "https://id.twitch.tv/oauth2/token",
        userinfo_url: Some("https://api.twitch.tv/helix/users"),
        emails_url: None,
        scope: "user:read:email",
        mapping: Mapping {
            account_id: "/data/0/id",
            email: "/data/0/email",
            email_verified: Verified::Always,
            name: &["/data/0/display_name", "/data/0/login"],
            picture: "/data/0/profile_image_url",
        },
        authorize_params: &[],
        client_id_header: Some("Client-Id"),
        id_token_issuer: None,
    },
    Provider {
        id: "x",
        title: "X",
        authorize_url: "https://x.com/i/oauth2/authorize",
        token_url: "https://api.x.com/2/oauth2/token",
        userinfo_url: Some("https://api.x.com/2/users/me?user.fields=profile_image_url"),
        emails_url: None,
        scope: "users.read offline.access tweet.read",
        mapping: Mapping {
            account_id: "/data/id",
            email: "/data/email",
            email_verified: Verified::Never,
            name: &["/data/name", "/data/username"],
            picture: "/data/profile_image_url",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "facebook",
        title: "Facebook",
        authorize_url: "https://www.facebook.com/v19.0/dialog/oauth",
        token_url: "https://graph.facebook.com/v19.0/oauth/access_token",
        userinfo_url: Some("https://graph.facebook.com/me?fields=id,name,email,picture"),
        emails_url: None,
        scope: "public_profile email",
        mapping: Mapping {
            account_id: "/id",
            email: "/email",
            email_verified: Verified::Always,
            name: &["/name"],
            picture: "/picture/data/url",
        },
        authorize_params: &[],
        client_id_header: None,
        id_token_issuer: None,
    },
    Provider {
        id: "apple",
        title: "Apple",
        authorize_url: "https://appleid.apple.com/auth/authorize",
        token_url: "https://appleid.apple.com/auth/token",
        userinfo_url: None,
        emails_url: None,
        scope: "name email",
        mapping: OIDC_MAPPING,
        authorize_params: &[("response_mode", "form_post")],
        client_id_header: None,
        id_token_issuer: Some("https://appleid.apple.com"),
    },
];

pub fn provider(id: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.id == id)
}

/// The name people know a provider type by ("GitHub"); the generic one is "OpenID Connect".
pub fn title(provider_type: &str) -> &'static str {
    match provider(provider_type) {
        Some(p) => p.title,
        None => "OpenID Connect",
    }
}

/// Who signed in at the provider.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub account_id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub picture: Option<String>,
}

fn text_at(v: &Value, pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return None;
    }
    match v.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a profile answer; `None` when it names no account.
pub fn read_profile(mapping: &Mapping, v: &Value) -> Option<Profile> {
    let email = text_at(v, mapping.email).map(|e| e.to_lowercase());
    let email_verified = email.is_some()
        && match mapping.email_verified {
            Verified::At(p) => {
                // Some providers send "true" as text in ID tokens (Apple).
                matches!(v.pointer(p), Some(Value::Bool(true)))
                    || v.pointer(p).and_then(Value::as_str) == Some("true")
            }
            Verified::Always => true,
            Verified::Never => false,
        };
    Some(Profile {
        account_id: text_at(v, mapping.account_id)?,
        email,
        email_verified,
        display_name: mapping.name.iter().find_map(|p| text_at(v, p)),
        picture: text_at(v, mapping.picture),
    })
}

/// From a list of addresses (GitHub's `/user/emails`): the primary one, and whether it is
/// verified.
pub fn primary_email(list: &Value, at: &EmailList) -> Option<(String, bool)> {
    let items = if at.items.is_empty() {
        list
    } else {
        list.pointer(at.items)?
    };
    let entry = items
        .as_array()?
        .iter()
        .find(|e| e.pointer(at.primary) == Some(&Value::Bool(true)))?;
    Some((
        text_at(entry, at.address)?.to_lowercase(),
        entry.pointer(at.verified) == Some(&Value::Bool(true)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_provider_type_of_the_config_but_the_generic_one_is_known() {
        for id in crate::config::schema::OAUTH_PROVIDERS {
            assert!(provider(id).is_some() || *id == "oidc", "{id}");
        }
    }

    #[test]
    fn profiles_are_read_through_each_providers_mapping() {
        let github = provider("github").unwrap();
        let p = read_profile(
            &github.mapping,
            &json!({"id": 583231, "login": "octocat", "name": null, "avatar_url": "https://a/x.png"}),
        )
        .unwrap();
        assert_eq!(p.account_id, "583231");
        assert_eq!(p.display_name.as_deref(), Some("octocat"));
        assert_eq!(p.email, None);
        let emails = json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "Octo@Example.com", "primary": true, "verified": true},
        ]);
        assert_eq!(
            primary_email(&emails, &github.emails_url.unwrap()),
            Some(("octo@example.com".into(), true))
        );

        let twitch = provider("twitch").unwrap();
        let p = read_profile(
            &twitch.mapping,
            &json!({"data": [{"id": "141981764", "login": "twitchdev", "display_name": "TwitchDev", "email": "dev@twitch.tv"}]}),
        )
        .unwrap();
        assert_eq!(
            (p.account_id.as_str(), p.email.as_deref(), p.email_verified),
            ("141981764", Some("dev@twitch.tv"), true)
        );

        let oidc = read_profile(
            &OIDC_MAPPING,
            &json!({"sub": "248289761001", "email": "jane@example.com", "email_verified": "true", "name": "Jane"}),
        )
        .unwrap();
        assert!(oidc.email_verified);
        assert_eq!(
            read_profile(&OIDC_MAPPING, &json!({"email": "x@y.z"})),
            None
        );
    }
}
