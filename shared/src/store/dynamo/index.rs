//! What a contact's write does to the field index: entries put and deleted, and each
//! field value's count moved, in the same transaction as the contact whenever they fit
//! DynamoDB's 100 actions. A write that does not fit (an update changing more than 24
//! values, a contact with more than 49 set fields) writes the contact with the rest as
//! `pending` operations and applies them in further transactions right away, each
//! conditional on the pending list it shortens, so each is applied exactly once. A write
//! that finds a contact with pending operations (its writer died half-way) finishes them
//! first; `contacts-admin check --repair` does too.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::errors::{build_error, cancelled_by, classify};
use super::item::{self, Item};
use super::{keys, DynamoStore};
use crate::backoff::backoff;
use crate::domain::contact::Contact;
use crate::domain::field_defs::FieldSet;
use crate::domain::field_values::match_key;
use crate::limits::{MAX_TRANSACTION_ACTIONS, MAX_WRITE_ATTEMPTS};
use crate::store::{NewContact, StoreError};

/// Separates a pending operation's parts: a control character, which no key can hold.
const SEPARATOR: char = '\u{1}';

/// One change of the field index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum IndexOp {
    /// Put the entry `(PK, SK)`.
    Put(String, String),
    /// Delete the entry `(PK, SK)`.
    Delete(String, String),
    /// Move the count of the value partition `PK` by this much.
    Count(String, i64),
}

impl IndexOp {
    /// The partition it changes.
    #[cfg(feature = "operator")]
    pub fn partition(&self) -> &str {
        match self {
            IndexOp::Put(pk, _) | IndexOp::Delete(pk, _) | IndexOp::Count(pk, _) => pk,
        }
    }

    fn encode(&self) -> String {
        match self {
            IndexOp::Put(pk, sk) => format!("+{pk}{SEPARATOR}{sk}"),
            IndexOp::Delete(pk, sk) => format!("-{pk}{SEPARATOR}{sk}"),
            IndexOp::Count(pk, delta) => format!("n{pk}{SEPARATOR}{delta}"),
        }
    }

    fn decode(text: &str) -> Option<IndexOp> {
        let (kind, rest) = text.split_at_checked(1)?;
        let (pk, second) = rest.split_once(SEPARATOR)?;
        let (pk, second) = (pk.to_string(), second.to_string());
        match kind {
            "+" => Some(IndexOp::Put(pk, second)),
            "-" => Some(IndexOp::Delete(pk, second)),
            "n" => Some(IndexOp::Count(pk, second.parse().ok()?)),
            _ => None,
        }
    }
}

/// The index changes of one contact's write, counts summed per value partition.
#[derive(Debug, Default)]
pub(super) struct IndexChanges {
    entries: Vec<IndexOp>,
    counts: BTreeMap<String, i64>,
}

impl IndexChanges {
    /// `contact` gains `match_key` in `field`.
    pub fn add(&mut self, channel: &str, field: &str, match_key: &str, contact: &Contact) {
        let (pk, sk) = entry_key(channel, field, match_key, contact);
        *self.counts.entry(pk.clone()).or_default() += 1;
        self.entries.push(IndexOp::Put(pk, sk));
    }

    /// `contact` loses `match_key` in `field`.
    pub fn remove(&mut self, channel: &str, field: &str, match_key: &str, contact: &Contact) {
        let (pk, sk) = entry_key(channel, field, match_key, contact);
        *self.counts.entry(pk.clone()).or_default() -= 1;
        self.entries.push(IndexOp::Delete(pk, sk));
    }

    /// `contact` joins the channel's list.
    pub fn list(&mut self, channel: &str, contact: &Contact) {
        let (pk, sk) = list_entry_key(channel, contact);
        self.entries.push(IndexOp::Put(pk, sk));
    }

    /// `contact` leaves the channel's list.
    pub fn unlist(&mut self, channel: &str, contact: &Contact) {
        let (pk, sk) = list_entry_key(channel, contact);
        self.entries.push(IndexOp::Delete(pk, sk));
    }

