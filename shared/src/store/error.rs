//! Storage failures, classified by what the client should be told.

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Throttled, unreachable or timed out: worth retrying later (503).
    Unavailable(String),
    /// The item would pass DynamoDB's 400 KB item limit.
    TooLarge,
    /// A unique field's value is held by another contact (`owner`); nothing was written.
    ValueTaken {
        field: String,
        value: String,
        owner: String,
    },
    /// The channel is gone or being deleted: its requests are refused.
    ChannelGone,
    /// The operation was refused for a reason the operator can act on (admin tool).
    Rejected(String),
    /// Anything else (500).
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(why) => write!(f, "storage unavailable: {why}"),
            StoreError::TooLarge => f.write_str("item too large"),
            StoreError::ValueTaken {
                field,
                value,
                owner,
            } => write!(f, "{field} value '{value}' belongs to contact {owner}"),
            StoreError::ChannelGone => f.write_str("no such channel"),
            StoreError::Rejected(why) => f.write_str(why),
            StoreError::Failed(why) => write!(f, "storage failed: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(why) => {
                tracing::warn!(%why, "storage unavailable");
                ApiError::Unavailable
            }
            StoreError::TooLarge => ApiError::invalid(
                "The contact would exceed the storage limit of 400 KB: remove tags or clear fields first.",
            ),
            StoreError::ValueTaken {
                field,
                value,
                owner,
            } => ApiError::value_taken(&field, &value, owner),
            // Its tokens are gone, or going with it.
            StoreError::ChannelGone => ApiError::Unauthorized,
            StoreError::Rejected(why) | StoreError::Failed(why) => {
                tracing::error!(%why, "storage failed");
                ApiError::Internal
            }
        }
    }
}
