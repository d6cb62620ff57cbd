//! The delivery function's work: each queued delivery is signed per Standard Webhooks
//! and POSTed to its subscription's URL, all of a batch side by side, so a slow receiver
//! holds up no other. A receiver that is down or answers non-2xx gets it again later: the
//! message is hidden for the schedule's delay and reported failed, and the queue moves it
//! to its dead letter queue after the last try.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

use super::delivery::Delivery;
use super::keyring::KeyRing;
use super::queue::DeliveryQueue;
use super::retry::RetrySchedule;
use crate::limits::WEBHOOK_DELIVERY_TIMEOUT_SECONDS;
use crate::store::DynamoStore;

pub struct Deliverer {
    pub store: DynamoStore,
    /// The queues it is fed from: a failed delivery is delayed on its own.
    pub queues: Vec<DeliveryQueue>,
    /// The sealing keys, read again when a secret names one not known (a rotation).
    pub keys: KeyRing,
    pub http: reqwest::Client,
    pub schedule: RetrySchedule,
}

/// What became of one delivery.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Delivered, or nothing to deliver (its subscription is gone, or it is unreadable).
    Done,
    /// To be tried again.
    Again(String),
}

impl Deliverer {
    /// The HTTP client of every delivery: bounded, and never following a redirect (a
    /// subscription's URL is the one place its events go).
    pub fn http_client() -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(WEBHOOK_DELIVERY_TIMEOUT_SECONDS))
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("contacts-api-webhooks")
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }

    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let outcomes =
            futures::future::join_all(event.records.iter().map(|m| self.try_one(m))).await;
        let mut response = SqsBatchResponse::default();
        for (message, outcome) in event.records.iter().zip(outcomes) {
            if let Outcome::Again(_) = outcome {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// One delivery, and if it failed, its retry scheduled.
    async fn try_one(&self, message: &SqsMessage) -> Outcome {
        let attempt: u32 = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let outcome = self.deliver(message, attempt).await;
        if let Outcome::Again(why) = &outcome {
            let id = message.message_id.as_deref().unwrap_or_default();
            if RetrySchedule::is_last(attempt) {
                tracing::error!(sqs_message = id, attempt, reason = %why, "delivery failed for the last time: to the dead letter queue");
            } else {
                let delay = self.schedule.delay(attempt);
                tracing::warn!(sqs_message = id, attempt, retry_in_s = delay.as_secs(), reason = %why, "delivery failed");
                let source = message.event_source_arn.as_deref().unwrap_or_default();
                let queue = self.queues.iter().find(|q| q.is(source));
                if let (Some(receipt), Some(queue)) = (&message.receipt_handle, queue) {
                    if let Err(e) = queue.retry_after(receipt, delay).await {
                        // It comes back after the queue's visibility timeout instead.
                        tracing::warn!(sqs_message = id, error = %e, "cannot delay the retry");
                    }
                }
            }
        }
        outcome
    }

    async fn deliver(&self, message: &SqsMessage, attempt: u32) -> Outcome {
        let Some(delivery) = message
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Delivery>(b).ok())
        else {
            tracing::error!(sqs_message = ?message.message_id, "not a delivery: dropped");
            return Outcome::Done;
        };
        let subscription = match self
            .store
            .webhook(&delivery.channel, &delivery.webhook)
            .await
        {
            Ok(Some(subscription)) => subscription,
            // Removed since: nothing more goes to it.
            Ok(None) => return Outcome::Done,
            Err(e) => return Outcome::Again(format!("cannot read the webhook: {e}")),
        };
        let opened = self
            .keys
            .open(
                &subscription.sealed_secret,
                &subscription.channel,
                &subscription.id,
            )
            .await;
        let secret = match opened {
            Ok(secret) => secret,
            Err(e) => return Outcome::Again(e),
        };
        let body = match serde_json::to_vec(&delivery.event) {
            Ok(body) => body,
            Err(e) => return Outcome::Again(format!("cannot encode the event: {e}")),
        };
        let mut request = self
            .http
            .post(&subscription.url)
            .header("content-type", "application/json");
        for (name, value) in secret.headers(delivery.event_id(), crate::clock::now(), &body) {
            request = request.header(name, value);
        }
        let result = request.body(body).send().await;
        let event = delivery.event_id();
        match result {
            Ok(response) if response.status().is_success() => {
                tracing::info!(webhook = %subscription.id, event, sqs_message = message.message_id.as_deref().unwrap_or_default(), attempt, status = response.status().as_u16(), "delivered");
                Outcome::Done
            }
            Ok(response) => Outcome::Again(format!(
                "webhook {} answered {} to event {event}",
                subscription.id,
                response.status()
            )),
            Err(e) => Outcome::Again(format!(
                "webhook {} unreachable for event {event}: {}",
                subscription.id,
                without_url(&e)
            )),
        }
    }
}

/// A send error's reason, without the URL (which may carry a receiver's token).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    kind.to_string()
}
