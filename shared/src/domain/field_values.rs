//! Field values (what a field may hold): validation against a field's type, the canonical
//! form that is stored, and the match key that find-by-field compares.

use crate::domain::field_defs::{FieldDef, FieldType};
use crate::domain::text::folded;
use crate::error::{printable, ApiError};
use crate::limits::MAX_VALUE_CHARS;

/// A value as the client sent it, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputValue {
    /// `null`: clear the field.
    Null,
    Text(String),
    /// A JSON number, kept as its literal text so no digit is lost.
    Number(String),
    Bool(bool),
}

/// Validates `value` for the field `name` and returns its canonical stored form, or
/// `None` when the value clears the field (`null` or blank).
pub fn canonical(
    name: &str,
    def: &FieldDef,
    value: &InputValue,
) -> Result<Option<String>, ApiError> {
    let text = match value {
        InputValue::Null => return Ok(None),
        InputValue::Text(text) => text.trim(),
        InputValue::Number(literal) => literal.as_str(),
        InputValue::Bool(true) => "true",
        InputValue::Bool(false) => "false",
    };
    if text.is_empty() {
        return Ok(None);
    }
    check_length(name, text)?;
    // NUL and other control characters have no place in contact data (and would reach
    // logs, CSV exports and terminals); tab and line breaks do (addresses, notes).
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ApiError::invalid(format!(
            "Value of custom field '{}' contains a control character.",
            printable(name)
        )));
    }
    let invalid = || invalid_value(name, def);
    let stored = match def.field_type {
        FieldType::Text => text.to_string(),
        FieldType::Number => canonical_number(text).ok_or_else(invalid)?,
        FieldType::Boolean => canonical_boolean(text).ok_or_else(invalid)?.to_string(),
        FieldType::Email if is_email(text) => text.to_string(),
        FieldType::Phone if is_phone(text) => text.to_string(),
        FieldType::Url if is_url(text) => text.to_string(),
        FieldType::Date if is_date(text) => text.to_string(),
        FieldType::Time if is_time(text) => text.to_string(),
        FieldType::List => def
            .values
            .iter()
            .find(|declared| folded(declared) == folded(text))
            .cloned()
            .ok_or_else(invalid)?,
        FieldType::Email
        | FieldType::Phone
        | FieldType::Url
        | FieldType::Date
        | FieldType::Time => return Err(invalid()),
    };
    check_length(name, &stored)?;
    Ok(Some(stored))
}

/// The key under which a stored (canonical) value is indexed: text compares
/// case-insensitively and in Unicode NFC, phones by their digits.
pub fn match_key(field_type: FieldType, stored: &str) -> String {
    match field_type {
        FieldType::Text | FieldType::Email | FieldType::Url | FieldType::List => folded(stored),
        FieldType::Phone => stored.chars().filter(char::is_ascii_digit).collect(),
        FieldType::Number | FieldType::Boolean | FieldType::Date | FieldType::Time => {
            stored.to_string()
        }
    }
}

/// The match key of a find query's `value`, validated as the field's type requires.
pub fn query_key(name: &str, def: &FieldDef, value: &str) -> Result<String, ApiError> {
    let text = value.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("Query parameter 'value' is required."));
    }
    check_length(name, text)?;
    if text.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "Query parameter 'value' contains a control character.",
        ));
    }
    let invalid = || invalid_value(name, def);
    let key = match def.field_type {
        FieldType::Text | FieldType::Email | FieldType::Url | FieldType::List => folded(text),
        FieldType::Number => canonical_number(text).ok_or_else(invalid)?,
        FieldType::Boolean => canonical_boolean(text).ok_or_else(invalid)?.to_string(),
        FieldType::Phone => {
            let digits = match_key(FieldType::Phone, text);
            if digits.is_empty() {
                return Err(invalid());
            }
            digits
        }
        FieldType::Date if is_date(text) => text.to_string(),
        FieldType::Time if is_time(text) => text.to_string(),
        FieldType::Date | FieldType::Time => return Err(invalid()),
    };
    Ok(key)
}

fn check_length(name: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > MAX_VALUE_CHARS {
        return Err(ApiError::invalid(format!(
            "Value of custom field '{}' is too long (maximum {MAX_VALUE_CHARS} characters).",
            printable(name)
        )));
    }
    Ok(())
}

