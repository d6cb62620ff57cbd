//! Webhook secrets at rest: sealed with AES-256-GCM under a key kept outside the table
//! (on AWS a Secrets Manager secret the template generates, see [`keyring`](super::keyring)),
//! so a read of the table, a backup or an export never hands a secret out. The
//! subscription's channel and id are the associated data: a sealed secret copied onto
//! another subscription does not open. A sealed secret names the key it was sealed with
//! (a hash of it, never the key), so that while keys rotate each opens with its own.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::signature::Secret;
use crate::env;
use crate::random;

/// What a sealed secret starts with: the format. `v2.{key id}.` names its key; `v1.`
/// (sealed before keys rotated) names none, and is tried with every key known.
const FORMAT: &str = "v2.";
const UNNAMED: &str = "v1.";
/// The shortest sealing key accepted: 32 characters.
pub const MIN_KEY_CHARS: usize = 32;

pub struct SealingKey {
    key: LessSafeKey,
    /// What sealed secrets name it by: the start of a hash of it, never the key.
    id: String,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingKey({})", self.id)
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
        let aes = digest(&SHA256, text.as_bytes());
        let key = UnboundKey::new(&AES_256_GCM, aes.as_ref())
            .map_err(|_| "cannot make an AES-256-GCM key".to_string())?;
        // A hash of the AES key, not the AES key: the id tells nothing of it.
        let id = digest(&SHA256, aes.as_ref())
            .as_ref()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(SealingKey {
            key: LessSafeKey::new(key),
            id,
        })
    }

    /// What sealed secrets name this key by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `secret` sealed for the subscription `webhook` of `channel`.
    pub fn seal(&self, secret: &Secret, channel: &str, webhook: &str) -> Result<String, String> {
        let nonce = random::bytes::<NONCE_LEN>().map_err(|e| e.to_string())?;
        let mut sealed = secret.to_text().into_bytes();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                aad(channel, webhook),
                &mut sealed,
            )
            .map_err(|_| "cannot seal the secret".to_string())?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{FORMAT}{}.{}", self.id, STANDARD.encode(out)))
    }

    /// The secret `sealed` holds, if it was sealed with this key for this subscription.
    pub fn open(&self, sealed: &str, channel: &str, webhook: &str) -> Result<Secret, String> {
        let refused = || format!("the secret of webhook {webhook} does not open with this key");
        let b64 = match key_id(sealed) {
            Some(id) if id != self.id => return Err(refused()),
            Some(_) => sealed.rsplit('.').next(),
            None => sealed.strip_prefix(UNNAMED),
        };
        let bytes = b64
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(refused)?;
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut rest = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, aad(channel, webhook), &mut rest)
            .map_err(|_| refused())?;
        std::str::from_utf8(plain)
            .ok()
            .and_then(Secret::parse)
            .ok_or_else(refused)
    }
}

/// The id of the key a sealed secret names (`None`: sealed before keys were named).
pub fn key_id(sealed: &str) -> Option<&str> {
    sealed.strip_prefix(FORMAT)?.split('.').next()
}

/// The keys that open sealed secrets, the one that seals new ones first: during a
/// rotation the new and the old key, afterwards the new one alone.
#[derive(Debug)]
pub struct SealingKeys(Vec<SealingKey>);

impl SealingKeys {
    /// `current` seals; it and `older` open.
    pub fn new(current: SealingKey, older: impl IntoIterator<Item = SealingKey>) -> Self {
        SealingKeys(std::iter::once(current).chain(older).collect())
    }

    pub fn current(&self) -> &SealingKey {
        &self.0[0]
    }

    /// Whether a key of these is the one `sealed` names (or, unnamed, may be).
    pub fn knows(&self, sealed: &str) -> bool {
        key_id(sealed).is_none_or(|id| self.0.iter().any(|k| k.id == id))
    }

    /// The secret `sealed` holds, opened with the key it names (or, unnamed, any).
    pub fn open(&self, sealed: &str, channel: &str, webhook: &str) -> Result<Secret, String> {
        let mut last = None;
        for key in &self.0 {
            match key.open(sealed, channel, webhook) {
                Ok(secret) => return Ok(secret),
                Err(why) => last = Some(why),
            }
        }
        Err(last.unwrap_or_else(|| format!("no key opens the secret of webhook {webhook}")))
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
    fn a_sealed_secret_names_its_key_and_a_ring_opens_it_with_that_key() {
        let old = SealingKey::new(KEY).unwrap();
        let new = SealingKey::new(&format!("{KEY}-rotated")).unwrap();
        assert_ne!(old.id(), new.id());
        assert!(!old.id().is_empty() && !KEY.contains(old.id()));
        let secret = Secret::generate().unwrap();
        let sealed = old.seal(&secret, "ch1", "wh1").unwrap();
        assert_eq!(key_id(&sealed), Some(old.id()));
        assert!(new.open(&sealed, "ch1", "wh1").is_err(), "another key's id");
        let ring = SealingKeys::new(new, [SealingKey::new(KEY).unwrap()]);
        assert!(ring.knows(&sealed));
        assert_eq!(
            ring.open(&sealed, "ch1", "wh1").unwrap().to_text(),
            secret.to_text()
        );
        let resealed = ring.current().seal(&secret, "ch1", "wh1").unwrap();
        assert_eq!(key_id(&resealed), Some(ring.current().id()));
        let alone = SealingKeys::new(SealingKey::new(&format!("{KEY}-other")).unwrap(), []);
        assert!(!alone.knows(&sealed));
        assert!(alone.open(&sealed, "ch1", "wh1").is_err());
    }

    #[test]
    fn secrets_sealed_before_keys_were_named_still_open() {
        // The v1 format: the nonce and the sealed text, no key id.
        let key = SealingKey::new(KEY).unwrap();
        let secret = Secret::generate().unwrap();
        let named = key.seal(&secret, "ch1", "wh1").unwrap();
        let unnamed = format!("{UNNAMED}{}", named.rsplit('.').next().unwrap());
        assert_eq!(key_id(&unnamed), None);
        let ring = SealingKeys::new(SealingKey::new(&format!("{KEY}x")).unwrap(), [key]);
        assert!(ring.knows(&unnamed));
        assert_eq!(
            ring.open(&unnamed, "ch1", "wh1").unwrap().to_text(),
            secret.to_text()
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SealingKey::new("short").is_err());
    }
}
