//! The table of figures against their targets, and docs/PERFORMANCE.md around it.

use std::fmt::Write;
use std::time::Duration;

use contacts_shared::limits::DEFAULT_FIELD_CACHE_SECONDS;

use crate::cost::{logs_per_million, PerMillion};
use crate::import::{Import, CONTACTS as IMPORTED, ITEMS_PER_CONTACT};
use crate::measure::{ColdStarts, Warm};
use crate::package::Package;
use crate::runtime_api::RUNTIME_API;
use crate::scale::{Page, PageOne, Scale, CONTACTS, FEW, PER_PAGE};
use crate::storage::Storage;
use crate::{Settings, BENCH_COLD_STARTS, BENCH_INVOCATIONS, BENCH_ONLY, BENCH_SKIP, BENCH_WARMUP};

const MIB: f64 = 1024.0 * 1024.0;

/// The targets the figures are compared with.
const COLD_TO_NEXT_MS: f64 = 12.0;
const COLD_FIRST_DONE_MS: f64 = 30.0;
const PEAK_RSS_MIB: f64 = 32.0;
const ZIPPED_MIB: f64 = 4.0;
const CPU_PER_CALL_US: f64 = 200.0;
/// Page 1 of a find of 100,000 matches against one of 10, and a walk's last pages against
/// its first, in time and read units.
const WALK_RATIO: f64 = 1.5;
/// An import of 20,000 contacts, in seconds.
const IMPORT_TARGET_S: f64 = 25.0;
/// Calls timed per find at scale (as `scale` runs them).
const CALLS: usize = 1_000;
const METERED: usize = 100;

/// The round trips each endpoint may take, `(most, whether some overlap)`: the table's.
fn round_trip_target(function: &str) -> Option<(usize, bool)> {
    contacts_shared::api::functions::function(function).and_then(|f| f.round_trips)
}

/// The figures of one function.
pub struct Row {
    pub name: &'static str,
    pub cold: ColdStarts,
    pub warm: Warm,
    /// `None` when the run skipped packages.
    pub package: Option<Package>,
    pub storage: Storage,
    /// The handler's CPU time per call without storage (`None`: the authorizer).
    pub handler_cpu: Option<Duration>,
    /// The same warm calls with logs at ERROR and no metrics (one endpoint only).
    pub quiet: Option<Warm>,
    /// Whether clients call it (every function but the authorizer).
    pub endpoint: bool,
    /// Latencies of its endpoint through the local gateway (`None`: no endpoint, or not run).
    pub stack: Option<Vec<Duration>>,
}

pub fn table(rows: &[Row], settings: &Settings) -> String {
    let header = [
        "function".to_string(),
        "exec → first `next`, median (min–max)".to_string(),
        format!("≤ {COLD_TO_NEXT_MS} ms"),
        "exec → first invocation done, median (min–max)".to_string(),
        format!("≤ {COLD_FIRST_DONE_MS} ms"),
        "warm p50 / p99".to_string(),
        format!(
            "RSS after {} → {} calls",
            thousands(settings.warmup as u64),
            thousands(settings.invocations as u64)
        ),
        format!(
            "peak RSS (VmHWM) after {}",
            thousands(settings.invocations as u64)
        ),
        format!("≤ {PEAK_RSS_MIB} MiB"),
        "zipped arm64 package".to_string(),
        format!("≤ {ZIPPED_MIB} MiB"),
        "unzipped bootstrap".to_string(),
    ];
    let mut out = line(&header);
    out += &line(&header.iter().map(|_| "---".to_string()).collect::<Vec<_>>());
    for row in rows {
        let to_next = ms(&row.cold.to_next);
        let first_done = ms(&row.cold.first_done);
        let latencies = ms(&row.warm.latencies);
        let peak = row.warm.peak_end as f64 / 1024.0;
        let package = match &row.package {
            Some(p) => {
                let zipped = p.zipped as f64 / MIB;
                [
                    format!("{zipped:.2} MiB ({} B)", thousands(p.zipped)),
                    verdict(zipped, ZIPPED_MIB),
                    format!("{:.2} MiB", p.bootstrap as f64 / MIB),
                ]
            }
            None => ["not measured".to_string(), "—".to_string(), "—".to_string()],
        };
        out += &line(
            &[
                format!("`{}`", row.name),
                spread(&to_next),
                verdict(median(&to_next), COLD_TO_NEXT_MS),
                spread(&first_done),
                verdict(median(&first_done), COLD_FIRST_DONE_MS),
                format!(
                    "{:.2} / {:.2} ms",
                    percentile(&latencies, 50.0),
                    percentile(&latencies, 99.0)
                ),
                format!(
                    "{:.1} → {:.1} MiB",
                    row.warm.rss_warm as f64 / 1024.0,
                    row.warm.rss_end as f64 / 1024.0
                ),
                format!("{peak:.1} MiB"),
                verdict(peak, PEAK_RSS_MIB),
            ]
            .into_iter()
            .chain(package)
            .collect::<Vec<_>>(),
        );
    }
    out
}

