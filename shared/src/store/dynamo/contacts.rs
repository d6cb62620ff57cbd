//! The API's storage operations on DynamoDB: contacts, their tags and the field index.
//! A create is one TransactWriteItems: the contact, its index entries and its values'
//! counts (see `index.rs`). A field update is one GetItem
//! ([`get_versioned`](ContactStore::get_versioned)) and one TransactWriteItems conditional
//! on the version read ([`update_if_version`](ContactStore::update_if_version)); the retry
//! loop around them is the domain's. Finds are in `find.rs`.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::claims::{Claim, ClaimFailure, Claims};
use super::errors::{applied, build_error, cancelled_by, classify, TOO_LARGE_MESSAGE};
use super::index::{self, IndexChanges};
use super::{item, keys};
use super::{DynamoStore, CAPACITY};
use crate::backoff::backoff;
use crate::domain::contact::Contact;
use crate::domain::field_defs::FieldSet;
use crate::domain::field_values::match_key;
use crate::domain::idempotency::{self, IdempotencyRecord};
use crate::limits::MAX_WRITE_ATTEMPTS;
use crate::store::{
    ContactStore, FieldChange, FindPage, Insert, ListPage, Match, NewContact, PageSpec, StoreError,
    TagChange, Versioned,
};

impl ContactStore for DynamoStore {
    async fn field_set(&self, channel: &str) -> Result<FieldSet, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel)))
            .projection_expression("PK, #defs, #unique, #deleting")
            .expression_attribute_names("#defs", item::FIELD_DEFS)
            .expression_attribute_names("#unique", item::UNIQUE)
            .expression_attribute_names("#deleting", item::DELETING)
            .consistent_read(true)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(classify)?;
        // A channel being deleted writes nothing more (see `delete_channel`).
        match out.item() {
            Some(found) if !found.contains_key(item::DELETING) => {
                Ok(item::field_set_from_item(Some(found)))
            }
            _ => Err(StoreError::ChannelGone),
        }
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
        self.get_live(channel, id)
            .await?
            .map(|i| item::contact_from_item(&i))
            .transpose()
    }

    async fn get_versioned(
        &self,
        channel: &str,
        id: &str,
    ) -> Result<Option<Versioned>, StoreError> {
        let Some(found) = self.get_live(channel, id).await? else {
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
        let mut claims = Claims::for_changes(channel, changes);
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let Some((actions, pending)) = self.update_actions(channel, read, changes, &claims)?
            else {
                return Ok(true);
            };
            let err = match self.transact(actions).await {
                Ok(_) if pending => {
                    self.finish_pending(channel, &read.contact.id).await?;
                    return Ok(true);
                }
                Ok(_) => return Ok(true),
                Err(err) => err,
            };
            if !cancelled_by(&err, &["ConditionalCheckFailed", "TransactionConflict"]) {
                return Err(transaction_error(err));
            }
            let contact_changed = failed_conditions(&err).is_some_and(|f| f.first() == Some(&true));
            match self.claim_failure(&err, 1, &claims).await? {
                ClaimFailure::Taken(taken) => return Err(taken),
                // Values another contact claimed while the field was being made unique:
                // nothing of this contact's to release.
                ClaimFailure::Foreign(dropped) if !contact_changed => {
                    claims = claims.without(&dropped);
                }
                // Another writer changed the contact since it was read (or it is gone),
                // or a writer that died half-way left index changes pending: finish
                // them, then the domain reads again.
                _ => {
                    self.finish_pending(channel, &read.contact.id).await?;
                    return Ok(false);
                }
            }
        }
        Ok(false)
    }

    async fn claim_owner(
        &self,
        channel: &str,
        field: &str,
        match_key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.owner_of_value(channel, field, match_key).await
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
            TagChange::Add => "ADD #tags :tags, #seq :one",
            TagChange::Remove => "DELETE #tags :tags ADD #seq :one",
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::contact_key(channel, id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#deleted)")
            .expression_attribute_names("#tags", item::TAGS)
            .expression_attribute_names("#deleted", item::DELETED)
            .expression_attribute_names("#seq", item::SEQUENCE)
            .expression_attribute_values(":one", item::n(1))
            .expression_attribute_values(
                ":tags",
                AttributeValue::Ss(tags.iter().cloned().collect()),
            )
            .return_consumed_capacity(CAPACITY)
            .send()
            .await;
        applied(result)
    }

    async fn delete_contact(
        &self,
        channel: &str,
        id: &str,
        fields: &FieldSet,
    ) -> Result<bool, StoreError> {
        // Claims found to be other contacts' (see `claims.rs`): not this one's to release.
        let mut foreign: Vec<Claim> = Vec::new();
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            let Some(found) = self.get(item::contact_key(channel, id)).await? else {
                return Ok(false);
            };
            // A delete or a write that stopped half-way: finish it first.
            if !index::pending_of(&found).is_empty() {
                self.finish_pending(channel, id).await?;
                if item::is_deleted(&found) {
                    return Ok(false);
                }
                continue;
            }
            let contact = item::contact_from_item(&found)?;
            let loaded;
            let fields = if contact.fields.keys().all(|name| fields.contains(name)) {
                fields
            } else {
                // A field defined after the caller loaded its definitions.
                loaded = self.field_set(channel).await?;
                &loaded
            };
            let mut changes = index::for_removal(channel, &contact, fields);
            let mut claims = Claims::for_removal(channel, &contact, fields);
            claims.0.retain(|c| !foreign.contains(c));
            // The record of the create, while it is live: once expired it may have been
            // swept and its key reused by another contact's create, and TTL removes it.
            let live_until = contact.created_at + idempotency::WINDOW_SECONDS - RECORD_MARGIN;
            if let Some(pk) = found.get(item::CREATED_BY).and_then(|v| v.as_s().ok()) {
                if crate::clock::now() < live_until {
                    changes.delete_item(pk.clone(), keys::IDEMPOTENCY_SK.into());
                }
            }
            let split = index::split(changes.into_ops(), 1 + claims.len());
            let version = item::get_n(&found, item::VERSION)?;
            let mut actions = vec![self.delete_action(channel, id, version, &split.pending)?];
            actions.extend(self.claim_actions(&claims, id)?);
            actions.extend(self.index_actions(&split.now)?);
            match self.transact(actions).await {
                Ok(_) => {
                    if !split.pending.is_empty() {
                        self.finish_pending(channel, id).await?;
                    }
                    return Ok(true);
                }
                // Changed since it was read: read it again.
                Err(err)
                    if cancelled_by(&err, &["ConditionalCheckFailed", "TransactionConflict"]) =>
                {
                    if let ClaimFailure::Foreign(dropped) =
                        self.claim_failure(&err, 1, &claims).await?
                    {
                        foreign.extend(dropped.iter().map(|&i| claims.0[i].clone()));
                        continue;
                    }
                    backoff(attempt).await;
                }
                Err(err) => return Err(transaction_error(err)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "contact still contended after {MAX_WRITE_ATTEMPTS} attempts"
        )))
    }

    async fn list(
        &self,
        channel: &str,
        after: Option<&str>,
        per_page: u32,
    ) -> Result<ListPage, StoreError> {
        self.list_page(channel, after, per_page).await
    }

    async fn find(
        &self,
        channel: &str,
        matching: &Match<'_>,
        page: &PageSpec<'_>,
    ) -> Result<FindPage, StoreError> {
        self.find_page(channel, matching, page).await
    }
}