    /// Any other item goes with the write (the idempotency record of a deleted contact).
    pub fn delete_item(&mut self, pk: String, sk: String) {
        self.entries.push(IndexOp::Delete(pk, sk));
    }

    pub fn into_ops(self) -> Vec<IndexOp> {
        let counts = self
            .counts
            .into_iter()
            .filter(|(_, delta)| *delta != 0)
            .map(|(pk, delta)| IndexOp::Count(pk, delta));
        self.entries.into_iter().chain(counts).collect()
    }
}

/// A new contact as stored, and its index changes: an entry and a count per set field,
/// and its list entry.
pub(super) fn for_new(channel: &str, new: &NewContact<'_>) -> (Contact, IndexChanges) {
    let contact = new.contact();
    let mut changes = IndexChanges::default();
    for w in new.writes {
        if let Some(value) = &w.value {
            changes.add(
                channel,
                &w.name,
                &match_key(w.def.field_type, value),
                &contact,
            );
        }
    }
    changes.list(channel, &contact);
    (contact, changes)
}

/// The index changes that remove `contact` (as stored) from the channel: its entries and
/// counts, and its list entry.
pub(super) fn for_removal(channel: &str, contact: &Contact, fields: &FieldSet) -> IndexChanges {
    let mut changes = IndexChanges::default();
    for (name, value) in &contact.fields {
        if let Some(def) = fields.get(name) {
            changes.remove(channel, name, &match_key(def.field_type, value), contact);
        }
    }
    changes.unlist(channel, contact);
    changes
}

fn entry_key(channel: &str, field: &str, match_key: &str, contact: &Contact) -> (String, String) {
    (
        keys::index_pk(channel, field, match_key),
        keys::index_sk(contact.created_at, contact.created_micros, &contact.id),
    )
}

fn list_entry_key(channel: &str, contact: &Contact) -> (String, String) {
    (
        keys::list_pk(channel),
        keys::index_sk(contact.created_at, contact.created_micros, &contact.id),
    )
}

/// A contact's write with its index changes, split to fit transactions: the ops that go
/// with the contact's own action, and the rest, which the contact item keeps as `pending`.
pub(super) struct Split {
    pub now: Vec<IndexOp>,
    pub pending: Vec<IndexOp>,
}

/// Splits `ops` so that the first transaction holds `others` actions besides them.
pub(super) fn split(mut ops: Vec<IndexOp>, others: usize) -> Split {
    let room = MAX_TRANSACTION_ACTIONS.saturating_sub(others);
    let pending = if ops.len() > room {
        ops.split_off(room)
    } else {
        Vec::new()
    };
    Split { now: ops, pending }
}

/// The `pending` attribute of a contact item.
pub(super) fn pending_value(pending: &[IndexOp]) -> AttributeValue {
    AttributeValue::L(pending.iter().map(|op| item::s(op.encode())).collect())
}

/// The pending operations stored on a contact item.
pub(super) fn pending_of(found: &Item) -> Vec<IndexOp> {
    match found.get(item::PENDING) {
        Some(AttributeValue::L(ops)) => ops
            .iter()
            .filter_map(|op| op.as_s().ok().and_then(|op| IndexOp::decode(op)))
            .collect(),
        _ => Vec::new(),
    }
}

impl DynamoStore {
    /// The transaction actions of `ops`.
    pub(super) fn index_actions(
        &self,
        ops: &[IndexOp],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        ops.iter().map(|op| self.index_action(op)).collect()
    }

