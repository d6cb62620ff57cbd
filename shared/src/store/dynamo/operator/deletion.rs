//! Deleting a channel at the cost of what it holds: everything it owns is found from its
//! own partitions, never by scanning the table. Each contact names what is kept for it
//! (its index entries and list entry, the value partitions whose counts and page marks
//! hold it, its unique claims, the record of the request that created it), as a contact's
//! own delete derives them; the channel item names its tokens and API key; its webhooks
//! and each field's claims have partitions of their own.
//!
//! Resumable: what is kept for a contact goes before the contact, and the channel item
//! last, so a deletion that stopped anywhere is finished by running it again, which
//! derives the rest from what is left. Only the settle time's remainder is waited again.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::super::claims::Claims;
use super::super::errors::{classify, condition_failed};
use super::super::index::{self, IndexOp};
use super::super::item::{self, Item};
use super::super::{keys, DynamoStore, CAPACITY};
use crate::domain::field_defs::{FieldSet, BUILT_IN_FIELDS};
use crate::store::StoreError;

/// Contacts read, and deleted with what is kept for them, per step.
const CONTACTS_PER_STEP: i32 = 25;

/// Where a channel's deletion stands: what it has deleted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deletion {
    /// Contacts deleted.
    pub contacts: usize,
    /// Items deleted, the contacts among them: index and list entries, counts, page
    /// marks, claims, idempotency records, webhooks, tokens, the channel itself.
    pub items: usize,
}

impl DynamoStore {
    /// Deletes a channel and everything it owns: its API key, its tokens, its webhooks,
    /// its contacts and everything kept for them, its field definitions. Final: the
    /// channel is marked as being deleted, which every request that loads its field
    /// definitions from then on refuses, and only after `settle` (the field cache's
    /// lifetime plus the longest a request runs) is its data deleted, so no request still
    /// running can write after it. `progress` hears of every step. Run again, it finishes
    /// a deletion that stopped part-way (its tokens stay revoked).
    pub async fn delete_channel(
        &self,
        channel_id: &str,
        settle: Duration,
        progress: &mut dyn FnMut(&Deletion),
    ) -> Result<Deletion, StoreError> {
        let (found, marked_at, stopped) = self.stop_channel(channel_id).await?;
        let mut done = Deletion {
            items: stopped,
            ..Deletion::default()
        };
        progress(&done);
        // Requests that loaded the definitions before the mark: done within `settle` of it
        // (a deletion run again waits only what is left of it).
        let waited =
            Duration::from_secs(crate::clock::now().saturating_sub(marked_at).max(0) as u64);
        tokio::time::sleep(settle.saturating_sub(waited)).await;

        let fields = item::field_set_from_item(Some(&found));
        let mut cleared: BTreeSet<String> = BTreeSet::new();
        let (pk, contact_prefix) = (keys::channel_pk(channel_id), keys::contact_sk(""));
        loop {
            // Always the first page: every page read is deleted before the next read.
            let (page, _) = self
                .query_page_limited(&pk, &contact_prefix, None, Some(CONTACTS_PER_STEP))
                .await?;
            if page.is_empty() {
                break;
            }
            let mut kept = Vec::new();
            let mut partitions = BTreeSet::new();
            for contact in &page {
                kept.extend(kept_for(channel_id, contact, &fields, &mut partitions)?);
            }
            for partition in partitions.difference(&cleared) {
                kept.extend(self.counts_and_marks(partition).await?);
            }
            cleared.extend(partitions);
            let contacts = page
                .iter()
                .map(item::key_of)
                .collect::<Result<Vec<_>, _>>()?;
            done.items += kept.len() + contacts.len();
            done.contacts += contacts.len();
            self.delete_items(kept).await?;
            self.delete_items(contacts).await?;
            progress(&done);
        }
        // What no contact names any more: claims left by an earlier version, list entries
        // of contacts gone meanwhile. One partition per field, one list.
        let mut partitions: Vec<String> = BTreeSet::from_iter(
            BUILT_IN_FIELDS
                .iter()
                .map(|(name, _)| name.to_string())
                .chain(fields.custom().keys().cloned())
                .chain(fields.unique().keys().cloned()),
        )
        .iter()
        .map(|name| keys::claim_pk(channel_id, name))
        .collect();
        partitions.push(keys::list_pk(channel_id));
        for partition in partitions {
            let left = self.keys_in(&partition, None).await?;
            done.items += left.len();
            self.delete_items(left).await?;
        }
        // Listed until the end, so that a deletion that stopped part-way shows in the list.
        let mut last = vec![item::listed_channel_key(channel_id)];
        if let Some(workspace) = found.get(item::WORKSPACE).and_then(|v| v.as_s().ok()) {
            last.push(item::workspace_channel_key(workspace, channel_id));
        }
        last.push(item::channel_key(channel_id));
        done.items += last.len();
        self.delete_items(last).await?;
        progress(&done);
        Ok(done)
    }

