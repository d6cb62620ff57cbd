//! `make bench`: cold start, warm latency, memory and CPU of every function's release build,
//! run as Lambda runs it against a Runtime API served here and DynamoDB Local; its handler's
//! CPU without storage; its DynamoDB round trips, units and cost per call; latency through
//! the local stack; find at 1,000 vs 100,000 contacts; and the size of its zipped arm64
//! package. Prints the tables and writes docs/PERFORMANCE.md.

mod build;
mod cost;
mod events;
mod fairness;
mod function;
mod handler;
mod import;
mod machine;
mod measure;
mod meter;
mod package;
mod report;
mod runtime_api;
mod scale;
mod seed;
mod stack;
mod storage;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use contacts_shared::store::dynamo::TableStream;
use contacts_shared::DynamoStore;

use events::Events;
use function::{Function, Launcher};
use local_stack::{DynamoConfig, DynamoLocal, Logs};

/// Invocations metered per function for its storage figures.
pub const METERED_CALLS: usize = 200;
/// The endpoint measured a second time with logs at ERROR and no metrics (it consumes no
/// contacts, so its events serve both passes).
const QUIET_PASS: &str = "get-contact";
/// Calls timed per endpoint through the local stack, after the untimed ones.
const STACK_CALLS: usize = 1_000;
const STACK_WARMUP: usize = 50;
/// Webhook deliveries timed through the local stack, after a few untimed.
const WEBHOOK_DELIVERIES: usize = 200;
const WEBHOOK_WARMUP: usize = 5;

/// The bench's own settings, from the environment (the report's method names them too).
pub const BENCH_COLD_STARTS: &str = "BENCH_COLD_STARTS";
pub const BENCH_INVOCATIONS: &str = "BENCH_INVOCATIONS";
pub const BENCH_WARMUP: &str = "BENCH_WARMUP";
pub const BENCH_ONLY: &str = "BENCH_ONLY";
pub const BENCH_SKIP: &str = "BENCH_SKIP";
pub const BENCH_FIXED_TRACE_ID: &str = "BENCH_FIXED_TRACE_ID";
/// Where the report goes instead of docs/PERFORMANCE.md.
pub const BENCH_OUTPUT: &str = "BENCH_OUTPUT";

/// The parts `BENCH_SKIP` may leave out.
pub const PARTS: [&str; 4] = ["stack", "scale", "package", "fairness"];

/// How many of each thing to do (`BENCH_*` environment variables, for quick runs).
pub struct Settings {
    pub cold_starts: usize,
    pub invocations: usize,
    pub warmup: usize,
    /// `BENCH_ONLY`: the functions to measure (all when unset).
    pub only: Option<Vec<String>>,
    /// `BENCH_SKIP`: parts left out (of [`PARTS`]).
    pub skip: Vec<String>,
    /// `BENCH_FIXED_TRACE_ID=1`: one trace id for every event (memory-growth check).
    pub fixed_trace_id: bool,
}

impl Settings {
    fn from_env() -> anyhow::Result<Self> {
        let count = |name: &str, default: usize| match std::env::var(name) {
            Ok(value) => value
                .parse::<usize>()
                .map_err(|_| anyhow!("{name}={value} is not a count")),
            Err(_) => Ok(default),
        };
        let settings = Self {
            cold_starts: count(BENCH_COLD_STARTS, 20)?,
            invocations: count(BENCH_INVOCATIONS, 10_000)?,
            warmup: count(BENCH_WARMUP, 1_000)?,
            only: list(BENCH_ONLY),
            skip: list(BENCH_SKIP).unwrap_or_default(),
            fixed_trace_id: std::env::var(BENCH_FIXED_TRACE_ID).is_ok_and(|v| v == "1"),
        };
        for part in &settings.skip {
            if !PARTS.contains(&part.as_str()) {
                bail!("{BENCH_SKIP}: no part {part} ({})", PARTS.join(", "));
            }
        }
        for name in settings.only.iter().flatten() {
            if contacts_shared::api::functions::function(name).is_none() {
                bail!("{BENCH_ONLY}: no function {name}");
            }
        }
        if settings.cold_starts == 0 || settings.warmup == 0 {
            bail!("{BENCH_COLD_STARTS} and {BENCH_WARMUP} must be at least 1");
        }
        if settings.invocations <= settings.warmup {
            bail!("{BENCH_INVOCATIONS} must be more than {BENCH_WARMUP}");
        }
        Ok(settings)
    }

    fn measures(&self, function: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|name| name == function))
    }

    fn runs(&self, part: &str) -> bool {
        !self.skip.iter().any(|p| p == part)
    }
}

/// A comma-separated environment variable.
fn list(name: &str) -> Option<Vec<String>> {
    let value = std::env::var(name).ok().filter(|v| !v.trim().is_empty())?;
    Some(value.split(',').map(|v| v.trim().to_string()).collect())
}

