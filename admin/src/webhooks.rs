//! `contacts-admin webhook`: a channel's change-event subscriptions. The secret is shown
//! once, at `add`, and kept in the table only sealed with WEBHOOK_SEALING_KEY.

use clap::Subcommand;
use contacts_shared::webhooks::seal::SealingKey;
use contacts_shared::webhooks::signature::Secret;
use contacts_shared::webhooks::subscription::{self, Subscription, ID_PREFIX};
use contacts_shared::{clock, random, DynamoStore};
use serde_json::{json, Value};

use crate::{failed, Outcome};

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Subscribes a URL to a channel's change events; prints its id and its signing
    /// secret (whsec_..., shown this once). Needs WEBHOOK_SEALING_KEY.
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

pub async fn run(store: &DynamoStore, command: WebhookCommand) -> Outcome {
    match command {
        WebhookCommand::Add {
            channel,
            url,
            events,
            fields,
        } => add(store, channel, &url, events.as_deref(), fields.as_deref()).await,
        WebhookCommand::List { channel } => {
            store.existing_channel(&channel).await.map_err(failed)?;
            let found = store.webhooks(&channel).await.map_err(failed)?;
            Ok(Some(Value::Array(found.iter().map(described).collect())))
        }
        WebhookCommand::Remove { webhook } => match store.remove_webhook(&webhook).await {
            Ok(true) => Ok(None),
            Ok(false) => Err(format!("no webhook '{webhook}'")),
            Err(e) => Err(failed(e)),
        },
    }
}

async fn add(
    store: &DynamoStore,
    channel: String,
    url: &str,
    events: Option<&str>,
    fields: Option<&str>,
) -> Outcome {
    let key = SealingKey::from_env()?;
    let url = subscription::parse_url(url)?;
    let events = subscription::parse_events(events)?;
    let fields = subscription::parse_fields(fields);
    let defined = store.fields(&channel).await.map_err(failed)?;
    if let Some(unknown) = fields.iter().find(|name| !defined.contains(name)) {
        return Err(format!(
            "channel '{channel}' has no field '{unknown}' (see field list)"
        ));
    }
    let id = format!(
        "{ID_PREFIX}{}",
        random::base32_id().map_err(|e| e.to_string())?
    );
    let secret = Secret::generate().map_err(|e| e.to_string())?;
    let sealed_secret = key.seal(&secret, &channel, &id)?;
    let new = Subscription {
        id,
        channel,
        url,
        events,
        fields,
        sealed_secret,
        created_at: clock::now(),
    };
    store.add_webhook(&new).await.map_err(failed)?;
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
