//! What the events in `events/` need to succeed: channel `demo` with its custom field
//! `customerid`, the contact of the original documentation, and a live token (which only
//! the authorizer checks), as tests/tests/api/events.rs seeds them.

use std::collections::BTreeSet;
use std::path::Path;

use contacts_shared::fields::{FieldDef, FieldType};
use contacts_shared::input::{resolve_writes, RawFieldWrite};
use contacts_shared::store::{ChannelRecord, ContactStore, NewContact};
use contacts_shared::values::InputValue;
use contacts_shared::{clock, random, ChannelType, DynamoStore};
use hyper::body::Bytes;

const CHANNEL: &str = "demo";
const CONTACT: &str = "1776025372480910";
/// The token the event files carry in place of a real one.
const TOKEN_PLACEHOLDER: &str = "ct_replace-with-a-channel-token";

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
        ("firstName", "Muhammad Mahin"),
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

/// `events/{function}.json` with the live token in place of the placeholder.
pub fn event(root: &Path, function: &str, token: &str) -> Result<Bytes, String> {
    let path = root.join("events").join(format!("{function}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Bytes::from(text.replace(TOKEN_PLACEHOLDER, token)))
}
