//! Find and list at any scale, in one channel of 100,000 contacts: page 1 of a find with
//! 10 matches against page 1 of one with 100,000; all 100,000 matches walked 100 a page, as
//! a v1 sync script walks them (`page=1,2,3,...` until `data` is empty) and by following
//! `links.next`; and the channel's list walked 100 a page by its links; each page timed
//! and metered. Then a channel of 10 contacts made beside them and deleted: what its
//! deletion reads and writes, and how long it takes.

use std::time::{Duration, Instant};

use std::collections::BTreeSet;

use anyhow::{bail, Context};
use contacts_shared::domain::channel::ChannelRecord;
use contacts_shared::domain::field_values::InputValue;
use contacts_shared::domain::field_writes::{resolve_writes, FieldWrite, RawFieldWrite};
use contacts_shared::store::dynamo::capacity::{metered, Units};
use contacts_shared::store::dynamo::{Deletion, TableStream};
use contacts_shared::store::{ContactStore, NewContact};
use contacts_shared::{clock, random, ChannelType, DynamoStore};
use hyper::body::Bytes;
use serde_json::Value;

use crate::events::{self, Events};
use crate::function::{Function, Launcher};
use crate::meter::Meter;
use crate::storage::Storage;
use crate::{measure, seed, storage};

/// Contacts in the channel: every one matches the wide find.
pub const CONTACTS: usize = 100_000;
/// Matches of the narrow find (the find event's, seeded contact included).
pub const FEW: usize = 10;
/// The wide find: the field every seeded contact has, and its value.
const WIDE: (&str, &str) = ("lastName", "Dar");
pub const PER_PAGE: u32 = 100;
/// Warm finds timed per find, in `ROUNDS` processes that each first make `WARMUP` untimed.
const CALLS: usize = 1_000;
const ROUNDS: usize = 4;
const WARMUP: usize = 100;
/// Finds metered per find.
const METERED: usize = 100;

/// Page 1 of one find.
pub struct PageOne {
    pub matches: usize,
    pub latencies: Vec<Duration>,
    pub storage: Storage,
}

/// One page of a walk.
pub struct Page {
    pub latency: Duration,
    pub read_units: f64,
    pub write_units: f64,
    pub contacts: usize,
}

pub struct Walk {
    /// `page numbers`, `links` (finds) or `list, links`.
    pub how: &'static str,
    pub pages: Vec<Page>,
    pub took: Duration,
}

pub struct Scale {
    pub seeding: Duration,
    pub page_one: Vec<PageOne>,
    pub walks: Vec<Walk>,
    pub deletion: SmallDeletion,
}

/// The deletion of a channel of [`FEW`] contacts from the table of [`CONTACTS`].
pub struct SmallDeletion {
    pub deleted: Deletion,
    pub units: Units,
    pub took: Duration,
}

/// `launcher` is the find function's; the channel gets a table of its own. `list`, when
/// its binary is built, walks the same channel's list.
pub async fn measure(
    find: &Function,
    list: Option<&Function>,
    launcher: &Launcher,
    root: &std::path::Path,
) -> anyhow::Result<Scale> {
    let table = "bench-scale".to_string();
    eprintln!("scaling: seeding {CONTACTS} contacts");
    let started = Instant::now();
    let token = seed::table(&launcher.endpoint, &table, TableStream::Off).await?;
    seed::crowd(&launcher.endpoint, &table, CONTACTS, FEW, WIDE).await?;
    let seeding = started.elapsed();
    let launcher = Launcher {
        table,
        ..launcher.clone()
    };
    let wide = [("name", WIDE.0), ("value", WIDE.1)];
    let mut finds = [
        (FEW, Events::load(root, find.name, &token)?, Vec::new()),
        (
            CONTACTS,
            Events::single(events::find(root, &token, &wide)?),
            Vec::new(),
        ),
    ];
    // Alternating rounds, so that drift (DynamoDB Local's garbage collection after
    // seeding, other work on the machine) falls on both alike.
    for round in 0..ROUNDS {
        for (matches, events, latencies) in &mut finds {
            eprintln!(
                "scaling: round {} of {ROUNDS}, {} finds with {matches} matches",
                round + 1,
                CALLS / ROUNDS
            );
            let warm =
                measure::warm(find, &launcher, events, WARMUP, WARMUP + CALLS / ROUNDS).await?;
            latencies.extend(warm.latencies);
        }
    }
    let mut page_one = Vec::new();
    for (matches, mut events, latencies) in finds {
        let storage = storage::measure(find, &launcher, &mut events, METERED).await?;
        page_one.push(PageOne {
            matches,
            latencies,
            storage,
        });
    }
    let mut walks = Vec::new();
    for how in ["page numbers", "links"] {
        eprintln!("scaling: a walk of {CONTACTS} matches by {how}");
        let first = vec![
            ("name", WIDE.0.to_string()),
            ("value", WIDE.1.to_string()),
            ("per_page", PER_PAGE.to_string()),
            ("page", "1".to_string()),
        ];
        let event = |params: &[(&str, &str)]| events::find(root, &token, params);
        walks.push(walk(find, &launcher, how, first, event).await?);
    }
    if let Some(list) = list {
        eprintln!("scaling: a walk of the channel's list of {CONTACTS}");
        let launcher = Launcher {
            name: list.name,
            binary: launcher.binary.with_file_name(list.name),
            log: launcher
                .log
                .with_file_name(format!("{}-scale.log", list.name)),
            ..launcher.clone()
        };
        let first = vec![("per_page", PER_PAGE.to_string())];
        let event = |params: &[(&str, &str)]| events::list(root, &token, params);
        walks.push(walk(list, &launcher, "list, links", first, event).await?);
    }
    let deletion = delete_small(&launcher.endpoint, &launcher.table).await?;
    Ok(Scale {
        seeding,
        page_one,
        walks,
        deletion,
    })
}

