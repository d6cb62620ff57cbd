//! Tags: what one may be.

use crate::domain::text::nfc;
use crate::limits::MAX_TAG_CHARS;

/// A tag, trimmed and in Unicode NFC (so `Café` is one tag however it is spelled), or why
/// it is not acceptable.
pub fn tag(tag: &str) -> Result<String, String> {
    let tag = nfc(tag.trim());
    let tag = tag.as_ref();
    if tag.is_empty() {
        return Err("must not be empty".into());
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Err(format!("is longer than {MAX_TAG_CHARS} characters"));
    }
    if tag.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(tag.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_are_trimmed_and_composed() {
        assert_eq!(super::tag("  Cafe\u{301} ").unwrap(), "Caf\u{e9}");
        assert_eq!(super::tag(" ").unwrap_err(), "must not be empty");
        assert!(super::tag(&"x".repeat(256)).is_err());
    }
}
