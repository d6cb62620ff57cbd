//! `make bench`: cold start, warm latency, memory and CPU of every function's release build,
//! run as Lambda runs it against a Runtime API served here and DynamoDB Local; its handler's
//! CPU without storage; its DynamoDB round trips, units and cost per call; latency through
//! the local stack; find at 1,000 vs 100,000 contacts; and the size of its zipped arm64
//! package. Prints the tables and writes docs/PERFORMANCE.md.

mod cost;
mod events;
mod function;
mod handler;
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

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use events::Events;
use function::{Launcher, FUNCTIONS};
use local_stack::{DynamoConfig, DynamoLocal, Logs};

/// Invocations metered per function for its storage figures.
pub const METERED_CALLS: usize = 200;
/// Calls timed per endpoint through the local stack, after the untimed ones.
const STACK_CALLS: usize = 1_000;
const STACK_WARMUP: usize = 50;

/// How many of each thing to do (`BENCH_*` environment variables, for quick runs).
pub struct Settings {
    pub cold_starts: usize,
    pub invocations: usize,
    pub warmup: usize,
    /// `BENCH_ONLY`: the functions to measure (all when unset).
    pub only: Option<Vec<String>>,
    /// `BENCH_SKIP`: parts left out (`stack`, `scale`, `package`).
    pub skip: Vec<String>,
    /// `BENCH_FIXED_TRACE_ID=1`: one trace id for every event (memory-growth check).
    pub fixed_trace_id: bool,
}

impl Settings {
    fn from_env() -> Result<Self, String> {
        let count = |name: &str, default: usize| match std::env::var(name) {
            Ok(value) => value
                .parse::<usize>()
                .map_err(|_| format!("{name}={value} is not a count")),
            Err(_) => Ok(default),
        };
        let settings = Self {
            cold_starts: count("BENCH_COLD_STARTS", 20)?,
            invocations: count("BENCH_INVOCATIONS", 10_000)?,
            warmup: count("BENCH_WARMUP", 1_000)?,
            only: list("BENCH_ONLY"),
            skip: list("BENCH_SKIP").unwrap_or_default(),
            fixed_trace_id: std::env::var("BENCH_FIXED_TRACE_ID").is_ok_and(|v| v == "1"),
        };
        for part in &settings.skip {
            if !["stack", "scale", "package"].contains(&part.as_str()) {
                return Err(format!(
                    "BENCH_SKIP: no part {part} (stack, scale, package)"
                ));
            }
        }
        for name in settings.only.iter().flatten() {
            if !FUNCTIONS.iter().any(|f| f.name == name) {
                return Err(format!("BENCH_ONLY: no function {name}"));
            }
        }
        if settings.cold_starts == 0 || settings.warmup == 0 {
            return Err("BENCH_COLD_STARTS and BENCH_WARMUP must be at least 1".into());
        }
        if settings.invocations <= settings.warmup {
            return Err("BENCH_INVOCATIONS must be more than BENCH_WARMUP".into());
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
            eprintln!("bench failed: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let started = Instant::now();
    let settings = Settings::from_env()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ is inside the workspace")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let work = target.join("bench");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let machine = machine::describe();

    // Missing builds fail here, before anything is started.
    let functions: Vec<_> = FUNCTIONS
        .iter()
        .filter(|f| settings.measures(f.name))
        .collect();
    let mut packages = Vec::new();
    for function in &functions {
        packages.push(if settings.runs("package") {
            Some(package::measure(&target, function.name, &work)?)
        } else {
            None
        });
        let binary = target.join("release").join(function.name);
        if !binary.exists() {
            return Err(format!(
                "{} is missing: build it with `cargo build --release -p {}`",
                binary.display(),
                function.name
            ));
        }
    }
    let gateway = target.join("release").join("local-gateway");
    if settings.runs("stack") && !gateway.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release -p local-gateway`",
            gateway.display()
        ));
    }

    // Everything started from here on dies with the bench, even if it is killed.
    let dynamo = DynamoLocal::start(DynamoConfig {
        port: None,
        data: None,
        logs: Logs::Dir(work.clone()),
    })?;
    let endpoint = dynamo.endpoint();
    let mut rows = Vec::new();
    let mut scales = None;
    for (function, package) in functions.iter().zip(packages) {
        let table = format!("bench-{}", function.name);
        let token = seed::table(&endpoint, &table).await?;
        let mut events = Events::load(&root, function.name, &token)?;
        let log = work.join(format!("{}.log", function.name));
        let _ = std::fs::remove_file(&log);
        let launcher = Launcher {
            name: function.name,
            binary: target.join("release").join(function.name),
            endpoint: endpoint.clone(),
            table,
            log,
            fixed_trace_id: settings.fixed_trace_id,
        };
        eprintln!("{}: {} cold starts", function.name, settings.cold_starts);
        let cold =
            measure::cold_starts(function, &launcher, &mut events, settings.cold_starts).await?;
        eprintln!(
            "{}: {} invocations in one process",
            function.name, settings.invocations
        );
        let warm = measure::warm(
            function,
            &launcher,
            &mut events,
            settings.warmup,
            settings.invocations,
        )
        .await?;
        eprintln!("{}: {METERED_CALLS} metered invocations", function.name);
        let storage = storage::measure(function, &launcher, &mut events, METERED_CALLS).await?;
        let handler_cpu = match function.http_status() {
            Some(status) => {
                eprintln!("{}: the handler alone", function.name);
                let app = handler::service(&endpoint, &launcher.table).await?;
                let mut events = Events::load(&root, function.name, &token)?;
                handler::cpu_per_call(&app, function.name, &mut events, status).await?
            }
            None => None,
        };
        if function.name == "find-contacts" && settings.runs("scale") {
            scales = Some(scale::measure(function, &launcher, &root).await?);
        }
        rows.push(report::Row {
            name: function.name,
            cold,
            warm,
            package,
            storage,
            handler_cpu,
            endpoint: function.http_status().is_some(),
            stack: None,
        });
    }
    if settings.runs("stack") {
        let table = "bench-stack";
        let token = seed::table(&endpoint, table).await?;
        let stack = stack::LocalStack::start(&work, &endpoint, table)?;
        // Creates last: every contact they add matches the find event, which must find the
        // one seeded contact here as it does when measured alone.
        let mut order: Vec<&mut report::Row> = rows.iter_mut().collect();
        order.sort_by_key(|row| row.name == "create-contact");
        for row in order {
            let function = FUNCTIONS.iter().find(|f| f.name == row.name);
            let Some(status) = function.and_then(|f| f.http_status()) else {
                continue;
            };
            eprintln!(
                "{}: {STACK_CALLS} calls through the local gateway",
                row.name
            );
            let events = Events::load(&root, row.name, &token)?;
            let latencies = stack
                .latencies(&events, status, STACK_WARMUP, STACK_CALLS)
                .await
                .map_err(|e| format!("{} through the local stack: {e}", row.name))?;
            row.stack = Some(latencies);
        }
    }
    drop(dynamo);

    let tables = report::Tables {
        functions: report::table(&rows, &settings),
        per_call: report::per_call(&rows),
        stack: settings.runs("stack").then(|| report::stack(&rows)),
        scale: scales.as_deref().map(report::scale),
    };
    println!("{}\n{}", tables.functions, tables.per_call);
    for extra in [&tables.stack, &tables.scale].into_iter().flatten() {
        println!("{extra}");
    }
    let doc = report::document(&machine, &tables, &settings, started.elapsed());
    let path = std::env::var_os("BENCH_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("docs").join("PERFORMANCE.md"));
    std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("written to {}", path.display());
    Ok(())
}
