//! The demo channel: what `make dev` offers to try, what every file in `events/` acts on,
//! and what the bench and the handler tests hold in memory. Defined once here, for the
//! local stack's seeding (`local_stack::seed`) and for [`memory_store`].

use std::collections::BTreeSet;

use crate::domain::channel::ChannelType;
use crate::domain::field_defs::{FieldDef, FieldSet, FieldType, Uniqueness};
use crate::domain::field_values::InputValue;
use crate::domain::field_writes::{resolve_writes, FieldWrite, RawFieldWrite};
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

/// The demo channel's unique field.
pub const DEMO_UNIQUE_FIELD: &str = "externalId";

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
        // The key an outside system knows its contacts by: what the upsert event upserts.
        (
            DEMO_UNIQUE_FIELD,
            FieldDef {
                unique: Some(Uniqueness::On),
                ..FieldDef::new(FieldType::Text)
            },
        ),
    ]
}

/// The first name of the contacts the copies of the delete event delete: not the demo
/// contact's, so that the find event keeps finding that one alone.
pub const DOOMED_FIRST_NAME: &str = "Doomed";

/// The contact the `n`th copy of the delete event deletes (the bench's, which deletes a
/// contact per call): the demo contact's fields, but [`DOOMED_FIRST_NAME`].
pub fn doomed_contact(n: usize) -> String {
    format!("doomed{n:06}")
}

/// The demo contact's fields with this first name, checked against the channel's fields.
pub fn demo_writes(fields: &FieldSet, first_name: &str) -> Result<Vec<FieldWrite>, StoreError> {
    let raw: Vec<RawFieldWrite> = DEMO_CONTACT_FIELDS
        .into_iter()
        .map(|(name, value)| RawFieldWrite {
            name: name.to_string(),
            value: InputValue::Text(match name {
                "firstName" => first_name.to_string(),
                _ => value.to_string(),
            }),
        })
        .collect();
    resolve_writes(fields, &raw).map_err(|e| StoreError::Failed(e.message().to_string()))
}

pub fn demo_tags() -> BTreeSet<String> {
    DEMO_TAGS.into_iter().map(String::from).collect()
}

/// Inserts the documentation's contact into `channel`, whose fields must be defined.
pub async fn insert_demo_contact<S: ContactStore>(
    store: &S,
    channel: &str,
) -> Result<(), StoreError> {
    let writes = demo_writes(&store.field_set(channel).await?, DEMO_FIRST_NAME)?;
    let contact = NewContact {
        id: DEMO_CONTACT,
        created_at: DEMO_CREATED_AT,
        created_micros: 0,
        writes: &writes,
        tags: &demo_tags(),
    };
    match store.insert_contact(channel, &contact).await? {
        true => Ok(()),
        false => Err(StoreError::Rejected(format!(
            "contact {DEMO_CONTACT} already exists in channel {channel}"
        ))),
    }
}

/// Inserts the contacts of the first `count` copies of the delete event
/// ([`doomed_contact`]) into `channel`, one at a time (for a store in memory).
pub async fn insert_doomed_contacts<S: ContactStore>(
    store: &S,
    channel: &str,
    count: usize,
) -> Result<(), StoreError> {
    let writes = demo_writes(&store.field_set(channel).await?, DOOMED_FIRST_NAME)?;
    let tags = demo_tags();
    for n in 0..count {
        let id = doomed_contact(n);
        let contact = NewContact {
            id: &id,
            created_at: DEMO_CREATED_AT + 1,
            created_micros: u32::try_from(n).unwrap_or(0),
            writes: &writes,
            tags: &tags,
        };
        store.insert_contact(channel, &contact).await?;
    }
    Ok(())
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
