//! The DynamoDB store: one table holds channels, tokens, contacts and their index (and,
//! for the local stack, the channels' usage-plan keys).
//! `keys` is the table layout, `item` the mapping between items and the domain; nothing
//! else builds keys or attributes. Operator-only storage (the table, channels, tokens,
//! field definitions, the invariant checker) is behind the `operator` feature, and the
//! webhook subscriptions (`webhooks`) behind the `webhooks` feature, so the endpoints'
//! binaries carry neither.

mod api_keys;
#[cfg(feature = "webhooks")]
mod batch;
pub mod capacity;
mod claims;
mod client;
mod contacts;
pub(crate) mod errors;
mod find;
mod index;
pub mod item;
pub mod keys;
mod list;
#[cfg(feature = "operator")]
mod operator;
mod tokens;
#[cfg(feature = "webhooks")]
mod webhooks;

#[cfg(feature = "operator")]
pub use operator::{
    CheckReport, Clash, Deletion, Inserted, ListedChannel, Migrated, Pace, Reach, TableReport,
    TableStream, WorkspaceDeletion, WorkspaceState,
};

use super::StoreError;

/// Every call of the API's paths asks DynamoDB what it consumed: the answer costs nothing,
/// and `make bench` reads it off the wire to price each endpoint.
pub(crate) const CAPACITY: aws_sdk_dynamodb::types::ReturnConsumedCapacity =
    aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total;

/// The DynamoDB store: one client (built once per process) and the table name.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item by key, strongly consistent (every read of the API is).
    pub(crate) async fn get(&self, key: item::Item) -> Result<Option<item::Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(errors::classify)?;
        Ok(out.item)
    }
}
