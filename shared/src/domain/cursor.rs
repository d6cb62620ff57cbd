//! The `cursor` of a find's or a list's links: where the next page starts, opaque to
//! clients and bound to the walk it came from (the channel, and a find's field and match
//! key), so that a cursor of one walk is refused by another. Binding, not secrecy: a forged cursor can only move the start
//! within the caller's own matches, which the store reads from the caller's partition.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::ApiError;
use crate::hash::sha256_hex;

const VERSION: &str = "1";
const SEPARATOR: char = '\u{1}';

fn tag(channel: &str, field: &str, key: &str) -> String {
    sha256_hex(format!("{channel}{SEPARATOR}{field}{SEPARATOR}{key}").as_bytes())[..16].to_string()
}

/// The cursor of the page that starts after `after` (a store position) in this find.
pub fn encode(channel: &str, field: &str, key: &str, after: &str) -> String {
    let text = format!(
        "{VERSION}{SEPARATOR}{}{SEPARATOR}{after}",
        tag(channel, field, key)
    );
    URL_SAFE_NO_PAD.encode(text)
}

/// The position a cursor holds, if it is one of this find's.
pub fn decode(cursor: &str, channel: &str, field: &str, key: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, SEPARATOR);
    let (version, found_tag, after) = (parts.next()?, parts.next()?, parts.next()?);
    (version == VERSION && found_tag == tag(channel, field, key) && !after.is_empty())
        .then(|| after.to_string())
}

/// A list's walk, bound like a find's: no field name can hold `#`.
const LIST: &str = "#list";

/// The cursor of the list page that starts after `after`.
pub fn encode_list(channel: &str, after: &str) -> String {
    encode(channel, LIST, "", after)
}

/// The position a list cursor holds, if it is one of this channel's lists.
pub fn decode_list(cursor: &str, channel: &str) -> Option<String> {
    decode(cursor, channel, LIST, "")
}

pub fn invalid_list() -> ApiError {
    ApiError::invalid(
        "Query parameter 'cursor' is not a cursor of this channel's list: use links.next or meta.next_cursor as given.",
    )
}

pub fn invalid() -> ApiError {
    ApiError::invalid(
        "Query parameter 'cursor' is not a cursor of this find: follow the links as given.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_works_for_its_own_find_only() {
        let cursor = encode("ch", "phone", "123", "000000000001.000002#id");
        assert!(cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(
            decode(&cursor, "ch", "phone", "123").as_deref(),
            Some("000000000001.000002#id")
        );
        assert_eq!(decode(&cursor, "other", "phone", "123"), None);
        assert_eq!(decode(&cursor, "ch", "email", "123"), None);
        assert_eq!(decode(&cursor, "ch", "phone", "124"), None);
        for bad in ["", "!!!", "bm90IGEgY3Vyc29y", &cursor[1..]] {
            assert_eq!(decode(bad, "ch", "phone", "123"), None, "{bad}");
        }
        let list = encode_list("ch", "000000000001.000002#id");
        assert_eq!(
            decode_list(&list, "ch").as_deref(),
            Some("000000000001.000002#id")
        );
        assert_eq!(decode_list(&list, "other"), None);
        assert_eq!(decode_list(&cursor, "ch"), None);
        assert_eq!(decode(&list, "ch", "phone", "123"), None);
    }
}
