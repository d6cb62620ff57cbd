//! Finding contacts by a field's value, at any scale: every call reads about one page.
//!
//! A value's partition holds its index entries in creation order, its count (summed over
//! shards, changed in the same transaction as the entries it counts) and page marks. A
//! call reads the count and the page's entries side by side, then the page's contacts:
//!
//! - page 1, or a page whose start the caller brings (a link's `cursor`): from there;
//! - page N of a client that walks `page=1,2,3,...` itself: from where page N-1 ended, as
//!   the mark written when it was served says, while the matches have not changed since
//!   (the shards' change counters say so); otherwise from the nearest page whose mark is
//!   still good, or from the start, reading keys only (a jump, or a walk after a change,
//!   costs that once).
//!
//! Every contact read is checked against the value, so an entry whose contact changed a
//! moment ago never shows a contact that does not match.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{KeysAndAttributes, Select};

use super::errors::{build_error, classify};
use super::item::{self, Item};
use super::{keys, DynamoStore, CAPACITY};
use crate::backoff::backoff;
use crate::domain::contact::Contact;
use crate::domain::field_values::match_key;
use crate::store::{FindPage, Match, PageSpec, StoreError};

/// Attempts of a `BatchGetItem` whose keys came back unprocessed.
const MAX_BATCH_ATTEMPTS: u32 = 5;
/// How long a page mark is kept (DynamoDB's TTL removes it later).
const MARK_SECONDS: i64 = 60 * 60;

/// A value's count, and how many changes its matches have had.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    total: i64,
    changes: i64,
    /// Whether any shard exists: a value last written before counts were kept has none.
    counted: bool,
}

/// Sort keys of index entries, in order, and whether more follow.
pub(super) struct Entries {
    pub keys: Vec<String>,
    pub more: bool,
}

impl DynamoStore {
    pub(super) async fn find_page(
        &self,
        channel: &str,
        matching: &Match<'_>,
        spec: &PageSpec<'_>,
    ) -> Result<FindPage, StoreError> {
        let pk = keys::index_pk(channel, matching.field, matching.key);
        let per_page = spec.per_page;
        let (counts, entries) = match (spec.after, spec.page) {
            (Some(after), _) => {
                futures::try_join!(self.counts(&pk), self.entries(&pk, after, per_page))?
            }
            (None, 0 | 1) => futures::try_join!(
                self.counts(&pk),
                self.entries(&pk, keys::ENTRIES_AFTER, per_page)
            )?,
            (None, page) => {
                let (counts, mark) =
                    futures::try_join!(self.counts(&pk), self.page_mark(&pk, per_page, page - 1))?;
                let after = match mark {
                    Some((after, changes)) if changes == counts.changes => after,
                    _ => self.skip(&pk, &counts, per_page, page - 1).await?,
                };
                (counts, self.entries(&pk, &after, per_page).await?)
            }
        };
        let total = match counts.counted {
            true => u64::try_from(counts.total).unwrap_or(0),
            // Nothing written since counts were kept: count the entries themselves.
            false if entries.keys.is_empty() && spec.page <= 1 => 0,
            false => self.count_entries(&pk).await?,
        };
        let next = entries.keys.last().filter(|_| entries.more).cloned();
        let ids: Vec<&str> = entries
            .keys
            .iter()
            .filter_map(|sk| keys::id_from_index_sk(sk))
            .collect();
        // Remember where this page ended, for a walker that asks the next page by number
        // (never from a caller's cursor, which could say anything).
        let mark = async {
            match (&next, spec.after) {
                (Some(after), None) => {
                    self.put_page_mark(&pk, per_page, spec.page.max(1), after, counts.changes)
                        .await
                }
                _ => Ok(()),
            }
        };
        let (contacts, ()) = futures::try_join!(self.batch_get(channel, &ids), mark)?;
        let contacts = contacts
            .into_iter()
            .filter(|c| {
                c.fields
                    .get(matching.field)
                    .is_some_and(|v| match_key(matching.field_type, v) == matching.key)
            })
            .collect();
        Ok(FindPage {
            total,
            contacts,
            next,
        })
    }