fn invalid_value(name: &str, def: &FieldDef) -> ApiError {
    let expected = match def.field_type {
        FieldType::Text => "text".to_string(),
        FieldType::Number => "a number, such as 42 or -5.5".to_string(),
        FieldType::Boolean => "TRUE or FALSE".to_string(),
        FieldType::Email => "an email address, such as name@example.com".to_string(),
        FieldType::Phone => "a phone number of 3 to 20 digits, such as +92 324 4077087".to_string(),
        FieldType::Url => "a URL starting with http:// or https://".to_string(),
        FieldType::Date => "a date in the form YYYY-MM-DD".to_string(),
        FieldType::Time => "a time in the form HH:MM".to_string(),
        FieldType::List => {
            let shown: Vec<&str> = def.values.iter().take(10).map(String::as_str).collect();
            let more = if def.values.len() > shown.len() {
                ", ..."
            } else {
                ""
            };
            format!("one of: {}{more}", shown.join(", "))
        }
    };
    ApiError::invalid(format!(
        "Invalid value for custom field '{}': expected {expected}.",
        printable(name)
    ))
}

fn canonical_boolean(text: &str) -> Option<&'static str> {
    if text.eq_ignore_ascii_case("true") {
        Some("TRUE")
    } else if text.eq_ignore_ascii_case("false") {
        Some("FALSE")
    } else {
        None
    }
}

/// Plain decimal with no superfluous zeros: `"05.50"` → `"5.5"`, `"1e3"` → `"1000"`, `"-0"` → `"0"`.
pub fn canonical_number(text: &str) -> Option<String> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || digits.len() > 4 || !all_digits(digits) {
                return None;
            }
            e.parse().ok()?
        }
    };
    // value = digits × 10^-scale
    let digits = format!("{int}{frac}");
    let scale = frac.len() as i64 - exponent;
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".to_string());
    }
    let mut out = String::with_capacity(digits.len() + 2);
    if negative {
        out.push('-');
    }
    if scale <= 0 {
        if digits.len() as i64 - scale > MAX_VALUE_CHARS as i64 {
            return None;
        }
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (-scale) as usize));
        return Some(out);
    }
    let scale = scale as usize;
    if scale > MAX_VALUE_CHARS {
        return None;
    }
    if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.push_str(whole);
        let fraction = fraction.trim_end_matches('0');
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits.trim_end_matches('0'));
    }
    (out.len() <= MAX_VALUE_CHARS).then_some(out)
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    text.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && local.chars().all(|c| !c.is_whitespace() && !c.is_control())
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

fn is_phone(text: &str) -> bool {
    let body = text.strip_prefix('+').unwrap_or(text);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    (3..=20).contains(&digits)
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
}

fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) =
        (number(&b[0..4]), number(&b[5..7]), number(&b[8..10]))
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

fn is_time(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return false;
    }
    matches!((number(&b[0..2]), number(&b[3..5])), (Some(h), Some(m)) if h < 24 && m < 60)
}

fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(t: FieldType) -> FieldDef {
        FieldDef::new(t)
    }

    fn store(t: FieldType, v: &str) -> Result<Option<String>, ApiError> {
        canonical("f", &def(t), &InputValue::Text(v.to_string()))
    }

    #[test]
    fn numbers_are_canonical_decimals() {
        for (input, out) in [
            ("05.50", "5.5"),
            ("5", "5"),
            ("5.0", "5"),
            ("-0", "0"),
            ("-0.000", "0"),
            ("+12", "12"),
            ("0.05", "0.05"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("1.5E-3", "0.0015"),
            ("-12.340e1", "-123.4"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
        ] {
            assert_eq!(canonical_number(input).as_deref(), Some(out), "{input}");
        }
        for bad in [
            "", "-", ".", "1.2.3", "1e", "e5", "abc", "1,5", "0x10", "1e99999", "1e-999", "NaN",
            " 5",
        ] {
            assert_eq!(canonical_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_numbers_keep_their_digits() {
        let v = canonical(
            "n",
            &def(FieldType::Number),
            &InputValue::Number("12345678901234567890.10".into()),
        );
        assert_eq!(v.unwrap().as_deref(), Some("12345678901234567890.1"));
    }

    #[test]
    fn booleans() {
        assert_eq!(
            store(FieldType::Boolean, "tRuE").unwrap().as_deref(),
            Some("TRUE")
        );
        assert_eq!(
            canonical("b", &def(FieldType::Boolean), &InputValue::Bool(false))
                .unwrap()
                .as_deref(),
            Some("FALSE")
        );
        let err = store(FieldType::Boolean, "yes").unwrap_err();
        assert_eq!(
            err.message(),
            "Invalid value for custom field 'f': expected TRUE or FALSE."
        );
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_kept() {
        for bad in [
            "a\u{0}b",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "del\u{7f}x",
            "c1\u{85}x",
        ] {
            let err = store(FieldType::Text, bad).unwrap_err();
            assert_eq!(
                err.message(),
                "Value of custom field 'f' contains a control character.",
                "{bad:?}"
            );
        }
        assert_eq!(
            store(FieldType::Text, "line 1\nline 2\ttab")
                .unwrap()
                .as_deref(),
            Some("line 1\nline 2\ttab")
        );
    }

    #[test]
    fn blank_and_null_clear() {
        assert_eq!(store(FieldType::Number, "   ").unwrap(), None);
        assert_eq!(
            canonical("f", &def(FieldType::Date), &InputValue::Null).unwrap(),
            None
        );
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(
            store(FieldType::Text, "  Mahin ").unwrap().as_deref(),
            Some("Mahin")
        );
        assert!(store(FieldType::Text, &"é".repeat(1000)).is_ok());
        let err = store(FieldType::Text, &"é".repeat(1001)).unwrap_err();
        assert!(err.message().contains("too long"), "{}", err.message());
    }

    #[test]
    fn typed_values() {
        assert!(store(FieldType::Email, "muhammad@respond.io").is_ok());
        for bad in ["muhammad", "a@b", "a b@c.io", "@c.io", "a@-c.io"] {
            assert!(store(FieldType::Email, bad).is_err(), "{bad}");
        }
        assert!(store(FieldType::Phone, "+92 324-4077087").is_ok());
        assert!(store(FieldType::Phone, "(03) 244.077").is_ok());
        for bad in ["12", "92+324", "phone", "+1 555 CALL"] {
            assert!(store(FieldType::Phone, bad).is_err(), "{bad}");
        }
        assert!(store(FieldType::Url, "https://example.com/pic.png").is_ok());
        for bad in ["example.com", "ftp://x.io", "https://", "https://a b.io"] {
            assert!(store(FieldType::Url, bad).is_err(), "{bad}");
        }
        assert!(store(FieldType::Date, "2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "0000-01-01",
        ] {
            assert!(store(FieldType::Date, bad).is_err(), "{bad}");
        }
        assert!(store(FieldType::Time, "23:59").is_ok());
        for bad in ["24:00", "7:30", "12:60", "12:3a"] {
            assert!(store(FieldType::Time, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_store_the_declared_spelling() {
        let tiers =
            FieldDef::checked(FieldType::List, vec!["Gold".into(), "Silver".into()]).unwrap();
        let v = canonical("tier", &tiers, &InputValue::Text(" gOLD ".into())).unwrap();
        assert_eq!(v.as_deref(), Some("Gold"));
        let err = canonical("tier", &tiers, &InputValue::Text("bronze".into())).unwrap_err();
        assert_eq!(
            err.message(),
            "Invalid value for custom field 'tier': expected one of: Gold, Silver."
        );
    }

    #[test]
    fn match_keys_follow_the_type() {
        assert_eq!(
            match_key(FieldType::Phone, "+92 324-4077087"),
            "923244077087"
        );
        assert_eq!(
            match_key(FieldType::Text, "Muhammad Mahin"),
            "muhammad mahin"
        );
        // One key for a word however it is composed.
        assert_eq!(
            match_key(FieldType::Text, "Caf\u{e9}"),
            match_key(FieldType::Text, "CAFE\u{301}")
        );
        assert_eq!(
            query_key("t", &def(FieldType::Text), "cafe\u{301}").unwrap(),
            match_key(FieldType::Text, "Caf\u{e9}")
        );
        let number = def(FieldType::Number);
        assert_eq!(
            query_key("n", &number, "5.0").unwrap(),
            match_key(FieldType::Number, "5")
        );
        assert!(query_key("n", &number, "five").is_err());
        let phone = def(FieldType::Phone);
        assert_eq!(
            query_key("p", &phone, "+92 324-4077087").unwrap(),
            "923244077087"
        );
        assert!(query_key("p", &phone, "none").is_err());
        let boolean = def(FieldType::Boolean);
        assert_eq!(query_key("b", &boolean, "true").unwrap(), "TRUE");
        assert!(query_key("b", &boolean, "1").is_err());
        assert!(query_key("d", &def(FieldType::Date), "2024-1-1").is_err());
        assert_eq!(
            query_key("t", &def(FieldType::Text), " ")
                .unwrap_err()
                .message(),
            "Query parameter 'value' is required."
        );
    }
}
