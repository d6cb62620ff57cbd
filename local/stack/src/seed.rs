//! The demo channel: what `make dev` offers to try, and what every file in `events/` acts
//! on (the tests and the bench invoke them against it). Its data is defined once, in
//! `contacts_shared::demo`, which the bench's in-memory store holds too.

use contacts_shared::domain::channel::ChannelRecord;
use contacts_shared::store::StoreError;
use contacts_shared::{clock, random, DynamoStore};

pub use contacts_shared::demo::{
    demo_fields, DEMO_CHANNEL, DEMO_CHANNEL_TYPE, DEMO_CONTACT, DEMO_CREATED_AT, DEMO_FIRST_NAME,
};

/// Makes the demo channel `channel` on the store's table (if it is not there) with its
/// custom fields and the documentation's contact; returns a new token for it.
pub async fn demo(store: &DynamoStore, channel: &str) -> Result<String, StoreError> {
    if let Some(record) = store.channel(channel).await? {
        // Made by a make dev older than the channel list or workspaces: listed and put in a
        // workspace of its own now (both idempotent).
        store.list_channel(&record).await?;
        store.migrate_channel(channel).await?;
    } else {
        let api_key = random::base32_id().map_err(|e| StoreError::Failed(e.to_string()))?;
        store
            .create_channel(&ChannelRecord {
                id: channel.to_string(),
                name: "Demo channel".to_string(),
                kind: DEMO_CHANNEL_TYPE,
                api_key: format!("key{api_key}"),
                api_key_id: None,
                created_at: clock::now(),
                tokens: 0,
                workspace: None,
            })
            .await?;
        for (name, def) in demo_fields() {
            if def.unique.is_some() {
                store.define_unique_field(channel, name, &def).await?;
            } else {
                store.define_field(channel, name, &def).await?;
            }
        }
        contacts_shared::demo::insert_demo_contact(store, channel).await?;
    }
    store.issue_token(channel).await
}
