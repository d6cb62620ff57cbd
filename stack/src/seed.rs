//! The demo channel: what `make dev` offers to try, and what every file in `events/` acts
//! on (the tests and the bench invoke them against it).

use std::collections::BTreeSet;

use contacts_shared::domain::channel::ChannelRecord;
use contacts_shared::domain::field_defs::{FieldDef, FieldType};
use contacts_shared::domain::field_values::InputValue;
use contacts_shared::domain::field_writes::{resolve_writes, RawFieldWrite};
use contacts_shared::store::{ContactStore, NewContact, StoreError};
use contacts_shared::{clock, random, ChannelType, DynamoStore};

/// The channel the events in `events/` act for.
pub const DEMO_CHANNEL: &str = "demo";
/// The contact of the original documentation, which the events read, update and tag.
pub const DEMO_CONTACT: &str = "1776025372480910";
/// Its first name: what the find event looks for.
pub const DEMO_FIRST_NAME: &str = "Muhammad Mahin";
/// Its creation time in the original documentation.
pub const DEMO_CREATED_AT: i64 = 1_575_618_542;

/// The custom fields of the demo channel.
pub fn demo_fields() -> Vec<(&'static str, FieldDef)> {
    let tiers = ["Gold", "Silver", "Bronze"].map(String::from).to_vec();
    vec![
        ("customerid", FieldDef::new(FieldType::Number)),
        ("vip", FieldDef::new(FieldType::Boolean)),
        (
            "tier",
            FieldDef::checked(FieldType::List, tiers).expect("declared values"),
        ),
    ]
}

/// Makes the demo channel `channel` on the store's table (if it is not there) with its
/// custom fields and the documentation's contact; returns a new token for it.
pub async fn demo(store: &DynamoStore, channel: &str) -> Result<String, StoreError> {
    if store.channel(channel).await?.is_none() {
        let api_key = random::base32_id().map_err(|e| StoreError::Failed(e.to_string()))?;
        store
            .create_channel(&ChannelRecord {
                id: channel.to_string(),
                name: "Demo channel".to_string(),
                kind: ChannelType::Facebook,
                api_key: format!("key{api_key}"),
                api_key_id: None,
                created_at: clock::now(),
                tokens: 0,
            })
            .await?;
        for (name, def) in demo_fields() {
            store.define_field(channel, name, &def).await?;
        }
        insert_demo_contact(store, channel).await?;
    }
    store.issue_token(channel).await
}

async fn insert_demo_contact(store: &DynamoStore, channel: &str) -> Result<(), StoreError> {
    let fields = store.field_set(channel).await?;
    let raw: Vec<RawFieldWrite> = [
        ("firstName", DEMO_FIRST_NAME),
        ("lastName", "Dar"),
        ("phone", "123123"),
        ("customerid", "1"),
    ]
    .into_iter()
    .map(|(name, value)| RawFieldWrite {
        name: name.to_string(),
        value: InputValue::Text(value.to_string()),
    })
    .collect();
    let writes =
        resolve_writes(&fields, &raw).map_err(|e| StoreError::Failed(e.message().to_string()))?;
    let tags = BTreeSet::from(["Blog Updates".to_string()]);
    let contact = NewContact {
        id: DEMO_CONTACT,
        created_at: DEMO_CREATED_AT,
        writes: &writes,
        tags: &tags,
    };
    match store.insert_contact(channel, &contact).await? {
        true => Ok(()),
        false => Err(StoreError::Rejected(format!(
            "contact {DEMO_CONTACT} already exists in channel {channel}"
        ))),
    }
}
