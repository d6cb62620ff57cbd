//! A queue → its function, as Lambda's SQS event source mapping does it, with the
//! mapping's settings from the template: one poller while the queue is quiet, more side by
//! side while its receives come back full (Lambda scales a queue's consumers out with its
//! backlog, up to the mapping's `MaximumConcurrency`), each receiving up to `BatchSize`
//! messages with long polling, invoking the function with them, and deleting those not
//! reported failed. A failed invocation deletes nothing: the
//! messages come back once hidden long enough, and after `WEBHOOK_MAX_ATTEMPTS` receives
//! the queue moves them to its dead-letter queue.

mod event;

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
};
use aws_sdk_sqs::Client;
use lambda_invoke::Invoker;

use crate::batch;
use crate::errors::error_text;
use crate::mappings::Mapping;

/// Pollers side by side, at most (the mapping's concurrency when lower): this machine's
/// functions run under one `cargo lambda watch`.
const POLLERS: usize = 4;
/// ReceiveMessage waits this long for a message (long polling).
const WAIT_SECONDS: i32 = 1;

pub struct QueueMapping;

struct Poller {
    /// Pollers running, and the most there may be.
    running: std::sync::atomic::AtomicUsize,
    most: usize,
    client: Client,
    url: String,
    arn: String,
    region: String,
    invoker: Arc<Invoker>,
    mapping: Mapping,
}

impl QueueMapping {
    /// Checks the queue is there and starts polling it.
    pub async fn start(
        config: &SdkConfig,
        url: &str,
        invoker: Arc<Invoker>,
        mapping: Mapping,
    ) -> anyhow::Result<Self> {
        let client = Client::new(config);
        let arn = client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .with_context(|| format!("cannot read queue {url}"))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .with_context(|| format!("queue {url} has no ARN"))?;
        let region = config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string());
        let poller = Arc::new(Poller {
            client,
            url: url.to_string(),
            arn,
            region,
            running: std::sync::atomic::AtomicUsize::new(1),
            most: mapping.max_concurrency.unwrap_or(POLLERS).clamp(1, POLLERS),
            invoker,
            mapping,
        });
        tokio::spawn(poller.poll());
        Ok(QueueMapping)
    }
}

impl Poller {
    /// One more poller (boxed: a poller starts others, so its future names itself).
    fn another(self: Arc<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(self.poll())
    }

    async fn poll(self: Arc<Self>) {
        let mut failures = 0;
        loop {
            let received = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(self.mapping.batch_size.clamp(1, 10) as i32)
                .wait_time_seconds(WAIT_SECONDS)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            match received {
                Ok(out) => {
                    failures = 0;
                    let messages = out.messages();
                    if messages.len() >= self.mapping.batch_size.clamp(1, 10) {
                        // A backlog: another poller, up to the most.
                        let more = self
                            .running
                            .fetch_update(SeqCst, SeqCst, |n| (n < self.most).then_some(n + 1));
                        if more.is_ok() {
                            tokio::spawn(self.clone().another());
                        }
                    } else if messages.is_empty()
                        && self
                            .running
                            .fetch_update(SeqCst, SeqCst, |n| (n > 1).then_some(n - 1))
                            .is_ok()
                    {
                        // Quiet again: the extra poller goes.
                        return;
                    }
                    if !messages.is_empty() {
                        self.consume(messages).await;
                    }
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("local-relay: receiving from the queue: {}", error_text(&e));
                    tokio::time::sleep(batch::retry_pause(failures)).await;
                }
            }
        }
    }

    /// Invokes the function with `messages`, and deletes those it processed.
    async fn consume(&self, messages: &[Message]) {
        let ids: Vec<&str> = messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default())
            .collect();
        let started = Instant::now();
        let event = event::queue_event(messages, &self.arn, &self.region);
        let function = self.mapping.function.as_str();
        let outcome = batch::invoke(&self.invoker, function, event, &ids).await;
        let took = started.elapsed().as_millis();
        let failed = match outcome {
            Ok(failed) => failed,
            Err(why) => {
                // Deletes nothing: they come back after the visibility timeout.
                eprintln!(
                    "local-relay: {function}: {} messages: failed: {why:#} ({took} ms)",
                    messages.len()
                );
                return;
            }
        };
        let failed_ids: Vec<&str> = failed.iter().map(|&i| ids[i]).collect();
        eprintln!(
            "local-relay: {function}: {} messages of {}: {} failed {failed_ids:?} ({took} ms)",
            messages.len(),
            self.url,
            failed.len()
        );
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !failed.contains(i))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle().map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        if done.is_empty() {
            return;
        }
        let deleted = self
            .client
            .delete_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(done))
            .send()
            .await;
        match deleted {
            Ok(out) if out.failed().is_empty() => {}
            // Those not deleted are received again: delivered at least once.
            Ok(out) => eprintln!(
                "local-relay: {} processed messages not deleted: {:?}",
                out.failed().len(),
                out.failed().first().and_then(|f| f.message())
            ),
            Err(e) => eprintln!("local-relay: deleting messages: {}", error_text(&e)),
        }
    }
}
