//! Unicode text as the product compares it: one spelling for one word. The same word can
//! arrive composed (`é`) or decomposed (`e` + a combining accent); tags and the match keys
//! of text are kept in Normalization Form C, so both spellings are one tag and one match.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// `text` in Normalization Form C (borrowed when it is already, as most text is).
pub fn nfc(text: &str) -> Cow<'_, str> {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfc().collect()),
    }
}

/// The case-insensitive form of `text` that matches compare: lowercase, in NFC.
pub fn folded(text: &str) -> String {
    nfc(&nfc(text).to_lowercase()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_are_one() {
        let composed = "Caf\u{e9}";
        let decomposed = "Cafe\u{301}";
        assert_ne!(composed, decomposed);
        assert_eq!(nfc(decomposed), composed);
        assert!(matches!(nfc(composed), Cow::Borrowed(_)));
        assert_eq!(folded(decomposed), "caf\u{e9}");
        assert_eq!(folded("\u{c9}COLE"), folded("e\u{301}cole"));
    }
}
