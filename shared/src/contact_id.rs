//! Contact ids: new ones, and the `{contact_id}` of a path (URL-decoded, and on Viber
//! channels Base64-decoded).

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode_str;

use crate::channel::{Channel, ChannelType};
use crate::error::ApiError;
use crate::limits::MAX_CONTACT_ID_CHARS;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// A new contact id: 26 URL-safe characters.
pub fn generate() -> Result<String, ApiError> {
    crate::random::base32_id()
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
        decoded.into_owned()
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
