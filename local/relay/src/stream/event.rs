//! Stream records, as DynamoDB Streams returns them, turned into the event Lambda gives a
//! stream consumer (aws_lambda_events' `dynamodb::Event`, as in AWS's documented sample):
//! each record with its images, `eventSource` `aws:dynamodb` and the stream's ARN.

use anyhow::Context;
use aws_lambda_events::dynamodb::{
    Event, EventRecord, StreamRecord, StreamViewType as EventViewType, UserIdentity,
};
use aws_sdk_dynamodbstreams::types::Record;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The event for `records` of the stream `arn` in `region`.
pub fn stream_event(records: &[Record], arn: &str, region: &str) -> anyhow::Result<Value> {
    let mut event = Event::default();
    event.records = records
        .iter()
        .map(|record| event_record(record, arn, region))
        .collect::<anyhow::Result<_>>()?;
    crate::lambda_json::event_json(&event)
}

fn event_record(record: &Record, arn: &str, region: &str) -> anyhow::Result<EventRecord> {
    let mut out = EventRecord::default();
    out.event_id = record.event_id().unwrap_or_default().to_string();
    out.event_name = record
        .event_name()
        .map(|name| name.as_str().to_string())
        .unwrap_or_default();
    out.event_version = record.event_version().map(str::to_string);
    out.event_source = Some("aws:dynamodb".to_string());
    // DynamoDB Local names its own region ("ddblocal"); Lambda says the stream's.
    out.aws_region = region.to_string();
    out.event_source_arn = Some(arn.to_string());
    out.user_identity = record.user_identity().map(|identity| {
        let mut user = UserIdentity::default();
        user.type_ = identity.r#type().unwrap_or_default().to_string();
        user.principal_id = identity.principal_id().unwrap_or_default().to_string();
        user
    });
    let change = record
        .dynamodb()
        .with_context(|| format!("record {} has no change", out.event_id))?;
    let mut stream = StreamRecord::default();
    if let Some(at) = change.approximate_creation_date_time() {
        stream.approximate_creation_date_time =
            DateTime::<Utc>::from_timestamp(at.secs(), at.subsec_nanos()).unwrap_or_default();
    }
    let image = |image: Option<&std::collections::HashMap<_, _>>| {
        image
            .cloned()
            .map(serde_dynamo::Item::from)
            .unwrap_or_default()
    };
    stream.keys = image(change.keys());
    stream.new_image = image(change.new_image());
    stream.old_image = image(change.old_image());
    stream.sequence_number = change.sequence_number().map(str::to_string);
    stream.size_bytes = change.size_bytes().unwrap_or_default();
    stream.stream_view_type = change
        .stream_view_type()
        .map(|view| serde_json::from_value::<EventViewType>(Value::from(view.as_str())))
        .transpose()
        .context("unknown stream view type")?;
    out.change = stream;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::primitives::DateTime as SdkDateTime;
    use aws_sdk_dynamodbstreams::types::{
        AttributeValue, Identity, OperationType, StreamRecord as SdkStreamRecord, StreamViewType,
    };
    use serde_json::json;

    const ARN: &str =
        "arn:aws:dynamodb:us-east-1:123456789012:table/Example-Table/stream/2016-12-01T00:00:00.000";

    fn record(name: OperationType, old: bool, new: bool) -> Record {
        let item = |value: &str| {
            [
                ("key".to_string(), AttributeValue::S("binary".to_string())),
                ("val".to_string(), AttributeValue::S(value.to_string())),
            ]
            .into_iter()
            .collect()
        };
        let mut change = SdkStreamRecord::builder()
            .approximate_creation_date_time(SdkDateTime::from_secs(1480642020))
            .set_keys(Some(
                [("key".to_string(), AttributeValue::S("binary".to_string()))].into(),
            ))
            .sequence_number("1405400000000002063282832")
            .size_bytes(54)
            .stream_view_type(StreamViewType::NewAndOldImages);
        if old {
            change = change.set_old_image(Some(item("old")));
        }
        if new {
            change = change.set_new_image(Some(item("data")));
        }
        Record::builder()
            .event_id("f07f8ca4b0b26cb9c4e5e77e69f274ee")
            .event_name(name)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("ddblocal")
            .dynamodb(change.build())
            .build()
    }

    /// AWS's documented sample of a stream event (aws_lambda_events' fixture), record for
    /// record: what a consumer on AWS receives.
    #[test]
    fn an_insert_is_the_documented_sample() {
        let event = stream_event(
            &[record(OperationType::Insert, false, true)],
            ARN,
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            event,
            json!({"Records": [{
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1480642020,
                    "Keys": {"key": {"S": "binary"}},
                    "NewImage": {"key": {"S": "binary"}, "val": {"S": "data"}},
                    "SequenceNumber": "1405400000000002063282832",
                    "SizeBytes": 54,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventID": "f07f8ca4b0b26cb9c4e5e77e69f274ee",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "eventVersion": "1.1",
                "eventSourceARN": ARN
            }]})
        );
        // And it reads back as the functions read it.
        let parsed: Event = serde_json::from_value(event).unwrap();
        assert_eq!(parsed.records[0].change.new_image.len(), 2);
        assert!(parsed.records[0].change.old_image.is_empty());
    }

    #[test]
    fn a_removal_by_ttl_keeps_its_old_image_and_its_identity() {
        let mut removed = record(OperationType::Remove, true, false);
        removed.user_identity = Some(
            Identity::builder()
                .r#type("Service")
                .principal_id("dynamodb.amazonaws.com")
                .build(),
        );
        let event = stream_event(&[removed], ARN, "us-east-1").unwrap();
        let record = &event["Records"][0];
        assert_eq!(record["eventName"], "REMOVE");
        assert_eq!(record["dynamodb"]["OldImage"]["val"], json!({"S": "old"}));
        assert!(record["dynamodb"].get("NewImage").is_none());
        assert_eq!(
            record["userIdentity"],
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        );
    }
}
