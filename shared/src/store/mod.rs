//! Storage: the port the domain needs ([`ContactStore`]), its DynamoDB implementation
//! ([`dynamo`]), which owns the table layout, and an in-memory one with the same semantics
//! ([`memory`]) for unit tests and the bench.

pub mod dynamo;
mod error;
pub mod memory;

use std::collections::BTreeSet;
use std::future::Future;

pub use dynamo::DynamoStore;
pub use error::StoreError;
pub use memory::MemoryStore;

use crate::domain::contact::Contact;
use crate::domain::field_defs::{FieldSet, FieldType};
use crate::domain::field_writes::FieldWrite;
use crate::domain::idempotency::IdempotencyRecord;

/// A contact to insert: its writes carry the field types that decide the index keys.
#[derive(Debug, Clone, Copy)]
pub struct NewContact<'a> {
    pub id: &'a str,
    pub created_at: i64,
    /// The microsecond within `created_at`: contacts created in one second keep their order.
    pub created_micros: u32,
    pub writes: &'a [FieldWrite],
    pub tags: &'a BTreeSet<String>,
}

impl NewContact<'_> {
    /// The contact as stored: the writes that set a value, its tags and creation time.
    pub fn contact(&self) -> Contact {
        Contact {
            id: self.id.to_string(),
            fields: self
                .writes
                .iter()
                .filter_map(|w| w.value.as_ref().map(|v| (w.name.clone(), v.clone())))
                .collect(),
            tags: self.tags.clone(),
            created_at: self.created_at,
            created_micros: Some(self.created_micros),
        }
    }
}

/// What a find looks for: contacts whose `field` (of `field_type`) has `key` as its match
/// key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a> {
    pub field: &'a str,
    pub field_type: FieldType,
    pub key: &'a str,
}

/// Which page of a find: its number and size, and, when the caller has it (a link's
/// `cursor`), where it starts: the position after the last match of the page before,
/// as a [`FindPage::next`] gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSpec<'a> {
    /// 1-based.
    pub page: u64,
    pub per_page: u32,
    pub after: Option<&'a str>,
}

/// A page of a find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindPage {
    /// How many contacts match, all pages together.
    pub total: u64,
    /// This page's matches, oldest first.
    pub contacts: Vec<Contact>,
    /// Where the next page starts (a position the store understands, for a link's
    /// `cursor`), when one may follow.
    pub next: Option<String>,
}

/// A page of a channel's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Oldest first.
    pub contacts: Vec<Contact>,
    /// Where the next page starts, when one may follow.
    pub next: Option<String>,
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

/// A contact as read for an update: its state, and the version an update of it is
/// conditional on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub contact: Contact,
    /// 1 when created; each applied field update adds 1 (tag changes leave it alone).
    pub version: i64,
}

/// One field of a contact changing from the value an update read (`old`) to `new`
/// (`None`: absent). Its type decides the index keys of both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldChange<'a> {
    pub name: &'a str,
    pub field_type: FieldType,
    /// Whether the field's values are claimed (it is unique, or being made so).
    pub unique: bool,
    pub old: Option<&'a str>,
    pub new: Option<&'a str>,
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

    /// Inserts a contact, its index entries, the claims of its unique values and the
    /// idempotency record of the request that creates it, atomically. A unique value
    /// another contact holds is [`StoreError::ValueTaken`] (a taken id or key is reported
    /// first).
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

    /// Inserts a contact, its index entries and claims atomically; `false` if the id is
    /// taken, [`StoreError::ValueTaken`] if a unique value is.
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

    /// The contact with its version, for an update conditional on it
    /// ([`update_if_version`](ContactStore::update_if_version)).
    fn get_versioned(
        &self,
        channel: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send;

    /// Applies `changes` (made from `read`) to the contact and moves its index entries,
    /// atomically, if the contact is still at `read.version`, whose version then grows by
    /// one. `false`, with nothing written, if it is not: another writer changed it since,
    /// or it is gone. Unique values move their claims in the same transaction; one
    /// another contact holds is [`StoreError::ValueTaken`]. The optimistic loop around it is the domain's
    /// ([`update_fields`](crate::domain::service::update_fields)).
    fn update_if_version(
        &self,
        channel: &str,
        read: &Versioned,
        changes: &[FieldChange<'_>],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Adds or removes tags atomically; `false` if there is no such contact.
    fn change_tags(
        &self,
        channel: &str,
        id: &str,
        change: TagChange,
        tags: &BTreeSet<String>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the contact with everything stored for it (index entries, counts, list
    /// entry, the idempotency record that created it); `false` if there is no such
    /// contact. Readers never see it half-deleted: a delete too large for one transaction
    /// hides the contact in its first. `fields`: the channel's definitions, which decide
    /// the contact's index keys (the store loads them again if the contact has a field
    /// they lack).
    fn delete_contact(
        &self,
        channel: &str,
        id: &str,
        fields: &FieldSet,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The contact holding `match_key` in the unique field `field`, if any.
    fn claim_owner(
        &self,
        channel: &str,
        field: &str,
        match_key: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// A page of the channel's contacts, oldest first, starting after `after` (a
    /// [`ListPage::next`]) or at the first. Reads one page, whatever the depth.
    fn list(
        &self,
        channel: &str,
        after: Option<&str>,
        per_page: u32,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + Send;

    /// A page of the contacts that match, oldest first, and how many there are. Each call
    /// reads about one page, whatever the number of matches: from `page.after` when given,
    /// else from where page `page.page - 1` ended (the store remembers it while the
    /// matches do not change), else by counting from the start.
    fn find(
        &self,
        channel: &str,
        matching: &Match<'_>,
        page: &PageSpec<'_>,
    ) -> impl Future<Output = Result<FindPage, StoreError>> + Send;
}
