//! The handler's own CPU time per call, storage excluded: each endpoint's handler runs in
//! this process on the function's event, from parsing the event to the response, with a
//! store that replays answers read from DynamoDB Local once (so no time goes to the SDK,
//! the network or DynamoDB). The thread's CPU time comes from `/proc/thread-self/schedstat`.

use std::collections::BTreeSet;
use std::time::Duration;

use contacts_shared::api::{handlers, response};
use contacts_shared::domain::field_defs::FieldSet;
use contacts_shared::domain::idempotency::IdempotencyRecord;
use contacts_shared::store::{
    ContactStore, FieldChange, Insert, NewContact, StoreError, TagChange, Versioned,
};
use contacts_shared::{Contact, ContactService, DynamoStore};
use lambda_http::{Body, Request, Response};

use crate::events::Events;
use crate::seed;

/// Calls timed per handler, after as many untimed ones.
const CALLS: u32 = 20_000;

/// The answers of a store, as DynamoDB Local gave them for the seeded channel.
struct Replay {
    fields: FieldSet,
    contact: Contact,
}

impl ContactStore for Replay {
    async fn field_set(&self, _: &str) -> Result<FieldSet, StoreError> {
        Ok(self.fields.clone())
    }
    async fn insert_contact_once(
        &self,
        _: &str,
        _: &NewContact<'_>,
        _: &IdempotencyRecord,
    ) -> Result<Insert, StoreError> {
        Ok(Insert::Done)
    }
    async fn idempotency_record(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(None)
    }
    async fn insert_contact(&self, _: &str, _: &NewContact<'_>) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn get_contact(&self, _: &str, _: &str) -> Result<Option<Contact>, StoreError> {
        Ok(Some(self.contact.clone()))
    }
    async fn get_versioned(&self, _: &str, _: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(Some(Versioned {
            contact: self.contact.clone(),
            version: 1,
        }))
    }
    async fn update_if_version(
        &self,
        _: &str,
        _: &Versioned,
        _: &[FieldChange<'_>],
    ) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn change_tags(
        &self,
        _: &str,
        _: &str,
        _: TagChange,
        _: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn find(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: u64,
        _: u32,
    ) -> Result<(u64, Vec<Contact>), StoreError> {
        Ok((1, vec![self.contact.clone()]))
    }
}

/// A service whose store replays what `table` (seeded by [`seed::table`]) holds.
pub async fn service(
    endpoint: &str,
    table: &str,
) -> Result<ContactService<impl ContactStore>, String> {
    let store = DynamoStore::connect(Some(endpoint), table).await;
    let fail = |e: StoreError| format!("reading {table}: {e}");
    let fields = store.fields(seed::DEMO_CHANNEL).await.map_err(fail)?;
    let contact = store
        .get_contact(seed::DEMO_CHANNEL, seed::DEMO_CONTACT)
        .await
        .map_err(fail)?
        .ok_or_else(|| format!("{table} has no contact {}", seed::DEMO_CONTACT))?;
    Ok(ContactService::new(Replay { fields, contact }))
}

/// CPU time per call of `function`'s handler on its events; `None` for the authorizer,
/// whose work is all storage but for a hash.
pub async fn cpu_per_call<S: ContactStore>(
    app: &ContactService<S>,
    function: &str,
    events: &mut Events,
    expect: u16,
) -> Result<Option<Duration>, String> {
    if function == "authorizer" {
        return Ok(None);
    }
    let run = async |event: &[u8]| -> Result<(), String> {
        let text = std::str::from_utf8(event).map_err(|e| e.to_string())?;
        let request = lambda_http::request::from_str(text).map_err(|e| e.to_string())?;
        let response = handle(app, function, &request).await;
        if response.status().as_u16() == expect {
            Ok(())
        } else {
            Err(format!(
                "{function}: handler answered {}",
                response.status()
            ))
        }
    };
    for _ in 0..CALLS {
        run(events.next()).await?;
    }
    let before = thread_cpu()?;
    for _ in 0..CALLS {
        run(events.next()).await?;
    }
    Ok(Some(thread_cpu()?.saturating_sub(before) / CALLS))
}

async fn handle<S: ContactStore>(
    app: &ContactService<S>,
    function: &str,
    request: &Request,
) -> Response<Body> {
    match handlers::handle(function, app, request).await {
        Some(outcome) => response::respond(outcome),
        None => response::error_response(&handlers::refusal(request)),
    }
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`: nanoseconds on
/// a CPU first).
fn thread_cpu() -> Result<Duration, String> {
    let path = "/proc/thread-self/schedstat";
    let stat = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("{path}: no run time"))
}
