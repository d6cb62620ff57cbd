//! Channels: their types, the channel a request acts for, and a channel as the operator
//! sees it.

use std::fmt;
use std::str::FromStr;

use crate::limits::MAX_CHANNEL_ID_CHARS;

/// The messaging platform a channel is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelType {
    Facebook,
    Instagram,
    Whatsapp,
    Telegram,
    Viber,
    Line,
    Wechat,
    Twitter,
    Sms,
    Gmail,
    Webchat,
    Custom,
}

impl ChannelType {
    pub const ALL: [ChannelType; 12] = [
        ChannelType::Facebook,
        ChannelType::Instagram,
        ChannelType::Whatsapp,
        ChannelType::Telegram,
        ChannelType::Viber,
        ChannelType::Line,
        ChannelType::Wechat,
        ChannelType::Twitter,
        ChannelType::Sms,
        ChannelType::Gmail,
        ChannelType::Webchat,
        ChannelType::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Facebook => "facebook",
            ChannelType::Instagram => "instagram",
            ChannelType::Whatsapp => "whatsapp",
            ChannelType::Telegram => "telegram",
            ChannelType::Viber => "viber",
            ChannelType::Line => "line",
            ChannelType::Wechat => "wechat",
            ChannelType::Twitter => "twitter",
            ChannelType::Sms => "sms",
            ChannelType::Gmail => "gmail",
            ChannelType::Webchat => "webchat",
            ChannelType::Custom => "custom",
        }
    }
}

impl ChannelType {
    /// Whether a contact's id is its phone number, as the platform itself names contacts
    /// (WhatsApp and SMS): digits in international form, without `+`.
    pub fn ids_are_phone_numbers(self) -> bool {
        matches!(self, ChannelType::Whatsapp | ChannelType::Sms)
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ChannelType::ALL.iter().map(|t| t.as_str()).collect();
                format!(
                    "unknown channel type '{s}' (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// The channel a request acts for, as the authorizer vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: String,
    pub kind: ChannelType,
}

/// Whether `id` is a channel id the admin tool accepts: 1–64 of `[A-Za-z0-9_-]`, so that it
/// can never contain the `#` that separates key parts.
pub fn is_valid_channel_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CHANNEL_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Why `id` is not a channel id.
pub fn invalid_channel_id(id: &str) -> String {
    format!("channel id '{id}' must be 1 to {MAX_CHANNEL_ID_CHARS} letters, digits, '_' or '-'")
}

/// A channel as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: String,
    pub name: String,
    pub kind: ChannelType,
    /// The usage-plan API key value the authorizer hands to API Gateway.
    pub api_key: String,
    /// The key's id in API Gateway, while it exists there (deployed stacks only).
    pub api_key_id: Option<String>,
    pub created_at: i64,
    /// Number of live tokens.
    pub tokens: usize,
    /// The workspace the channel is in. Made with `None`, a channel gets a workspace of its
    /// own (the channel's id and name); read as `None`, it was made before workspaces and
    /// is not migrated yet.
    pub workspace: Option<String>,
}

/// What a valid token grants: its channel, and the API key that meters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub channel: Channel,
    pub api_key: String,
}
