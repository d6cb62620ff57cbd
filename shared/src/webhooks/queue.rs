//! A delivery queue (SQS): the stream function sends deliveries to it; the delivery
//! function hides a failed one for its retry delay. There are two, the same but for who
//! is queued there: the deliveries of channels writing at an ordinary pace, and those of a
//! channel bursting (an import), so that a burst's backlog never stands in front of anyone
//! else's events. Built once per process.

use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::stream::{self, StreamExt};

use super::delivery::Delivery;
use crate::env;

/// Entries of one `SendMessageBatch`.
const SEND_BATCH: usize = 10;
/// `SendMessageBatch` requests in flight at once: one, so that deliveries are queued in
/// the stream's order (a failure stops at the first not queued), and because concurrent
/// sends only slow the local stack's SQS (moto's, single-threaded in Python) further.
const SENDS_IN_FLIGHT: usize = 1;

#[derive(Debug, Clone)]
pub struct DeliveryQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl DeliveryQueue {
    /// The queue whose URL the variable `url_variable` holds (`WEBHOOK_QUEUE_URL`,
    /// `WEBHOOK_BULK_QUEUE_URL`), on `SQS_ENDPOINT` when set (moto, locally).
    pub async fn from_env(url_variable: &str) -> Result<Self, String> {
        let url = env::get(url_variable).ok_or_else(|| format!("{url_variable} is not set"))?;
        let endpoint = env::get(env::SQS_ENDPOINT);
        Ok(Self::connect(url, endpoint.as_deref()).await)
    }

    /// The queue at `url`, on `endpoint` when given.
    pub async fn connect(url: String, endpoint: Option<&str>) -> Self {
        let config = crate::aws::sdk_config(endpoint).await;
        DeliveryQueue {
            client: aws_sdk_sqs::Client::new(&config),
            url,
        }
    }

    /// Whether `arn` (a received message's `eventSourceARN`) is this queue's: a queue's
    /// URL and ARN both end with its name.
    pub fn is(&self, arn: &str) -> bool {
        let name = |text: &str, separator: char| text.rsplit(separator).next().map(str::to_string);
        name(&self.url, '/').is_some_and(|n| Some(n) == name(arn, ':'))
    }

    /// Sends `deliveries`, ten a request; how many, from the first, are surely queued (all
    /// of them, or those before the first that failed).
    pub async fn send(&self, deliveries: &[Delivery]) -> (usize, Option<String>) {
        let outcomes: Vec<(usize, Option<String>)> = stream::iter(deliveries.chunks(SEND_BATCH))
            .map(|chunk| self.send_batch(chunk))
            .buffered(SENDS_IN_FLIGHT)
            .collect()
            .await;
        let mut sent = 0;
        for (queued, error) in outcomes {
            sent += queued;
            if error.is_some() {
                return (sent, error);
            }
        }
        (sent, None)
    }

    /// One `SendMessageBatch`: how many, from the first, are surely queued.
    async fn send_batch(&self, chunk: &[Delivery]) -> (usize, Option<String>) {
        let mut entries = Vec::with_capacity(chunk.len());
        for (i, delivery) in chunk.iter().enumerate() {
            let body = match serde_json::to_string(delivery) {
                Ok(body) => body,
                Err(e) => return (0, Some(format!("cannot encode a delivery: {e}"))),
            };
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build();
            match entry {
                Ok(entry) => entries.push(entry),
                Err(e) => return (0, Some(e.to_string())),
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
        match failed {
            Some((i, why)) => (i, Some(why)),
            None => (chunk.len(), None),
        }
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