/// CPU and storage per warm call, and what a million calls cost.
pub fn per_call(rows: &[Row]) -> String {
    let header = [
        "function",
        "handler CPU per call, storage excluded",
        "≤ 200 µs",
        "whole process CPU per call (runtime and SDK included)",
        "DynamoDB calls per call (as sent; ‖ = in parallel)",
        "round trips (max)",
        "target",
        "read / write units per call",
        "log bytes per call",
        "$ per million calls: API Gateway + Lambda + DynamoDB + logs = total",
    ];
    let mut out = line(&header.map(String::from));
    out += &line(&header.map(|_| "---".to_string()));
    for row in rows {
        let cpu_us = row.warm.cpu_per_call.as_secs_f64() * 1e6;
        let (handler, handler_verdict) = match row.handler_cpu {
            Some(cpu) => {
                let us = cpu.as_secs_f64() * 1e6;
                (format!("{us:.1} µs"), verdict(us, CPU_PER_CALL_US))
            }
            None => ("—".to_string(), "—".to_string()),
        };
        let storage = &row.storage;
        let (trips, target) = match round_trip_target(row.name) {
            Some((most, true)) => (
                format!(
                    "{} sequential ({} in all, max {})",
                    storage.sequential, storage.round_trips, storage.max_round_trips
                ),
                format!(
                    "≤ {most} sequential: {}",
                    verdict(storage.sequential as f64, most as f64)
                ),
            ),
            Some((most, false)) => (
                format!("{} (max {})", storage.round_trips, storage.max_round_trips),
                format!(
                    "≤ {most}: {}",
                    verdict(storage.round_trips as f64, most as f64)
                ),
            ),
            None => (
                format!("{} (max {})", storage.round_trips, storage.max_round_trips),
                "none".to_string(),
            ),
        };
        let cost = match row.endpoint {
            // What each call of its endpoint costs.
            true => {
                let billed =
                    Duration::from_secs_f64(percentile(&ms(&row.warm.latencies), 50.0) / 1e3);
                let c = PerMillion::new(
                    billed,
                    storage.read_units,
                    storage.write_units,
                    row.warm.log_bytes_per_call,
                );
                format!(
                    "${:.2} + ${:.2} + ${:.2} + ${:.2} = **${:.2}**",
                    c.api_gateway,
                    c.lambda,
                    c.dynamodb,
                    c.logs,
                    c.total()
                )
            }
            false => "—".to_string(),
        };
        out += &line(&[
            format!("`{}`", row.name),
            handler,
            handler_verdict,
            format!("{cpu_us:.0} µs"),
            format!("`{}`", storage.operations),
            trips,
            target,
            format!("{:.2} / {:.2}", storage.read_units, storage.write_units),
            format!("{:.0}", row.warm.log_bytes_per_call),
            cost,
        ]);
    }
    out + &observability(rows)
}

/// What logs and metrics cost a call: the endpoint measured twice, as deployed and quiet.
fn observability(rows: &[Row]) -> String {
    let Some((row, quiet)) = rows.iter().find_map(|r| Some((r, r.quiet.as_ref()?))) else {
        return String::new();
    };
    let us = |warm: &Warm| warm.cpu_per_call.as_secs_f64() * 1e6;
    let (on, off) = (us(&row.warm), us(quiet));
    let p50 = |warm: &Warm| percentile(&ms(&warm.latencies), 50.0);
    format!(
        "\n**Logs and metrics per call** (`{}`, the same {} warm calls twice): as deployed \
         (JSON logs at INFO, one metrics line) {on:.1} µs CPU and {:.0} log bytes per call, \
         warm p50 {:.3} ms; with logs at ERROR and no metrics {off:.1} µs, {:.0} bytes, \
         p50 {:.3} ms. Logging and metrics cost **{:.1} µs** of CPU and **{:.0} bytes** per \
         call: ${:.2} of CloudWatch Logs ingestion per million calls at $0.50 per GB, \
         Lambda's own START, END and REPORT lines (about 300 bytes) aside.\n",
        row.name,
        row.warm.latencies.len(),
        row.warm.log_bytes_per_call,
        p50(&row.warm),
        quiet.log_bytes_per_call,
        p50(quiet),
        on - off,
        row.warm.log_bytes_per_call - quiet.log_bytes_per_call,
        logs_per_million(row.warm.log_bytes_per_call - quiet.log_bytes_per_call),
    )
}

