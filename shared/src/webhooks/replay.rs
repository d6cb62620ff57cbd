//! Replaying what reached the stream failure queue: Lambda (the local relay, locally)
//! reports a batch the stream function kept failing on by its shard and sequence-number
//! range, not its changes. A replay reads that range from the stream again, while the
//! stream keeps it (24 hours), and hands its changes to the stream function's own work,
//! which makes the same events with the same ids (a receiver that got one already drops
//! the repeat). Once the stream no longer holds them, the contacts the stream function
//! marked when it failed (`mark_for_replay`) get a `contact.updated` snapshot of
//! themselves as they are now, marked `snapshot`.

use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use serde_json::Value;

use super::delivery::{event_body, Delivery};
use super::dispatch::{Dispatcher, StreamChange};
use super::events::{Change, Kind};

/// Records one read of a shard returns at most.
const READ_LIMIT: i32 = 1_000;

/// A batch given up on, as the failure destination's message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedBatch {
    pub stream_arn: String,
    pub shard: String,
    pub start: String,
    pub end: String,
}

impl FailedBatch {
    /// The `DDBStreamBatchInfo` of an on-failure destination's message.
    pub fn parse(body: &str) -> Result<Self, String> {
        let message: Value =
            serde_json::from_str(body).map_err(|e| format!("not a failure record: {e}"))?;
        let info = &message["DDBStreamBatchInfo"];
        let text = |name: &str| {
            info[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("a failure record without DDBStreamBatchInfo.{name}"))
        };
        Ok(FailedBatch {
            stream_arn: text("streamArn")?,
            shard: text("shardId")?,
            start: text("startSequenceNumber")?,
            end: text("endSequenceNumber")?,
        })
    }
}

/// Queues a `contact.updated` snapshot of each contact marked for a replay in `batch`'s
/// range, as it is now, for its channel's subscriptions that want updates: how many
/// contacts (those gone since are left out), or `None` when nothing in the range was marked.
pub async fn snapshots(
    dispatcher: &Dispatcher,
    batch: &FailedBatch,
) -> Result<Option<usize>, String> {
    let marks = dispatcher
        .store
        .marked_for_replay(&batch.start, &batch.end)
        .await
        .map_err(|e| e.to_string())?;
    if marks.is_empty() {
        return Ok(None);
    }
    let mut deliveries = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut snapshots = 0;
    for (sequence, channel, id) in marks {
        if !seen.insert((channel.clone(), id.clone())) {
            continue;
        }
        let now = dispatcher
            .store
            .contact_now(&channel, &id)
            .await
            .map_err(|e| e.to_string())?;
        let Some((contact, contact_sequence)) = now else {
            continue;
        };
        snapshots += 1;
        let change = Change {
            kind: Kind::Updated,
            contact: contact.to_json(),
            changes: serde_json::json!({}),
            // Any field may have changed: a field filter lets it through.
            fields: contact.fields.keys().cloned().collect(),
        };
        let mut body = event_body(
            &change,
            &format!("replay/{sequence}"),
            0,
            &channel,
            crate::clock::now(),
            contact_sequence.max(1),
        );
        body["snapshot"] = serde_json::json!(true);
        let subscriptions = dispatcher
            .store
            .webhooks(&channel)
            .await
            .map_err(|e| e.to_string())?;
        for subscription in subscriptions.iter().filter(|s| s.wants(&change)) {
            deliveries.push(Delivery {
                channel: channel.clone(),
                webhook: subscription.id.clone(),
                event: body.clone(),
            });
        }
    }
    match dispatcher.queue.send(&deliveries).await {
        (_, None) => Ok(Some(snapshots)),
        (sent, Some(why)) => Err(format!(
            "{sent} of {} snapshots queued: {why}",
            deliveries.len()
        )),
    }
}

/// A client of the table's stream (on `endpoint` when given: DynamoDB Local's, whose
/// responses it repairs).
pub async fn stream_client(endpoint: Option<&str>) -> Client {
    let config = crate::aws::sdk_config(endpoint).await;
    Client::from_conf(
        aws_sdk_dynamodbstreams::config::Builder::from(&config)
            .interceptor(super::stream_repair::EmptyMaps)
            .build(),
    )
}

