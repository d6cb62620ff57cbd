//! Random identifiers and tokens, from the one crypto provider the binaries link (aws-lc).

use aws_lc_rs::rand::fill;

/// Lowercase base32 without padding (RFC 4648 alphabet): URL-safe and case-insensitive.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The system's random number generator failed (nothing a client did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomError;

impl std::fmt::Display for RandomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the system random number generator failed")
    }
}

impl std::error::Error for RandomError {}

pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill(&mut out).map_err(|_| RandomError)?;
    Ok(out)
}

/// 26 characters of lowercase base32: 130 random bits (the first character carries 5).
pub fn base32_id() -> Result<String, RandomError> {
    let random = bytes::<26>()?;
    Ok(random
        .iter()
        .map(|b| BASE32[(b & 31) as usize] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_distinct_and_url_safe() {
        let a = super::base32_id().unwrap();
        let b = super::base32_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 26);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)));
    }
}
