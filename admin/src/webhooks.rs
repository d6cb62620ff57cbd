//! `contacts-admin webhook`: a channel's change-event subscriptions. The secret is shown
//! once, at `add`, and kept in the table only sealed with the stack's sealing key, which
//! `rotate-key` replaces.

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use contacts_shared::dev_stack;
use contacts_shared::env;
use contacts_shared::webhooks::dispatch::Dispatcher;
use contacts_shared::webhooks::queue::DeliveryQueue;
use contacts_shared::webhooks::replay;
use contacts_shared::webhooks::seal::{key_id, SealingKey, SealingKeys};
use contacts_shared::webhooks::signature::Secret;
use contacts_shared::webhooks::subscription::{self, Subscription, ID_PREFIX};
use contacts_shared::{clock, random, DynamoStore};
use serde_json::{json, Value};

use crate::target::Target;
use crate::Outcome;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Subscribes a URL to a channel's change events; prints its id and its signing
    /// secret (whsec_..., shown this once). Needs the stack's sealing key:
    /// WEBHOOK_SEALING_KEY, or the local stack's own.
    Add {
        #[arg(long)]
        channel: String,
        /// Where events are POSTed (http:// or https://).
        #[arg(long)]
        url: String,
        /// Comma-separated: contact.created, contact.updated, contact.tags_changed,
        /// contact.deleted (default: all).
        #[arg(long)]
        events: Option<String>,
        /// Comma-separated field names: contact.updated only when one of them changes.
        #[arg(long)]
        fields: Option<String>,
    },
    /// A channel's webhooks (never their secrets).
    List {
        #[arg(long)]
        channel: String,
    },
    /// Removes a webhook: nothing more is delivered to it, even events already queued.
    Remove {
        #[arg(long)]
        webhook: String,
    },
    /// Seals every webhook secret with a new key, while deliveries go on: the new key
    /// becomes the secret's current version, the old one stays its previous version (the
    /// delivery function opens with both) until every secret is re-sealed. Run again after
    /// an interruption, it finishes the re-sealing before it makes any newer key.
    RotateKey,
    /// Turns the stream batches the stream function failed on (those in the stream failure
    /// queue) into events again, read back from the stream while it keeps them (24 hours):
    /// the same events with the same ids, so receivers drop what they got already. Takes
    /// from the queue only what it replayed; a batch the stream no longer holds is said and
    /// left there.
    Replay {
        /// From the stream failure queue (the stack's StreamFailureQueueUrl).
        #[arg(long)]
        from_failures: bool,
    },
}

pub async fn run(store: &DynamoStore, target: &Target, command: WebhookCommand) -> Outcome {
    match command {
        WebhookCommand::Add {
            channel,
            url,
            events,
            fields,
        } => {
            let keys = target
                .key_source()
                .await?
                .keys()
                .await
                .map_err(anyhow::Error::msg)?;
            add(
                store,
                keys.current(),
                channel,
                &url,
                events.as_deref(),
                fields.as_deref(),
            )
            .await
        }
        WebhookCommand::List { channel } => {
            store.existing_channel(&channel).await?;
            let found = store.webhooks(&channel).await?;
            Ok(Some(Value::Array(found.iter().map(described).collect())))
        }
        WebhookCommand::Remove { webhook } => match store.remove_webhook(&webhook).await? {
            true => Ok(None),
            false => bail!("no webhook '{webhook}'"),
        },
        WebhookCommand::RotateKey => rotate(store, target).await,
        WebhookCommand::Replay { from_failures } => {
            if !from_failures {
                bail!("say what to replay: --from-failures (the stream failure queue)");
            }
            replay(store, target).await
        }
    }
}

