//! Tags: what one may be.

use crate::limits::MAX_TAG_CHARS;

/// A tag, trimmed, or why it is not acceptable.
pub fn tag(tag: &str) -> Result<String, String> {
    let tag = tag.trim();
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
