//! Safe retries of `POST /v1/contact`: an `Idempotency-Key` header makes a repeat of the
//! same request (same key, same body) within 24 hours return the first response and
//! create nothing; the same key with another body is refused.

use crate::error::{printable, ApiError};
use crate::hash::sha256_hex;
use crate::limits::{IDEMPOTENCY_WINDOW_SECONDS, MAX_IDEMPOTENCY_KEY_CHARS as MAX_KEY_CHARS};

/// The request header (names match case-insensitively).
pub const HEADER: &str = "Idempotency-Key";
/// How long a key is remembered.
pub const WINDOW_SECONDS: i64 = IDEMPOTENCY_WINDOW_SECONDS;

/// What is remembered of a create made with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: String,
    /// SHA-256 of the request body, byte for byte.
    pub body_hash: String,
    /// The contact the first request created: the first response is `{"data":{"id":..}}`.
    pub contact_id: String,
    /// Unix seconds after which the key may be used afresh (also the table's TTL).
    pub expires_at: i64,
}

/// A create made with a key: the key, and the hash of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRequest {
    pub key: String,
    pub body_hash: String,
}

impl IdempotentRequest {
    /// From the header's value and the request body.
    pub fn new(header: &str, body: &[u8]) -> Result<Self, ApiError> {
        Ok(IdempotentRequest {
            key: parse_key(header)?,
            body_hash: body_hash(body),
        })
    }
}

/// The key of a header value: 1 to 255 visible ASCII characters.
pub fn parse_key(raw: &str) -> Result<String, ApiError> {
    let key = raw.trim();
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters."
        )));
    }
    Ok(key.to_string())
}

pub fn body_hash(body: &[u8]) -> String {
    sha256_hex(body)
}

/// What a remembered record means for a new request with the same key: the first
/// response's contact id, or the conflict. `None` when the record has expired.
pub fn replay(
    record: &IdempotencyRecord,
    body_hash: &str,
    now: i64,
) -> Option<Result<String, ApiError>> {
    if record.expires_at <= now {
        return None;
    }
    if record.body_hash == body_hash {
        Some(Ok(record.contact_id.clone()))
    } else {
        Some(Err(ApiError::invalid(format!(
            "Idempotency-Key '{}' was already used with a different request body.",
            printable(&record.key)
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(parse_key(" order-42 ").unwrap(), "order-42");
        for bad in ["", "   ", "has space", "é", &"k".repeat(256)] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
        assert!(parse_key(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn replays_within_the_window_only() {
        let record = IdempotencyRecord {
            key: "k".into(),
            body_hash: body_hash(b"{}"),
            contact_id: "c1".into(),
            expires_at: 100,
        };
        assert_eq!(
            replay(&record, &body_hash(b"{}"), 99),
            Some(Ok("c1".into()))
        );
        let conflict = replay(&record, &body_hash(b"{ }"), 99)
            .unwrap()
            .unwrap_err();
        assert_eq!(conflict.status(), 403);
        assert_eq!(
            conflict.message(),
            "Idempotency-Key 'k' was already used with a different request body."
        );
        assert_eq!(replay(&record, &body_hash(b"{}"), 100), None, "expired");
    }
}