fn main() -> ExitCode {
    // One thread: the bench's own work (serving the Runtime API) should take as little as
    // possible of the cores the functions and DynamoDB Local run on.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("bench: cannot start a tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Returning (rather than exiting) lets every process the run started be stopped.
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where the bench works, and the DynamoDB Local it measures against.
struct Bench {
    settings: Settings,
    root: PathBuf,
    target: PathBuf,
    /// Logs, packages and the like: `target/bench/`.
    work: PathBuf,
    endpoint: String,
}

async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let settings = Settings::from_env()?;
    let root = local_stack::paths::repo_root();
    let target = local_stack::paths::target_dir();
    let work = target.join("bench");
    std::fs::create_dir_all(&work).with_context(|| work.display().to_string())?;
    let machine = machine::describe();
    let all = function::all();
    let functions: Vec<&Function> = all.iter().filter(|f| settings.measures(f.name)).collect();
    build::binaries(&root, &functions, &settings)?;
    let packages = functions
        .iter()
        .map(|f| match settings.runs("package") {
            true => package::measure(&target, f.name, &work).map(Some),
            false => Ok(None),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Everything started from here on dies with the bench, even if it is killed.
    let dynamo = DynamoLocal::start(DynamoConfig {
        port: None,
        data: None,
        logs: Logs::Dir(work.clone()),
    })?;
    let bench = Bench {
        settings,
        root,
        target,
        work,
        endpoint: dynamo.endpoint(),
    };
    let mut rows = Vec::new();
    let mut scales = None;
    for (function, package) in functions.iter().zip(packages) {
        let (row, launcher) = measure_function(&bench, function, package).await?;
        if function.name == "find-contacts" && bench.settings.runs("scale") {
            let list = functions
                .iter()
                .find(|f| f.name == "list-contacts")
                .copied();
            scales = Some(scale::measure(function, list, &launcher, &bench.root).await?);
        }
        rows.push(row);
    }
    let deliveries = match bench.settings.runs("stack") {
        true => Some(through_the_stack(&bench, &all, &mut rows).await?),
        false => None,
    };
    let import = match bench.settings.runs("scale") {
        true => Some(import::measure(&bench.endpoint, &bench.work).await?),
        false => None,
    };
    drop(dynamo);
    // The noisy neighbour on a DynamoDB Local of its own, as a fresh `make dev` has it: the
    // one above holds the parts' hundreds of thousands of items by now, in memory, which
    // slows its every write and would be measured as the neighbour's.
    let neighbours = match bench.settings.runs("fairness") {
        true => {
            let fresh = DynamoLocal::start(DynamoConfig {
                port: None,
                data: None,
                logs: Logs::Dir(bench.work.clone()),
            })?;
            vec![
                fairness::measure(&bench.work, &fresh.endpoint(), "bench-fairness")
                    .await
                    .context("a noisy neighbour")?,
            ]
        }
        false => Vec::new(),
    };
    write_report(
        &bench,
        &machine,
        &rows,
        Measured {
            scales: scales.as_ref(),
            import: import.as_ref(),
            deliveries: deliveries.as_deref(),
            neighbours: &neighbours,
        },
        started,
    )
}

/// Cold starts, warm calls, storage and the handler alone, of one function.
async fn measure_function(
    bench: &Bench,
    function: &Function,
    package: Option<package::Package>,
) -> anyhow::Result<(report::Row, Launcher)> {
    let (name, settings) = (function.name, &bench.settings);
    let table = format!("bench-{name}");
    let token = seed::table(&bench.endpoint, &table, TableStream::Off).await?;
    if events::consumes_contacts(name) {
        // Every call the measurements below make: the storage pass makes one unmetered
        // call before its metered ones.
        let calls = settings.cold_starts + settings.invocations + METERED_CALLS + 1;
        seed::doomed(&bench.endpoint, &table, calls).await?;
    }
    let mut events = Events::load(&bench.root, name, &token)?;
    let log = bench.work.join(format!("{name}.log"));
    let _ = std::fs::remove_file(&log);
    let launcher = Launcher {
        name,
        binary: bench.target.join("release").join(name),
        endpoint: bench.endpoint.clone(),
        table,
        log,
        fixed_trace_id: settings.fixed_trace_id,
        quiet: false,
    };
    eprintln!("{name}: {} cold starts", settings.cold_starts);
    let cold = measure::cold_starts(function, &launcher, &mut events, settings.cold_starts).await?;
    eprintln!(
        "{name}: {} invocations in one process",
        settings.invocations
    );
    let warm = measure::warm(
        function,
        &launcher,
        &mut events,
        settings.warmup,
        settings.invocations,
    )
    .await?;
    // What logs and metrics cost, on the endpoint whose own work is the least.
    let quiet = match name == QUIET_PASS {
        true => {
            eprintln!(
                "{name}: {} invocations, logs at ERROR and no metrics",
                settings.invocations
            );
            let quiet = Launcher {
                quiet: true,
                ..launcher.clone()
            };
            let warm = measure::warm(
                function,
                &quiet,
                &mut events,
                settings.warmup,
                settings.invocations,
            );
            Some(warm.await?)
        }
        false => None,
    };
    eprintln!("{name}: {METERED_CALLS} metered invocations");
    let storage = storage::measure(function, &launcher, &mut events, METERED_CALLS).await?;
    let handler_cpu = match function.http_status() {
        Some(status) => {
            eprintln!("{name}: the handler alone");
            let app = handler::service(name).await?;
            let mut events = Events::load(&bench.root, name, &token)?;
            handler::cpu_per_call(&app, name, &mut events, status).await?
        }
        None => None,
    };
    let row = report::Row {
        name,
        cold,
        warm,
        package,
        storage,
        handler_cpu,
        quiet,
        endpoint: function.http_status().is_some(),
        stack: None,
    };
    Ok((row, launcher))
}

/// Latency of every endpoint through the local gateway and `cargo lambda watch`; then
/// that of webhook deliveries, which it returns.
async fn through_the_stack(
    bench: &Bench,
    all: &[Function],
    rows: &mut [report::Row],
) -> anyhow::Result<Vec<Duration>> {
    let table = "bench-stack";
    let token = seed::table(&bench.endpoint, table, TableStream::On).await?;
    if rows.iter().any(|row| events::consumes_contacts(row.name)) {
        seed::doomed(&bench.endpoint, table, STACK_WARMUP + STACK_CALLS).await?;
    }
    let stack = stack::LocalStack::start(&bench.work, &bench.endpoint, table)?;
    // Creates last: every contact they add matches the find event, which must find the
    // one seeded contact here as it does when measured alone.
    let mut order: Vec<&mut report::Row> = rows.iter_mut().collect();
    order.sort_by_key(|row| row.name == "create-contact");
    for row in order {
        let function = all.iter().find(|f| f.name == row.name);
        let Some(status) = function.and_then(|f| f.http_status()) else {
            continue;
        };
        eprintln!(
            "{}: {STACK_CALLS} calls through the local gateway",
            row.name
        );
        let events = Events::load(&bench.root, row.name, &token)?;
        let latencies = stack
            .latencies(&events, status, STACK_WARMUP, STACK_CALLS)
            .await
            .with_context(|| format!("{} through the local stack", row.name))?;
        row.stack = Some(latencies);
    }
    eprintln!("webhooks: {WEBHOOK_DELIVERIES} deliveries through the local stack");
    let store = DynamoStore::connect(Some(&bench.endpoint), table).await;
    webhooks::delivery_latencies(&stack, &store, &token, WEBHOOK_WARMUP, WEBHOOK_DELIVERIES)
        .await
        .context("webhook deliveries")
}

/// Prints the tables and writes docs/PERFORMANCE.md (or `BENCH_OUTPUT`).
/// What the parts beyond the functions measured (`None`, empty: left out).
struct Measured<'a> {
    scales: Option<&'a scale::Scale>,
    import: Option<&'a import::Import>,
    deliveries: Option<&'a [Duration]>,
    neighbours: &'a [fairness::Fairness],
}

fn write_report(
    bench: &Bench,
    machine: &[(&'static str, String)],
    rows: &[report::Row],
    measured: Measured<'_>,
    started: Instant,
) -> anyhow::Result<()> {
    let settings = &bench.settings;
    let tables = report::Tables {
        functions: report::table(rows, settings),
        per_call: report::per_call(rows),
        stack: settings.runs("stack").then(|| report::stack(rows)),
        scale: measured.scales.map(|s| report::scale(s, measured.import)),
        webhooks: measured.deliveries.map(report::webhooks),
        fairness: (!measured.neighbours.is_empty()).then(|| report::fairness(measured.neighbours)),
    };
    println!("{}\n{}", tables.functions, tables.per_call);
    for extra in [
        &tables.stack,
        &tables.webhooks,
        &tables.fairness,
        &tables.scale,
    ]
    .into_iter()
    .flatten()
    {
        println!("{extra}");
    }
    let doc = report::document(machine, &tables, settings, started.elapsed());
    let path = std::env::var_os(BENCH_OUTPUT)
        .map(PathBuf::from)
        .unwrap_or_else(|| bench.root.join("docs").join("PERFORMANCE.md"));
    std::fs::write(&path, doc).with_context(|| path.display().to_string())?;
    eprintln!("written to {}", path.display());
    Ok(())
}