/// Warm latency of each endpoint through the local gateway, beside the direct figure.
pub fn stack(rows: &[Row]) -> String {
    let mut out = line(&[
        "endpoint (function)".to_string(),
        "through the local gateway: p50 / p99".to_string(),
        "the function alone (Runtime API): p50 / p99".to_string(),
    ]);
    out += &line(&["---".to_string(), "---".to_string(), "---".to_string()]);
    for row in rows {
        let Some(latencies) = &row.stack else {
            continue;
        };
        let (gateway, direct) = (ms(latencies), ms(&row.warm.latencies));
        out += &line(&[
            format!("`{}`", row.name),
            format!(
                "{:.2} / {:.2} ms",
                percentile(&gateway, 50.0),
                percentile(&gateway, 99.0)
            ),
            format!(
                "{:.2} / {:.2} ms",
                percentile(&direct, 50.0),
                percentile(&direct, 99.0)
            ),
        ]);
    }
    out
}

/// Another channel's deliveries beside a bulk import: the target their p99 meets during it.
const NEIGHBOUR_P99: f64 = 2_000.0;

/// B's delivery latency before, during and after A's import, and the stream function's
/// pace beside the import's.
pub fn fairness(runs: &[crate::fairness::Fairness]) -> String {
    let mut out = format!(
        "Channel A imports {} contacts with `contacts-admin contact import` while channel B \
         creates a contact every second; B has a webhook, A none. On a stack of its own, with a \
         fresh DynamoDB Local (as a new `make dev` has), not the one the parts above filled. \
         B's delivery latency, from the \
         API's 200 to its `contact.created` at a receiver on loopback, by when the create \
         was made; the stream function's pace is the stream records the local relay handed \
         it over the time its invocations took. A create answered 5xx (DynamoDB Local \
         saturated by the import) is retried after a second, as a client does, and counted; \
         one still refused after three retries is given up, counted, and awaits no event.\n\n",
        thousands(crate::fairness::IMPORTED as u64),
    );
    out += &line(&[
        "B before: p50 / p99 / max".to_string(),
        "B during: p50 / p99 / max".to_string(),
        format!("≤ {NEIGHBOUR_P99:.0} ms p99 during"),
        "B after: p50 / p99 / max".to_string(),
        "import".to_string(),
        "stream function".to_string(),
        "B's creates answered 5xx (given up)".to_string(),
    ]);
    out += &line(&vec!["---".to_string(); 7]);
    for run in runs {
        let phase = |latencies: &[Duration]| {
            let all = ms(latencies);
            format!(
                "{:.0} / {:.0} / {:.0} ms ({})",
                percentile(&all, 50.0),
                percentile(&all, 99.0),
                percentile(&all, 100.0),
                latencies.len()
            )
        };
        let imported = crate::fairness::IMPORTED as f64;
        out += &line(&[
            phase(&run.before),
            phase(&run.during),
            verdict(percentile(&ms(&run.during), 99.0), NEIGHBOUR_P99),
            phase(&run.after),
            format!(
                "{} contacts in {:.1} s, {:.0} a second",
                thousands(crate::fairness::IMPORTED as u64),
                run.import_took.as_secs_f64(),
                imported / run.import_took.as_secs_f64()
            ),
            format!(
                "{} records in {:.1} s of invocations, {:.0} a second",
                thousands(run.dispatched),
                run.dispatching.as_secs_f64(),
                run.dispatched as f64 / run.dispatching.as_secs_f64().max(f64::MIN_POSITIVE)
            ),
            format!("{} ({})", run.unavailable, run.given_up),
        ]);
    }
    out
}

