//! The API's storage operations on DynamoDB: contacts, their tags and the field index.
//! A field update is one GetItem ([`get_versioned`](ContactStore::get_versioned)) and one
//! TransactWriteItems conditional on the version read
//! ([`update_if_version`](ContactStore::update_if_version)); the retry loop around them is
//! the domain's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, Select, TransactWriteItem, Update,
};

use super::errors::{build_error, cancelled_by, classify, condition_failed, TOO_LARGE_MESSAGE};
use super::item::{self, Item};
use super::{keys, DynamoStore, CAPACITY};
use crate::backoff::backoff;
use crate::domain::contact::Contact;
use crate::domain::field_defs::FieldSet;
use crate::domain::field_values::match_key;
use crate::domain::idempotency::IdempotencyRecord;
use crate::store::{
    ContactStore, FieldChange, Insert, NewContact, StoreError, TagChange, Versioned,
};

/// Attempts of a `BatchGetItem` whose keys came back unprocessed.
const MAX_BATCH_ATTEMPTS: u32 = 5;

impl ContactStore for DynamoStore {
    async fn field_set(&self, channel: &str) -> Result<FieldSet, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel)))
            .projection_expression("#defs")
            .expression_attribute_names("#defs", item::FIELD_DEFS)
            .consistent_read(true)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(classify)?;
        Ok(item::field_set_from_item(out.item()))
    }

    async fn insert_contact(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
    ) -> Result<bool, StoreError> {
        Ok(self.insert(channel, contact, None).await? == Insert::Done)
    }

    async fn insert_contact_once(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
        record: &IdempotencyRecord,
    ) -> Result<Insert, StoreError> {
        self.insert(channel, contact, Some(record)).await
    }

    async fn idempotency_record(
        &self,
        channel: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get(item::idempotency_key(channel, key))
            .await?
            .map(|found| item::idempotency_from_item(&found))
            .transpose()
    }

    async fn get_contact(&self, channel: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        self.get(item::contact_key(channel, id))
            .await?
            .map(|i| item::contact_from_item(&i))
            .transpose()
    }

    async fn get_versioned(
        &self,
        channel: &str,
        id: &str,
    ) -> Result<Option<Versioned>, StoreError> {
        let Some(found) = self.get(item::contact_key(channel, id)).await? else {
            return Ok(None);
        };
        Ok(Some(Versioned {
            contact: item::contact_from_item(&found)?,
            version: item::get_n(&found, item::VERSION)?,
        }))
    }

    async fn update_if_version(
        &self,
        channel: &str,
        read: &Versioned,
        changes: &[FieldChange<'_>],
    ) -> Result<bool, StoreError> {
        let Some(actions) = self.update_actions(channel, read, changes)? else {
            return Ok(true);
        };
        match self.transact(actions).await {
            Ok(_) => Ok(true),
            // Another writer changed the contact since it was read (or it is gone).
            Err(err) if cancelled_by(&err, &["ConditionalCheckFailed", "TransactionConflict"]) => {
                Ok(false)
            }
            Err(err) => Err(transaction_error(err)),
        }
    }

    async fn change_tags(
        &self,
        channel: &str,
        id: &str,
        change: TagChange,
        tags: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        // Set ADD/DELETE are atomic on the server: no read, and no concurrent change is lost.
        let expression = match change {
            TagChange::Add => "ADD #tags :tags",
            TagChange::Remove => "DELETE #tags :tags",
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::contact_key(channel, id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#tags", item::TAGS)
            .expression_attribute_values(
                ":tags",
                AttributeValue::Ss(tags.iter().cloned().collect()),
            )
            .return_consumed_capacity(CAPACITY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn find(
        &self,
        channel: &str,
        field: &str,
        match_key: &str,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<Contact>), StoreError> {
        let pk = keys::index_pk(channel, field, match_key);
        let wanted = offset.saturating_add(u64::from(limit));
        let (total, sort_keys) = futures::try_join!(self.count(&pk), self.sort_keys(&pk, wanted))?;
        let ids: Vec<&str> = sort_keys
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .filter_map(|sk| keys::id_from_index_sk(sk))
            .collect();
        let contacts = self.batch_get(channel, &ids).await?;
        Ok((total, contacts))
    }
}

impl DynamoStore {
    /// One transaction: the contact (if its id is free), its index entries, and the
    /// idempotency record (if none is live for the key).
    async fn insert(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Insert, StoreError> {
        let fields: BTreeMap<String, String> = contact
            .writes
            .iter()
            .filter_map(|w| w.value.as_ref().map(|v| (w.name.clone(), v.clone())))
            .collect();
        let item = item::contact_item(
            channel,
            contact.id,
            contact.created_at,
            &fields,
            contact.tags,
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(record) = record {
            // An expired record may linger until DynamoDB's TTL sweep: it counts as absent.
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item::idempotency_item(channel, record)))
                .condition_expression("attribute_not_exists(PK) OR #expires <= :now")
                .expression_attribute_names("#expires", item::EXPIRES_AT)
                .expression_attribute_values(":now", item::n(crate::clock::now()))
                .build()
                .map_err(build_error)?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        for w in contact.writes {
            if let Some(value) = &w.value {
                let key = match_key(w.def.field_type, value);
                let index =
                    item::index_item(channel, &w.name, &key, contact.created_at, contact.id);
                actions.push(self.put_action(index)?);
            }
        }
        match self.transact(actions).await {
            Ok(_) => Ok(Insert::Done),
            Err(err) => match failed_conditions(&err).as_deref() {
                // The key first: a retry racing the request it repeats answers as that did.
                Some([_, true, ..]) if record.is_some() => Ok(Insert::KeyTaken),
                Some([true, ..]) => Ok(Insert::IdTaken),
                _ => Err(transaction_error(err)),
            },
        }
    }

    /// One `TransactWriteItems` of the API's writes.
    async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, HttpResponse>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
    }

    fn put_action(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete_action(&self, key: Item) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The transaction that applies `changes` to the contact as `read`: the contact update
    /// (conditional on its version) and the index entries that change. `None` when there
    /// is no change.
    fn update_actions(
        &self,
        channel: &str,
        read: &Versioned,
        changes: &[FieldChange<'_>],
    ) -> Result<Option<Vec<TransactWriteItem>>, StoreError> {
        if changes.is_empty() {
            return Ok(None);
        }
        let contact = &read.contact;
        let mut sets = vec![format!("{} = :next", item::VERSION)];
        let mut removes = Vec::new();
        let mut names = HashMap::from([("#f".to_string(), item::FIELDS.to_string())]);
        let mut values = HashMap::from([
            (":v".to_string(), item::n(read.version)),
            (":next".to_string(), item::n(read.version + 1)),
        ]);
        let mut index_actions = Vec::new();
        for (i, change) in changes.iter().enumerate() {
            names.insert(format!("#n{i}"), change.name.to_string());
            match change.new {
                Some(value) => {
                    sets.push(format!("#f.#n{i} = :n{i}"));
                    values.insert(format!(":n{i}"), item::s(value));
                }
                None => removes.push(format!("#f.#n{i}")),
            }
            let old_key = change.old.map(|v| match_key(change.field_type, v));
            let new_key = change.new.map(|v| match_key(change.field_type, v));
            if old_key == new_key {
                continue;
            }
            if let Some(key) = old_key {
                let index =
                    item::index_item(channel, change.name, &key, contact.created_at, &contact.id);
                index_actions.push(self.delete_action(index)?);
            }
            if let Some(key) = new_key {
                let index =
                    item::index_item(channel, change.name, &key, contact.created_at, &contact.id);
                index_actions.push(self.put_action(index)?);
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::contact_key(channel, &contact.id)))
            .update_expression(expression)
            .condition_expression(format!("{} = :v", item::VERSION))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        actions.extend(index_actions);
        Ok(Some(actions))
    }

    /// Number of index entries under `pk`.
    async fn count(&self, pk: &str) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", item::s(pk))
                .select(Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(CAPACITY)
                .send()
                .await
                .map_err(classify)?;
            total += u64::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// The first `wanted` sort keys under `pk`, in order.
    async fn sort_keys(&self, pk: &str, wanted: u64) -> Result<Vec<String>, StoreError> {
        let mut keys_found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = wanted.saturating_sub(keys_found.len() as u64);
            if remaining == 0 {
                return Ok(keys_found);
            }
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", item::s(pk))
                .projection_expression("SK")
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(CAPACITY)
                .send()
                .await
                .map_err(classify)?;
            for found in out.items() {
                keys_found.push(item::get_s(found, keys::SK)?.to_string());
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(keys_found);
            }
        }
    }

    /// The contacts with these ids, in the same order; ids with no contact are skipped.
    async fn batch_get(&self, channel: &str, ids: &[&str]) -> Result<Vec<Contact>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pending: Vec<Item> = ids
            .iter()
            .map(|id| item::contact_key(channel, id))
            .collect();
        let mut found: HashMap<String, Contact> = HashMap::with_capacity(ids.len());
        for attempt in 0..MAX_BATCH_ATTEMPTS {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .return_consumed_capacity(CAPACITY)
                .send()
                .await
                .map_err(classify)?;
            for got in out
                .responses
                .as_ref()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                let contact = item::contact_from_item(got)?;
                found.insert(contact.id.clone(), contact);
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(ids.iter().filter_map(|id| found.remove(*id)).collect());
            }
            backoff(attempt).await;
        }
        Err(StoreError::Unavailable(
            "BatchGetItem left keys unprocessed".into(),
        ))
    }
}

/// A failed transaction as a store error: an item grown past DynamoDB's size limit is
/// the client's doing (403), anything else is classified as usual.
fn transaction_error<R: std::fmt::Debug>(err: SdkError<TransactWriteItemsError, R>) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let too_large = e.cancellation_reasons().iter().any(|r| {
            r.code() == Some("ValidationError")
                && r.message().is_some_and(|m| m.contains(TOO_LARGE_MESSAGE))
        });
        if too_large {
            return StoreError::TooLarge;
        }
    }
    classify(err)
}

/// For a transaction cancelled by failed conditions: which of its actions failed theirs.
fn failed_conditions<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<bool>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}