/// The changes of `batch`, read from the stream again; `None` when the stream no longer
/// holds them all (older than it keeps, or its shard gone).
pub async fn read(
    client: &Client,
    batch: &FailedBatch,
) -> Result<Option<Vec<StreamChange>>, String> {
    let iterator = client
        .get_shard_iterator()
        .stream_arn(&batch.stream_arn)
        .shard_id(&batch.shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&batch.start)
        .send()
        .await;
    let mut iterator = match iterator {
        Ok(out) => out.shard_iterator().map(str::to_string),
        Err(e)
            if e.as_service_error().is_some_and(|e| {
                e.is_trimmed_data_access_exception() || e.is_resource_not_found_exception()
            }) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(format!("cannot read shard {}: {}", batch.shard, brief(&e))),
    };
    let mut changes = Vec::new();
    while let Some(current) = iterator.take() {
        let out = match client
            .get_records()
            .shard_iterator(current)
            .limit(READ_LIMIT)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_trimmed_data_access_exception()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(format!("cannot read shard {}: {}", batch.shard, brief(&e))),
        };
        for record in out.records() {
            let sequence = sequence_of(record);
            if later(sequence, &batch.end) {
                return Ok(Some(changes));
            }
            if changes.is_empty() && sequence != batch.start {
                // The range's first record is gone: the stream no longer holds it whole.
                return Ok(None);
            }
            changes.push(change_of(record)?);
        }
        if out.records().is_empty() {
            break;
        }
        iterator = out.next_shard_iterator().map(str::to_string);
    }
    Ok((!changes.is_empty()).then_some(changes))
}

/// A stream record as the stream function's work takes it.
pub fn change_of(record: &Record) -> Result<StreamChange, String> {
    let change = record
        .dynamodb()
        .ok_or_else(|| format!("record {:?} has no change", record.event_id()))?;
    let item = |image: Option<&std::collections::HashMap<String, _>>| {
        image
            .cloned()
            .map(|image| serde_dynamo::Item::from(image).into())
            .unwrap_or_default()
    };
    Ok(StreamChange {
        event_id: record.event_id().unwrap_or_default().to_string(),
        keys: item(change.keys()),
        old: item(change.old_image()),
        new: item(change.new_image()),
        occurred_at: change
            .approximate_creation_date_time()
            .map_or(0, |at| at.secs()),
        sequence_number: change.sequence_number().map(str::to_string),
    })
}

/// What the service said (its error's code and message), or else the error itself.
fn brief<E, R>(error: &aws_sdk_dynamodbstreams::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or_default()
        ),
        None => aws_sdk_dynamodbstreams::error::DisplayErrorContext(error).to_string(),
    }
}

fn sequence_of(record: &Record) -> &str {
    record
        .dynamodb()
        .and_then(|c| c.sequence_number())
        .unwrap_or_default()
}

/// Whether sequence number `a` comes after `b` (decimal numbers of any length).
fn later(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_record_names_its_batch() {
        let body = r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},"version":"1.0",
            "DDBStreamBatchInfo":{"shardId":"shardId-1","startSequenceNumber":"900","endSequenceNumber":"1100",
            "batchSize":3,"streamArn":"arn:aws:dynamodb:us-east-1:1:table/t/stream/x"}}"#;
        let batch = FailedBatch::parse(body).unwrap();
        assert_eq!(batch.shard, "shardId-1");
        assert_eq!((batch.start.as_str(), batch.end.as_str()), ("900", "1100"));
        assert!(FailedBatch::parse(r#"{"version":"1.0"}"#).is_err());
        assert!(FailedBatch::parse("nonsense").is_err());
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(later("1100", "900"));
        assert!(!later("900", "1100"));
        assert!(!later("900", "900"));
        assert!(later("000000000000000000011", "000000000000000000010"));
    }
}
