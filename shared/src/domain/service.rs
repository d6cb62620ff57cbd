//! The API's operations, independent of HTTP and of the storage technology.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::backoff;
use crate::clock;
use crate::domain::channel::Channel;
use crate::domain::contact::Contact;
use crate::domain::contact_id;
use crate::domain::cursor;
use crate::domain::field_defs::{undefined_field, FieldSet, FieldType, Uniqueness};
use crate::domain::field_values::{canonical, match_key, query_key, InputValue};
use crate::domain::field_writes::{resolve_writes, FieldWrite, RawFieldWrite};
use crate::domain::idempotency::{self, IdempotencyRecord, IdempotentRequest};
use crate::env;
use crate::error::{printable, ApiError};
use crate::limits::{MAX_ID_ATTEMPTS, MAX_WRITE_ATTEMPTS};
use crate::store::{
    ContactStore, FieldChange, Insert, Match, NewContact, PageSpec, StoreError, TagChange,
    Versioned,
};

/// How long a warm function trusts the field definitions it loaded
/// ([`env::field_cache_ttl`]). A name it does not know is always looked up again, so new
/// fields are usable at once; a changed list of values, a field made unique or a channel
/// deleted takes at most this long to reach every warm function (the operator tool waits
/// it out). On tokio's clock, which tests can pause and advance.
fn field_cache_ttl() -> Duration {
    env::field_cache_ttl()
}

/// How an upsert ended: the contact's id, and whether it was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    pub id: String,
    pub created: bool,
}

/// A find-by-field query: the field, the value sought, and which of the matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindQuery {
    pub name: String,
    pub value: String,
    /// 1-based.
    pub page: u64,
    pub per_page: u32,
    /// A link's `cursor`: where the page starts (checked to be this find's).
    pub cursor: Option<String>,
}

/// A page of a channel's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Oldest first.
    pub contacts: Vec<Contact>,
    /// The `cursor` of the next page, when one may follow.
    pub next_cursor: Option<String>,
}

/// A page of a find's matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// How many contacts match, all pages together.
    pub total: u64,
    /// This page's, oldest first.
    pub contacts: Vec<Contact>,
    /// The `cursor` of the next page, when one may follow.
    pub next_cursor: Option<String>,
}

pub struct ContactService<S> {
    store: S,
    fields: Mutex<HashMap<String, (Instant, Arc<FieldSet>)>>,
}

impl<S: ContactStore> ContactService<S> {
    pub fn new(store: S) -> Self {
        ContactService {
            store,
            fields: Mutex::new(HashMap::new()),
        }
    }

    /// The store it works on.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The channel's fields, from the cache when it is fresh and knows every name.
    async fn fields<'a>(
        &self,
        channel: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Arc<FieldSet>, ApiError> {
        let cached = {
            let cache = self.fields.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(channel)
                .filter(|(at, _)| at.elapsed() < field_cache_ttl())
                .map(|(_, f)| f.clone())
        };
        if let Some(fields) = cached {
            if names.into_iter().all(|n| fields.contains(n)) {
                return Ok(fields);
            }
        }
        let loaded = Arc::new(self.store.field_set(channel).await?);
        let mut cache = self.fields.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(channel.to_string(), (Instant::now(), loaded.clone()));
        Ok(loaded)
    }

    async fn writes(
        &self,
        channel: &Channel,
        raw: &[RawFieldWrite],
    ) -> Result<Vec<FieldWrite>, ApiError> {
        let fields = self
            .fields(&channel.id, raw.iter().map(|w| w.name.as_str()))
            .await?;
        resolve_writes(&fields, raw)
    }

