//! The invariants between a channel's contacts and what is kept for them: every set field
//! of a contact has its index entry under its (NFC) match key, every contact its list
//! entry, every index and list entry has its contact (and field value), every value's
//! count equals its entries, no contact has index changes left pending (a write or a
//! delete stopped half-way), and tags are in NFC. `check --repair` restores them from the
//! contacts, which are the truth; it is also how data written before counts, sub-second
//! order and NFC existed is brought up to date.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};

use super::super::errors::{build_error, cancelled_by, classify, condition_failed};
use super::super::index;
use super::super::item::{self, Item};
use super::super::{keys, DynamoStore, CAPACITY};
use super::scan::Pace;
use crate::domain::contact::Contact;
use crate::domain::field_defs::{FieldType, Uniqueness, BUILT_IN_FIELDS};
use crate::domain::field_values::match_key;
use crate::domain::tags;
use crate::store::StoreError;

/// What a check of one channel found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub contacts: usize,
    /// Index and list entries stored.
    pub index_entries: usize,
    /// `(contact id, field)` pairs with no index entry; the field [`LIST`] for a contact
    /// with no list entry.
    pub missing_entries: Vec<(String, String)>,
    /// `(PK, SK)` of index entries no contact field accounts for.
    pub orphan_entries: Vec<(String, String)>,
    /// `(value partition, its count, its entries)` where the two differ.
    pub miscounted: Vec<(String, i64, usize)>,
    /// Contacts whose index changes are still pending (their writer stopped half-way).
    pub pending: Vec<String>,
    /// Contacts with a tag not in Unicode NFC (stored before tags were normalised).
    pub unnormalized_tags: Vec<String>,
    /// `(contact id, field)`: a unique value with no claim of its contact.
    pub missing_claims: Vec<(String, String)>,
    /// `(PK, SK)` of claims no contact's unique value accounts for.
    pub stale_claims: Vec<(String, String)>,
    /// `(field, contact ids)`: a unique field's value more than one contact holds.
    pub shared_values: Vec<(String, Vec<String>)>,
}

impl CheckReport {
    pub fn is_consistent(&self) -> bool {
        self.missing_entries.is_empty()
            && self.orphan_entries.is_empty()
            && self.miscounted.is_empty()
            && self.pending.is_empty()
            && self.unnormalized_tags.is_empty()
            && self.missing_claims.is_empty()
            && self.stale_claims.is_empty()
            && self.shared_values.is_empty()
    }
}

/// The field a missing list entry is reported under (no field name holds `#`).
pub const LIST: &str = "#list";

/// A value partition's count shards: sort key → (count, changes).
type Shards = BTreeMap<String, (i64, i64)>;

/// What a check found stored, sorted as it reads it, whichever way it reads.
#[derive(Default)]
struct Stored {
    list_pk: String,
    index_prefix: String,
    claim_prefix: String,
    /// The claim partitions of fields still being declared unique: not checked yet.
    declaring: Vec<String>,
    /// Index and list entries.
    entries: BTreeSet<(String, String)>,
    shards: BTreeMap<String, Shards>,
    /// Claims → owner.
    claims: BTreeMap<(String, String), String>,
}

impl Stored {
    fn add(&mut self, found: Item) -> Result<(), StoreError> {
        let pk = item::get_s(&found, keys::PK)?.to_string();
        let sk = item::get_s(&found, keys::SK)?.to_string();
        if pk == self.list_pk {
            self.entries.insert((pk, sk));
        } else if pk.starts_with(&self.claim_prefix) {
            if !self.declaring.contains(&pk) {
                let owner = item::get_s(&found, item::OWNER).unwrap_or_default();
                self.claims.insert((pk, sk), owner.to_string());
            }
        } else if !pk.starts_with(&self.index_prefix) {
            // Idempotency records, webhooks: not the index's.
        } else if sk.starts_with(keys::COUNT_SHARD_PREFIX) {
            let count = item::get_n(&found, item::COUNT).unwrap_or(0);
            let changes = item::get_n(&found, item::CHANGES).unwrap_or(0);
            self.shards
                .entry(pk)
                .or_default()
                .insert(sk, (count, changes));
        } else if sk.as_str() > keys::ENTRIES_AFTER {
            self.entries.insert((pk, sk));
        }
        Ok(())
    }
}

