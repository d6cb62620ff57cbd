//! An in-memory [`ContactStore`] with the DynamoDB store's semantics, for unit tests and
//! for timing the handlers without storage (`make bench`):
//!
//! - an insert is conditional on the contact id being free and, with an idempotency
//!   record, on no live record for its key (an expired one counts as absent); both hold
//!   or nothing is written, and a taken key is reported before a taken id;
//! - contacts carry a version, and field updates are conditional on it;
//! - the field index matches by [`match_key`], per channel, oldest first by creation time
//!   (to the microsecond) then id: the DynamoDB index's sort keys, kept in order; a page
//!   starts after a position such a key gives, or after as many matches as the pages
//!   before it hold;
//! - tags are sets; a contact whose item would pass DynamoDB's 400 KB limit (counted
//!   approximately as DynamoDB does) is refused with [`StoreError::TooLarge`];
//! - field definitions per channel, with the operator store's rules ([`MemoryStore::define_field`]);
//!   a channel that does not exist is [`StoreError::ChannelGone`] to the API;
//! - unique fields ([`MemoryStore::set_unique`]): each value claimed by the contact
//!   holding it, a write of a value another holds refused with
//!   [`StoreError::ValueTaken`] and nothing written.
//!
//! One mutex guards everything, so every operation is atomic. A clone shares the data, as
//! a clone of a [`DynamoStore`](super::DynamoStore) shares its table.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock;
use crate::domain::channel::{invalid_channel_id, is_valid_channel_id};
use crate::domain::contact::Contact;
use crate::domain::field_defs::{
    invalid_field_name, is_built_in, is_valid_name, FieldDef, FieldSet, Uniqueness,
};
use crate::domain::field_values::match_key;
use crate::domain::idempotency::IdempotencyRecord;
use crate::store::{
    ContactStore, FieldChange, FindPage, Insert, ListPage, Match, NewContact, PageSpec, StoreError,
    TagChange, Versioned,
};

/// DynamoDB's item size limit.
const MAX_ITEM_BYTES: usize = 400 * 1024;

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<HashMap<String, ChannelData>>>,
}

/// Everything stored for one channel.
#[derive(Debug, Default)]
struct ChannelData {
    /// Whether the channel itself exists ([`MemoryStore::add_channel`]); contacts may be
    /// stored without it, as on DynamoDB, where the API never checks.
    exists: bool,
    fields: BTreeMap<String, FieldDef>,
    unique: BTreeMap<String, Uniqueness>,
    /// (field, match key) → the contact holding it, for unique fields.
    claims: HashMap<(String, String), String>,
    contacts: HashMap<String, Versioned>,
    /// Field → match key → the index sort keys (creation order, then id) of the contacts
    /// with it, as the DynamoDB store's index entries have them.
    index: HashMap<String, HashMap<String, BTreeSet<String>>>,
    /// Idempotency key → its record.
    idempotency: HashMap<String, IdempotencyRecord>,
    /// Every contact's sort key, as the DynamoDB store's list entries have them.
    list: BTreeSet<String>,
}

impl ChannelData {
    /// Refuses to give `value` of `field` to `id` if another contact holds it.
    fn check_claim(&self, field: &str, key: &str, value: &str, id: &str) -> Result<(), StoreError> {
        match self.claims.get(&(field.to_string(), key.to_string())) {
            Some(owner) if owner != id => Err(StoreError::ValueTaken {
                field: field.to_string(),
                value: value.to_string(),
                owner: owner.clone(),
            }),
            _ => Ok(()),
        }
    }

    fn release(&mut self, field: &str, key: &str, id: &str) {
        let claim = (field.to_string(), key.to_string());
        if self.claims.get(&claim).is_some_and(|owner| owner == id) {
            self.claims.remove(&claim);
        }
    }

    fn index_add(&mut self, field: &str, key: String, contact: &Contact) {
        self.index
            .entry(field.to_string())
            .or_default()
            .entry(key)
            .or_default()
            .insert(sort_key(contact));
    }

