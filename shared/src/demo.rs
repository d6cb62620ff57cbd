//! The demo channel: what `make dev` offers to try, what every file in `events/` acts on,
//! and what the bench and the handler tests hold in memory. Defined once here, for the
//! local stack's seeding (`local_stack::seed`) and for [`memory_store`].

use std::collections::BTreeSet;

use crate::domain::channel::ChannelType;
use crate::domain::field_defs::{FieldDef, FieldType};
use crate::domain::field_values::InputValue;
use crate::domain::field_writes::{resolve_writes, RawFieldWrite};
use crate::store::{ContactStore, MemoryStore, NewContact, StoreError};

/// The channel the events in `events/` act for.
pub const DEMO_CHANNEL: &str = "demo";
/// Its type, as the events' authorizer context gives it.
pub const DEMO_CHANNEL_TYPE: ChannelType = ChannelType::Facebook;
/// The contact of the original documentation, which the events read, update and tag.
pub const DEMO_CONTACT: &str = "1776025372480910";
/// Its first name: what the find event looks for.
pub const DEMO_FIRST_NAME: &str = "Muhammad Mahin";
/// Its creation time in the original documentation.
pub const DEMO_CREATED_AT: i64 = 1_575_618_542;
/// Its fields, as they would be sent.
pub const DEMO_CONTACT_FIELDS: [(&str, &str); 4] = [
    ("firstName", DEMO_FIRST_NAME),
    ("lastName", "Dar"),
    ("phone", "123123"),
    ("customerid", "1"),
];
/// Its tags.
pub const DEMO_TAGS: [&str; 1] = ["Blog Updates"];

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

/// Inserts the documentation's contact into `channel`, whose fields must be defined.
pub async fn insert_demo_contact<S: ContactStore>(
    store: &S,
    channel: &str,
) -> Result<(), StoreError> {
    let fields = store.field_set(channel).await?;
    let raw: Vec<RawFieldWrite> = DEMO_CONTACT_FIELDS
        .into_iter()
        .map(|(name, value)| RawFieldWrite {
            name: name.to_string(),
            value: InputValue::Text(value.to_string()),
        })
        .collect();
    let writes =
        resolve_writes(&fields, &raw).map_err(|e| StoreError::Failed(e.message().to_string()))?;
    let tags: BTreeSet<String> = DEMO_TAGS.into_iter().map(String::from).collect();
    let contact = NewContact {
        id: DEMO_CONTACT,
        created_at: DEMO_CREATED_AT,
        created_micros: 0,
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

/// A fresh in-memory store holding the demo channel, its fields and its contact.
pub async fn memory_store() -> Result<MemoryStore, StoreError> {
    let store = MemoryStore::new();
    store.add_channel(DEMO_CHANNEL)?;
    for (name, def) in demo_fields() {
        store.define_field(DEMO_CHANNEL, name, def)?;
    }
    insert_demo_contact(&store, DEMO_CHANNEL).await?;
    Ok(store)
}
