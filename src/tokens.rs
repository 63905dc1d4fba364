//! Access tokens: ES256 JWTs with Stack's header and claims, signed with per-project keys that
//! are derived from the server secret (no key material is stored), and the JWKS that publishes
//! their public halves.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::cache::TtlCache;
use crate::error::{Error, Result};

/// How long an access token lives; clients refresh with their refresh token.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 600;

/// Which kind of user a token is for. Each has its own issuer, audience and key, so a verifier
/// that trusts only full users never accepts an anonymous or restricted user's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    User,
    Anonymous,
    Restricted,
}

impl Audience {
    fn issuer_path(self) -> &'static str {
        match self {
            Audience::User => "projects",
            Audience::Anonymous => "projects-anonymous-users",
            Audience::Restricted => "projects-restricted-users",
        }
    }
    fn audience_suffix(self) -> &'static str {
        match self {
            Audience::User => "",
            Audience::Anonymous => ":anon",
            Audience::Restricted => ":restricted",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Audience::User => "user",
            Audience::Anonymous => "anon",
            Audience::Restricted => "restricted",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RestrictedReason {
    #[serde(rename = "type")]
    pub kind: String,
}

/// The claims of an access token, exactly as Stack names them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    pub project_id: String,
    pub branch_id: String,
    pub refresh_token_id: String,
    pub role: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub selected_team_id: Option<String>,
    pub signed_up_at: i64,
    pub is_anonymous: bool,
    pub is_restricted: bool,
    pub restricted_reason: Option<RestrictedReason>,
    pub requires_totp_mfa: bool,
}

struct ProjectKey {
    /// The key pair, parsed once: parsing checks the key, which costs about what a signature
    /// does (a JWT library that takes the key as bytes parses it on every signature).
    signing: EcdsaKeyPair,
    /// `base64url(header).`, the same for every token the key signs.
    header: String,
    decoding: DecodingKey,
    jwk: Value,
}

/// Derives, caches and uses the signing keys.
#[derive(Clone)]
pub struct Signer {
    secret: Arc<Vec<u8>>,
    base_url: Arc<str>,
    cache: Arc<RwLock<HashMap<(String, Audience), Arc<ProjectKey>>>>,
    /// Tokens whose signature was checked, until they expire: a token is immutable, so a second
    /// ECDSA verification of the same bytes would tell nothing new.
    verified: Arc<TtlCache<String, Arc<Claims>>>,
}

impl Signer {
    pub fn new(secret: &[u8], base_url: &str) -> Signer {
        Signer {
            secret: Arc::new(secret.to_vec()),
            base_url: base_url.trim_end_matches('/').into(),
            cache: Default::default(),
            verified: Arc::new(TtlCache::new(
                Duration::from_secs(ACCESS_TOKEN_TTL_SECS as u64),
                100_000,
            )),
        }
    }

    pub fn issuer(&self, project_id: &str, audience: Audience) -> String {
        format!(
            "{}/api/v1/{}/{}",
            self.base_url,
            audience.issuer_path(),
            project_id
        )
    }

    pub fn audience(&self, project_id: &str, audience: Audience) -> String {
        format!("{project_id}{}", audience.audience_suffix())
    }

    fn key(&self, project_id: &str, audience: Audience) -> Arc<ProjectKey> {
        let id = (project_id.to_string(), audience);
        if let Some(k) = self.cache.read().expect("key cache").get(&id) {
            return k.clone();
        }
        let key = Arc::new(self.derive(project_id, audience));
        self.cache
            .write()
            .expect("key cache")
            .insert(id, key.clone());
        key
    }