/// How long before its expiry a create's idempotency record is left to TTL by a delete
/// (clocks of functions differ by less).
const RECORD_MARGIN: i64 = 60;

impl DynamoStore {
    /// A contact item, unless it is being deleted.
    async fn get_live(&self, channel: &str, id: &str) -> Result<Option<item::Item>, StoreError> {
        Ok(self
            .get(item::contact_key(channel, id))
            .await?
            .filter(|found| !item::is_deleted(found)))
    }

    /// The first action of a delete, conditional on the contact being as read: the
    /// item's delete, or, when index changes are left `pending`, its marking as deleted.
    fn delete_action(
        &self,
        channel: &str,
        id: &str,
        version: i64,
        pending: &[index::IndexOp],
    ) -> Result<TransactWriteItem, StoreError> {
        let unchanged = format!("{} = :v AND attribute_not_exists(#pending)", item::VERSION);
        let key = item::contact_key(channel, id);
        if pending.is_empty() {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression(unchanged)
                .expression_attribute_names("#pending", item::PENDING)
                .expression_attribute_values(":v", item::n(version))
                .build()
                .map_err(build_error)?;
            return Ok(TransactWriteItem::builder().delete(delete).build());
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #deleted = :yes, #pending = :pending ADD #seq :one")
            .condition_expression(unchanged)
            .expression_attribute_names("#pending", item::PENDING)
            .expression_attribute_names("#deleted", item::DELETED)
            .expression_attribute_values(":v", item::n(version))
            .expression_attribute_names("#seq", item::SEQUENCE)
            .expression_attribute_values(":one", item::n(1))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":pending", index::pending_value(pending))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// One transaction: the contact (if its id is free), its index entries and counts,
    /// and the idempotency record (if none is live for the key). Retried when it meets a
    /// concurrent transaction on a count.
    async fn insert(
        &self,
        channel: &str,
        contact: &NewContact<'_>,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Insert, StoreError> {
        let (stored, changes) = index::for_new(channel, contact);
        let claims = Claims::for_new(channel, contact);
        let first_claim = 1 + usize::from(record.is_some());
        let split = index::split(changes.into_ops(), first_claim + claims.len());
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            let mut actions = vec![self.insert_action(channel, &stored, &split.pending, record)?];
            if let Some(record) = record {
                actions.push(self.idempotency_action(channel, record)?);
            }
            actions.extend(self.claim_actions(&claims, contact.id)?);
            actions.extend(self.index_actions(&split.now)?);
            let err = match self.transact(actions).await {
                Ok(_) => {
                    if !split.pending.is_empty() {
                        self.finish_pending(channel, contact.id).await?;
                    }
                    return Ok(Insert::Done);
                }
                Err(err) => err,
            };
            match failed_conditions(&err).as_deref() {
                // The key first: a retry racing the request it repeats answers as that did.
                Some([_, true, ..]) if record.is_some() => return Ok(Insert::KeyTaken),
                Some([true, ..]) => return Ok(Insert::IdTaken),
                Some(_) => {
                    if let ClaimFailure::Taken(taken) =
                        self.claim_failure(&err, first_claim, &claims).await?
                    {
                        return Err(taken);
                    }
                    // A count contended, or a claimed value was released meanwhile.
                    if !cancelled_by(&err, &["TransactionConflict", "ConditionalCheckFailed"]) {
                        return Err(transaction_error(err));
                    }
                    backoff(attempt).await;
                }
                None => return Err(transaction_error(err)),
            }
        }
        Err(StoreError::Unavailable(
            "the contact's counts stayed contended".into(),
        ))
    }