    /// Creates a contact; returns its new id. With an idempotency key, a repeat of the
    /// same request within 24 hours returns the first contact's id and creates nothing.
    pub async fn create(
        &self,
        channel: &Channel,
        raw: &[RawFieldWrite],
        idempotent: Option<&IdempotentRequest>,
    ) -> Result<String, ApiError> {
        if let Some(request) = idempotent {
            if let Some(first) = self
                .replay(channel, &request.key, &request.body_hash)
                .await?
            {
                return first;
            }
        }
        let writes = self.writes(channel, raw).await?;
        self.insert_new(channel, &writes, idempotent).await
    }

    /// Inserts a new contact with `writes`, under the id its channel gives it, with the
    /// idempotency record of `idempotent` when given; its id.
    async fn insert_new(
        &self,
        channel: &Channel,
        writes: &[FieldWrite],
        idempotent: Option<&IdempotentRequest>,
    ) -> Result<String, ApiError> {
        // On WhatsApp and SMS channels the id is the phone's digits, so it can be taken.
        let native_id = contact_id::native(channel.kind, writes)?;
        let (created_at, created_micros) = clock::now_micros();
        let no_tags = BTreeSet::new();
        for _ in 0..MAX_ID_ATTEMPTS {
            let id = match &native_id {
                Some(id) => id.clone(),
                None => contact_id::generate()?,
            };
            let contact = NewContact {
                id: &id,
                created_at,
                created_micros,
                writes,
                tags: &no_tags,
            };
            let outcome = match idempotent {
                Some(request) => {
                    let record = IdempotencyRecord {
                        key: request.key.clone(),
                        body_hash: request.body_hash.clone(),
                        contact_id: id.clone(),
                        expires_at: created_at + idempotency::WINDOW_SECONDS,
                    };
                    self.store
                        .insert_contact_once(&channel.id, &contact, &record)
                        .await?
                }
                None => match self.store.insert_contact(&channel.id, &contact).await? {
                    true => Insert::Done,
                    false => Insert::IdTaken,
                },
            };
            if outcome == Insert::Done {
                return Ok(id);
            }
            // A concurrent request with the same key may have won the race (its contact
            // then has this very id on a phone channel): answer as it did.
            if let Some(request) = idempotent {
                if let Some(first) = self
                    .replay(channel, &request.key, &request.body_hash)
                    .await?
                {
                    return first;
                }
            }
            if outcome == Insert::IdTaken && native_id.is_some() {
                return Err(contact_id::taken(&id));
            }
        }
        tracing::error!("no unused contact id after {MAX_ID_ATTEMPTS} attempts");
        Err(ApiError::Internal)
    }

