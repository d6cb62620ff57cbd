//! What the unit tests share: a store around [`MemoryStore`] that can be made to lose
//! races, find ids taken, or let a concurrent request with the same idempotency key in
//! first; and small builders.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::domain::channel::{Channel, ChannelType};
use crate::domain::contact::Contact;
use crate::domain::field_defs::{FieldDef, FieldSet, FieldType};
use crate::domain::field_values::InputValue;
use crate::domain::field_writes::RawFieldWrite;
use crate::domain::idempotency::IdempotencyRecord;
use crate::store::{
    ContactStore, FieldChange, FindPage, Insert, ListPage, Match, MemoryStore, NewContact,
    PageSpec, StoreError, TagChange, Versioned,
};

/// The name of the field the `n`th rival writer sets (to `n`): define `RIVAL_FIELDS` of them.
pub fn rival_field(n: u32) -> String {
    format!("rival{n}")
}

pub const RIVAL_FIELDS: u32 = 20;

/// A [`MemoryStore`] with faults on demand, counting the calls it gets.
#[derive(Debug, Default)]
pub struct Rigged {
    pub inner: MemoryStore,
    /// Inserts still to answer `IdTaken` (writing nothing).
    pub ids_taken: AtomicU32,
    /// Conditional updates still to lose: before each, another writer sets the contact's
    /// field [`rival_field`]`(n)` to `n` (n = 0, 1, ...), which moves its version on.
    pub races: AtomicU32,
    rivals: AtomicU32,
    /// Before the next insert with an idempotency record, a concurrent request with the
    /// same key gets in first: `(its body hash, its contact id)`.
    pub twin: Mutex<Option<(String, String)>>,
    pub field_set_calls: AtomicU32,
    pub versioned_reads: AtomicU32,
    pub conditional_writes: AtomicU32,
    /// The ids inserts were asked for, in order.
    pub inserted_ids: Mutex<Vec<String>>,
}

impl Rigged {
    pub fn new(inner: MemoryStore) -> Self {
        Rigged {
            inner,
            ..Rigged::default()
        }
    }

    pub fn count(counter: &AtomicU32) -> u32 {
        counter.load(Ordering::SeqCst)
    }

    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn note_insert(&self, id: &str) {
        self.inserted_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id.to_string());
    }

    /// Another writer's update of the contact, through the store's own conditional write.
    async fn rival_update(&self, channel: &str, id: &str) {
        let n = self.rivals.fetch_add(1, Ordering::SeqCst);
        let value = n.to_string();
        let name = rival_field(n);
        let read = self
            .inner
            .get_versioned(channel, id)
            .await
            .expect("read")
            .expect("the contact");
        let change = FieldChange {
            name: &name,
            field_type: FieldType::Number,
            unique: false,
            old: read.contact.fields.get(&name).map(String::as_str),
            new: Some(&value),
        };
        assert!(self
            .inner
            .update_if_version(channel, &read, &[change])
            .await
            .expect("rival write"));
    }
}

impl ContactStore for Rigged {
    async fn field_set(&self, channel: &str) -> Result<FieldSet, StoreError> {
        self.field_set_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.field_set(channel).await
    }

    async fn insert_contact_once(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
        record: &IdempotencyRecord,
    ) -> Result<Insert, StoreError> {
        self.note_insert(contact.id);
        let twin = self.twin.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((body_hash, id)) = twin {
            let first = NewContact {
                id: &id,
                ..*contact
            };
            let record = IdempotencyRecord {
                body_hash,
                contact_id: id.clone(),
                ..record.clone()
            };
            let done = self
                .inner
                .insert_contact_once(channel, &first, &record)
                .await?;
            assert_eq!(done, Insert::Done, "the twin gets in first");
        }
        if Self::take(&self.ids_taken) {
            return Ok(Insert::IdTaken);
        }
        self.inner
            .insert_contact_once(channel, contact, record)
            .await
    }

    async fn idempotency_record(
        &self,
        channel: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.idempotency_record(channel, key).await
    }

    async fn insert_contact(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
    ) -> Result<bool, StoreError> {
        self.note_insert(contact.id);
        if Self::take(&self.ids_taken) {
            return Ok(false);
        }
        self.inner.insert_contact(channel, contact).await
    }

    async fn get_contact(&self, channel: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        self.inner.get_contact(channel, id).await
    }

    async fn get_versioned(
        &self,
        channel: &str,
        id: &str,
    ) -> Result<Option<Versioned>, StoreError> {
        self.versioned_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_versioned(channel, id).await
    }

    async fn update_if_version(
        &self,
        channel: &str,
        read: &Versioned,
        changes: &[FieldChange<'_>],
    ) -> Result<bool, StoreError> {
        self.conditional_writes.fetch_add(1, Ordering::SeqCst);
        if Self::take(&self.races) {
            self.rival_update(channel, &read.contact.id).await;
        }
        self.inner.update_if_version(channel, read, changes).await
    }

    async fn change_tags(
        &self,
        channel: &str,
        id: &str,
        change: TagChange,
        tags: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        self.inner.change_tags(channel, id, change, tags).await
    }

    async fn delete_contact(
        &self,
        channel: &str,
        id: &str,
        fields: &FieldSet,
    ) -> Result<bool, StoreError> {
        self.inner.delete_contact(channel, id, fields).await
    }

    async fn claim_owner(
        &self,
        channel: &str,
        field: &str,
        match_key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.inner.claim_owner(channel, field, match_key).await
    }

    async fn list(
        &self,
        channel: &str,
        after: Option<&str>,
        per_page: u32,
    ) -> Result<ListPage, StoreError> {
        self.inner.list(channel, after, per_page).await
    }

    async fn find(
        &self,
        channel: &str,
        matching: &Match<'_>,
        page: &PageSpec<'_>,
    ) -> Result<FindPage, StoreError> {
        self.inner.find(channel, matching, page).await
    }
}

/// A channel `id` of type `kind`, created in `store` with the rival fields defined.
pub fn channel(store: &MemoryStore, id: &str, kind: ChannelType) -> Channel {
    store.add_channel(id).expect("a new channel");
    for n in 0..RIVAL_FIELDS {
        store
            .define_field(id, &rival_field(n), FieldDef::new(FieldType::Number))
            .expect("rival field");
    }
    Channel {
        id: id.to_string(),
        kind,
    }
}

/// Raw field writes as a request sends them; `None` clears.
pub fn raw(pairs: &[(&str, Option<&str>)]) -> Vec<RawFieldWrite> {
    pairs
        .iter()
        .map(|(name, value)| RawFieldWrite {
            name: name.to_string(),
            value: value.map_or(InputValue::Null, |v| InputValue::Text(v.to_string())),
        })
        .collect()
}

pub fn tags(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|t| t.to_string()).collect()
}

/// The index entries a channel's contacts call for, `(field, match key, id)`, sorted: what
/// [`MemoryStore::index_entries`] must equal.
pub fn expected_index(contacts: &[Contact], fields: &FieldSet) -> Vec<(String, String, String)> {
    let mut entries: Vec<(String, String, String)> = contacts
        .iter()
        .flat_map(|c| {
            c.fields.iter().map(|(name, value)| {
                let def = fields.get(name).expect("a defined field");
                let key = crate::domain::field_values::match_key(def.field_type, value);
                (name.clone(), key, c.id.clone())
            })
        })
        .collect();
    entries.sort();
    entries
}