    /// Stops a channel for good: deletes its API key and tokens, so that no request of it
    /// starts again, and its webhooks, so that its deletion is not a stream of events; then
    /// marks it as being deleted. The channel's item as read, when it was first marked,
    /// and the items deleted.
    pub(super) async fn stop_channel(
        &self,
        channel_id: &str,
    ) -> Result<(Item, i64, usize), StoreError> {
        let found = self
            .get(item::channel_key(channel_id))
            .await?
            .ok_or_else(|| StoreError::Rejected(format!("no channel '{channel_id}'")))?;
        // The API key first: the gateway checks it on every call, so the channel's tokens
        // stop working at once, even where its authorizer's answer is still cached.
        let api_key = item::get_s(&found, item::API_KEY)?;
        let tokens: Vec<Item> = match found.get(item::TOKENS) {
            Some(AttributeValue::Ss(hashes)) => hashes.iter().map(|h| item::token_key(h)).collect(),
            _ => Vec::new(),
        };
        let credentials = [vec![item::api_key_key(api_key)], tokens].concat();
        let mut items = credentials.len();
        self.delete_items(credentials).await?;
        items += self.remove_webhooks(channel_id).await?;
        let marked_at = self.mark_deleting(channel_id).await?;
        Ok((found, marked_at, items))
    }

    /// Marks the channel as being deleted, once: when it was first marked (Unix seconds).
    async fn mark_deleting(&self, channel_id: &str) -> Result<i64, StoreError> {
        self.mark_deleting_item(item::channel_key(channel_id))
            .await?
            .ok_or_else(|| StoreError::Rejected(format!("no channel '{channel_id}'")))
    }

    /// Marks an item (a channel's, a workspace's) as being deleted, once: when it was first
    /// marked (Unix seconds); `None` when there is no such item.
    pub(super) async fn mark_deleting_item(&self, key: Item) -> Result<Option<i64>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #deleting = if_not_exists(#deleting, :now)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#deleting", item::DELETING)
            .expression_attribute_values(":now", item::n(crate::clock::now()))
            .return_values(ReturnValue::UpdatedNew)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(err) if condition_failed(&err) => return Ok(None),
            Err(err) => return Err(classify(err)),
        };
        // Marked by an older version (a flag, not a time): the wait starts now.
        Ok(Some(
            out.attributes()
                .and_then(|a| a.get(item::DELETING))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(crate::clock::now),
        ))
    }

    /// The count shards and page marks of a value partition (its items below its entries).
    async fn counts_and_marks(&self, partition: &str) -> Result<Vec<Item>, StoreError> {
        self.keys_in(partition, Some(keys::ENTRIES_AFTER)).await
    }

    /// The keys of every item of `pk` (those whose sort key is below `below`, when given).
    pub(super) async fn keys_in(
        &self,
        pk: &str,
        below: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .projection_expression("PK, SK")
                .expression_attribute_values(":pk", item::s(pk))
                .consistent_read(true)
                .return_consumed_capacity(CAPACITY)
                .set_exclusive_start_key(start);
            let query = match below {
                Some(below) => query
                    .key_condition_expression("PK = :pk AND SK < :below")
                    .expression_attribute_values(":below", item::s(below)),
                None => query.key_condition_expression("PK = :pk"),
            };
            let page = query.send().await.map_err(classify)?;
            found.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}

/// The keys of what is kept for a stored contact (the contact's own excepted), as its
/// delete derives them, with the index operations it left pending; the value partitions
/// it is counted in go to `partitions`.
fn kept_for(
    channel: &str,
    contact_item: &Item,
    fields: &FieldSet,
    partitions: &mut BTreeSet<String>,
) -> Result<Vec<Item>, StoreError> {
    let contact = item::contact_from_item(contact_item)?;
    let mut ops = index::for_removal(channel, &contact, fields).into_ops();
    ops.extend(index::pending_of(contact_item));
    // Distinct keys: a pending delete may repeat an entry the removal names too.
    let mut kept: BTreeSet<(String, String)> = BTreeSet::new();
    for op in ops {
        match op {
            IndexOp::Put(pk, sk) | IndexOp::Delete(pk, sk) => {
                kept.insert((pk, sk));
            }
            IndexOp::Count(pk, _) => {
                partitions.insert(pk);
            }
        }
    }
    for claim in Claims::for_removal(channel, &contact, fields).0 {
        kept.insert((claim.pk, claim.sk));
    }
    // The record of the request that created it (the channel's own: no other contact's).
    if let Some(pk) = contact_item
        .get(item::CREATED_BY)
        .and_then(|v| v.as_s().ok())
    {
        kept.insert((pk.clone(), keys::IDEMPOTENCY_SK.into()));
    }
    Ok(kept.into_iter().map(|(pk, sk)| item::key(pk, sk)).collect())
}