    /// Updates the contact holding `value` in the unique field `name` with `raw`, or, if
    /// none does, creates one with `name` = `value` and `raw`. Atomic: the value's claim
    /// decides, so racing upserts of one value create one contact and all answer its id.
    pub async fn upsert(
        &self,
        channel: &Channel,
        name: &str,
        value: &str,
        raw: &[RawFieldWrite],
    ) -> Result<Upserted, ApiError> {
        let names = raw.iter().map(|w| w.name.as_str()).chain([name]);
        let fields = self.fields(&channel.id, names).await?;
        let def = fields.require(name)?;
        if def.unique != Some(Uniqueness::On) {
            return Err(ApiError::invalid(format!(
                "Custom field '{}' is not unique: an upsert finds its contact by a unique field.",
                printable(name)
            )));
        }
        let value = canonical(name, &def, &InputValue::Text(value.to_string()))?
            .ok_or_else(|| ApiError::invalid("Query parameter 'value' is required."))?;
        let key = match_key(def.field_type, &value);
        let mut writes = resolve_writes(&fields, raw)?;
        match writes.iter().find(|w| w.name == name) {
            Some(w)
                if w.value.as_deref().map(|v| match_key(def.field_type, v))
                    != Some(key.clone()) =>
            {
                return Err(ApiError::invalid(format!(
                    "Custom field '{}' is what the upsert finds the contact by: the body may not change it.",
                    printable(name)
                )));
            }
            Some(_) => {}
            None => writes.push(FieldWrite {
                name: name.to_string(),
                def: def.clone(),
                value: Some(value),
            }),
        }
        let holding = Holding {
            field: name,
            field_type: def.field_type,
            key: &key,
        };
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            match self.store.claim_owner(&channel.id, name, &key).await? {
                Some(id) => {
                    if write_fields(&self.store, &channel.id, &id, &writes, Some(&holding)).await? {
                        return Ok(Upserted { id, created: false });
                    }
                    // The holder let the value go meanwhile: look again.
                }
                None => match self.insert_new(channel, &writes, None).await {
                    Ok(id) => return Ok(Upserted { id, created: true }),
                    // A racing upsert created it first: update that one.
                    Err(ApiError::ValueTaken { field, .. }) if field == name => {}
                    Err(err) => return Err(err),
                },
            }
            backoff(attempt).await;
        }
        Err(ApiError::Unavailable)
    }

    /// The answer a live idempotency record gives a request with this body, if any.
    async fn replay(
        &self,
        channel: &Channel,
        key: &str,
        body_hash: &str,
    ) -> Result<Option<Result<String, ApiError>>, ApiError> {
        let record = self.store.idempotency_record(&channel.id, key).await?;
        Ok(record.and_then(|r| idempotency::replay(&r, body_hash, clock::now())))
    }

    pub async fn get(&self, channel: &Channel, id: &str) -> Result<Contact, ApiError> {
        self.store
            .get_contact(&channel.id, id)
            .await?
            .ok_or(ApiError::ContactNotFound)
    }

    /// Sets and clears the listed fields of an existing contact.
    pub async fn update(
        &self,
        channel: &Channel,
        id: &str,
        raw: &[RawFieldWrite],
    ) -> Result<(), ApiError> {
        let writes = self.writes(channel, raw).await?;
        if update_fields(&self.store, &channel.id, id, &writes).await? {
            Ok(())
        } else {
            Err(ApiError::ContactNotFound)
        }
    }

    pub async fn change_tags(
        &self,
        channel: &Channel,
        id: &str,
        change: TagChange,
        tags: &BTreeSet<String>,
    ) -> Result<(), ApiError> {
        if self
            .store
            .change_tags(&channel.id, id, change, tags)
            .await?
        {
            Ok(())
        } else {
            Err(ApiError::ContactNotFound)
        }
    }

    /// Deletes a contact and everything stored for it.
    pub async fn delete(&self, channel: &Channel, id: &str) -> Result<(), ApiError> {
        let fields = self.fields(&channel.id, []).await?;
        if self.store.delete_contact(&channel.id, id, &fields).await? {
            Ok(())
        } else {
            Err(ApiError::ContactNotFound)
        }
    }

    /// A page of the channel's contacts, oldest first, from a cursor the page before
    /// gave (checked to be this channel's) or from the first.
    pub async fn list(
        &self,
        channel: &Channel,
        cursor: Option<&str>,
        per_page: u32,
    ) -> Result<Listed, ApiError> {
        let after = cursor
            .map(|c| cursor::decode_list(c, &channel.id).ok_or_else(cursor::invalid_list))
            .transpose()?;
        let page = self
            .store
            .list(&channel.id, after.as_deref(), per_page)
            .await?;
        Ok(Listed {
            contacts: page.contacts,
            next_cursor: page.next.map(|at| cursor::encode_list(&channel.id, &at)),
        })
    }

    /// A page of the contacts whose field matches the query's value, and how many there
    /// are. A `+` in a text or list value is tried as a space first, as the original read
    /// query strings (clients send spaces as `+`, and API Gateway passes `+` through),
    /// then, if that finds nothing, as itself.
    pub async fn find(&self, channel: &Channel, query: &FindQuery) -> Result<Found, ApiError> {
        let fields = self.fields(&channel.id, [query.name.as_str()]).await?;
        let def = fields
            .get(&query.name)
            .ok_or_else(|| undefined_field(&query.name))?;
        let mut keys = Vec::with_capacity(2);
        if query.value.contains('+') && def.field_type.is_text_like() {
            keys.push(query_key(
                &query.name,
                &def,
                &query.value.replace('+', " "),
            )?);
        }
        let literal = query_key(&query.name, &def, &query.value)?;
        if !keys.contains(&literal) {
            keys.push(literal);
        }
        // A cursor names the key its walk began with.
        let (keys, after) = match &query.cursor {
            None => (keys, None),
            Some(cursor) => {
                let found = keys.into_iter().find_map(|key| {
                    cursor::decode(cursor, &channel.id, &query.name, &key).map(|at| (key, at))
                });
                let (key, after) = found.ok_or_else(cursor::invalid)?;
                (vec![key], Some(after))
            }
        };
        let spec = PageSpec {
            page: query.page,
            per_page: query.per_page,
            after: after.as_deref(),
        };
        let mut last = None;
        for key in &keys {
            let matching = Match {
                field: &query.name,
                field_type: def.field_type,
                key,
            };
            let page = self.store.find(&channel.id, &matching, &spec).await?;
            let found = Found {
                total: page.total,
                contacts: page.contacts,
                next_cursor: page
                    .next
                    .map(|at| cursor::encode(&channel.id, &query.name, key, &at)),
            };
            if found.total > 0 {
                return Ok(found);
            }
            last = Some(found);
        }
        last.ok_or(ApiError::Internal)
    }
}