    fn index_action(&self, op: &IndexOp) -> Result<TransactWriteItem, StoreError> {
        Ok(match op {
            IndexOp::Put(pk, sk) => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item::key(pk.clone(), sk.clone())))
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().put(put).build()
            }
            IndexOp::Delete(pk, sk) => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(item::key(pk.clone(), sk.clone())))
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            IndexOp::Count(pk, delta) => TransactWriteItem::builder()
                .update(self.count_update(pk, *delta, random_shard())?)
                .build(),
        })
    }

    /// Moves the count of the value partition `pk` by `delta`, on one of its shards.
    pub(super) fn count_update(
        &self,
        pk: &str,
        delta: i64,
        shard: u32,
    ) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(pk.to_string(), keys::count_shard_sk(shard))))
            .update_expression("ADD #n :delta, #changes :one")
            .expression_attribute_names("#n", item::COUNT)
            .expression_attribute_names("#changes", item::CHANGES)
            .expression_attribute_values(":delta", item::n(delta))
            .expression_attribute_values(":one", item::n(1))
            .build()
            .map_err(build_error)
    }

    /// Applies the pending operations of contact `id` (none: nothing to do), a
    /// transaction at a time, each conditional on the pending list it shortens. The last
    /// one of a contact being deleted deletes the contact item.
    pub(super) async fn finish_pending(&self, channel: &str, id: &str) -> Result<(), StoreError> {
        for attempt in 0..MAX_WRITE_ATTEMPTS * 4 {
            let Some(found) = self.get(item::contact_key(channel, id)).await? else {
                return Ok(());
            };
            let pending = pending_of(&found);
            if pending.is_empty() {
                return Ok(());
            }
            let chunk = pending.len().min(MAX_TRANSACTION_ACTIONS - 1);
            let mut actions = self.index_actions(&pending[..chunk])?;
            let rest = &pending[chunk..];
            let unchanged = "size(#pending) = :count";
            let last = if rest.is_empty() && item::is_deleted(&found) {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(item::contact_key(channel, id)))
                    .condition_expression(unchanged)
                    .expression_attribute_names("#pending", item::PENDING)
                    .expression_attribute_values(":count", item::n(pending.len() as i64))
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete).build()
            } else {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(item::contact_key(channel, id)))
                    .condition_expression(unchanged)
                    .expression_attribute_names("#pending", item::PENDING)
                    .expression_attribute_values(":count", item::n(pending.len() as i64));
                let update = if rest.is_empty() {
                    update.update_expression("REMOVE #pending")
                } else {
                    update
                        .update_expression("SET #pending = :rest")
                        .expression_attribute_values(":rest", pending_value(rest))
                };
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_error)?)
                    .build()
            };
            actions.push(last);
            match self.transact(actions).await {
                Ok(_) => {}
                // Another writer applied this part first: read again.
                Err(err)
                    if cancelled_by(&err, &["ConditionalCheckFailed", "TransactionConflict"]) =>
                {
                    backoff(attempt).await;
                }
                Err(err) => return Err(classify(err)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "contact {id} still has pending index changes"
        )))
    }
}

fn random_shard() -> u32 {
    crate::random::bytes::<4>()
        .map(u32::from_le_bytes)
        .unwrap_or(0)
        % keys::COUNT_SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_survive_being_stored() {
        for op in [
            IndexOp::Put("CH#c#F#f#=a b".into(), "000000000001.000002#id".into()),
            IndexOp::Delete("CH#c#F#f#Habc".into(), "000000000001#x".into()),
            IndexOp::Count("CH#c#F#f#=v".into(), -3),
        ] {
            assert_eq!(IndexOp::decode(&op.encode()), Some(op));
        }
        assert_eq!(IndexOp::decode("?x"), None);
    }

    #[test]
    fn counts_are_summed_per_value_and_big_writes_split() {
        let contact = Contact {
            id: "c".into(),
            fields: Default::default(),
            tags: Default::default(),
            created_at: 1,
            created_micros: Some(2),
        };
        let mut changes = IndexChanges::default();
        changes.add("ch", "f", "a", &contact);
        changes.remove("ch", "g", "b", &contact);
        let ops = changes.into_ops();
        assert_eq!(ops.len(), 4);
        assert!(ops.contains(&IndexOp::Count(keys::index_pk("ch", "g", "b"), -1)));
        let many: Vec<IndexOp> = (0..150)
            .map(|i| IndexOp::Count(format!("pk{i}"), 1))
            .collect();
        let split = split(many, 2);
        assert_eq!(split.now.len(), MAX_TRANSACTION_ACTIONS - 2);
        assert_eq!(split.pending.len(), 150 - (MAX_TRANSACTION_ACTIONS - 2));
    }
}
