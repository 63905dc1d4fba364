//! Pictures uploaded as `data:image/…;base64,…` URLs (team, member and user profile images):
//! Gatehouse keeps them itself, in the database, and serves them from its own origin at
//! `/api/v1/images/{id}`, so no external bucket is needed. An image is named by the SHA-256 of
//! its bytes: stored once however often it is uploaded, and its URL never changes meaning.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::events::Tx;
use crate::{now_ms, Core};

/// The largest picture accepted, decoded (Stack's limit is 1 MB of base64 text).
pub const MAX_IMAGE_BYTES: usize = 750_000;

const TYPES: [&str; 6] = ["png", "jpg", "jpeg", "gif", "bmp", "webp"];

/// A decoded data URL: its content type and bytes. `None` when `url` is not a data URL at all;
/// an error when it is one Gatehouse will not keep.
fn parse_data_url(url: &str, field: &str) -> Result<Option<(String, Vec<u8>)>> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Ok(None);
    };
    let bad = |why: &str| Err(Error::Status(400, format!("Invalid {field}: {why}")));
    let Some((head, data)) = rest.split_once(";base64,") else {
        return bad("an uploaded image must be a base64 data URL");
    };
    let Some(kind) = head.strip_prefix("image/").filter(|k| TYPES.contains(k)) else {
        return bad("the image must be PNG, JPEG, GIF, BMP or WebP");
    };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
        return bad("the image data is not valid base64");
    };
    if bytes.len() > MAX_IMAGE_BYTES {
        return bad(&format!(
            "the image is larger than {} KB",
            MAX_IMAGE_BYTES / 1000
        ));
    }
    let kind = if kind == "jpg" { "jpeg" } else { kind };
    Ok(Some((format!("image/{kind}"), bytes)))
}

/// Whether `url` is a picture a browser may upload directly (Stack lets client access set only
/// data URLs, never links to elsewhere).
pub fn is_data_image(url: &str) -> bool {
    parse_data_url(url, "image").is_ok_and(|p| p.is_some())
}

/// The URL to store for a profile image: a data URL is kept here and replaced by its address on
/// this server; any other URL is kept as given.
pub(crate) async fn store(
    tx: &mut Tx,
    base_url: &str,
    url: Option<String>,
    field: &str,
) -> Result<Option<String>> {
    let Some(url) = url else { return Ok(None) };
    let Some((content_type, bytes)) = parse_data_url(&url, field)? else {
        return Ok(Some(url));
    };
    let id = crate::crypto::hex(&Sha256::digest(&bytes));
    sqlx::query(
        "INSERT INTO images (id, content_type, data_base64, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(&content_type)
    .bind(base64::engine::general_purpose::STANDARD.encode(&bytes))
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(Some(format!("{base_url}/api/v1/images/{id}")))
}

impl Core {
    /// A stored picture: content type and bytes.
    pub async fn image(&self, id: &str) -> Result<Option<(String, Vec<u8>)>> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT content_type, data_base64 FROM images WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.and_then(|(t, d)| {
            base64::engine::general_purpose::STANDARD
                .decode(d)
                .ok()
                .map(|b| (t, b))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_are_read_and_checked() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        let (t, b) = parse_data_url(png, "x").unwrap().unwrap();
        assert_eq!(t, "image/png");
        assert_eq!(b.len(), 8);
        assert!(parse_data_url("https://a.test/p.png", "x")
            .unwrap()
            .is_none());
        assert!(parse_data_url("data:text/plain;base64,SGk=", "x").is_err());
        assert!(parse_data_url("data:image/png;base64,@@@", "x").is_err());
        assert!(is_data_image(png));
        assert!(!is_data_image("https://a.test/p.png"));
    }
}
