//! Channel API tokens: generation, the bearer header, and the hash that is all we store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::hash::sha256_hex;
use crate::limits::MAX_TOKEN_CHARS;
use crate::random::{self, RandomError};

/// Tokens start with this so that operators (and secret scanners) can recognise them.
const PREFIX: &str = "ct_";

/// A new token: 256 random bits, URL-safe.
pub fn generate() -> Result<String, RandomError> {
    let random = random::bytes::<32>()?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(random)))
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive.
pub fn from_bearer(header: &str) -> Option<&str> {
    let header = header.trim();
    let (scheme, token) = header.split_once(char::is_whitespace)?;
    let token = token.trim();
    let plausible =
        !token.is_empty() && token.len() <= MAX_TOKEN_CHARS && !token.contains(char::is_whitespace);
    (scheme.eq_ignore_ascii_case("bearer") && plausible).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(from_bearer("Bearer abc"), Some("abc"));
        assert_eq!(from_bearer("bEaReR   abc "), Some("abc"));
        assert_eq!(from_bearer("Basic abc"), None);
        assert_eq!(from_bearer("Bearer"), None);
        assert_eq!(from_bearer("Bearer a b"), None);
        assert_eq!(from_bearer("abc"), None);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate().unwrap();
        assert!(a.starts_with("ct_") && a.len() == 46, "{a}");
        assert_ne!(a, generate().unwrap());
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
