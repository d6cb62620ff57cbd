//! `make bench`: cold start, warm latency and memory of every function's release build,
//! run as Lambda runs it against a Runtime API served here and DynamoDB Local, and the
//! size of its zipped arm64 package. Prints the table and writes docs/PERFORMANCE.md.

mod dynamo;
mod function;
mod group;
mod machine;
mod measure;
mod package;
mod report;
mod runtime_api;
mod seed;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use dynamo::DynamoLocal;
use function::{Launcher, FUNCTIONS};
use group::ProcessGroup;

/// How many of each thing to do (`BENCH_*` environment variables, for quick runs).
pub struct Settings {
    pub cold_starts: usize,
    pub invocations: usize,
    pub warmup: usize,
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
        };
        if settings.cold_starts == 0 || settings.warmup == 0 {
            return Err("BENCH_COLD_STARTS and BENCH_WARMUP must be at least 1".into());
        }
        if settings.invocations <= settings.warmup {
            return Err("BENCH_INVOCATIONS must be more than BENCH_WARMUP".into());
        }
        Ok(settings)
    }
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
    let machine = machine::describe(&root);

    // Missing builds fail here, before anything is started.
    let mut packages = Vec::new();
    for function in &FUNCTIONS {
        packages.push(package::measure(&target, function.name, &work)?);
        let binary = target.join("release").join(function.name);
        if !binary.exists() {
            return Err(format!(
                "{} is missing: build it with `cargo build --release -p {}`",
                binary.display(),
                function.name
            ));
        }
    }

    let group = ProcessGroup::start().map_err(|e| format!("cannot start the watchdog: {e}"))?;
    let dynamo = DynamoLocal::start(&group, &root, &work, &work.join("dynamodb.log")).await?;
    let mut rows = Vec::new();
    for (function, package) in FUNCTIONS.iter().zip(packages) {
        let table = format!("bench-{}", function.name);
        let token = seed::table(&dynamo.endpoint, &table).await?;
        let event = seed::event(&root, function.name, &token)?;
        let log = work.join(format!("{}.log", function.name));
        let _ = std::fs::remove_file(&log);
        let launcher = Launcher {
            name: function.name,
            binary: target.join("release").join(function.name),
            endpoint: dynamo.endpoint.clone(),
            table,
            log,
            group: &group,
        };
        eprintln!("{}: {} cold starts", function.name, settings.cold_starts);
        let cold = measure::cold_starts(function, &launcher, &event, settings.cold_starts).await?;
        eprintln!(
            "{}: {} invocations in one process",
            function.name, settings.invocations
        );
        let warm = measure::warm(
            function,
            &launcher,
            &event,
            settings.warmup,
            settings.invocations,
        )
        .await?;
        rows.push(report::Row {
            name: function.name,
            cold,
            warm,
            package,
        });
    }
    drop(dynamo);
    drop(group);

    let table = report::table(&rows, &settings);
    println!("{table}");
    let doc = report::document(&machine, &table, &settings, started.elapsed());
    let path = root.join("docs").join("PERFORMANCE.md");
    std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("written to {}", path.display());
    Ok(())
}