    fn derive(&self, project_id: &str, audience: Audience) -> ProjectKey {
        // HMAC(secret, label) gives 32 uniform bytes; the odd value outside the curve order
        // is skipped by bumping a counter.
        let secret = (0u32..)
            .find_map(|counter| {
                let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
                mac.update(
                    format!(
                        "gatehouse/jwt/v1/{project_id}/{}/{counter}",
                        audience.label()
                    )
                    .as_bytes(),
                );
                p256::SecretKey::from_slice(&mac.finalize().into_bytes()).ok()
            })
            .expect("a valid scalar");
        let der = secret.to_pkcs8_der().expect("pkcs8 encoding");
        let point = secret.public_key().to_encoded_point(false);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let x = b64.encode(point.x().expect("x"));
        let y = b64.encode(point.y().expect("y"));
        let kid = crate::crypto::hex(&<Sha256 as sha2::Digest>::digest(point.as_bytes())[..12]);
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.clone());
        let mut header = b64.encode(serde_json::to_vec(&header).expect("a header serialises"));
        header.push('.');
        ProjectKey {
            signing: EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                der.as_bytes(),
                &SystemRandom::new(),
            )
            .expect("a derived key parses"),
            header,
            decoding: DecodingKey::from_ec_components(&x, &y).expect("valid point"),
            jwk: json!({ "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": x, "y": y }),
        }
    }

    pub fn sign(&self, claims: &Claims, audience: Audience) -> Result<String> {
        let key = self.key(&claims.project_id, audience);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = serde_json::to_vec(claims).map_err(Error::internal)?;
        let mut token = String::with_capacity(key.header.len() + claims.len() * 4 / 3 + 90);
        token.push_str(&key.header);
        b64.encode_string(&claims, &mut token);
        let signature = key
            .signing
            .sign(&SystemRandom::new(), token.as_bytes())
            .map_err(Error::internal)?;
        token.push('.');
        b64.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }

    /// Verifies a token for `project_id` and returns its claims. Errors are Stack's
    /// access-token errors; `admin` picks the admin-access-token flavour of them.
    pub fn verify(&self, token: &str, project_id: &str, admin: bool) -> Result<Arc<Claims>> {
        if let Some(claims) = self.verified.get(token) {
            if claims.project_id == project_id && claims.exp * 1000 > crate::now_ms() {
                return Ok(claims);
            }
        }
        let claims = Arc::new(self.verify_uncached(token, project_id, admin)?);
        let left = Duration::from_millis((claims.exp * 1000 - crate::now_ms()).max(0) as u64);
        self.verified
            .insert_until(token.to_string(), claims.clone(), Instant::now() + left);
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str, project_id: &str, admin: bool) -> Result<Claims> {
        let unparsable = || {
            if admin {
                Error::UnparsableAdminAccessToken
            } else {
                Error::UnparsableAccessToken
            }
        };
        // Read the (unverified) claims first to find which project and key the token names.
        let payload = token.split('.').nth(1).ok_or_else(unparsable)?;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| unparsable())?;
        let peek: Value = serde_json::from_slice(&raw).map_err(|_| unparsable())?;
        let token_project = peek["project_id"].as_str().ok_or_else(unparsable)?;
        if token_project != project_id {
            return Err(if admin {
                Error::InvalidProjectForAdminAccessToken
            } else {
                Error::InvalidProjectForAccessToken {
                    expected: project_id.into(),
                    actual: token_project.into(),
                }
            });
        }
        let audience = match peek["aud"].as_str() {
            Some(a) if a.ends_with(":anon") => Audience::Anonymous,
            Some(a) if a.ends_with(":restricted") => Audience::Restricted,
            _ => Audience::User,
        };
        let key = self.key(project_id, audience);
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[self.audience(project_id, audience)]);
        validation.set_issuer(&[self.issuer(project_id, audience)]);
        validation.leeway = 0;
        match jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                let exp = peek["exp"].as_i64().map(|s| s * 1000);
                Err(if admin {
                    Error::AdminAccessTokenExpired(exp)
                } else {
                    Error::AccessTokenExpired {
                        expired_at_millis: exp,
                        project_id: Some(project_id.into()),
                        user_id: peek["sub"].as_str().map(Into::into),
                        refresh_token_id: peek["refresh_token_id"].as_str().map(Into::into),
                    }
                })
            }
            Err(_) => Err(unparsable()),
        }
    }

    /// The JSON Web Key Set of a project: the full-user key, plus the anonymous and restricted
    /// keys when asked for.
    pub fn jwks(
        &self,
        project_id: &str,
        include_anonymous: bool,
        include_restricted: bool,
    ) -> Value {
        let mut keys = vec![self.key(project_id, Audience::User).jwk.clone()];
        if include_anonymous {
            keys.push(self.key(project_id, Audience::Anonymous).jwk.clone());
        }
        if include_restricted {
            keys.push(self.key(project_id, Audience::Restricted).jwk.clone());
        }
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(project: &str, aud: Audience, signer: &Signer, exp_in: i64) -> Claims {
        let now = crate::now_ms() / 1000;
        Claims {
            sub: "u".into(),
            exp: now + exp_in,
            iat: now,
            iss: signer.issuer(project, aud),
            aud: signer.audience(project, aud),
            project_id: project.into(),
            branch_id: "main".into(),
            refresh_token_id: "r".into(),
            role: "authenticated".into(),
            name: None,
            email: None,
            email_verified: false,
            selected_team_id: None,
            signed_up_at: 0,
            is_anonymous: aud == Audience::Anonymous,
            is_restricted: false,
            restricted_reason: None,
            requires_totp_mfa: false,
        }
    }

    #[test]
    fn keys_are_derived_deterministically_per_project_and_audience() {
        let a = Signer::new(b"secret", "http://x");
        let b = Signer::new(b"secret", "http://x");
        assert_eq!(a.jwks("p1", false, false), b.jwks("p1", false, false));
        assert_ne!(a.jwks("p1", false, false), a.jwks("p2", false, false));
        assert_eq!(
            a.jwks("p1", true, true)["keys"].as_array().unwrap().len(),
            3
        );
        assert_ne!(
            Signer::new(b"other", "http://x").jwks("p1", false, false),
            a.jwks("p1", false, false)
        );
    }

    #[test]
    fn verify_checks_project_signature_and_expiry() {
        let s = Signer::new(b"secret", "http://x");
        let t = s
            .sign(&claims("p1", Audience::User, &s, 60), Audience::User)
            .unwrap();
        assert_eq!(s.verify(&t, "p1", false).unwrap().sub, "u");
        assert!(matches!(
            s.verify(&t, "p2", false),
            Err(Error::InvalidProjectForAccessToken { .. })
        ));
        let forged = Signer::new(b"other", "http://x")
            .sign(&claims("p1", Audience::User, &s, 60), Audience::User)
            .unwrap();
        assert!(matches!(
            s.verify(&forged, "p1", false),
            Err(Error::UnparsableAccessToken)
        ));
        let old = s
            .sign(&claims("p1", Audience::User, &s, -10), Audience::User)
            .unwrap();
        assert!(matches!(
            s.verify(&old, "p1", false),
            Err(Error::AccessTokenExpired { .. })
        ));
        let anon = s
            .sign(
                &claims("p1", Audience::Anonymous, &s, 60),
                Audience::Anonymous,
            )
            .unwrap();
        assert!(s.verify(&anon, "p1", false).unwrap().is_anonymous);
        assert!(matches!(
            s.verify("garbage", "p1", false),
            Err(Error::UnparsableAccessToken)
        ));
    }
}
