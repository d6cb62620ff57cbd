//! Adding and removing webhook subscriptions (the admin tool's `webhook` commands).

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};

use super::super::errors::{applied, build_error, cancelled_by, classify};
use super::super::item::{self, Item};
use super::super::keys;
use super::super::webhooks::webhook_key;
use super::super::{DynamoStore, CAPACITY};
use crate::limits::MAX_WEBHOOKS_PER_CHANNEL;
use crate::store::StoreError;
use crate::webhooks::subscription::Subscription;

impl DynamoStore {
    /// Adds a subscription to its channel, which must exist and not be being deleted; at
    /// most [`MAX_WEBHOOKS_PER_CHANNEL`] per channel.
    pub async fn add_webhook(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let channel = &subscription.channel;
        self.existing_channel(channel).await?;
        if self.webhooks(channel).await?.len() >= MAX_WEBHOOKS_PER_CHANNEL {
            return Err(StoreError::Rejected(format!(
                "channel '{channel}' has {MAX_WEBHOOKS_PER_CHANNEL} webhooks already, the most \
                 it may have: remove one first"
            )));
        }
        let live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel)))
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#deleting)")
            .expression_attribute_names("#deleting", item::DELETING)
            .build()
            .map_err(build_error)?;
        let mut named = webhook_ref_key(&subscription.id);
        named.insert(item::CHANNEL_ID.into(), item::s(channel));
        let actions = [
            TransactWriteItem::builder().condition_check(live).build(),
            self.put_new(webhook_item(subscription))?,
            self.put_new(named)?,
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions.to_vec()))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if cancelled_by(&err, &["ConditionalCheckFailed"]) => Err(
                StoreError::Rejected(format!("channel '{channel}' is being deleted")),
            ),
            Err(err) => Err(classify(err)),
        }
    }

    /// The channel of a webhook, if there is such a webhook.
    pub async fn webhook_channel(&self, id: &str) -> Result<Option<String>, StoreError> {
        let found = self.get(webhook_ref_key(id)).await?;
        found
            .map(|f| item::get_s(&f, item::CHANNEL_ID).map(String::from))
            .transpose()
    }

    /// Removes a webhook: nothing more is delivered to it, even what is queued. `false`
    /// if there is no such webhook.
    pub async fn remove_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let Some(channel) = self.webhook_channel(id).await? else {
            return Ok(false);
        };
        let delete = |key: Item| {
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .build()
                .map(|d| TransactWriteItem::builder().delete(d).build())
                .map_err(build_error)
        };
        self.client
            .transact_write_items()
            .transact_items(delete(webhook_key(&channel, id))?)
            .transact_items(delete(webhook_ref_key(id))?)
            .return_consumed_capacity(CAPACITY)
            .send()
            .await
            .map_err(classify)?;
        Ok(true)
    }

    /// Removes every webhook of a channel (its deletion sends no events); how many items
    /// that deleted (two per webhook: it and the item naming its channel).
    pub(super) async fn remove_webhooks(&self, channel: &str) -> Result<usize, StoreError> {
        let mut removed = 0;
        for subscription in self.webhooks(channel).await? {
            if self.remove_webhook(&subscription.id).await? {
                removed += 2;
            }
        }
        Ok(removed)
    }

    /// The contacts marked for a replay between the stream sequence numbers `start` and
    /// `end`: `(sequence, channel, contact)`, in order.
    pub async fn marked_for_replay(
        &self,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut marks = Vec::new();
        let mut from: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :start AND :end")
                .expression_attribute_values(":pk", item::s(keys::REPLAY_PK))
                .expression_attribute_values(":start", item::s(keys::replay_sk(start)))
                .expression_attribute_values(":end", item::s(keys::replay_sk(end)))
                .consistent_read(true)
                .return_consumed_capacity(CAPACITY)
                .set_exclusive_start_key(from)
                .send()
                .await
                .map_err(classify)?;
            for mark in page.items() {
                let sequence = item::get_s(mark, keys::SK)?
                    .trim_start_matches('0')
                    .to_string();
                marks.push((
                    sequence,
                    item::get_s(mark, item::CHANNEL_ID)?.to_string(),
                    item::get_s(mark, item::CONTACT_ID)?.to_string(),
                ));
            }
            from = page.last_evaluated_key;
            if from.is_none() {
                return Ok(marks);
            }
        }
    }

    /// A contact as it is now, and the sequence of its last change; `None` if it is gone.
    pub async fn contact_now(
        &self,
        channel: &str,
        id: &str,
    ) -> Result<Option<(crate::domain::contact::Contact, i64)>, StoreError> {
        match self.get(item::contact_key(channel, id)).await? {
            Some(found) if !item::is_deleted(&found) => Ok(Some((
                item::contact_from_item(&found)?,
                item::sequence_of(&found),
            ))),
            _ => Ok(None),
        }
    }

    /// Every webhook of every listed channel: a query per channel, never a scan.
    pub async fn all_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        let mut all = Vec::new();
        for channel in self.channels().await? {
            all.extend(self.webhooks(&channel.id).await?);
        }
        Ok(all)
    }

    /// Replaces a webhook's sealed secret, if it is still `old` (a webhook removed or
    /// re-sealed meanwhile is left alone): whether it did.
    pub async fn reseal_webhook(
        &self,
        subscription: &Subscription,
        new: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(webhook_key(&subscription.channel, &subscription.id)))
            .update_expression("SET #sealed = :new")
            .condition_expression("#sealed = :old")
            .expression_attribute_names("#sealed", item::SEALED_SECRET)
            .expression_attribute_values(":new", item::s(new))
            .expression_attribute_values(":old", item::s(&subscription.sealed_secret))
            .return_consumed_capacity(CAPACITY)
            .send()
            .await;
        applied(result)
    }

    fn put_new(&self, new: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(new))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

fn webhook_ref_key(id: &str) -> Item {
    item::key(keys::webhook_ref_pk(id), keys::WEBHOOK_REF_SK.to_string())
}

fn webhook_item(subscription: &Subscription) -> Item {
    let mut found = webhook_key(&subscription.channel, &subscription.id);
    found.insert(item::ID.into(), item::s(&subscription.id));
    found.insert(item::CHANNEL_ID.into(), item::s(&subscription.channel));
    found.insert(item::WEBHOOK_URL.into(), item::s(&subscription.url));
    found.insert(
        item::WEBHOOK_EVENTS.into(),
        AttributeValue::Ss(
            subscription
                .events
                .iter()
                .map(|k| k.as_str().to_string())
                .collect(),
        ),
    );
    if !subscription.fields.is_empty() {
        found.insert(
            item::WEBHOOK_FIELDS.into(),
            AttributeValue::Ss(subscription.fields.iter().cloned().collect()),
        );
    }
    found.insert(
        item::SEALED_SECRET.into(),
        item::s(&subscription.sealed_secret),
    );
    found.insert(item::CREATED_AT.into(), item::n(subscription.created_at));
    found
}
