//! Queue messages, as ReceiveMessage returns them, turned into the event Lambda gives a
//! queue consumer (aws_lambda_events' `sqs::SqsEvent`, as in AWS's documented sample).

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{Message, MessageAttributeValue};
use serde_json::Value;

/// The event for `messages` of the queue `arn` in `region`.
pub fn queue_event(messages: &[Message], arn: &str, region: &str) -> anyhow::Result<Value> {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|message| {
            let mut out = SqsMessage::default();
            out.message_id = message.message_id().map(str::to_string);
            out.receipt_handle = message.receipt_handle().map(str::to_string);
            out.body = message.body().map(str::to_string);
            out.md5_of_body = message.md5_of_body().map(str::to_string);
            out.md5_of_message_attributes = message.md5_of_message_attributes().map(str::to_string);
            out.attributes = message
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_string(), value.clone()))
                .collect();
            out.message_attributes = message
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.clone(), attribute(value)))
                .collect();
            out.event_source = Some("aws:sqs".to_string());
            out.event_source_arn = Some(arn.to_string());
            out.aws_region = Some(region.to_string());
            out
        })
        .collect();
    crate::lambda_json::event_json(&event)
}

fn attribute(value: &MessageAttributeValue) -> SqsMessageAttribute {
    let mut out = SqsMessageAttribute::default();
    out.data_type = Some(value.data_type().to_string());
    out.string_value = value.string_value().map(str::to_string);
    out.binary_value = value.binary_value().map(|b| base64_data(b.as_ref()));
    out.string_list_values = value.string_list_values().to_vec();
    out.binary_list_values = value
        .binary_list_values()
        .iter()
        .map(|b| base64_data(b.as_ref()))
        .collect();
    out
}

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.0 = bytes.to_vec();
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    use serde_json::json;

    /// AWS's documented sample of a queue event: what a consumer on AWS receives.
    #[test]
    fn a_message_is_the_documented_sample() {
        let message = Message::builder()
            .message_id("059f36b4-87a3-44ab-83d2-661975830a7d")
            .receipt_handle("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...")
            .body("Test message.")
            .md5_of_body("e4e68fb7bd0e697a0ae8f1bb342846b3")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1545082649183")
            .attributes(
                MessageSystemAttributeName::SenderId,
                "AIDAIENQZJOLO23YVJ4VO",
            )
            .attributes(
                MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                "1545082649185",
            )
            .build();
        let arn = "arn:aws:sqs:us-east-2:123456789012:my-queue";
        let event = queue_event(&[message], arn, "us-east-2").unwrap();
        assert_eq!(
            event,
            json!({"Records": [{
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
                "body": "Test message.",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185"
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-2"
            }]})
        );
        let parsed: SqsEvent = serde_json::from_value(event).unwrap();
        assert_eq!(parsed.records[0].attributes["ApproximateReceiveCount"], "1");
    }
}
