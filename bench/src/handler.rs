//! The handler's own CPU time per call, storage excluded: each endpoint's handler runs in
//! this process on the function's event, from parsing the event to the response, with an
//! in-memory store holding the demo channel (so no time goes to the SDK, the network or
//! DynamoDB). The thread's CPU time comes from `/proc/thread-self/schedstat`.

use std::time::Duration;

use anyhow::{bail, Context};
use contacts_shared::api::{handlers, response};
use contacts_shared::demo;
use contacts_shared::store::{ContactStore, MemoryStore};
use contacts_shared::ContactService;
use lambda_http::{Body, Request, Response};

use crate::events::{consumes_contacts, Events, DELETES};

/// Calls timed per handler, after as many untimed ones.
pub const CALLS: u32 = 20_000;

/// A service whose store holds, in memory, the demo channel and contact that the tables
/// are seeded with ([`seed::table`](crate::seed::table)): the same data, defined once in
/// `contacts_shared::demo`.
/// For the delete, also the contacts its copies delete.
pub async fn service(function: &str) -> anyhow::Result<ContactService<MemoryStore>> {
    let fail = "the demo channel in memory";
    let store = demo::memory_store().await.context(fail)?;
    if consumes_contacts(function) {
        demo::insert_doomed_contacts(&store, demo::DEMO_CHANNEL, DELETES)
            .await
            .context(fail)?;
    }
    Ok(ContactService::new(store))
}

/// CPU time per call of `function`'s handler on its events; `None` for the authorizer,
/// whose work is all storage but for a hash.
pub async fn cpu_per_call<S: ContactStore>(
    app: &ContactService<S>,
    function: &str,
    events: &mut Events,
    expect: u16,
) -> anyhow::Result<Option<Duration>> {
    if function == "authorizer" {
        return Ok(None);
    }
    let run = async |event: &[u8]| -> anyhow::Result<()> {
        let text = std::str::from_utf8(event)?;
        let request = lambda_http::request::from_str(text)?;
        let response = handle(app, function, &request).await;
        if response.status().as_u16() != expect {
            bail!("{function}: handler answered {}", response.status());
        }
        Ok(())
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
fn thread_cpu() -> anyhow::Result<Duration> {
    let path = "/proc/thread-self/schedstat";
    let stat = std::fs::read_to_string(path).context(path)?;
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .map(Duration::from_nanos)
        .with_context(|| format!("{path}: no run time"))
}