/// Webhook delivery latency: from the API's 200 to the receiver.
pub fn webhooks(latencies: &[Duration]) -> String {
    let all = ms(latencies);
    let mut out = String::from(
        "From the API's 200 for a tag added to a contact to the signed POST of its \
         `contact.tags_changed` at a receiver on loopback, one change at a time: DynamoDB \
         Local's stream read by the relay every 250 ms when idle (as Lambda polls a shard \
         four times a second), the release `webhook-dispatch`, the queue (moto's SQS, \
         long-polled), the release `webhook-deliver`.\n\n",
    );
    out += &line(&[
        "deliveries".to_string(),
        "p50".to_string(),
        "p99".to_string(),
        "max".to_string(),
    ]);
    out += &line(&[
        "---".to_string(),
        "---".to_string(),
        "---".to_string(),
        "---".to_string(),
    ]);
    out += &line(&[
        latencies.len().to_string(),
        format!("{:.0} ms", percentile(&all, 50.0)),
        format!("{:.0} ms", percentile(&all, 99.0)),
        format!("{:.0} ms", percentile(&all, 100.0)),
    ]);
    out
}

/// The same find in a small and a large channel, and their ratio.
pub fn scale(scale: &Scale, import: Option<&Import>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "One channel of {} contacts (seeded in {:.0} s, as `contact import` writes). Page 1 \
         of a find with {FEW} matches against page 1 of one with all {} ({} calls each, \
         alternating; units of {METERED} metered calls):\n",
        thousands(CONTACTS as u64),
        scale.seeding.as_secs_f64(),
        thousands(CONTACTS as u64),
        thousands(CALLS as u64),
    );
    out += &line(&[
        "matches".to_string(),
        "find p50 / p99".to_string(),
        "DynamoDB calls per find".to_string(),
        "read units".to_string(),
        "write units".to_string(),
    ]);
    out += &line(&vec!["---".to_string(); 5]);
    for p in &scale.page_one {
        let latencies = ms(&p.latencies);
        out += &line(&[
            thousands(p.matches as u64),
            format!(
                "{:.2} / {:.2} ms",
                percentile(&latencies, 50.0),
                percentile(&latencies, 99.0)
            ),
            format!("`{}`", p.storage.operations),
            format!("{:.2}", p.storage.read_units),
            format!("{:.2}", p.storage.write_units),
        ]);
    }
    if let [few, all] = scale.page_one.as_slice() {
        let p50 = |p: &PageOne| percentile(&ms(&p.latencies), 50.0);
        let time = p50(all) / p50(few);
        let units = all.storage.read_units / few.storage.read_units.max(f64::MIN_POSITIVE);
        let _ = writeln!(
            out,
            "\nPage 1 with {} matches against {FEW}: p50 ×{time:.2}, read units ×{units:.2} \
             (target ≤ ×{WALK_RATIO} each: {}, {}).\n",
            thousands(CONTACTS as u64),
            verdict(time, WALK_RATIO),
            verdict(units, WALK_RATIO),
        );
    }
    let _ = writeln!(
        out,
        "All {} matches, {PER_PAGE} a page, in one warm process: by page numbers (`page=1,2,3,...` \
         until `data` is empty, as v1 sync scripts walk) and by following `links.next`; and \
         the channel's list (`GET /v1/contact?per_page={PER_PAGE}`) by its `links.next`:\n",
        thousands(CONTACTS as u64)
    );
    out += &line(&[
        "walk".to_string(),
        "pages".to_string(),
        "first 10 pages: ms, read units a page".to_string(),
        "last 10 pages: ms, read units a page".to_string(),
        "last / first".to_string(),
        "in all: time, read units (per match), write units".to_string(),
    ]);
    out += &line(&vec!["---".to_string(); 6]);
    for walk in &scale.walks {
        let mean = |pages: &[Page]| {
            let n = pages.len().max(1) as f64;
            (
                pages
                    .iter()
                    .map(|p| p.latency.as_secs_f64() * 1e3)
                    .sum::<f64>()
                    / n,
                pages.iter().map(|p| p.read_units).sum::<f64>() / n,
            )
        };
        // The last pages that hold matches (a page-number walk ends with an empty one).
        let full: Vec<&Page> = walk.pages.iter().filter(|p| p.contacts > 0).collect();
        let first: Vec<Page> = full.iter().take(10).map(|p| copy(p)).collect();
        let last: Vec<Page> = full.iter().rev().take(10).map(|p| copy(p)).collect();
        let (first_ms, first_units) = mean(&first);
        let (last_ms, last_units) = mean(&last);
        let read: f64 = walk.pages.iter().map(|p| p.read_units).sum();
        // `+ 0.0`: a sum of no units is -0.0, which would print as "-0".
        let write: f64 = walk.pages.iter().map(|p| p.write_units).sum::<f64>() + 0.0;
        out += &line(&[
            walk.how.to_string(),
            thousands(walk.pages.len() as u64),
            format!("{first_ms:.2} ms, {first_units:.2}"),
            format!("{last_ms:.2} ms, {last_units:.2}"),
            format!(
                "×{:.2} time, ×{:.2} units ({})",
                last_ms / first_ms,
                last_units / first_units.max(f64::MIN_POSITIVE),
                verdict(
                    (last_ms / first_ms).max(last_units / first_units),
                    WALK_RATIO
                )
            ),
            format!(
                "{:.1} s, {read:.0} ({:.3}), {write:.0}",
                walk.took.as_secs_f64(),
                read / CONTACTS as f64
            ),
        ]);
    }
    let _ = writeln!(
        out,
        "\nA walk's read units grow with the contacts it returns, once each (linear): \
         target ≤ ×{WALK_RATIO} between its last and its first pages (for the list: a page \
         at any depth costs what the first does)."
    );
    let deletion = &scale.deletion;
    let _ = writeln!(
        out,
        "\nA channel of {FEW} contacts (two fields each) deleted beside the {} others, as \
         `contacts-admin channel delete` deletes it, its settle time aside: {} items deleted \
         ({} contacts) in {:.2} s, {:.0} read units and {:.0} write units (what the channel \
         holds: the table beside it is never read).",
        thousands(CONTACTS as u64),
        deletion.deleted.items,
        deletion.deleted.contacts,
        deletion.took.as_secs_f64(),
        deletion.units.read,
        deletion.units.write,
    );
    if let Some(import) = import {
        let items = (IMPORTED * ITEMS_PER_CONTACT) as f64;
        let rate = IMPORTED as f64 / import.took.as_secs_f64();
        let ceiling = items / import.ceiling.as_secs_f64();
        let _ =
            writeln!(
            out,
            "\n`contacts-admin contact import` of {} contacts (one boolean each, release build): \
             {:.1} s, {rate:.0} contacts a second, {:.0} items a second (contact, index entry and list entry); \
             `check` afterwards: {}. DynamoDB Local's ceiling here, the same number of items as \
             plain puts 25 to a `BatchWriteItem`, 16 at once: {ceiling:.0} items a second, so the \
             import runs at {:.0}% of it while writing each contact, its entry and counts in \
             transactions. Target: {} contacts in under {IMPORT_TARGET_S} s: {}.",
            thousands(IMPORTED as u64),
            import.took.as_secs_f64(),
            items / import.took.as_secs_f64(),
            if import.consistent { "consistent" } else { "INCONSISTENT" },
            100.0 * (items / import.took.as_secs_f64()) / ceiling,
            thousands(IMPORTED as u64),
            verdict(import.took.as_secs_f64(), IMPORT_TARGET_S),
        );
    }
    out
}