    /// The value's count and changes, summed over its shards.
    async fn counts(&self, pk: &str) -> Result<Counts, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            // A key range rather than `begins_with`: the same to DynamoDB, and DynamoDB
            // Local reads the whole partition for a prefix (32 ms at 100,000 entries,
            // against 2 ms for the range).
            .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :last")
            .expression_attribute_values(":pk", item::s(pk))
            .expression_attribute_values(":first", item::s(keys::count_shard_sk(0)))
            .expression_attribute_values(
                ":last",
                item::s(keys::count_shard_sk(keys::COUNT_SHARDS - 1)),
            )
            .consistent_read(true)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(classify)?;
        let mut counts = Counts::default();
        for shard in out.items() {
            counts.counted = true;
            counts.total += item::get_n(shard, item::COUNT).unwrap_or(0);
            counts.changes += item::get_n(shard, item::CHANGES).unwrap_or(0);
        }
        Ok(counts)
    }

    /// Up to `limit` entries after `after`, keys only, and whether more follow.
    pub(super) async fn entries(
        &self,
        pk: &str,
        after: &str,
        limit: u32,
    ) -> Result<Entries, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK > :after")
            .expression_attribute_values(":pk", item::s(pk))
            .expression_attribute_values(":after", item::s(after.max(keys::ENTRIES_AFTER)))
            .projection_expression("SK")
            // One more than the page: whether another page follows, for nearly nothing.
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).saturating_add(1))
            .consistent_read(true)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(classify)?;
        let mut keys_found = out
            .items()
            .iter()
            .map(|found| item::get_s(found, keys::SK).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let more = keys_found.len() > limit as usize;
        keys_found.truncate(limit as usize);
        Ok(Entries {
            keys: keys_found,
            more,
        })
    }

    /// Where page `page` of `per_page` ended, and the changes the matches had then.
    async fn page_mark(
        &self,
        pk: &str,
        per_page: u32,
        page: u64,
    ) -> Result<Option<(String, i64)>, StoreError> {
        let key = item::key(pk.to_string(), keys::page_mark_sk(per_page, page));
        let Some(found) = self.get(key).await? else {
            return Ok(None);
        };
        Ok(Some((
            item::get_s(&found, item::AFTER)?.to_string(),
            item::get_n(&found, item::MATCHES_VERSION)?,
        )))
    }

    async fn put_page_mark(
        &self,
        pk: &str,
        per_page: u32,
        page: u64,
        after: &str,
        changes: i64,
    ) -> Result<(), StoreError> {
        let mut mark = item::key(pk.to_string(), keys::page_mark_sk(per_page, page));
        mark.insert(item::AFTER.into(), item::s(after));
        mark.insert(item::MATCHES_VERSION.into(), item::n(changes));
        mark.insert(
            item::EXPIRES_AT.into(),
            item::n(crate::clock::now() + MARK_SECONDS),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(mark))
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Where page `pages` of `per_page` ends, found by reading keys: from the last mark at
    /// or before it that is still good, else from the start.
    async fn skip(
        &self,
        pk: &str,
        counts: &Counts,
        per_page: u32,
        pages: u64,
    ) -> Result<String, StoreError> {
        let (mut after, from_page) = match self
            .good_mark_before(pk, per_page, pages, counts.changes)
            .await?
        {
            Some((after, page)) => (after, page),
            None => (keys::ENTRIES_AFTER.to_string(), 0),
        };
        let mut remaining = (pages - from_page).saturating_mul(u64::from(per_page));
        while remaining > 0 {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK > :after")
                .expression_attribute_values(":pk", item::s(pk))
                .expression_attribute_values(":after", item::s(after.as_str()))
                .projection_expression("SK")
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                .consistent_read(true)
                .return_consumed_capacity(CAPACITY)
                .send()
                .await
                .map_err(classify)?;
            let Some(last) = out.items().last() else {
                break;
            };
            after = item::get_s(last, keys::SK)?.to_string();
            remaining = remaining.saturating_sub(out.items().len() as u64);
            if out.last_evaluated_key.is_none() {
                break;
            }
        }
        Ok(after)
    }

    /// The last mark of a page at or before `page` written since the matches last changed:
    /// where it ended, and its page.
    async fn good_mark_before(
        &self,
        pk: &str,
        per_page: u32,
        page: u64,
        changes: i64,
    ) -> Result<Option<(String, u64)>, StoreError> {
        let prefix = keys::page_mark_prefix(per_page);
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :last")
                .filter_expression("#v = :changes")
                .expression_attribute_names("#v", item::MATCHES_VERSION)
                .expression_attribute_values(":pk", item::s(pk))
                .expression_attribute_values(":first", item::s(prefix.as_str()))
                .expression_attribute_values(":last", item::s(keys::page_mark_sk(per_page, page)))
                .expression_attribute_values(":changes", item::n(changes))
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(CAPACITY)
                .send()
                .await
                .map_err(classify)?;
            if let Some(found) = out.items().first() {
                let sk = item::get_s(found, keys::SK)?;
                let page = sk[prefix.len()..].parse().unwrap_or(0);
                return Ok(Some((item::get_s(found, item::AFTER)?.to_string(), page)));
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(None);
            }
        }
    }

    /// The number of entries under `pk`, counted (values last written before counts were
    /// kept; `contacts-admin check --repair` gives them counts).
    async fn count_entries(&self, pk: &str) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK > :after")
                .expression_attribute_values(":pk", item::s(pk))
                .expression_attribute_values(":after", item::s(keys::ENTRIES_AFTER))
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

    /// The contacts with these ids, in the same order; ids with no contact (or one being
    /// deleted) are skipped.
    pub(super) async fn batch_get(
        &self,
        channel: &str,
        ids: &[&str],
    ) -> Result<Vec<Contact>, StoreError> {
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
                if item::is_deleted(got) {
                    continue;
                }
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