/// What a channel holds, as a check reads it.
struct Snapshot {
    contacts: Vec<(Contact, bool)>,
    /// Index entries the contacts call for, and whose they are.
    expected: BTreeMap<(String, String), (String, String)>,
    /// Index entries stored.
    stored: BTreeSet<(String, String)>,
    /// Each value partition's shards.
    shards: BTreeMap<String, Shards>,
    /// The channel's list partition.
    list_pk: String,
    /// Claims the contacts' values of fields that are unique (not still being declared)
    /// call for → (owner, field); the values more than one contact holds are left out.
    expected_claims: BTreeMap<(String, String), (String, String)>,
    /// Claims stored → owner, of every field but those still being declared.
    stored_claims: BTreeMap<(String, String), String>,
    shared_values: Vec<(String, Vec<String>)>,
    /// The unique fields (on) and their types.
    unique: Vec<(String, FieldType)>,
}

/// How much of the table a channel's check reads.
pub enum Reach<'a> {
    /// What the channel's contacts, its list and its fields point to: its own items,
    /// whatever the table holds.
    Own,
    /// The whole table, at a pace: also entries and counts in value partitions that no
    /// contact points to (none of today's writes leaves any; an older version may have).
    Table(Pace<'a>),
}

impl DynamoStore {
    /// Checks a channel, reading its own items ([`Reach::Own`]).
    pub async fn check_channel(&self, channel: &str) -> Result<CheckReport, StoreError> {
        self.check_channel_reaching(channel, &mut Reach::Own).await
    }

    pub async fn check_channel_reaching(
        &self,
        channel: &str,
        reach: &mut Reach<'_>,
    ) -> Result<CheckReport, StoreError> {
        let snapshot = self.snapshot(channel, reach).await?;
        Ok(report(&snapshot))
    }

    /// Repairs a channel, reading its own items ([`Reach::Own`]).
    pub async fn repair_channel(
        &self,
        channel: &str,
    ) -> Result<(CheckReport, CheckReport), StoreError> {
        self.repair_channel_reaching(channel, &mut Reach::Own).await
    }

    /// Checks a channel and repairs what it finds, from the contacts: finishes pending
    /// index changes, puts missing entries, deletes orphans, normalises tags, and sets
    /// every value's count to its entries (exactly, even while the API writes: a count is
    /// set only if none of its shards changed since they were read). Returns what the
    /// check found before, and after, the repair.
    pub async fn repair_channel_reaching(
        &self,
        channel: &str,
        reach: &mut Reach<'_>,
    ) -> Result<(CheckReport, CheckReport), StoreError> {
        let before = self.check_channel_reaching(channel, reach).await?;
        let mut after = before.clone();
        // Concurrent writes can make a pass miss something: a few passes settle it.
        for _ in 0..3 {
            if after.is_consistent() {
                break;
            }
            for id in &after.pending {
                self.finish_pending(channel, id).await?;
            }
            let snapshot = self.snapshot(channel, reach).await?;
            self.repair_entries(&snapshot).await?;
            self.repair_tags(channel, &snapshot).await?;
            self.repair_claims(channel, &snapshot).await?;
            let snapshot = self.snapshot(channel, reach).await?;
            for (pk, shards) in counts_off(&snapshot) {
                let entries = entries_in(&snapshot, &pk);
                self.set_count(&pk, &shards, entries).await?;
            }
            after = self.check_channel_reaching(channel, reach).await?;
        }
        Ok((before, after))
    }

