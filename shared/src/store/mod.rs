//! Storage: the port the API needs ([`ContactStore`]) and its DynamoDB implementation,
//! which owns the table layout.

mod channels;
mod check;
mod client;
mod contacts;
mod error;
mod item;
pub mod keys;

use std::collections::BTreeSet;
use std::future::Future;

pub use channels::{ChannelRecord, TokenGrant};
pub use check::CheckReport;
pub use client::{DEFAULT_TABLE, ENDPOINT_ENV, TABLE_ENV};
pub use error::StoreError;

use crate::contact::Contact;
use crate::fields::FieldSet;
use crate::idempotency::IdempotencyRecord;
use crate::input::FieldWrite;

/// A contact to insert: its writes carry the field types that decide the index keys.
#[derive(Debug, Clone, Copy)]
pub struct NewContact<'a> {
    pub id: &'a str,
    pub created_at: i64,
    pub writes: &'a [FieldWrite],
    pub tags: &'a BTreeSet<String>,
}

/// How an insert ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    Done,
    /// The contact id is taken.
    IdTaken,
    /// A live idempotency record with this key exists (a concurrent request made it).
    KeyTaken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagChange {
    Add,
    Remove,
}

/// What the API needs from storage. Every operation is confined to one channel.
pub trait ContactStore: Send + Sync {
    /// The channel's fields (built-ins and custom definitions).
    fn field_set(&self, channel: &str)
        -> impl Future<Output = Result<FieldSet, StoreError>> + Send;

    /// Inserts a contact, its index entries and the idempotency record of the request
    /// that creates it, atomically.
    fn insert_contact_once(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
        record: &IdempotencyRecord,
    ) -> impl Future<Output = Result<Insert, StoreError>> + Send;

    /// The idempotency record of `key` in this channel, if any (expired or not).
    fn idempotency_record(
        &self,
        channel: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;

    /// Inserts a contact and its index entries atomically; `false` if the id is taken.
    fn insert_contact(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn get_contact(
        &self,
        channel: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<Contact>, StoreError>> + Send;

    /// Applies field writes and their index changes atomically, retrying on concurrent
    /// changes; `false` if there is no such contact.
    fn update_fields(
        &self,
        channel: &str,
        id: &str,
        writes: &[FieldWrite],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Adds or removes tags atomically; `false` if there is no such contact.
    fn change_tags(
        &self,
        channel: &str,
        id: &str,
        change: TagChange,
        tags: &BTreeSet<String>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The number of contacts whose `field` has `match_key`, and `limit` of them after
    /// skipping `offset`, oldest first.
    fn find(
        &self,
        channel: &str,
        field: &str,
        match_key: &str,
        offset: u64,
        limit: u32,
    ) -> impl Future<Output = Result<(u64, Vec<Contact>), StoreError>> + Send;
}

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
    async fn get(&self, key: item::Item) -> Result<Option<item::Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(error::classify)?;
        Ok(out.item)
    }
}
