//! Webhook delivery latency through the local stack: from the API's 200 for a tag added
//! to the demo contact to the signed POST of its `contact.tags_changed` at a receiver on
//! loopback. The path is the one deployed: DynamoDB Local's stream, read by the relay (as
//! Lambda's event source mapping polls it, four times a second per shard), the release
//! `webhook-dispatch`, the delivery queue (moto's SQS, long-polled), the release
//! `webhook-deliver`. One change at a time, each awaited before the next.

use std::time::{Duration, Instant};

use anyhow::bail;
use contacts_shared::demo::{DEMO_CHANNEL, DEMO_CONTACT};
use contacts_shared::webhooks::events::Kind;
use contacts_shared::webhooks::seal::SealingKey;
use contacts_shared::webhooks::signature::Secret;
use contacts_shared::webhooks::subscription::Subscription;
use contacts_shared::DynamoStore;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Request;
use local_stack::receiver::Receiver;
use serde_json::json;

use crate::stack::LocalStack;

/// Longest a delivery may take before the bench calls it lost.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// `warmup` untimed deliveries, then `count` timed ones.
pub async fn delivery_latencies(
    stack: &LocalStack,
    store: &DynamoStore,
    token: &str,
    warmup: usize,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    let receiver = Receiver::start()?;
    let key = SealingKey::new(stack.sealing_key()).map_err(anyhow::Error::msg)?;
    let id = format!("wh_bench{}", contacts_shared::clock::now());
    let secret = Secret::generate()?;
    let subscription = Subscription {
        sealed_secret: key
            .seal(&secret, DEMO_CHANNEL, &id)
            .map_err(anyhow::Error::msg)?,
        id,
        channel: DEMO_CHANNEL.to_string(),
        url: receiver.url(),
        events: [Kind::TagsChanged].into(),
        fields: Default::default(),
        created_at: contacts_shared::clock::now(),
    };
    store.add_webhook(&subscription).await?;
    let mut latencies = Vec::with_capacity(count);
    for n in 0..warmup + count {
        let tag = format!("bench-{}-{n}", subscription.id);
        let request = Request::post(format!("/api/v1/contact/{DEMO_CONTACT}/tags"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(json!({ "tags": [tag] }).to_string())))?;
        let (status, body) = stack.call(request).await?;
        if status != 200 {
            bail!("adding a tag: {status} {}", String::from_utf8_lossy(&body));
        }
        let answered = Instant::now();
        // The receiver notes the arrival on its own thread; this only looks for it.
        let delivery = loop {
            if let Some(found) = receiver
                .received()
                .into_iter()
                .find(|r| r.body.contains(&tag))
            {
                break found;
            }
            if answered.elapsed() > DELIVERY_TIMEOUT {
                bail!("the event of tag {tag} never arrived");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        if n >= warmup {
            latencies.push(delivery.at.saturating_duration_since(answered));
        }
    }
    Ok(latencies)
}
