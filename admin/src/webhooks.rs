//! `contacts-admin webhook`: a channel's change-event subscriptions. The secret is shown
//! once, at `add`, and kept in the table only sealed with the stack's sealing key.

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use contacts_shared::webhooks::seal::SealingKey;
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
}

pub async fn run(store: &DynamoStore, target: &Target, command: WebhookCommand) -> Outcome {
    match command {
        WebhookCommand::Add {
            channel,
            url,
            events,
            fields,
        } => {
            let key = SealingKey::new(target.sealing_key()?).map_err(anyhow::Error::msg)?;
            add(
                store,
                &key,
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
    }
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
