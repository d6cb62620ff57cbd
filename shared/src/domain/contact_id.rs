//! Contact ids: new ones (random, or on WhatsApp and SMS channels the phone's digits), and
//! the `{contact_id}` of a path (URL-decoded; on Viber channels Base64-decoded; on WhatsApp
//! and SMS channels a phone number read by its digits).

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode_str;

use crate::domain::channel::{Channel, ChannelType};
use crate::domain::field_defs::PHONE_FIELD;
use crate::domain::field_writes::FieldWrite;
use crate::error::{printable, ApiError};
use crate::limits::MAX_CONTACT_ID_CHARS;
use crate::random::{self, RandomError};

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// A new contact id: 26 URL-safe characters.
pub fn generate() -> Result<String, RandomError> {
    random::base32_id()
}

/// The id a new contact with these field writes takes on a channel of type `kind`: on
/// WhatsApp and SMS channels the digits of its phone (which it must have); elsewhere
/// `None`, for a random one.
pub fn native(kind: ChannelType, writes: &[FieldWrite]) -> Result<Option<String>, ApiError> {
    if !kind.ids_are_phone_numbers() {
        return Ok(None);
    }
    let phone = writes
        .iter()
        .find(|w| w.name == PHONE_FIELD)
        .and_then(|w| w.value.as_deref())
        .and_then(phone_digits);
    match phone {
        Some(digits) => Ok(Some(digits)),
        None => {
            let article = if kind == ChannelType::Sms { "an" } else { "a" };
            Err(ApiError::invalid(format!(
                "A contact on {article} {kind} channel needs a phone."
            )))
        }
    }
}

/// The refusal of a new contact whose (channel-native) id another contact has.
pub fn taken(id: &str) -> ApiError {
    ApiError::invalid(format!("Contact '{}' already exists.", printable(id)))
}

/// The contact id `text` names on a channel of type `kind`: on WhatsApp and SMS channels a
/// phone number in any spelling (`+27 82 499 1602`) is its digits; any other id is taken
/// as it is (so ids given before, by import say, stay reachable).
pub fn on_channel(kind: ChannelType, text: &str) -> String {
    match phone_digits(text) {
        Some(digits) if kind.ids_are_phone_numbers() => digits,
        _ => text.to_string(),
    }
}

/// The digits of `text` if it is written like a phone number: digits, with spaces,
/// `+`, `-`, `(`, `)` or `.` between them.
fn phone_digits(text: &str) -> Option<String> {
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (phone_like && !digits.is_empty()).then_some(digits)
}

/// The contact id a path segment names, for this channel.
pub fn from_path(segment: &str, channel: &Channel) -> Result<String, ApiError> {
    let decoded = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| ApiError::invalid("Contact id is not valid UTF-8 once URL-decoded."))?;
    let id = if channel.kind == ChannelType::Viber {
        let text = decoded.trim_end_matches('=');
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map_err(|_| {
                ApiError::invalid("On a Viber channel the contact id must be Base64-encoded.")
            })?;
        String::from_utf8(bytes).map_err(|_| {
            ApiError::invalid("The Base64 contact id does not decode to UTF-8 text.")
        })?
    } else {
        on_channel(channel.kind, &decoded)
    };
    check(&id)?;
    Ok(id)
}

/// Whether `id` may name a contact: 1 to 128 characters, no control characters.
pub fn check(id: &str) -> Result<(), ApiError> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_CONTACT_ID_CHARS || id.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "Contact id must be 1 to {MAX_CONTACT_ID_CHARS} characters with no control characters."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(kind: ChannelType) -> Channel {
        Channel {
            id: "c".into(),
            kind,
        }
    }

    #[test]
    fn plain_ids_are_url_decoded() {
        let fb = channel(ChannelType::Facebook);
        assert_eq!(
            from_path("1776025372480910", &fb).unwrap(),
            "1776025372480910"
        );
        assert_eq!(from_path("a%20b%2Fc", &fb).unwrap(), "a b/c");
        assert_eq!(from_path("a+b", &fb).unwrap(), "a+b");
        assert!(from_path("%FF", &fb).is_err());
        assert!(from_path(&"x".repeat(129), &fb).is_err());
        assert!(from_path(&"x".repeat(128), &fb).is_ok());
        assert!(from_path("a%00b", &fb).is_err());
    }

    #[test]
    fn phone_ids_on_whatsapp_and_sms_are_read_by_their_digits() {
        for kind in [ChannelType::Whatsapp, ChannelType::Sms] {
            let ch = channel(kind);
            for spelling in ["27824991602", "+27%2082%20499%201602", "%2B27-82-499-1602"] {
                assert_eq!(
                    from_path(spelling, &ch).unwrap(),
                    "27824991602",
                    "{spelling}"
                );
            }
            // Ids that are not phone numbers (given by an import, say) stay as they are.
            assert_eq!(from_path("whjiih76f3l4", &ch).unwrap(), "whjiih76f3l4");
        }
        let fb = channel(ChannelType::Facebook);
        assert_eq!(from_path("+27%2082", &fb).unwrap(), "+27 82");
    }

    #[test]
    fn new_ids_on_phone_channels_come_from_the_phone() {
        use crate::domain::field_defs::{FieldDef, FieldType};
        let phone = |value: Option<&str>| FieldWrite {
            name: PHONE_FIELD.into(),
            def: FieldDef::new(FieldType::Phone),
            value: value.map(String::from),
        };
        assert_eq!(
            native(ChannelType::Whatsapp, &[phone(Some("+27 82 499 1602"))]).unwrap(),
            Some("27824991602".into())
        );
        assert_eq!(
            native(ChannelType::Facebook, &[phone(Some("+27 82"))]).unwrap(),
            None
        );
        assert_eq!(
            native(ChannelType::Whatsapp, &[phone(None)])
                .unwrap_err()
                .message(),
            "A contact on a whatsapp channel needs a phone."
        );
        assert_eq!(
            native(ChannelType::Sms, &[]).unwrap_err().message(),
            "A contact on an sms channel needs a phone."
        );
    }

    #[test]
    fn viber_ids_are_base64_in_either_alphabet() {
        let viber = channel(ChannelType::Viber);
        // "01234567890A=" is a typical Viber id: '=' and, in others, '+' and '/' break URLs.
        let id = "01234567890A=";
        assert_eq!(from_path("MDEyMzQ1Njc4OTBBPQ==", &viber).unwrap(), id);
        assert_eq!(from_path("MDEyMzQ1Njc4OTBBPQ", &viber).unwrap(), id);
        assert_eq!(from_path("MDEyMzQ1Njc4OTBBPQ%3D%3D", &viber).unwrap(), id);
        assert_eq!(from_path("YSsvYj8%3D", &viber).unwrap(), "a+/b?");
        // "~~~?>" is "fn5+Pz4=" in the standard alphabet and "fn5-Pz4" URL-safe.
        assert_eq!(from_path("fn5%2BPz4%3D", &viber).unwrap(), "~~~?>");
        assert_eq!(from_path("fn5-Pz4", &viber).unwrap(), "~~~?>");
        let err = from_path("not base64!", &viber).unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(from_path("%FF%FE", &viber).is_err());
    }
}
