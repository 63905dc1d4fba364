//! Svix's spellings: ids (`msg_` and 27 base62 characters, a KSUID: time first, so ids sort
//! by age), `whsec_` secrets, and the Standard Webhooks signature.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::Mac;
use rand::RngCore;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// KSUID's epoch (2014-05-13), in seconds since Unix's.
const KSUID_EPOCH: u64 = 1_400_000_000;

/// `prefix_` and a KSUID: four bytes of seconds, then sixteen of payload, in base62. The
/// payload starts with the nanoseconds within the second, so ids made one after another sort
/// in that order (lists page by id); the rest is random.
pub fn svix_id(prefix: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut bytes = [0u8; 20];
    let secs = now.as_secs().saturating_sub(KSUID_EPOCH) as u32;
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    bytes[4..8].copy_from_slice(&now.subsec_nanos().to_be_bytes());
    rand::thread_rng().fill_bytes(&mut bytes[8..]);
    format!("{prefix}_{}", base62(bytes))
}

/// 20 bytes as 27 base62 digits, most significant first.
fn base62(mut n: [u8; 20]) -> String {
    let mut digits = [b'0'; 27];
    for d in digits.iter_mut().rev() {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        *d = BASE62[rem as usize];
    }
    String::from_utf8(digits.to_vec()).expect("base62 digits are ASCII")
}

/// A new signing secret: `whsec_` and the base64 of 24 random bytes, as Svix makes them.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The key a `whsec_` secret holds (24 to 64 bytes, as Standard Webhooks asks).
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    (24..=64).contains(&key.len()).then_some(key)
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each
/// secret, separated by spaces.
pub fn signature(secrets: &[String], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|s| secret_key(s))
        .map(|key| {
            let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key)
                .expect("HMAC takes keys of any length");
            mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_svix_shaped_and_sort_by_time() {
        let id = svix_id("msg");
        assert_eq!(id.len(), 4 + 27);
        assert!(id[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(base62([0; 20]), "0".repeat(27));
        assert_eq!(base62([255; 20]), "aWgEPTl1tmebfsQzFP4bxwgy80V");
        let ids: Vec<String> = (0..50).map(|_| svix_id("msg")).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "ids made in turn sort in turn");
    }

    /// The example of the Standard Webhooks specification (and of Svix's documentation).
    #[test]
    fn signs_as_standard_webhooks_does() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(secret_key("whsec_c2hvcnQ=").is_none(), "too short a key");
        assert_eq!(secret_key(&new_secret()).map(|k| k.len()), Some(24));
    }
}
