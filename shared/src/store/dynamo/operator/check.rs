//! The invariant between contacts and the field index: every set field of a contact has
//! its index entry, and every index entry has its contact and field value.

use std::collections::BTreeSet;

use super::super::errors::classify;
use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use crate::domain::field_values::match_key;
use crate::store::StoreError;

/// What a check of one channel found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub contacts: usize,
    pub index_entries: usize,
    /// `(contact id, field)` pairs with no index entry.
    pub missing_entries: Vec<(String, String)>,
    /// `(PK, SK)` of index entries no contact field accounts for.
    pub orphan_entries: Vec<(String, String)>,
}

impl CheckReport {
    pub fn is_consistent(&self) -> bool {
        self.missing_entries.is_empty() && self.orphan_entries.is_empty()
    }
}

impl DynamoStore {
    /// Checks a channel's index against its contacts. Index entries can only be listed by
    /// scanning, so this reads the whole table: an operator's tool, not a request path.
    pub async fn check_channel(&self, channel: &str) -> Result<CheckReport, StoreError> {
        let fields = self.fields(channel).await?;
        let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
        let mut owner = std::collections::BTreeMap::new();
        let mut report = CheckReport::default();
        let contact_prefix = keys::contact_sk("");
        for found in self
            .query_all(&keys::channel_pk(channel), &contact_prefix)
            .await?
        {
            let contact = item::contact_from_item(&found)?;
            report.contacts += 1;
            for (name, value) in &contact.fields {
                let Some(def) = fields.get(name) else {
                    continue;
                };
                let key = (
                    keys::index_pk(channel, name, &match_key(def.field_type, value)),
                    keys::index_sk(contact.created_at, &contact.id),
                );
                owner.insert(key.clone(), (contact.id.clone(), name.clone()));
                expected.insert(key);
            }
        }
        let mut stored: BTreeSet<(String, String)> = BTreeSet::new();
        for found in self
            .scan_prefix(&format!("{}#F#", keys::channel_pk(channel)))
            .await?
        {
            stored.insert((
                item::get_s(&found, keys::PK)?.to_string(),
                item::get_s(&found, keys::SK)?.to_string(),
            ));
        }
        report.index_entries = stored.len();
        report.missing_entries = expected
            .difference(&stored)
            .filter_map(|k| owner.get(k).cloned())
            .collect();
        report.orphan_entries = stored.difference(&expected).cloned().collect();
        Ok(report)
    }

    async fn query_all(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
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

    /// One page of the items under `pk` whose SK starts with `sk_prefix`, strongly
    /// consistent, and where the next page starts (`None` after the last).
    pub(super) async fn query_page(
        &self,
        pk: &str,
        sk_prefix: &str,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", item::s(pk))
            .expression_attribute_values(":prefix", item::s(sk_prefix))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
    }

    /// Keys of every item whose PK starts with `prefix`.
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(PK, :prefix)")
                .expression_attribute_values(":prefix", item::s(prefix))
                .projection_expression("PK, SK")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}
