//! The tables the bench measures: each holds the demo channel that `make dev` makes and
//! the events in `events/` act for (`local_stack::seed`), and, for the scaling table, a
//! crowd of contacts around it.

use std::collections::BTreeSet;

use contacts_shared::domain::field_values::InputValue;
use contacts_shared::domain::field_writes::{resolve_writes, RawFieldWrite};
use contacts_shared::store::{ContactStore, NewContact};
use contacts_shared::DynamoStore;
use local_stack::seed::{DEMO_CHANNEL as CHANNEL, DEMO_FIRST_NAME as MATCHING_NAME};

pub use local_stack::seed::DEMO_CHANNEL;

/// Creates `table` on `endpoint` with the demo channel and contact; a token of the channel.
pub async fn table(endpoint: &str, table: &str) -> Result<String, String> {
    let fail = |what: &str, err: &dyn std::fmt::Display| format!("seeding {table}: {what}: {err}");
    let store = DynamoStore::connect(Some(endpoint), table).await;
    store
        .create_table()
        .await
        .map_err(|e| fail("create table", &e))?;
    local_stack::seed::demo(&store, CHANNEL)
        .await
        .map_err(|e| fail("demo channel", &e))
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
                    created_micros: 0,
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