/// Every failed batch of the stream failure queue, replayed (see `Replay`).
async fn replay(store: &DynamoStore, target: &Target) -> Outcome {
    let (failures_url, sqs) = target.queue("StreamFailureQueue", env::STREAM_FAILURE_QUEUE_URL)?;
    let (queue_url, _) = target.queue("WebhookQueue", env::WEBHOOK_QUEUE_URL)?;
    let (bulk_url, _) = target.queue("WebhookBulkQueue", env::WEBHOOK_BULK_QUEUE_URL)?;
    let dispatcher = Dispatcher {
        store: store.clone(),
        queue: DeliveryQueue::connect(queue_url, sqs.as_deref()).await,
        bulk: DeliveryQueue::connect(bulk_url, sqs.as_deref()).await,
    };
    let sqs_client =
        aws_sdk_sqs::Client::new(&contacts_shared::aws::sdk_config(sqs.as_deref()).await);
    let streams = replay::stream_client(target.endpoint.as_deref()).await;
    let (mut batches, mut records, mut snapshots, mut kept) = (0, 0, 0, Vec::new());
    // What is left is hidden while this run goes on (else it would be read again), then
    // shown again at once.
    let mut hidden: Vec<String> = Vec::new();
    loop {
        let received = sqs_client
            .receive_message()
            .queue_url(&failures_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            // Long enough to replay them; those left come back after it.
            .visibility_timeout(REPLAY_SECONDS)
            .send()
            .await
            .map_err(|e| anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))
            .context("cannot read the stream failure queue")?;
        let messages = received.messages();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let id = message.message_id().unwrap_or_default().to_string();
            hidden.extend(message.receipt_handle().map(str::to_string));
            let outcome = match replay::FailedBatch::parse(message.body().unwrap_or_default()) {
                Ok(batch) => replay::read(&streams, &batch)
                    .await
                    .map(|changes| (batch, changes)),
                Err(why) => Err(why),
            };
            let changes = match outcome {
                Ok((_, Some(changes))) => changes,
                Ok((batch, None)) => match replay::snapshots(&dispatcher, &batch).await {
                    // Older than the stream keeps: its contacts as they are now.
                    Ok(Some(contacts)) => {
                        delete(&sqs_client, &failures_url, message).await?;
                        hidden.pop();
                        batches += 1;
                        snapshots += contacts;
                        continue;
                    }
                    Ok(None) => {
                        kept.push(json!({"message": id, "shard": batch.shard, "from": batch.start, "to": batch.end,
                            "why": "the stream no longer holds these records, and none of their contacts was marked"}));
                        continue;
                    }
                    Err(why) => {
                        kept.push(json!({"message": id, "why": why}));
                        continue;
                    }
                },
                Err(why) => {
                    kept.push(json!({"message": id, "why": why}));
                    continue;
                }
            };
            if let Some(at) = dispatcher.dispatch(&changes).await {
                kept.push(json!({"message": id, "why": format!("cannot queue its deliveries (from record {at} on)")}));
                continue;
            }
            delete(&sqs_client, &failures_url, message).await?;
            hidden.pop();
            batches += 1;
            records += changes.len();
        }
    }
    for receipt in hidden {
        let shown = sqs_client
            .change_message_visibility()
            .queue_url(&failures_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await;
        if let Err(e) = shown {
            eprintln!(
                "contacts-admin: a batch left stays hidden a while: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            );
        }
    }
    let summary = json!({"replayed_batches": batches, "records": records, "snapshots": snapshots, "left": kept});
    if kept.is_empty() {
        return Ok(Some(summary));
    }
    println!("{summary}");
    bail!(
        "{} failed batch(es) could not be replayed and are left in the queue",
        kept.len()
    )
}

/// Takes a replayed batch's record from the failure queue.
async fn delete(
    client: &aws_sdk_sqs::Client,
    queue: &str,
    message: &aws_sdk_sqs::types::Message,
) -> anyhow::Result<()> {
    client
        .delete_message()
        .queue_url(queue)
        .set_receipt_handle(message.receipt_handle().map(str::to_string))
        .send()
        .await
        .map_err(|e| anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))
        .context("cannot take a replayed batch from the queue")?;
    Ok(())
}

/// How long a failure record being replayed stays hidden from another replay.
const REPLAY_SECONDS: i32 = 300;

/// The webhooks of `channel` whose secret opens with none of the keys (`None`: it has
/// none, or no key is known to try, which is said).
pub async fn unopenable(
    store: &DynamoStore,
    target: &Target,
    channel: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    let webhooks = store.webhooks(channel).await?;
    if webhooks.is_empty() {
        return Ok(None);
    }
    let keys = match target.key_source().await {
        Ok(source) => source.keys().await.map_err(anyhow::Error::msg)?,
        Err(why) => {
            eprintln!("contacts-admin: the webhooks' secrets are not checked: {why:#}");
            return Ok(None);
        }
    };
    Ok(Some(
        webhooks
            .iter()
            .filter(|w| keys.open(&w.sealed_secret, &w.channel, &w.id).is_err())
            .map(|w| w.id.clone())
            .collect(),
    ))
}