    fn index_remove(&mut self, field: &str, key: &str, contact: &Contact) {
        let Some(keys) = self.index.get_mut(field) else {
            return;
        };
        if let Some(entries) = keys.get_mut(key) {
            entries.remove(&sort_key(contact));
            if entries.is_empty() {
                keys.remove(key);
            }
        }
        if keys.is_empty() {
            self.index.remove(field);
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, ChannelData>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a channel with no custom fields; refused, as by the operator store, for an
    /// id that is not a channel id or a channel that exists.
    pub fn add_channel(&self, channel: &str) -> Result<(), StoreError> {
        if !is_valid_channel_id(channel) {
            return Err(StoreError::Rejected(invalid_channel_id(channel)));
        }
        let mut state = self.lock();
        let data = state.entry(channel.to_string()).or_default();
        if data.exists {
            return Err(StoreError::Rejected(format!(
                "channel '{channel}' already exists"
            )));
        }
        data.exists = true;
        Ok(())
    }

    /// Defines a custom field, with the operator store's rules: a valid name that is not a
    /// built-in, on an existing channel; redefining a field with the same type replaces its
    /// list values, changing its type is refused.
    pub fn define_field(&self, channel: &str, name: &str, def: FieldDef) -> Result<(), StoreError> {
        if !is_valid_name(name) {
            return Err(StoreError::Rejected(invalid_field_name(name)));
        }
        if is_built_in(name) {
            return Err(StoreError::Rejected(format!(
                "'{name}' is a built-in field"
            )));
        }
        let mut state = self.lock();
        let Some(data) = state.get_mut(channel).filter(|d| d.exists) else {
            return Err(StoreError::Rejected(format!("no channel '{channel}'")));
        };
        if let Some(was) = data.fields.get(name) {
            if was.field_type != def.field_type {
                return Err(StoreError::Rejected(format!(
                    "field '{name}' is already defined as {}; its type cannot change",
                    was.field_type
                )));
            }
        }
        // A new field can be unique at once: no contact holds a value of it yet.
        if def.unique.is_some() && !data.fields.contains_key(name) {
            data.unique.insert(name.to_string(), Uniqueness::On);
        }
        data.fields.insert(
            name.to_string(),
            FieldDef {
                unique: None,
                ..def
            },
        );
        Ok(())
    }

    /// Makes a field unique (`None`: no longer), as `contacts-admin field unique` does once
    /// every value is claimed; refused if two contacts share a value.
    pub fn set_unique(
        &self,
        channel: &str,
        name: &str,
        unique: Option<Uniqueness>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let Some(data) = state.get_mut(channel).filter(|d| d.exists) else {
            return Err(StoreError::Rejected(format!("no channel '{channel}'")));
        };
        let fields = FieldSet::new(data.fields.clone());
        let def = fields
            .get(name)
            .ok_or_else(|| StoreError::Rejected(format!("no field '{name}'")))?;
        data.claims.retain(|(field, _), _| field != name);
        data.unique.remove(name);
        let Some(unique) = unique else {
            return Ok(());
        };
        let mut claims = HashMap::new();
        for stored in data.contacts.values() {
            if let Some(value) = stored.contact.fields.get(name) {
                let key = (name.to_string(), match_key(def.field_type, value));
                if let Some(other) = claims.insert(key, stored.contact.id.clone()) {
                    return Err(StoreError::Rejected(format!(
                        "contacts {other} and {} share a value",
                        stored.contact.id
                    )));
                }
            }
        }
        data.claims.extend(claims);
        data.unique.insert(name.to_string(), unique);
        Ok(())
    }

    /// The number of contacts stored in the channel.
    pub fn contact_count(&self, channel: &str) -> usize {
        self.lock().get(channel).map_or(0, |d| d.contacts.len())
    }

    /// The channel's index entries, `(field, match key, contact id)`, sorted: what a
    /// test compares with the index its contacts' fields call for.
    pub fn index_entries(&self, channel: &str) -> Vec<(String, String, String)> {
        let state = self.lock();
        let mut entries: Vec<(String, String, String)> = state
            .get(channel)
            .into_iter()
            .flat_map(|d| &d.index)
            .flat_map(|(field, keys)| {
                keys.iter().flat_map(move |(key, sort_keys)| {
                    sort_keys.iter().filter_map(move |sk| {
                        let (_, id) = sk.split_once('#')?;
                        Some((field.clone(), key.clone(), id.to_string()))
                    })
                })
            })
            .collect();
        entries.sort();
        entries
    }

    fn insert(
        &self,
        channel: &str,
        new: &NewContact<'_>,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Insert, StoreError> {
        let mut state = self.lock();
        let data = state.entry(channel.to_string()).or_default();
        // The key first: a retry racing the request it repeats answers as that did.
        if let Some(record) = record {
            let now = clock::now();
            let live = data
                .idempotency
                .get(&record.key)
                .is_some_and(|r| r.expires_at > now);
            if live {
                return Ok(Insert::KeyTaken);
            }
        }
        if data.contacts.contains_key(new.id) {
            return Ok(Insert::IdTaken);
        }
        let contact = new.contact();
        check_size(channel, &contact)?;
        for w in new.writes.iter().filter(|w| w.def.claims()) {
            if let Some(value) = &w.value {
                data.check_claim(&w.name, &match_key(w.def.field_type, value), value, new.id)?;
            }
        }
        for w in new.writes {
            if let Some(value) = &w.value {
                let key = match_key(w.def.field_type, value);
                if w.def.claims() {
                    data.claims
                        .insert((w.name.clone(), key.clone()), new.id.to_string());
                }
                data.index_add(&w.name, key, &contact);
            }
        }
        if let Some(record) = record {
            data.idempotency.insert(record.key.clone(), record.clone());
        }
        data.list.insert(sort_key(&contact));
        data.contacts.insert(
            contact.id.clone(),
            Versioned {
                contact,
                version: 1,
            },
        );
        Ok(Insert::Done)
    }
}

/// Refuses a contact whose DynamoDB item would pass 400 KB: attribute names and values
/// as DynamoDB counts them (strings by their UTF-8 bytes, a map 3 bytes and 1 per entry,
/// a number about 1 byte per 2 digits), approximately.
fn check_size(channel: &str, contact: &Contact) -> Result<(), StoreError> {
    let fields: usize = contact
        .fields
        .iter()
        .map(|(name, value)| name.len() + value.len() + 1)
        .sum();
    let tags: usize = contact.tags.iter().map(String::len).sum();
    let bytes = "PKCH#".len()
        + channel.len()
        + "SKC#".len()
        + contact.id.len()
        + "id".len()
        + contact.id.len()
        + "f".len()
        + 3
        + fields
        + "tags".len()
        + tags
        + "created_at".len()
        + 8
        + "v".len()
        + 8;
    if bytes > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(())
}

impl ContactStore for MemoryStore {
    async fn field_set(&self, channel: &str) -> Result<FieldSet, StoreError> {
        let state = self.lock();
        state
            .get(channel)
            .filter(|d| d.exists)
            .map(|d| FieldSet::new(d.fields.clone()).with_unique(d.unique.clone()))
            .ok_or(StoreError::ChannelGone)
    }

    async fn claim_owner(
        &self,
        channel: &str,
        field: &str,
        match_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let state = self.lock();
        Ok(state
            .get(channel)
            .and_then(|d| d.claims.get(&(field.to_string(), match_key.to_string())))
            .cloned())
    }

    async fn insert_contact_once(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
        record: &IdempotencyRecord,
    ) -> Result<Insert, StoreError> {
        self.insert(channel, contact, Some(record))
    }

    async fn idempotency_record(
        &self,
        channel: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let state = self.lock();
        Ok(state
            .get(channel)
            .and_then(|d| d.idempotency.get(key))
            .cloned())
    }

    async fn insert_contact(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
    ) -> Result<bool, StoreError> {
        Ok(self.insert(channel, contact, None)? == Insert::Done)
    }

    async fn get_contact(&self, channel: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        let state = self.lock();
        Ok(state
            .get(channel)
            .and_then(|d| d.contacts.get(id))
            .map(|v| v.contact.clone()))
    }

    async fn get_versioned(
        &self,
        channel: &str,
        id: &str,
    ) -> Result<Option<Versioned>, StoreError> {
        let state = self.lock();
        Ok(state.get(channel).and_then(|d| d.contacts.get(id)).cloned())
    }

    async fn update_if_version(
        &self,
        channel: &str,
        read: &Versioned,
        changes: &[FieldChange<'_>],
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(data) = state.get_mut(channel) else {
            return Ok(false);
        };
        let Some(stored) = data.contacts.get(&read.contact.id) else {
            return Ok(false);
        };
        if stored.version != read.version {
            return Ok(false);
        }
        if changes.is_empty() {
            return Ok(true);
        }
        let mut next = stored.clone();
        next.version = next.version.saturating_add(1);
        // Index entries move from the stored value (the one read, as the version is
        // unchanged) to the new one, when their match keys differ.
        let mut moves = Vec::new();
        for change in changes {
            let old = match change.new {
                Some(value) => next
                    .contact
                    .fields
                    .insert(change.name.to_string(), value.to_string()),
                None => next.contact.fields.remove(change.name),
            };
            let old_key = old.map(|v| match_key(change.field_type, &v));
            let new_key = change.new.map(|v| match_key(change.field_type, v));
            if old_key != new_key {
                if let (true, Some(key), Some(value)) = (change.unique, &new_key, change.new) {
                    data.check_claim(change.name, key, value, &read.contact.id)?;
                }
                moves.push((change.name, change.unique, old_key, new_key));
            }
        }
        check_size(channel, &next.contact)?;
        let id = next.contact.id.clone();
        for (field, unique, old_key, new_key) in moves {
            if let Some(key) = old_key {
                if unique {
                    data.release(field, &key, &id);
                }
                data.index_remove(field, &key, &next.contact);
            }
            if let Some(key) = new_key {
                if unique {
                    data.claims
                        .insert((field.to_string(), key.clone()), id.clone());
                }
                data.index_add(field, key, &next.contact);
            }
        }
        data.contacts.insert(next.contact.id.clone(), next);
        Ok(true)
    }

    async fn change_tags(
        &self,
        channel: &str,
        id: &str,
        change: TagChange,
        tags: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(stored) = state.get_mut(channel).and_then(|d| d.contacts.get_mut(id)) else {
            return Ok(false);
        };
        match change {
            TagChange::Add => {
                let mut next = stored.contact.clone();
                next.tags.extend(tags.iter().cloned());
                check_size(channel, &next)?;
                stored.contact.tags = next.tags;
            }
            TagChange::Remove => stored.contact.tags.retain(|t| !tags.contains(t)),
        }
        Ok(true)
    }

    async fn delete_contact(
        &self,
        channel: &str,
        id: &str,
        fields: &FieldSet,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(data) = state.get_mut(channel) else {
            return Ok(false);
        };
        let Some(gone) = data.contacts.remove(id) else {
            return Ok(false);
        };
        let contact = gone.contact;
        for (name, value) in &contact.fields {
            let field_type = fields
                .get(name)
                .or_else(|| data.fields.get(name).cloned())
                .map(|def| def.field_type);
            if let Some(field_type) = field_type {
                let key = match_key(field_type, value);
                data.release(name, &key, &contact.id);
                data.index_remove(name, &key, &contact);
            }
        }
        data.list.remove(&sort_key(&contact));
        data.idempotency.retain(|_, r| r.contact_id != contact.id);
        Ok(true)
    }

    async fn list(
        &self,
        channel: &str,
        after: Option<&str>,
        per_page: u32,
    ) -> Result<ListPage, StoreError> {
        let state = self.lock();
        let Some(data) = state.get(channel) else {
            return Ok(ListPage {
                contacts: Vec::new(),
                next: None,
            });
        };
        let per_page = usize::try_from(per_page).unwrap_or(usize::MAX);
        let start = std::ops::Bound::Excluded(after.unwrap_or(""));
        let keys: Vec<&String> = data
            .list
            .range::<str, _>((start, std::ops::Bound::Unbounded))
            .take(per_page.saturating_add(1))
            .collect();
        let on_page = &keys[..keys.len().min(per_page)];
        Ok(ListPage {
            contacts: on_page
                .iter()
                .filter_map(|sk| sk.split_once('#').map(|(_, id)| id))
                .filter_map(|id| data.contacts.get(id).map(|v| v.contact.clone()))
                .collect(),
            next: on_page
                .last()
                .filter(|_| keys.len() > per_page)
                .map(|sk| sk.to_string()),
        })
    }

    async fn find(
        &self,
        channel: &str,
        matching: &Match<'_>,
        page: &PageSpec<'_>,
    ) -> Result<FindPage, StoreError> {
        let state = self.lock();
        let entries = state
            .get(channel)
            .and_then(|data| data.index.get(matching.field))
            .and_then(|keys| keys.get(matching.key));
        let (Some(data), Some(entries)) = (state.get(channel), entries) else {
            return Ok(FindPage {
                total: 0,
                contacts: Vec::new(),
                next: None,
            });
        };
        let per_page = usize::try_from(page.per_page).unwrap_or(usize::MAX);
        let skipped = page
            .page
            .saturating_sub(1)
            .saturating_mul(u64::from(page.per_page));
        let after: Vec<&String> = match page.after {
            Some(after) => entries
                .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                .collect(),
            None => entries
                .iter()
                .skip(usize::try_from(skipped).unwrap_or(usize::MAX))
                .collect(),
        };
        let more = after.len() > per_page;
        let on_page = &after[..after.len().min(per_page)];
        Ok(FindPage {
            total: u64::try_from(entries.len()).unwrap_or(u64::MAX),
            contacts: on_page
                .iter()
                .filter_map(|sk| sk.split_once('#').map(|(_, id)| id))
                .filter_map(|id| data.contacts.get(id).map(|v| v.contact.clone()))
                .collect(),
            next: on_page.last().filter(|_| more).map(|sk| sk.to_string()),
        })
    }
}

/// A contact's place in a value's index, as the DynamoDB store's sort key has it.
fn sort_key(contact: &Contact) -> String {
    crate::store::dynamo::keys::index_sk(contact.created_at, contact.created_micros, &contact.id)
}

#[cfg(test)]
mod tests;
