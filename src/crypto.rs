//! Secrets: random tokens, their stored hashes, and password hashing (argon2id with OWASP's
//! parameters, on a bounded pool of its own threads; bcrypt hashes imported from elsewhere still
//! verify).

use argon2::password_hash::{self, PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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

/// Whether two byte strings are equal, in time that depends on their length only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The key that seals stored provider tokens: derived from the server secret, so a copy of the
/// database alone reveals none of them.
#[derive(Clone)]
pub struct SealingKey(aes_gcm::Key<aes_gcm::Aes256Gcm>);

impl SealingKey {
    pub fn derive(server_secret: &[u8]) -> SealingKey {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .expect("HMAC takes keys of any length");
        mac.update(b"gatehouse: sealed provider tokens");
        SealingKey(mac.finalize().into_bytes())
    }

    /// AES-256-GCM with a random nonce; stored as base64 of nonce and ciphertext.
    pub fn seal(&self, plain: &str) -> String {
        use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
        let cipher = aes_gcm::Aes256Gcm::new(&self.0);
        let nonce = aes_gcm::Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("AES-GCM seals any text");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// The text [`SealingKey::seal`] sealed; `None` if it was sealed with another key or altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        use aes_gcm::aead::{Aead, KeyInit};
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, body) = raw.split_at(12);
        let cipher = aes_gcm::Aes256Gcm::new(&self.0);
        let plain = cipher.decrypt(nonce.into(), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// OWASP's argon2id parameters: m = 19 MiB, t = 2, p = 1.
fn owasp_params() -> Params {
    Params::new(19 * 1024, 2, 1, Some(32)).expect("valid argon2 parameters")
}

/// Hashes a password with argon2id on the hashing pool.
pub async fn hash_password(password: String) -> Result<String> {
    on_hash_pool(move |memory| {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let params = owasp_params();
        let out = argon2_with_memory(
            Algorithm::Argon2id,
            Version::V0x13,
            params.clone(),
            password.as_bytes(),
            &salt,
            memory,
        )?;
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            b64.encode(salt),
            b64.encode(out)
        ))
    })
    .await?
}

/// Checks a password against a stored hash (argon2 PHC string or imported bcrypt) on the
/// hashing pool. A hash we cannot read never matches.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    on_hash_pool(move |memory| {
        if hash.starts_with("$2") {
            return bcrypt::verify(&password, &hash).unwrap_or(false);
        }
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(expected), Some(salt)) = (
            Algorithm::try_from(parsed.algorithm),
            Params::try_from(&parsed),
            parsed.hash,
            parsed.salt,
        ) else {
            return false;
        };
        let version = parsed
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or(Version::V0x13);
        let mut salt_buf = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        let params = match Params::new(
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            Some(expected.len()),
        ) {
            Ok(p) => p,
            Err(_) => return false,
        };
        match argon2_with_memory(
            algorithm,
            version,
            params,
            password.as_bytes(),
            salt,
            memory,
        ) {
            // `Output` compares in constant time.
            Ok(out) => password_hash::Output::new(&out).is_ok_and(|o| o == expected),
            Err(_) => false,
        }
    })
    .await
}

/// Runs a dummy verification so that "no such user" takes as long as "wrong password".
pub async fn burn_password_check(password: String) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = match DUMMY.get() {
        Some(h) => h.clone(),
        None => match hash_password("not a real password".into()).await {
            Ok(h) => DUMMY.get_or_init(|| h).clone(),
            Err(_) => return,
        },
    };
    let _ = verify_password(password, hash).await;
}

fn argon2_with_memory(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    memory: &mut Vec<argon2::Block>,
) -> Result<Vec<u8>> {
    // Hashes people import may ask for more memory than ours; refuse absurd requests.
    if params.m_cost() > 256 * 1024 {
        return Err(Error::internal("argon2 hash asks for more than 256 MiB"));
    }
    memory.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; params.output_len().unwrap_or(32)];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..])
        .map_err(Error::internal)?;
    Ok(out)
}