/// Re-seals every webhook secret with the current key, after making a new one current if
/// none is left to re-seal from the last rotation.
async fn rotate(store: &DynamoStore, target: &Target) -> Outcome {
    let secret = target.key_secret().await?;
    let mut keys = secret.keys().await.map_err(anyhow::Error::msg)?;
    let mut webhooks = store.all_webhooks().await?;
    let behind = |keys: &SealingKeys, sealed: &str| key_id(sealed) != Some(keys.current().id());
    let unfinished = webhooks.iter().any(|w| {
        behind(&keys, &w.sealed_secret) && keys.open(&w.sealed_secret, &w.channel, &w.id).is_ok()
    });
    if !unfinished {
        let old = keys.current().id().to_string();
        let new = random::base32_id().context("no random key")?
            + &random::base32_id().context("no random key")?;
        secret.put(&new).await.map_err(anyhow::Error::msg)?;
        keys = secret.keys().await.map_err(anyhow::Error::msg)?;
        if let Some(file) = &target.key_file {
            // The local stack's next start makes its secret from this file.
            let previous = std::fs::read_to_string(file).unwrap_or_default();
            let previous = previous
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            dev_stack::keep_keys(file, &[new, previous], false)?;
        }
        eprintln!(
            "a new key ({}) seals from now on; the old one ({old}) still opens",
            keys.current().id()
        );
        webhooks = store.all_webhooks().await?;
    } else {
        eprintln!(
            "finishing the last rotation, to key {}",
            keys.current().id()
        );
    }
    let (mut resealed, mut unopenable) = (0, Vec::new());
    for webhook in webhooks.iter().filter(|w| behind(&keys, &w.sealed_secret)) {
        match keys.open(&webhook.sealed_secret, &webhook.channel, &webhook.id) {
            Ok(plain) => {
                let sealed = keys
                    .current()
                    .seal(&plain, &webhook.channel, &webhook.id)
                    .map_err(anyhow::Error::msg)?;
                // Removed meanwhile, or re-sealed by another run: left as it is.
                if store.reseal_webhook(webhook, &sealed).await? {
                    resealed += 1;
                }
            }
            Err(_) => unopenable.push(webhook.id.clone()),
        }
    }
    let summary = json!({
        "key": keys.current().id(),
        "resealed": resealed,
        "webhooks": webhooks.len(),
        "unopenable": unopenable,
    });
    if unopenable.is_empty() {
        return Ok(Some(summary));
    }
    println!("{summary}");
    bail!(
        "{} webhook secret(s) open with neither the current nor the previous key: their \
         subscriptions must be removed and added again",
        unopenable.len()
    )
}

async fn add(
    store: &DynamoStore,
    key: &SealingKey,
    channel: String,
    url: &str,
    events: Option<&str>,
    fields: Option<&str>,
) -> Outcome {
    let url = subscription::parse_url(url).map_err(anyhow::Error::msg)?;
    let events = subscription::parse_events(events).map_err(anyhow::Error::msg)?;
    let fields = subscription::parse_fields(fields);
    let defined = store.fields(&channel).await?;
    if let Some(unknown) = fields.iter().find(|name| !defined.contains(name)) {
        bail!("channel '{channel}' has no field '{unknown}' (see field list)");
    }
    let id = format!(
        "{ID_PREFIX}{}",
        random::base32_id().context("no random id")?
    );
    let secret = Secret::generate().map_err(|e| anyhow!("no random secret: {e}"))?;
    let sealed_secret = key
        .seal(&secret, &channel, &id)
        .map_err(anyhow::Error::msg)?;
    let new = Subscription {
        id,
        channel,
        url,
        events,
        fields,
        sealed_secret,
        created_at: clock::now(),
    };
    store.add_webhook(&new).await?;
    Ok(Some(
        json!({"webhook_id": new.id, "secret": secret.to_text()}),
    ))
}

fn described(found: &Subscription) -> Value {
    let mut out = json!({
        "webhook_id": found.id,
        "url": found.url,
        "events": found.events.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "created_at": found.created_at,
    });
    if !found.fields.is_empty() {
        out["fields"] = json!(found.fields);
    }
    out
}
