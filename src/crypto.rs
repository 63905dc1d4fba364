//! Secrets: random tokens, their stored hashes, and password hashing (argon2id with OWASP's
//! parameters, always on a blocking thread; bcrypt hashes imported from elsewhere still verify).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const PASSWORD_MIN_LENGTH: usize = 8;
pub const PASSWORD_MAX_LENGTH: usize = 70;

/// A random secret of `bytes` bytes, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Lowercase hex of `bytes` random bytes (for keys people copy and paste).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex(&buf)
}

/// How a high-entropy secret (refresh token, API key) is stored: SHA-256, hex. These secrets
/// are random, so a fast hash is enough and lets us look them up by hash.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stack's password rules; the length counts characters, as people do.
pub fn check_password_rules(password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < PASSWORD_MIN_LENGTH {
        return Err(Error::PasswordTooShort(PASSWORD_MIN_LENGTH));
    }
    if len > PASSWORD_MAX_LENGTH {
        return Err(Error::PasswordTooLong(PASSWORD_MAX_LENGTH));
    }
    Ok(())
}

fn argon2id() -> Argon2<'static> {
    // OWASP: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2id()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

/// Checks a password against a stored hash (argon2 PHC string or imported bcrypt), on the
/// blocking pool. A hash we cannot read never matches.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        if hash.starts_with("$2") {
            return bcrypt::verify(&password, &hash).unwrap_or(false);
        }
        match PasswordHash::new(&hash) {
            Ok(parsed) => argon2id().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    })
    .await
    .map_err(Error::internal)
}

/// Runs a dummy verification so that "no such user" takes as long as "wrong password".
pub async fn burn_password_check(password: String) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2id().hash_password(b"not a real password", &salt).expect("hash").to_string()
        })
        .clone();
    let _ = verify_password(password, hash).await;
}

/// Accepts only password hashes we can verify: bcrypt ($2a$/$2b$/$2y$) or argon2 PHC strings.
pub fn check_importable_hash(hash: &str) -> Result<()> {
    let ok = if hash.starts_with("$2") {
        hash.parse::<bcrypt::HashParts>().is_ok()
    } else {
        PasswordHash::new(hash).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"))
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Schema(
            "Request validation failed: body.password_hash is not a supported password hash (bcrypt $2a$/$2b$/$2y$ or argon2 in PHC format).".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_count_characters() {
        assert!(matches!(check_password_rules("short"), Err(Error::PasswordTooShort(8))));
        assert!(check_password_rules("éééééééé").is_ok());
        assert!(matches!(check_password_rules(&"x".repeat(71)), Err(Error::PasswordTooLong(70))));
    }

    #[tokio::test]
    async fn argon2_round_trip_and_bcrypt_import() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse".into(), h.clone()).await.unwrap());
        assert!(!verify_password("wrong horse".into(), h).await.unwrap());
        let b = bcrypt::hash("imported pw", 4).unwrap();
        check_importable_hash(&b).unwrap();
        assert!(verify_password("imported pw".into(), b).await.unwrap());
        assert!(check_importable_hash("plain text").is_err());
    }

    #[test]
    fn secret_hash_is_stable_hex() {
        assert_eq!(secret_hash("abc").len(), 64);
        assert_eq!(secret_hash("abc"), secret_hash("abc"));
    }
}
