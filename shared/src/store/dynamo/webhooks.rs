//! Webhook subscriptions: one item per subscription in its channel's webhook partition
//! (what the stream function queries), and one naming its channel (for `webhook remove`,
//! which names the webhook only). Adding and removing are the operator's (`operator`).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{self, Item};
use super::{errors, keys, DynamoStore, CAPACITY};
use crate::store::StoreError;
use crate::webhooks::events::Kind;
use crate::webhooks::subscription::Subscription;

/// How long a replay mark is kept: as long as the failure queue keeps its message.
const REPLAY_MARK_SECONDS: i64 = 14 * 24 * 60 * 60;

impl DynamoStore {
    /// Marks the contact changes at these stream sequence numbers (`(sequence, channel,
    /// contact)`) as not queued, for a replay once the stream no longer holds them. Best
    /// effort: the failure queue names their range in any case.
    pub async fn mark_for_replay(
        &self,
        marks: &[(String, String, String)],
    ) -> Result<(), StoreError> {
        let expires = crate::clock::now() + REPLAY_MARK_SECONDS;
        let items = marks
            .iter()
            .map(|(sequence, channel, contact)| {
                let mut mark = item::key(keys::REPLAY_PK.to_string(), keys::replay_sk(sequence));
                mark.insert(item::CHANNEL_ID.into(), item::s(channel.as_str()));
                mark.insert(item::CONTACT_ID.into(), item::s(contact.as_str()));
                mark.insert(item::EXPIRES_AT.into(), item::n(expires));
                mark
            })
            .collect();
        self.put_items(items).await
    }

    /// A channel's subscriptions, as of now (a strongly consistent read: one just added
    /// gets the next change).
    pub async fn webhooks(&self, channel: &str) -> Result<Vec<Subscription>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", item::s(keys::webhook_pk(channel)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(CAPACITY)
                .send()
                .await
                .map_err(errors::classify)?;
            for item in page.items() {
                found.push(subscription_from_item(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// One subscription of `channel`, if it is still there.
    pub async fn webhook(
        &self,
        channel: &str,
        id: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let key = webhook_key(channel, id);
        self.get(key)
            .await?
            .map(|found| subscription_from_item(&found))
            .transpose()
    }
}

pub(super) fn webhook_key(channel: &str, id: &str) -> Item {
    item::key(keys::webhook_pk(channel), id.to_string())
}

fn strings(found: &Item, name: &str) -> BTreeSet<String> {
    match found.get(name) {
        Some(AttributeValue::Ss(values)) => values.iter().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

pub(super) fn subscription_from_item(found: &Item) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: item::get_s(found, item::ID)?.to_string(),
        channel: item::get_s(found, item::CHANNEL_ID)?.to_string(),
        url: item::get_s(found, item::WEBHOOK_URL)?.to_string(),
        // A name this version does not know (written by a newer one) is not sent.
        events: strings(found, item::WEBHOOK_EVENTS)
            .iter()
            .filter_map(|name| Kind::parse(name))
            .collect(),
        fields: strings(found, item::WEBHOOK_FIELDS),
        sealed_secret: item::get_s(found, item::SEALED_SECRET)?.to_string(),
        created_at: item::get_n(found, item::CREATED_AT)?,
    })
}