    async fn snapshot(&self, channel: &str, reach: &mut Reach<'_>) -> Result<Snapshot, StoreError> {
        let fields = self.fields(channel).await?;
        let list_pk = keys::list_pk(channel);
        let mut contacts = Vec::new();
        let mut expected = BTreeMap::new();
        let unique: Vec<(String, FieldType)> = fields
            .unique()
            .iter()
            .filter(|(_, u)| **u == Uniqueness::On)
            .filter_map(|(name, _)| Some((name.clone(), fields.get(name)?.field_type)))
            .collect();
        // Claim key → (field, holders).
        let mut holders: BTreeMap<(String, String), (String, Vec<String>)> = BTreeMap::new();
        // The partitions the contacts' pending index changes touch.
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for found in self
            .query_all(&keys::channel_pk(channel), &keys::contact_sk(""))
            .await?
        {
            let contact = item::contact_from_item(&found)?;
            let pending_ops = index::pending_of(&found);
            touched.extend(pending_ops.iter().map(|op| op.partition().to_string()));
            let pending = !pending_ops.is_empty();
            if item::is_deleted(&found) {
                // Going: what it left is the pending delete's to remove.
                contacts.push((contact, pending));
                continue;
            }
            let sort_key = keys::index_sk(contact.created_at, contact.created_micros, &contact.id);
            for (name, value) in &contact.fields {
                if let Some(def) = fields.get(name) {
                    let key = (
                        keys::index_pk(channel, name, &match_key(def.field_type, value)),
                        sort_key.clone(),
                    );
                    expected.insert(key, (contact.id.clone(), name.clone()));
                }
            }
            expected.insert(
                (list_pk.clone(), sort_key),
                (contact.id.clone(), LIST.to_string()),
            );
            for (name, field_type) in &unique {
                if let Some(value) = contact.fields.get(name) {
                    let key = (
                        keys::claim_pk(channel, name),
                        keys::claim_sk(&match_key(*field_type, value)),
                    );
                    let entry = holders
                        .entry(key)
                        .or_insert_with(|| (name.clone(), Vec::new()));
                    entry.1.push(contact.id.clone());
                }
            }
            contacts.push((contact, pending));
        }
        let mut expected_claims = BTreeMap::new();
        let mut shared_values = Vec::new();
        for (key, (field, ids)) in holders {
            if ids.len() > 1 {
                shared_values.push((field, ids));
            } else {
                expected_claims.insert(key, (ids[0].clone(), field));
            }
        }
        let declaring: Vec<String> = fields
            .unique()
            .iter()
            .filter(|(_, u)| **u == Uniqueness::Claiming)
            .map(|(name, _)| keys::claim_pk(channel, name))
            .collect();
        let names: BTreeSet<String> = BUILT_IN_FIELDS
            .iter()
            .map(|(name, _)| name.to_string())
            .chain(fields.custom().keys().cloned())
            .chain(fields.unique().keys().cloned())
            .collect();
        let mut stored = Stored {
            list_pk: list_pk.clone(),
            index_prefix: format!("{}#F#", keys::channel_pk(channel)),
            claim_prefix: keys::claim_pk(channel, ""),
            declaring,
            ..Stored::default()
        };
        match reach {
            // What is stored where the contacts, their pending changes, the list and the
            // fields point: partition by partition.
            Reach::Own => {
                let mut partitions: BTreeSet<String> =
                    expected.keys().map(|(pk, _)| pk.clone()).collect();
                partitions.extend(touched);
                partitions.insert(list_pk.clone());
                // Every field's claims, declared unique or not (a field made unique and
                // then not may have left some).
                partitions.extend(names.iter().map(|name| keys::claim_pk(channel, name)));
                for pk in partitions {
                    for found in self.query_all(&pk, "").await? {
                        stored.add(found)?;
                    }
                }
            }
            Reach::Table(pace) => {
                let attributes = ["PK", "SK", item::COUNT, item::CHANGES, item::OWNER];
                let prefix = format!("{}#", keys::channel_pk(channel));
                self.scan_paced(&prefix, &attributes, pace, &mut |found| stored.add(found))
                    .await?;
            }
        }
        let Stored {
            entries: stored,
            shards,
            claims: stored_claims,
            ..
        } = stored;
        Ok(Snapshot {
            contacts,
            expected,
            stored,
            shards,
            list_pk,
            expected_claims,
            stored_claims,
            shared_values,
            unique,
        })
    }

    async fn repair_entries(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let expected: BTreeSet<&(String, String)> = snapshot.expected.keys().collect();
        let stored: BTreeSet<&(String, String)> = snapshot.stored.iter().collect();
        let puts = expected
            .difference(&stored)
            .map(|(pk, sk)| item::key(pk.clone(), sk.clone()));
        self.put_items(puts.collect()).await?;
        let orphans = stored
            .difference(&expected)
            .map(|(pk, sk)| item::key(pk.clone(), sk.clone()));
        self.delete_items(orphans.collect()).await
    }