    /// The contact's put, if its id is free.
    pub(super) fn insert_action(
        &self,
        channel: &str,
        contact: &Contact,
        pending: &[index::IndexOp],
        record: Option<&IdempotencyRecord>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut stored = item::contact_item(
            channel,
            &contact.id,
            contact.created_at,
            contact.created_micros.unwrap_or(0),
            &contact.fields,
            &contact.tags,
        );
        if !pending.is_empty() {
            stored.insert(item::PENDING.into(), index::pending_value(pending));
        }
        if let Some(record) = record {
            stored.insert(
                item::CREATED_BY.into(),
                item::s(keys::idempotency_pk(channel, &record.key)),
            );
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(stored))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The idempotency record's put, if no live record has its key. An expired record may
    /// linger until DynamoDB's TTL sweep: it counts as absent.
    fn idempotency_action(
        &self,
        channel: &str,
        record: &IdempotencyRecord,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item::idempotency_item(channel, record)))
            .condition_expression("attribute_not_exists(PK) OR #expires <= :now")
            .expression_attribute_names("#expires", item::EXPIRES_AT)
            .expression_attribute_values(":now", item::n(crate::clock::now()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// One `TransactWriteItems` of the API's writes.
    pub(super) async fn transact(
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

    /// The transaction that applies `changes` to the contact as `read`: the contact update
    /// (conditional on its version, and on no index changes being pending) and the index
    /// changes that fit, the rest kept on the contact as pending; whether any are.
    /// `None` when there is no change.
    #[allow(clippy::type_complexity)]
    fn update_actions(
        &self,
        channel: &str,
        read: &Versioned,
        changes: &[FieldChange<'_>],
        claims: &Claims,
    ) -> Result<Option<(Vec<TransactWriteItem>, bool)>, StoreError> {
        if changes.is_empty() {
            return Ok(None);
        }
        let contact = &read.contact;
        let mut sets = vec![format!("{} = :next", item::VERSION)];
        let mut removes = Vec::new();
        let mut names = HashMap::from([
            ("#f".to_string(), item::FIELDS.to_string()),
            ("#pending".to_string(), item::PENDING.to_string()),
            ("#seq".to_string(), item::SEQUENCE.to_string()),
        ]);
        let mut values = HashMap::from([
            (":v".to_string(), item::n(read.version)),
            (":next".to_string(), item::n(read.version + 1)),
            (":one".to_string(), item::n(1)),
        ]);
        let mut index = IndexChanges::default();
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
                index.remove(channel, change.name, &key, contact);
            }
            if let Some(key) = new_key {
                index.add(channel, change.name, &key, contact);
            }
        }
        let split = index::split(index.into_ops(), 1 + claims.len());
        if !split.pending.is_empty() {
            sets.push("#pending = :pending".to_string());
            values.insert(":pending".to_string(), index::pending_value(&split.pending));
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        expression.push_str(" ADD #seq :one");
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::contact_key(channel, &contact.id)))
            .update_expression(expression)
            .condition_expression(format!(
                "{} = :v AND attribute_not_exists(#pending)",
                item::VERSION
            ))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        actions.extend(self.claim_actions(claims, &contact.id)?);
        actions.extend(self.index_actions(&split.now)?);
        Ok(Some((actions, !split.pending.is_empty())))
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
pub(super) fn failed_conditions<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<bool>> {
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
