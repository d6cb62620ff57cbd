//! Storage: the port the domain needs ([`ContactStore`]), and its DynamoDB implementation
//! ([`dynamo`]), which owns the table layout.

pub mod dynamo;
mod error;

use std::collections::BTreeSet;
use std::future::Future;

pub use dynamo::DynamoStore;
pub use error::StoreError;

use crate::domain::contact::Contact;
use crate::domain::field_defs::FieldSet;
use crate::domain::field_writes::FieldWrite;
use crate::domain::idempotency::IdempotencyRecord;

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