type HashJob = Box<dyn FnOnce(&mut Vec<argon2::Block>) + Send>;

/// How long the hashing pool keeps its argon2 buffers with nothing to hash: a storm reuses
/// them, a quiet server gives their memory back.
const HASH_BUFFERS_IDLE: std::time::Duration = std::time::Duration::from_millis(500);

/// Password hashing runs on its own threads, one per core, never on the async runtime. Bounding
/// them caps the memory (one argon2 buffer each, reused while jobs keep coming, returned to the
/// system after [`HASH_BUFFERS_IDLE`] without any) and keeps sign-in storms from starving
/// everything else: the threads run at a lower CPU priority, so request handling preempts them.
fn hash_pool() -> &'static std::sync::mpsc::Sender<HashJob> {
    static POOL: std::sync::OnceLock<std::sync::mpsc::Sender<HashJob>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    lower_thread_priority();
                    // The buffers no job is using, shared by the threads.
                    static SPARE: std::sync::Mutex<Vec<Vec<argon2::Block>>> =
                        std::sync::Mutex::new(Vec::new());
                    let spare = || SPARE.lock().unwrap_or_else(|e| e.into_inner());
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv_timeout(HASH_BUFFERS_IDLE),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => {
                                let mut memory = spare().pop().unwrap_or_default();
                                job(&mut memory);
                                spare().push(memory);
                            }
                            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                                let idle = std::mem::take(&mut *spare());
                                if !idle.is_empty() {
                                    drop(idle);
                                    release_freed_memory();
                                }
                            }
                            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                })
                .expect("spawn password hashing thread");
        }
        tx
    })
}

async fn on_hash_pool<T: Send + 'static>(
    f: impl FnOnce(&mut Vec<argon2::Block>) -> T + Send + 'static,
) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    hash_pool()
        .send(Box::new(move |memory| {
            let _ = tx.send(f(memory));
        }))
        .map_err(|_| Error::internal("password hashing pool is gone"))?;
    rx.await
        .map_err(|_| Error::internal("password hashing job was dropped"))
}

/// Hands memory the allocator holds free back to the system (glibc keeps large freed blocks
/// for reuse otherwise).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free memory; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

#[cfg(target_os = "linux")]
fn lower_thread_priority() {
    // On Linux the nice value belongs to the thread, so this leaves request threads alone.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_thread_priority() {}

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
        Err(Error::Status(
            400,
            "Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format."
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_their_key() {
        let key = SealingKey::derive(b"server secret");
        let sealed = key.seal("gho_provider_token");
        assert!(!sealed.contains("gho_provider_token"));
        assert_ne!(sealed, key.seal("gho_provider_token"), "nonces differ");
        assert_eq!(key.open(&sealed).as_deref(), Some("gho_provider_token"));
        assert_eq!(SealingKey::derive(b"another secret").open(&sealed), None);
        assert_eq!(key.open("not sealed"), None);
    }

    #[tokio::test]
    async fn argon2_round_trip_and_bcrypt_import() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse".into(), h.clone())
            .await
            .unwrap());
        assert!(!verify_password("wrong horse".into(), h).await.unwrap());
        let b = bcrypt::hash("imported pw", 4).unwrap();
        check_importable_hash(&b).unwrap();
        assert!(verify_password("imported pw".into(), b).await.unwrap());
        assert!(check_importable_hash("plain text").is_err());
    }

    #[tokio::test]
    async fn our_phc_strings_interoperate_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
        let ours = hash_password("interop pw".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"interop pw", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
            .hash_password(b"interop pw", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("interop pw".into(), theirs.clone())
            .await
            .unwrap());
        assert!(!verify_password("other pw".into(), theirs).await.unwrap());
        assert!(!verify_password("x".into(), "$argon2id$garbage".into())
            .await
            .unwrap());
    }

    #[test]
    fn secret_hash_is_stable_hex() {
        assert_eq!(secret_hash("abc").len(), 64);
        assert_eq!(secret_hash("abc"), secret_hash("abc"));
    }
}
