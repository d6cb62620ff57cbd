//! The stream function's work: each contact item change of a stream batch becomes the
//! contract's events, addressed to the channel's subscriptions that want them and queued
//! for delivery, in the stream's order: on the bulk queue for a channel that bursts, on
//! the ordinary queue for everyone else. Other items (index entries, counts, claims,
//! subscriptions) give nothing. A batch that could not all be queued reports its first
//! record not queued, so the event source mapping retries from there and nothing is lost.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;

use super::delivery::{event_body, Delivery};
use super::events::{changes, Image};
use super::queue::DeliveryQueue;
use super::subscription::Subscription;
use crate::limits::WEBHOOK_BURST;
use crate::store::dynamo::{item, keys};
use crate::store::DynamoStore;

type Item = HashMap<String, AttributeValue>;

pub struct Dispatcher {
    pub store: DynamoStore,
    /// The queue of channels writing at an ordinary pace.
    pub queue: DeliveryQueue,
    /// The queue of a channel bursting: more than [`WEBHOOK_BURST`] deliveries in a batch.
    pub bulk: DeliveryQueue,
}

/// One change of an item, from the stream: what the function's event record holds, or
/// what a read of the stream returns (a replay).
#[derive(Debug, Clone, Default)]
pub struct StreamChange {
    pub event_id: String,
    pub keys: Item,
    pub old: Item,
    pub new: Item,
    /// When the change was written (Unix seconds).
    pub occurred_at: i64,
    pub sequence_number: Option<String>,
}

impl From<&EventRecord> for StreamChange {
    fn from(record: &EventRecord) -> Self {
        StreamChange {
            event_id: record.event_id.clone(),
            keys: record.change.keys.clone().into(),
            old: record.change.old_image.clone().into(),
            new: record.change.new_image.clone().into(),
            occurred_at: record.change.approximate_creation_date_time.timestamp(),
            sequence_number: record.change.sequence_number.clone(),
        }
    }
}

