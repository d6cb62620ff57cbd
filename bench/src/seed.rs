//! What the events in `events/` need to succeed: channel `demo` with its custom field
//! `customerid`, the contact of the original documentation, and a live token (which only
//! the authorizer checks), as tests/tests/api/events.rs seeds them.

use std::collections::BTreeSet;

use contacts_shared::fields::{FieldDef, FieldType};
use contacts_shared::input::{resolve_writes, RawFieldWrite};
use contacts_shared::store::{ChannelRecord, ContactStore, NewContact};
use contacts_shared::values::InputValue;
use contacts_shared::{clock, random, ChannelType, DynamoStore};

pub const CHANNEL: &str = "demo";
pub const CONTACT: &str = "1776025372480910";
/// The seeded contact's first name: what the find event looks for.
const MATCHING_NAME: &str = "Muhammad Mahin";

/// Creates `table` on `endpoint` with the demo channel and contact; the channel's token.
pub async fn table(endpoint: &str, table: &str) -> Result<String, String> {
    let fail = |what: &str, err: &dyn std::fmt::Display| format!("seeding {table}: {what}: {err}");
    let store = DynamoStore::connect(Some(endpoint), table).await;
    store
        .create_table()
        .await
        .map_err(|e| fail("create table", &e))?;
    let api_key = random::base32_id().map_err(|e| fail("random", &e))?;
    let channel = ChannelRecord {
        id: CHANNEL.to_string(),
        name: "bench".to_string(),
        kind: ChannelType::Facebook,
        api_key: format!("key{api_key}"),
        api_key_id: None,
        created_at: clock::now(),
        tokens: 0,
    };
    store
        .create_channel(&channel)
        .await
        .map_err(|e| fail("create channel", &e))?;
    let token = store
        .issue_token(CHANNEL)
        .await
        .map_err(|e| fail("issue token", &e))?;
    store
        .define_field(CHANNEL, "customerid", &FieldDef::new(FieldType::Number))
        .await
        .map_err(|e| fail("define field", &e))?;

    let fields = store
        .fields(CHANNEL)
        .await
        .map_err(|e| fail("read fields", &e))?;
    let raw: Vec<RawFieldWrite> = [
        ("firstName", MATCHING_NAME),
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
    let writes = resolve_writes(&fields, &raw).map_err(|e| fail("contact fields", &e))?;
    let tags = BTreeSet::from(["Blog Updates".to_string()]);
    let contact = NewContact {
        id: CONTACT,
        created_at: 1_575_618_542,
        writes: &writes,
        tags: &tags,
    };
    match store.insert_contact(CHANNEL, &contact).await {
        Ok(true) => Ok(token),
        Ok(false) => Err(fail("insert contact", &"the id is taken")),
        Err(e) => Err(fail("insert contact", &e)),
    }
}

/// Fills the channel of `table` (seeded by [`table`]) up to `total` contacts, `matching` of
/// which (the seeded one included) share the find event's first name; every other one
/// has a first name of its own, so the field's index holds `total` entries.
pub async fn crowd(
    endpoint: &str,
    table: &str,
    total: usize,
    matching: usize,
) -> Result<(), String> {
    use futures::stream::{self, StreamExt, TryStreamExt};

    let store = DynamoStore::connect(Some(endpoint), table).await;
    let fields = store
        .fields(CHANNEL)
        .await
        .map_err(|e| format!("seeding {table}: read fields: {e}"))?;
    let tags = BTreeSet::new();
    // Concurrent, because DynamoDB Local takes a few hundred microseconds per transaction.
    stream::iter(1..total)
        .map(|i| {
            let (store, fields, tags) = (&store, &fields, &tags);
            async move {
                let name = if i < matching {
                    MATCHING_NAME.to_string()
                } else {
                    format!("Contact {i}")
                };
                let raw = [RawFieldWrite {
                    name: "firstName".to_string(),
                    value: InputValue::Text(name),
                }];
                let writes = resolve_writes(fields, &raw).map_err(|e| e.to_string())?;
                let id = format!("crowd-{i:07}");
                let contact = NewContact {
                    id: &id,
                    created_at: 1_575_618_542 + i64::try_from(i).unwrap_or(0),
                    writes: &writes,
                    tags,
                };
                match store.insert_contact(CHANNEL, &contact).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(format!("{id} is taken")),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await
        .map_err(|e| format!("seeding {table}: {e}"))
}