fn copy(page: &Page) -> Page {
    Page {
        latency: page.latency,
        read_units: page.read_units,
        write_units: page.write_units,
        contacts: page.contacts,
    }
}

/// The tables of one run; `None` for a part the run skipped.
pub struct Tables {
    pub functions: String,
    pub per_call: String,
    pub stack: Option<String>,
    pub webhooks: Option<String>,
    pub fairness: Option<String>,
    pub scale: Option<String>,
}

pub fn document(
    machine: &[(&str, String)],
    tables: &Tables,
    settings: &Settings,
    took: Duration,
) -> String {
    let mut doc = String::from(
        "# Performance\n\n\
         Written by `make bench` (the `contacts-bench` crate in `bench/`): run it again rather \
         than editing this file.\n\n## Machine\n\n",
    );
    for (what, value) in machine {
        let _ = writeln!(doc, "- {what}: {value}");
    }
    let _ = writeln!(
        doc,
        "- the bench itself (builds excluded): {} min {} s",
        took.as_secs() / 60,
        took.as_secs() % 60
    );
    let _ = write!(
        doc,
        "\n## Cold start, memory and package\n\n{}\n\
         A target column says `met` or **missed**: cold starts by their median, memory by \
         the peak, packages by their zipped size. Warm latency here includes DynamoDB Local \
         on loopback; the CPU time below is the function's own work.\n\n\
         ## Per call: CPU, storage and cost\n\n{}\n\
         Round trips and units are those of warm calls (the field definitions, cached for \
         {DEFAULT_FIELD_CACHE_SECONDS} s, are read on a process's first call). Costs are at us-east-1 list prices: API \
         Gateway REST $3.50 per million requests; Lambda arm64 at 128 MB, $0.20 per million \
         requests plus $0.0000133334 per GB-second, billed for the warm p50 above rounded up \
         to a whole millisecond (on AWS each DynamoDB round trip adds a few milliseconds, \
         about $0.002 per million calls each); DynamoDB on-demand $0.125 per million read \
         units and $0.625 per million write units. The authorizer's cost is left out: its \
         answer is cached for 300 s per token, so it runs at most once per token per 5 \
         minutes.\n\n",
        tables.functions, tables.per_call
    );
    if let Some(stack) = &tables.stack {
        let _ = write!(doc, "## Through the local stack\n\n{stack}\n");
    }
    if let Some(webhooks) = &tables.webhooks {
        let _ = write!(
            doc,
            "## Webhook delivery through the local stack\n\n{webhooks}\n"
        );
    }
    if let Some(fairness) = &tables.fairness {
        let _ = write!(doc, "## A noisy neighbour\n\n{fairness}\n");
    }
    if let Some(scale) = &tables.scale {
        let _ = write!(doc, "## Find at any scale, and import\n\n{scale}\n");
    }
    doc += &method(settings);
    doc
}

