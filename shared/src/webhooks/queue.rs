//! The delivery queue (SQS): the stream function sends deliveries to it; the delivery
//! function hides a failed one for its retry delay. Built once per process.

use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::delivery::Delivery;
use crate::env;

/// Entries of one `SendMessageBatch`.
const SEND_BATCH: usize = 10;

#[derive(Debug, Clone)]
pub struct DeliveryQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl DeliveryQueue {
    /// The queue of `WEBHOOK_QUEUE_URL`, on `SQS_ENDPOINT` when set (moto, locally).
    pub async fn from_env() -> Result<Self, String> {
        let url = env::get(env::WEBHOOK_QUEUE_URL)
            .ok_or_else(|| format!("{} is not set", env::WEBHOOK_QUEUE_URL))?;
        let endpoint = env::get(env::SQS_ENDPOINT);
        let config = crate::aws::sdk_config(endpoint.as_deref()).await;
        Ok(DeliveryQueue {
            client: aws_sdk_sqs::Client::new(&config),
            url,
        })
    }

    /// Sends `deliveries` in order, ten a request; how many, from the first, are surely
    /// queued (all of them, or those before the first that failed).
    pub async fn send(&self, deliveries: &[Delivery]) -> (usize, Option<String>) {
        let mut sent = 0;
        for chunk in deliveries.chunks(SEND_BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, delivery) in chunk.iter().enumerate() {
                let body = match serde_json::to_string(delivery) {
                    Ok(body) => body,
                    Err(e) => return (sent, Some(format!("cannot encode a delivery: {e}"))),
                };
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build();
                match entry {
                    Ok(entry) => entries.push(entry),
                    Err(e) => return (sent, Some(e.to_string())),
                }
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            if let Ok(out) = &out {
                // Each delivery's trail, from the contact's change to the queue's message.
                for ok in out.successful() {
                    if let Some(d) = ok.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                        tracing::info!(
                            event = d.event_id(),
                            webhook = %d.webhook,
                            contact = %d.event["contact"]["id"],
                            sequence = %d.event["sequence"],
                            sqs_message = ok.message_id(),
                            "queued"
                        );
                    }
                }
            }
            let failed = match out {
                Ok(out) => out
                    .failed()
                    .iter()
                    .filter_map(|f| f.id().parse::<usize>().ok().map(|i| (i, f.message())))
                    .min_by_key(|(i, _)| *i)
                    .map(|(i, why)| (i, why.unwrap_or("failed").to_string())),
                Err(e) => Some((0, aws_sdk_sqs::error::DisplayErrorContext(e).to_string())),
            };
            if let Some((i, why)) = failed {
                return (sent + i, Some(why));
            }
            sent += chunk.len();
        }
        (sent, None)
    }

    /// Hides the received message `receipt` for `delay`: its next try.
    pub async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), String> {
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }
}