/// Applies field writes to an existing contact, with their index changes, atomically;
/// `false` if there is no such contact. Optimistic: read the contact and its version,
/// write what changes conditional on that version, and on losing the race to another
/// writer back off (with jitter) and redo it from a fresh read, up to
/// [`MAX_WRITE_ATTEMPTS`] times before reporting the store unavailable. Writes that change
/// nothing write nothing. On DynamoDB: one GetItem and one TransactWriteItems per attempt.
pub async fn update_fields<S: ContactStore>(
    store: &S,
    channel: &str,
    id: &str,
    writes: &[FieldWrite],
) -> Result<bool, StoreError> {
    write_fields(store, channel, id, writes, None).await
}

/// A value a contact must hold for a write to apply to it.
struct Holding<'a> {
    field: &'a str,
    field_type: FieldType,
    key: &'a str,
}

/// [`update_fields`], applied only while the contact holds `holding` (`false` if it
/// does not, as if it were gone).
async fn write_fields<S: ContactStore>(
    store: &S,
    channel: &str,
    id: &str,
    writes: &[FieldWrite],
    holding: Option<&Holding<'_>>,
) -> Result<bool, StoreError> {
    for attempt in 0..MAX_WRITE_ATTEMPTS {
        let Some(read) = store.get_versioned(channel, id).await? else {
            return Ok(false);
        };
        if let Some(h) = holding {
            let held = read.contact.fields.get(h.field);
            if held.map(|v| match_key(h.field_type, v)).as_deref() != Some(h.key) {
                return Ok(false);
            }
        }
        let changes = field_changes(&read, writes);
        if changes.is_empty() {
            return Ok(true);
        }
        if store.update_if_version(channel, &read, &changes).await? {
            return Ok(true);
        }
        backoff(attempt).await;
    }
    Err(StoreError::Unavailable(format!(
        "contact still contended after {MAX_WRITE_ATTEMPTS} attempts"
    )))
}

/// The writes that change the contact as read, each with the value it replaces.
pub fn field_changes<'a>(read: &'a Versioned, writes: &'a [FieldWrite]) -> Vec<FieldChange<'a>> {
    writes
        .iter()
        .filter_map(|w| {
            let old = read.contact.fields.get(&w.name).map(String::as_str);
            let new = w.value.as_deref();
            (old != new).then_some(FieldChange {
                name: &w.name,
                field_type: w.def.field_type,
                unique: w.def.claims(),
                old,
                new,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
