//! The tables the bench measures: each holds the demo channel that `make dev` makes and
//! the events in `events/` act for (`local_stack::seed`), and, for the scaling table, a
//! crowd of contacts around it.

use std::collections::BTreeSet;

use anyhow::{bail, Context};
use contacts_shared::demo;
use contacts_shared::domain::field_values::InputValue;
use contacts_shared::domain::field_writes::{resolve_writes, FieldWrite, RawFieldWrite};
use contacts_shared::store::dynamo::{Inserted, TableStream};
use contacts_shared::store::NewContact;
use contacts_shared::DynamoStore;
use local_stack::seed::{DEMO_CHANNEL as CHANNEL, DEMO_FIRST_NAME as MATCHING_NAME};

pub use local_stack::seed::DEMO_CHANNEL;

/// Creates `table` on `endpoint` with the demo channel and contact; a token of the channel.
/// With its stream only where webhooks are measured (see `TableStream`).
pub async fn table(endpoint: &str, table: &str, stream: TableStream) -> anyhow::Result<String> {
    let store = DynamoStore::connect(Some(endpoint), table).await;
    store
        .create_table_with(stream)
        .await
        .with_context(|| format!("seeding {table}: create table"))?;
    local_stack::seed::demo(&store, CHANNEL)
        .await
        .with_context(|| format!("seeding {table}: demo channel"))
}

/// Fills the channel of `table` (seeded by [`table`]) up to `total` contacts, all with
/// `wide` set, `matching` of which (the seeded one included) share the find event's first
/// name; every other one has a first name of its own, so that field's index holds `total`
/// entries. Written as `contacts-admin contact import` writes: many to a transaction.
pub async fn crowd(
    endpoint: &str,
    table: &str,
    total: usize,
    matching: usize,
    wide: (&str, &str),
) -> anyhow::Result<()> {
    let fail = || format!("seeding {table}");
    let store = DynamoStore::connect(Some(endpoint), table).await;
    let fields = store.fields(CHANNEL).await.with_context(fail)?;
    let tags = BTreeSet::new();
    let lines: Vec<(String, Vec<FieldWrite>)> = (1..total)
        .map(|i| {
            let name = match i < matching {
                true => MATCHING_NAME.to_string(),
                false => format!("Contact {i}"),
            };
            let raw =
                [("firstName", name), (wide.0, wide.1.to_string())].map(|(n, v)| RawFieldWrite {
                    name: n.to_string(),
                    value: InputValue::Text(v),
                });
            let writes = resolve_writes(&fields, &raw).with_context(fail)?;
            Ok((format!("crowd-{i:07}"), writes))
        })
        .collect::<anyhow::Result<_>>()?;
    for chunk in lines.chunks(2_000) {
        let contacts: Vec<NewContact> = chunk
            .iter()
            .enumerate()
            .map(|(i, (id, writes))| NewContact {
                id,
                created_at: 1_575_618_543,
                created_micros: u32::try_from(i).unwrap_or(0),
                writes,
                tags: &tags,
            })
            .collect();
        insert_all(&store, &contacts).await.with_context(fail)?;
    }
    Ok(())
}

/// The contacts the copies of the delete event delete, `count` of them, in the demo
/// channel of `table` (seeded by [`table`]), many to a transaction.
pub async fn doomed(endpoint: &str, table: &str, count: usize) -> anyhow::Result<()> {
    let fail = || format!("seeding {table}");
    let store = DynamoStore::connect(Some(endpoint), table).await;
    let fields = store.fields(CHANNEL).await.with_context(fail)?;
    let writes = demo::demo_writes(&fields, demo::DOOMED_FIRST_NAME).with_context(fail)?;
    let tags = demo::demo_tags();
    let ids: Vec<String> = (0..count).map(demo::doomed_contact).collect();
    for (chunk_number, chunk) in ids.chunks(2_000).enumerate() {
        let contacts: Vec<NewContact> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| NewContact {
                id,
                created_at: demo::DEMO_CREATED_AT + 1 + chunk_number as i64,
                created_micros: u32::try_from(i).unwrap_or(0),
                writes: &writes,
                tags: &tags,
            })
            .collect();
        insert_all(&store, &contacts).await.with_context(fail)?;
    }
    Ok(())
}

/// Inserts `contacts` into the demo channel, many to a transaction; which one failed.
async fn insert_all(store: &DynamoStore, contacts: &[NewContact<'_>]) -> anyhow::Result<()> {
    for (contact, outcome) in contacts
        .iter()
        .zip(store.insert_many(CHANNEL, contacts).await)
    {
        if outcome != Inserted::Done {
            bail!("{}: {outcome:?}", contact.id);
        }
    }
    Ok(())
}