fn method(settings: &Settings) -> String {
    format!(
        "## How it is measured\n\n\
         - **Functions**: host (x86_64) builds from `cargo build --release -p <function>` with \
         the workspace's release profile (LTO, one codegen unit, `opt-level = \"s\"`, \
         `panic = \"abort\"`, stripped). Each process gets Lambda's environment for \
         template.yaml's settings (128 MB, JSON logs at INFO, region, credentials in the \
         environment) and `{RUNTIME_API}` pointing at a minimal Lambda Runtime API \
         that the bench serves on loopback, one per process.\n\
         - **Storage**: DynamoDB Local in memory, started by the bench. Each function has a \
         table of its own, seeded as `tests/tests/api/events.rs` does (channel `demo`, field \
         `customerid`, contact `1776025372480910`, a live token for the authorizer). Every \
         invocation is the function's event from `events/`, and every answer is checked (200, \
         405 for the responder, an Allow policy for the authorizer): the bench stops at the \
         first failure.\n\
         - **Cold start**: {starts} fresh processes per function. From just before spawning \
         the process (fork and exec included) to its first `GET /2018-06-01/runtime/invocation/next`, \
         and to the complete `POST .../response` of its first invocation, which includes the \
         DynamoDB client's first connection and DynamoDB Local's answer. The binary is in the \
         page cache; Lambda's own sandbox set-up and code download are not included.\n\
         - **Warm latency**: one process per function, {total} sequential invocations; the \
         first {warmup} (the cold one included) are the warm-up, p50 and p99 (nearest rank) \
         are over the other {timed}: from handing out the event (answering `next`) to the \
         complete response `POST`. This includes the function's round trips to DynamoDB Local \
         on loopback, so it is not the handler's CPU time.\n\
         - **Memory**: `VmRSS` after the warm-up and after all {total} invocations, and \
         `VmHWM` (peak resident set) after all of them, from `/proc/<pid>/status`, of the \
         same process. Host build: the arm64 build's figures are close but not identical. Each \
         event carries a trace id of its own, as Lambda's do; lambda_runtime puts it in \
         `_X_AMZN_TRACE_ID` with `setenv` on every invocation, and glibc never frees a \
         replaced value: about 0.1 KiB of growth per invocation. `BENCH_FIXED_TRACE_ID=1` \
         sends one trace id throughout, to tell that growth from any other.\n\
         - **CPU per call**: the CPU time of the same process (all its threads, to the \
         nanosecond, from `/proc/<pid>/task/*/schedstat`) over the {timed} timed \
         invocations, divided by their number. It covers the handler, lambda_runtime's client and the SDK's (request \
         building, signing, parsing), so it bounds the handler's own time from above; \
         DynamoDB Local is another process, and waiting for it takes no CPU.\n\
         - **Storage per call**: a fresh process of each function whose DynamoDB endpoint is a \
         metering proxy in front of DynamoDB Local; {metered} invocations after the first. \
         The proxy notes each request's operation (`X-Amz-Target`), when it was sent and \
         answered, and the `ConsumedCapacity` of the answer (the store asks for \
         `ReturnConsumedCapacity: TOTAL` on every call). Requests sent before an earlier one \
         was answered count as one sequential round trip. DynamoDB Local reports two units \
         for any `TransactWriteItems`, whatever it writes, so the meter prices transactions \
         itself as DynamoDB bills them: two write units per KB (rounded up) of each item, \
         sized by DynamoDB's rules from the request for a put and from the stored item (read \
         before the transaction runs) for an update or delete.\n\
         - **Handler CPU, storage excluded**: the bench runs each endpoint's handler \
         (`contacts_shared::handlers`) in its own thread on the function's event: parsing \
         the event into a request, the handler and the domain service, and the response. \
         Its store is the in-memory one (`MemoryStore`) holding the seeded channel and \
         contact, so no time goes to the SDK or the network. 20,000 untimed calls, then the thread's CPU \
         time (`/proc/thread-self/schedstat`) over 20,000 more. The authorizer has no row: \
         its work is a hash and one read.\n\
         - **Local stack**: `cargo lambda watch --release` runs the functions' release \
         builds, the release `local-gateway` reads template.yaml with `--no-throttle`, and the \
         bench sends each endpoint's request (the event's method, path, query, headers and \
         body) on one keep-alive connection: 50 untimed calls, then 1,000 timed from sending \
         the request to the last byte of the answer. The authorizer's answer is cached after \
         the first call, as on AWS.\n\
         - **Scaling**: one table, one channel of 100,000 contacts, written as \
         `contact import` writes them: every one has the last name `Dar`, {matches} have the \
         first name the find event asks for (every other contact has a first name of its own, \
         so that field's index holds every contact). The find event (10 matches) and the same \
         event asking `lastName=Dar` (100,000) run in turn, 4 rounds of a fresh process with \
         100 untimed finds and 250 timed, then 100 metered finds each. The walks run in one \
         warm process behind the metering proxy, one page at a time, each page's time from \
         handing out the event to the end of its answer and its units off the wire; the walk \
         by page numbers builds `page=N` itself and stops at the first empty page, the walk \
         by links follows `links.next` (with its `cursor`) until there is none; the list walk \
         follows the list's `links.next` through the same channel, in a warm process of \
         `list-contacts` behind the same proxy.\n\
         - **Import**: a file of 20,000 lines `{{\"custom_fields\":{{\"vip\":true}}}}` \
         through the release `contacts-admin contact import` into a fresh table of the same \
         DynamoDB Local (in memory), timed as a whole, then `check`; the ceiling is the same \
         number of items (a contact, an index entry and a list entry each) put plainly.\n\
         - **Package**: `cargo lambda build --release --arm64` (zig as the cross linker) \
         leaves each function's `bootstrap` in `target/lambda/<function>/`; the bench zips it \
         alone at the archive's root with `zip -X` (deflate, default level, as SAM does) and \
         reports the archive's bytes. `sam build` copies the same files to `.aws-sam/build/`.\n\
         - **Noise**: the machine has few cores and may be shared with other work (see the \
         load average above); DynamoDB Local runs on the same cores as the functions.\n\
         - Counts can be changed for a quick run with `{BENCH_COLD_STARTS}`, \
         `{BENCH_INVOCATIONS}` and `{BENCH_WARMUP}` (the figures above used {starts}, {total} \
         and {warmup}); `{BENCH_ONLY}=get-contact,find-contacts` measures some functions, and \
         `{BENCH_SKIP}=stack,scale,package,fairness` leaves parts out.\n\n",
        starts = settings.cold_starts,
        total = thousands(settings.invocations as u64),
        warmup = thousands(settings.warmup as u64),
        timed = thousands((settings.invocations - settings.warmup) as u64),
        metered = crate::METERED_CALLS,
        matches = FEW,
    )
}

fn line(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

fn verdict(value: f64, target: f64) -> String {
    if value <= target { "met" } else { "**missed**" }.to_string()
}

/// `median ms (min–max)`.
fn spread(sorted: &[f64]) -> String {
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    format!("{:.1} ms ({min:.1}–{max:.1})", median(sorted))
}

/// Milliseconds, sorted.
fn ms(samples: &[Duration]) -> Vec<f64> {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    ms
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile of a sorted, non-empty sample.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// 10000 → "10,000".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
