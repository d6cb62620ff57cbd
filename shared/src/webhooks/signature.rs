//! Standard Webhooks signing (<https://www.standardwebhooks.com>): a delivery carries
//! `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`,
//! `v1,` + Base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed by the
//! subscription's secret, which is shown to the operator as `whsec_` + Base64 of its bytes.
//! Any Standard Webhooks library verifies these with that secret.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::random::{self, RandomError};

/// What a secret's text starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a new secret: the specification asks for 24 to 64.
const SECRET_BYTES: usize = 32;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// A subscription's signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    // Never printed: a secret in a log line would let anyone sign deliveries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Secret(random::bytes::<SECRET_BYTES>()?.to_vec()))
    }

    /// A secret from its text (`whsec_...`); `None` if it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.strip_prefix(SECRET_PREFIX)?).ok()?;
        (24..=64).contains(&bytes.len()).then_some(Secret(bytes))
    }

    /// Its text, as the operator is shown it once.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` of a delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }

    /// The three headers of a delivery.
    pub fn headers(&self, id: &str, timestamp: i64, body: &[u8]) -> [(&'static str, String); 3] {
        [
            (ID_HEADER, id.to_string()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, self.sign(id, timestamp, body)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_signs_as_published() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_as_text_and_stay_out_of_logs() {
        let secret = Secret::generate().unwrap();
        let text = secret.to_text();
        assert!(text.starts_with("whsec_"), "{text}");
        assert_eq!(Secret::parse(&text), Some(secret.clone()));
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(Secret::parse("whsec_short"), None);
        assert_eq!(Secret::parse(&text[1..]), None);
        assert_ne!(Secret::generate().unwrap(), secret);
    }
}