    /// Claims what a unique field's values call for (as declaring it does), and deletes
    /// the claims of fields that are not unique.
    async fn repair_claims(&self, channel: &str, snapshot: &Snapshot) -> Result<(), StoreError> {
        let report = report(snapshot);
        let unique_pks: Vec<String> = snapshot
            .unique
            .iter()
            .map(|(name, _)| keys::claim_pk(channel, name))
            .collect();
        for (name, field_type) in &snapshot.unique {
            let pk = keys::claim_pk(channel, name);
            let off = report.missing_claims.iter().any(|(_, f)| f == name)
                || report.stale_claims.iter().any(|(p, _)| *p == pk);
            if off {
                self.claim_values(channel, name, *field_type).await?;
            }
        }
        let not_unique: Vec<Item> = report
            .stale_claims
            .iter()
            .filter(|(pk, _)| !unique_pks.contains(pk))
            .map(|(pk, sk)| item::key(pk.clone(), sk.clone()))
            .collect();
        self.delete_items(not_unique).await
    }

    async fn repair_tags(&self, channel: &str, snapshot: &Snapshot) -> Result<(), StoreError> {
        for (contact, _) in &snapshot.contacts {
            let normal: BTreeSet<String> = contact
                .tags
                .iter()
                .filter_map(|t| tags::tag(t).ok())
                .collect();
            if normal == contact.tags {
                continue;
            }
            // Two steps, as one expression cannot both add to and take from a set: the
            // normal forms join first, so no tag is ever missing.
            let odd: Vec<String> = contact.tags.difference(&normal).cloned().collect();
            let key = item::contact_key(channel, &contact.id);
            for (expression, tags) in [
                ("ADD #tags :tags", normal.into_iter().collect::<Vec<_>>()),
                ("DELETE #tags :tags", odd),
            ] {
                if tags.is_empty() {
                    continue;
                }
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key.clone()))
                    .update_expression(expression)
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_names("#tags", item::TAGS)
                    .expression_attribute_values(":tags", AttributeValue::Ss(tags))
                    .send()
                    .await;
                match result {
                    Ok(_) => {}
                    // Gone meanwhile: nothing to normalise.
                    Err(err) if condition_failed(&err) => break,
                    Err(err) => return Err(classify(err)),
                }
            }
        }
        Ok(())
    }

    /// Sets the count of the value partition `pk` to `entries`, in one transaction that
    /// holds only if none of its shards changed since `shards` was read.
    async fn set_count(&self, pk: &str, shards: &Shards, entries: usize) -> Result<(), StoreError> {
        let changes: i64 = shards.values().map(|(_, c)| c).sum();
        let mut actions = Vec::new();
        for shard in 0..keys::COUNT_SHARDS {
            let sk = keys::count_shard_sk(shard);
            let key = item::key(pk.to_string(), sk.clone());
            let unchanged = match shards.get(&sk) {
                Some((_, changes)) => format!("{} = {changes}", item::CHANGES),
                None => "attribute_not_exists(PK)".to_string(),
            };
            let action = if shard == 0 {
                let mut shard_item = key;
                shard_item.insert(item::COUNT.into(), item::n(entries as i64));
                shard_item.insert(item::CHANGES.into(), item::n(changes + 1));
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(shard_item))
                    .condition_expression(unchanged)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().put(put).build()
            } else if shards.contains_key(&sk) {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .condition_expression(unchanged)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete).build()
            } else {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .condition_expression(unchanged)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().condition_check(check).build()
            };
            actions.push(action);
        }
        match self.transact(actions).await {
            Ok(_) => Ok(()),
            // A write came in meanwhile: the next pass reads again.
            Err(err) if cancelled_by(&err, &["ConditionalCheckFailed", "TransactionConflict"]) => {
                Ok(())
            }
            Err(err) => Err(classify(err)),
        }
    }

    pub(super) async fn query_all(
        &self,
        pk: &str,
        sk_prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let (page, next) = self.query_page(pk, sk_prefix, start).await?;
            items.extend(page);
            start = next;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// One page of the items under `pk` whose SK starts with `sk_prefix` (all, when it is
    /// empty), strongly
    /// consistent, and where the next page starts (`None` after the last).
    pub(super) async fn query_page(
        &self,
        pk: &str,
        sk_prefix: &str,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        self.query_page_limited(pk, sk_prefix, start, None).await
    }

    /// [`query_page`](Self::query_page) of at most `limit` items.
    pub(super) async fn query_page_limited(
        &self,
        pk: &str,
        sk_prefix: &str,
        start: Option<Item>,
        limit: Option<i32>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .set_limit(limit)
            .return_consumed_capacity(CAPACITY)
            .expression_attribute_values(":pk", item::s(pk));
        // DynamoDB refuses an empty prefix: no prefix is the whole partition.
        let query = match sk_prefix {
            "" => query.key_condition_expression("PK = :pk"),
            _ => query
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":prefix", item::s(sk_prefix)),
        };
        let page = query
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
    }
}

