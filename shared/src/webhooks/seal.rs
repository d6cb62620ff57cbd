//! Webhook secrets at rest: sealed with AES-256-GCM under a key kept outside the table
//! (`WEBHOOK_SEALING_KEY`; on AWS a Secrets Manager secret the template generates), so a
//! read of the table, a backup or an export never hands a secret out. The subscription's
//! channel and id are the associated data: a sealed secret copied onto another
//! subscription does not open.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::signature::Secret;
use crate::env;
use crate::random;

/// What a sealed secret starts with: the format, should it ever change.
const FORMAT: &str = "v1.";
/// The shortest sealing key accepted: 32 characters.
pub const MIN_KEY_CHARS: usize = 32;

pub struct SealingKey(LessSafeKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl SealingKey {
    /// The key from `text` (any string of at least [`MIN_KEY_CHARS`] characters; its
    /// SHA-256 is the AES key).
    pub fn new(text: &str) -> Result<Self, String> {
        if text.chars().count() < MIN_KEY_CHARS {
            return Err(format!(
                "{} must be at least {MIN_KEY_CHARS} characters",
                env::WEBHOOK_SEALING_KEY
            ));
        }
        let key = UnboundKey::new(&AES_256_GCM, digest(&SHA256, text.as_bytes()).as_ref())
            .map_err(|_| "cannot make an AES-256-GCM key".to_string())?;
        Ok(SealingKey(LessSafeKey::new(key)))
    }

    /// The key of `WEBHOOK_SEALING_KEY`.
    pub fn from_env() -> Result<Self, String> {
        let text = env::get(env::WEBHOOK_SEALING_KEY).ok_or_else(|| {
            format!(
                "{} is not set: webhook secrets cannot be sealed or opened",
                env::WEBHOOK_SEALING_KEY
            )
        })?;
        Self::new(&text)
    }

    /// `secret` sealed for the subscription `webhook` of `channel`.
    pub fn seal(&self, secret: &Secret, channel: &str, webhook: &str) -> Result<String, String> {
        let nonce = random::bytes::<NONCE_LEN>().map_err(|e| e.to_string())?;
        let mut sealed = secret.to_text().into_bytes();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                aad(channel, webhook),
                &mut sealed,
            )
            .map_err(|_| "cannot seal the secret".to_string())?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{FORMAT}{}", STANDARD.encode(out)))
    }

    /// The secret `sealed` holds, if it was sealed with this key for this subscription.
    pub fn open(&self, sealed: &str, channel: &str, webhook: &str) -> Result<Secret, String> {
        let refused = || format!("the secret of webhook {webhook} does not open with this key");
        let bytes = sealed
            .strip_prefix(FORMAT)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(refused)?;
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut rest = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, aad(channel, webhook), &mut rest)
            .map_err(|_| refused())?;
        std::str::from_utf8(plain)
            .ok()
            .and_then(Secret::parse)
            .ok_or_else(refused)
    }
}

fn aad(channel: &str, webhook: &str) -> Aad<Vec<u8>> {
    Aad::from(format!("{channel}\n{webhook}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn opens_only_with_its_key_and_for_its_subscription() {
        let key = SealingKey::new(KEY).unwrap();
        let secret = Secret::generate().unwrap();
        let sealed = key.seal(&secret, "ch1", "wh1").unwrap();
        assert!(!sealed.contains(&secret.to_text()[6..]), "not in the clear");
        let opened = key.open(&sealed, "ch1", "wh1").unwrap();
        assert_eq!(opened.to_text(), secret.to_text());
        assert!(key.open(&sealed, "ch2", "wh1").is_err());
        assert!(key.open(&sealed, "ch1", "wh2").is_err());
        let other = SealingKey::new(&format!("{KEY}!")).unwrap();
        assert!(other.open(&sealed, "ch1", "wh1").is_err());
        assert!(key.open("v1.AAAA", "ch1", "wh1").is_err());
        // Sealed twice, two different texts (a fresh nonce each time).
        assert_ne!(sealed, key.seal(&secret, "ch1", "wh1").unwrap());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SealingKey::new("short").is_err());
    }
}
