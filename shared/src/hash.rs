//! SHA-256, from the one crypto provider the binaries link (aws-lc): how tokens,
//! idempotency keys and over-long match keys are stored.

use aws_lc_rs::digest::{digest, SHA256};

/// Lowercase hex SHA-256 of any bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = digest(&SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_answer() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