impl Dispatcher {
    /// The stream function's answer: the first record not surely queued, if any.
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let changes: Vec<StreamChange> = event.records.iter().map(StreamChange::from).collect();
        let mut response = DynamoDbEventResponse::default();
        if let Some(position) = self.dispatch(&changes).await {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = changes[position].sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// Queues the deliveries of `changes`, in order; the position of the first change not
    /// surely queued, if any (it and those after it are to be dispatched again).
    pub async fn dispatch(&self, changes: &[StreamChange]) -> Option<usize> {
        let mut subscriptions: HashMap<String, Vec<Subscription>> = HashMap::new();
        // Each delivery, with the position of its record in the batch.
        let mut queued: Vec<(usize, Delivery)> = Vec::new();
        let mut failed_at: Option<usize> = None;
        for (position, change) in changes.iter().enumerate() {
            let Some((channel, events)) = change_events(change) else {
                continue;
            };
            if events.is_empty() {
                continue;
            }
            if !subscriptions.contains_key(&channel) {
                match self.store.webhooks(&channel).await {
                    Ok(found) => subscriptions.insert(channel.clone(), found),
                    Err(e) => {
                        tracing::error!(channel = %channel, error = %e, "cannot read the channel's webhooks");
                        failed_at = Some(position);
                        break;
                    }
                };
            }
            for (change, body) in events {
                for subscription in &subscriptions[&channel] {
                    if subscription.wants(&change) {
                        let delivery = Delivery {
                            channel: channel.clone(),
                            webhook: subscription.id.clone(),
                            event: body.clone(),
                        };
                        queued.push((position, delivery));
                    }
                }
            }
        }
        // A channel with more deliveries in this batch than an ordinary pace gives goes to
        // the bulk queue, behind which nobody else waits.
        let mut per_channel: HashMap<&str, usize> = HashMap::new();
        for (_, delivery) in &queued {
            *per_channel.entry(delivery.channel.as_str()).or_default() += 1;
        }
        let (loud, quiet): (Vec<_>, Vec<_>) = queued
            .iter()
            .partition(|(_, d)| per_channel[d.channel.as_str()] > WEBHOOK_BURST);
        let deliveries = |of: &[&(usize, Delivery)]| -> Vec<Delivery> {
            of.iter().map(|(_, d)| d.clone()).collect()
        };
        let (quiet_deliveries, loud_deliveries) = (deliveries(&quiet), deliveries(&loud));
        let ((quiet_sent, quiet_error), (loud_sent, loud_error)) = futures::join!(
            self.queue.send(&quiet_deliveries),
            self.bulk.send(&loud_deliveries),
        );
        for (what, of, sent, error) in [
            ("queue", &quiet, quiet_sent, quiet_error),
            ("bulk queue", &loud, loud_sent, loud_error),
        ] {
            if let Some(error) = error {
                tracing::error!(error = %error, sent, of = of.len(), queue = what, "cannot queue deliveries");
                // The first record with a delivery not surely queued.
                let unsent = of.get(sent).map(|(position, _)| *position);
                failed_at = failed_at.into_iter().chain(unsent).min();
            }
        }
        if let Some(position) = failed_at {
            self.mark_for_replay(&changes[position..]).await;
        }
        tracing::info!(
            records = changes.len(),
            deliveries = quiet_sent + loud_sent,
            bulk = loud_sent,
            "stream batch"
        );
        failed_at
    }
}

impl Dispatcher {
    /// Marks the contact changes not queued for a replay (see
    /// [`mark_for_replay`](DynamoStore::mark_for_replay)).
    async fn mark_for_replay(&self, changes: &[StreamChange]) {
        let marks: Vec<(String, String, String)> = changes
            .iter()
            .filter_map(|change| {
                let pk = change.keys.get(keys::PK)?.as_s().ok()?;
                let sk = change.keys.get(keys::SK)?.as_s().ok()?;
                let (channel, id) = keys::contact_of(pk, sk)?;
                Some((
                    change.sequence_number.clone()?,
                    channel.to_string(),
                    id.to_string(),
                ))
            })
            .collect();
        if let Err(e) = self.store.mark_for_replay(&marks).await {
            tracing::error!(error = %e, marks = marks.len(), "cannot mark changes for a replay");
        }
    }
}

/// The channel and the events (with their bodies) of a contact item's change; `None` for
/// any other item.
fn change_events(
    change: &StreamChange,
) -> Option<(String, Vec<(super::events::Change, serde_json::Value)>)> {
    let pk = change.keys.get(keys::PK)?.as_s().ok()?;
    let sk = change.keys.get(keys::SK)?.as_s().ok()?;
    let (channel, _) = keys::contact_of(pk, sk)?;
    let (old_image, new_image) = match (image(&change.old), image(&change.new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => {
            // A contact item this version cannot read: retrying would not help.
            tracing::error!(record = %change.event_id, error = %e, "unreadable contact image");
            return None;
        }
    };
    let sequence = if change.new.is_empty() {
        item::sequence_of(&change.old) + 1
    } else {
        item::sequence_of(&change.new)
    };
    let events = changes(old_image.as_ref(), new_image.as_ref())
        .into_iter()
        .enumerate()
        .map(|(nth, event)| {
            let body = event_body(
                &event,
                &change.event_id,
                nth,
                channel,
                change.occurred_at,
                sequence,
            );
            (event, body)
        })
        .collect();
    Some((channel.to_string(), events))
}

/// The contact an image holds (`None`: no image, the item was inserted or removed).
fn image(found: &Item) -> Result<Option<Image>, crate::store::StoreError> {
    if found.is_empty() {
        return Ok(None);
    }
    Ok(Some(Image {
        contact: item::contact_from_item(found)?,
        deleted: item::is_deleted(found),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stream_event() -> Event {
        serde_json::from_str(include_str!("../../../events/webhook-dispatch.json"))
            .expect("a DynamoDB stream event")
    }

    #[test]
    fn a_contact_change_is_its_events_in_order_with_the_contact_sequence() {
        let event = stream_event();
        let (channel, events) =
            change_events(&StreamChange::from(&event.records[0])).expect("a contact item");
        assert_eq!(channel, "demo");
        let bodies: Vec<&serde_json::Value> = events.iter().map(|(_, body)| body).collect();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0]["type"], "contact.updated");
        assert_eq!(
            bodies[0]["changes"],
            json!({"custom_fields": {"firstName": {"from": "Muhammad", "to": "Muhammad Mahin"}}})
        );
        assert_eq!(bodies[1]["type"], "contact.tags_changed");
        assert_eq!(bodies[1]["contact"]["tags"], json!(["vip"]));
        for body in &bodies {
            assert_eq!(body["sequence"], 3);
            assert_eq!(body["occurred_at"], 1_764_633_600);
            assert_eq!(body["channel_id"], "demo");
        }
        assert_ne!(bodies[0]["id"], bodies[1]["id"]);
    }

    #[test]
    fn removals_count_on_and_other_items_say_nothing() {
        let mut event = stream_event();
        let record = &mut event.records[0];
        record.event_name = "REMOVE".into();
        record.change.new_image =
            serde_dynamo::Item::from(HashMap::<String, AttributeValue>::new());
        let (_, events) = change_events(&StreamChange::from(&*record)).expect("a contact item");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1["type"], "contact.deleted");
        assert_eq!(events[0].1["contact"], json!({"id": "1776025372480910"}));
        // One more than the last change the contact had (1, in the old image).
        assert_eq!(events[0].1["sequence"], 2);
        // An index entry of the same channel: no events.
        let index_keys: Item = HashMap::from([
            (
                keys::PK.to_string(),
                AttributeValue::S("CH#demo#F#phone#03244077087".into()),
            ),
            (keys::SK.to_string(), AttributeValue::S("C#x".into())),
        ]);
        record.change.keys = index_keys.into();
        assert!(change_events(&StreamChange::from(&*record)).is_none());
    }
}