fn report(snapshot: &Snapshot) -> CheckReport {
    let expected: BTreeSet<&(String, String)> = snapshot.expected.keys().collect();
    let stored: BTreeSet<&(String, String)> = snapshot.stored.iter().collect();
    CheckReport {
        contacts: snapshot.contacts.len(),
        index_entries: snapshot.stored.len(),
        missing_entries: expected
            .difference(&stored)
            .filter_map(|k| snapshot.expected.get(*k).cloned())
            .collect(),
        orphan_entries: stored.difference(&expected).map(|k| (*k).clone()).collect(),
        miscounted: counts_off(snapshot)
            .into_iter()
            .map(|(pk, shards)| {
                let counted = shards.values().map(|(n, _)| n).sum();
                let entries = entries_in(snapshot, &pk);
                (pk, counted, entries)
            })
            .collect(),
        pending: snapshot
            .contacts
            .iter()
            .filter(|(_, pending)| *pending)
            .map(|(c, _)| c.id.clone())
            .collect(),
        unnormalized_tags: snapshot
            .contacts
            .iter()
            .filter(|(c, _)| c.tags.iter().any(|t| tags::tag(t).ok().as_ref() != Some(t)))
            .map(|(c, _)| c.id.clone())
            .collect(),
        missing_claims: snapshot
            .expected_claims
            .iter()
            .filter(|(key, (owner, _))| snapshot.stored_claims.get(*key) != Some(owner))
            .map(|(_, (owner, field))| (owner.clone(), field.clone()))
            .collect(),
        stale_claims: stale_claims(snapshot),
        shared_values: snapshot.shared_values.clone(),
    }
}

/// Stored claims no unique value of a contact accounts for (a value shared by several
/// contacts accounts for the claim of one of them).
fn stale_claims(snapshot: &Snapshot) -> Vec<(String, String)> {
    let shared: BTreeSet<&String> = snapshot
        .shared_values
        .iter()
        .flat_map(|(_, ids)| ids)
        .collect();
    snapshot
        .stored_claims
        .iter()
        .filter(|(key, owner)| match snapshot.expected_claims.get(*key) {
            Some((expected, _)) => expected != *owner,
            None => !shared.contains(owner),
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// The value partitions whose count differs from their entries, with their shards (the
/// list has no count).
fn counts_off(snapshot: &Snapshot) -> Vec<(String, Shards)> {
    let partitions: BTreeSet<&String> = snapshot
        .stored
        .iter()
        .map(|(pk, _)| pk)
        .filter(|pk| **pk != snapshot.list_pk)
        .chain(snapshot.shards.keys())
        .collect();
    partitions
        .into_iter()
        .filter_map(|pk| {
            let shards = snapshot.shards.get(pk).cloned().unwrap_or_default();
            let counted: i64 = shards.values().map(|(n, _)| n).sum();
            (counted != entries_in(snapshot, pk) as i64).then(|| (pk.clone(), shards))
        })
        .collect()
}

fn entries_in(snapshot: &Snapshot, pk: &str) -> usize {
    snapshot
        .stored
        .range((pk.to_string(), String::new())..)
        .take_while(|(p, _)| p == pk)
        .count()
}