/// A channel of [`FEW`] contacts, two fields each, made in `table` beside the crowd, then
/// deleted as `contacts-admin channel delete` deletes it (settle time aside), metered.
async fn delete_small(endpoint: &str, table: &str) -> anyhow::Result<SmallDeletion> {
    eprintln!("scaling: deleting a channel of {FEW} contacts beside {CONTACTS}");
    let store = DynamoStore::connect(Some(endpoint), table).await;
    let channel = "bench-small";
    store
        .create_channel(&ChannelRecord {
            id: channel.to_string(),
            name: "small".to_string(),
            kind: ChannelType::Facebook,
            api_key: format!("key{}", random::base32_id()?),
            api_key_id: None,
            created_at: clock::now(),
            tokens: 0,
            workspace: None,
        })
        .await?;
    let fields = store.fields(channel).await?;
    let tags = BTreeSet::new();
    let writes: Vec<Vec<FieldWrite>> = (0..FEW)
        .map(|i| {
            let raw = [
                ("firstName", format!("Small {i}")),
                (WIDE.0, WIDE.1.to_string()),
            ]
            .map(|(name, value)| RawFieldWrite {
                name: name.to_string(),
                value: InputValue::Text(value),
            });
            resolve_writes(&fields, &raw).context("the small channel's contacts")
        })
        .collect::<anyhow::Result<_>>()?;
    let ids: Vec<String> = (0..FEW).map(|i| format!("small-{i}")).collect();
    for (id, writes) in ids.iter().zip(&writes) {
        let new = NewContact {
            id,
            created_at: clock::now(),
            created_micros: 0,
            writes,
            tags: &tags,
        };
        store.insert_contact(channel, &new).await?;
    }
    let started = Instant::now();
    let (deleted, units) =
        metered(store.delete_channel(channel, Duration::ZERO, &mut |_| {})).await;
    let took = started.elapsed();
    Ok(SmallDeletion {
        deleted: deleted?,
        units,
        took,
    })
}

/// Every page from `first` on, by page numbers or by links (`how`), 100 a page, in one
/// warm metered process of `function`, whose events `event` makes from query parameters.
async fn walk(
    function: &Function,
    launcher: &Launcher,
    how: &'static str,
    first: Vec<(&'static str, String)>,
    event: impl Fn(&[(&str, &str)]) -> anyhow::Result<Bytes>,
) -> anyhow::Result<Walk> {
    let upstream = launcher.endpoint.trim_start_matches("http://").to_string();
    let meter = Meter::start(upstream).await.context("metering proxy")?;
    let metered = Launcher {
        endpoint: meter.endpoint.clone(),
        ..launcher.clone()
    };
    let mut instance = metered.start().await?;
    // A first call loads what a process loads once (field definitions): not the walk's.
    instance.invoke(&event(&as_refs(&first))?).await?;
    meter.take();
    let mut params = first;
    let mut pages = Vec::new();
    let started = Instant::now();
    loop {
        let invocation = instance.invoke(&event(&as_refs(&params))?).await?;
        function.check(&invocation.response)?;
        let trips = meter.take();
        let body = response_body(&invocation.response)?;
        let contacts = body["data"].as_array().map_or(0, Vec::len);
        pages.push(Page {
            latency: invocation.answered - invocation.handed,
            read_units: trips.iter().filter(|t| !t.writes()).map(|t| t.units).sum(),
            write_units: trips.iter().filter(|t| t.writes()).map(|t| t.units).sum(),
            contacts,
        });
        params = match how {
            "page numbers" if contacts == 0 => break,
            "page numbers" => {
                let page = pages.len() + 1;
                let mut next = params.clone();
                next.retain(|(k, _)| *k != "page");
                next.push(("page", page.to_string()));
                next
            }
            _ => match body["links"]["next"].as_str() {
                Some(next) => query_of(next),
                None => break,
            },
        };
    }
    let took = started.elapsed();
    instance.stop().await;
    let walked: usize = pages.iter().map(|p| p.contacts).sum();
    if walked != CONTACTS {
        bail!("a walk ({how}) returned {walked} contacts, not {CONTACTS}");
    }
    Ok(Walk { how, pages, took })
}

fn as_refs<'a>(params: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    params.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn response_body(response: &[u8]) -> anyhow::Result<Value> {
    let proxy: Value = serde_json::from_slice(response).context("response")?;
    serde_json::from_str(proxy["body"].as_str().unwrap_or("null")).context("response body")
}

/// A link's query parameters, decoded, as the event carries them.
fn query_of(url: &str) -> Vec<(&'static str, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mut params = Vec::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(value)
            .decode_utf8_lossy()
            .into_owned();
        let name: &'static str = match name {
            "name" => "name",
            "value" => "value",
            "per_page" => "per_page",
            "page" => "page",
            "cursor" => "cursor",
            _ => continue,
        };
        params.push((name, value));
    }
    params
}
