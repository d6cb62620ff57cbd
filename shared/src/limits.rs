//! Every limit of the contract, in one place.

/// Custom field entries per create or update request.
pub const MAX_FIELDS_PER_REQUEST: usize = 30;
/// Tags per add or remove request.
pub const MAX_TAGS_PER_REQUEST: usize = 10;
/// Characters per tag, after trimming.
pub const MAX_TAG_CHARS: usize = 255;
/// Characters per field value, after trimming.
pub const MAX_VALUE_CHARS: usize = 1_000;
/// Request body size.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Characters of a contact id (after URL and, on Viber channels, Base64 decoding).
pub const MAX_CONTACT_ID_CHARS: usize = 128;
/// Characters of a custom field name.
pub const MAX_FIELD_NAME_CHARS: usize = 50;
/// Results per page of a find, by default and at most.
pub const DEFAULT_PER_PAGE: u32 = 10;
pub const MAX_PER_PAGE: u32 = 100;
/// Values a `list` field may declare.
pub const MAX_LIST_VALUES: usize = 100;
/// Attempts of a conditional update that lost a race with another writer.
pub const MAX_WRITE_ATTEMPTS: u32 = 8;
