//! The table of figures against their targets, and docs/PERFORMANCE.md around it.

use std::fmt::Write;
use std::time::Duration;

use crate::measure::{ColdStarts, Warm};
use crate::package::Package;
use crate::Settings;

const MIB: f64 = 1024.0 * 1024.0;

/// The targets the figures are compared with.
const COLD_TO_NEXT_MS: f64 = 12.0;
const COLD_FIRST_DONE_MS: f64 = 30.0;
const PEAK_RSS_MIB: f64 = 32.0;
const ZIPPED_MIB: f64 = 4.0;

/// The figures of one function.
pub struct Row {
    pub name: &'static str,
    pub cold: ColdStarts,
    pub warm: Warm,
    pub package: Package,
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
        let zipped = row.package.zipped as f64 / MIB;
        out += &line(&[
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
            format!("{zipped:.2} MiB ({} B)", thousands(row.package.zipped)),
            verdict(zipped, ZIPPED_MIB),
            format!("{:.2} MiB", row.package.bootstrap as f64 / MIB),
        ]);
    }
    out
}

pub fn document(
    machine: &[(&str, String)],
    table: &str,
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
        "\n## Figures\n\n{table}\n\
         A target column says `met` or **missed**: cold starts by their median, memory by \
         the peak, packages by their zipped size. Warm latency has no target of its own (it \
         includes DynamoDB Local, see below); the handler's CPU time will have one.\n\n"
    );
    doc += &method(settings);
    doc += NOT_YET_MEASURED;
    doc
}

fn method(settings: &Settings) -> String {
    format!(
        "## How it is measured\n\n\
         - **Functions**: host (x86_64) builds from `cargo build --release -p <function>` with \
         the workspace's release profile (LTO, one codegen unit, `opt-level = \"s\"`, \
         `panic = \"abort\"`, stripped). Each process gets Lambda's environment for \
         template.yaml's settings (128 MB, JSON logs at INFO, region, credentials in the \
         environment) and `AWS_LAMBDA_RUNTIME_API` pointing at a minimal Lambda Runtime API \
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
         replaced value: about 0.1 KiB of growth per invocation (when this bench was written, \
         the same run with one fixed trace id grew by 0.1 MiB at most).\n\
         - **Package**: `cargo lambda build --release --arm64` (zig as the cross linker) \
         leaves each function's `bootstrap` in `target/lambda/<function>/`; the bench zips it \
         alone at the archive's root with `zip -X` (deflate, default level, as SAM does) and \
         reports the archive's bytes. `sam build` copies the same files to `.aws-sam/build/`.\n\
         - **Noise**: the machine has few cores and may be shared with other work (see the \
         load average above); DynamoDB Local runs on the same cores as the functions.\n\
         - Counts can be changed for a quick run with `BENCH_COLD_STARTS`, \
         `BENCH_INVOCATIONS` and `BENCH_WARMUP`; the figures above used {starts}, {total} and \
         {warmup}.\n\n",
        starts = settings.cold_starts,
        total = thousands(settings.invocations as u64),
        warmup = thousands(settings.warmup as u64),
        timed = thousands((settings.invocations - settings.warmup) as u64),
    )
}

const NOT_YET_MEASURED: &str = "## Not yet measured\n\n\
| item | compared with | status |\n\
| --- | --- | --- |\n\
| handler CPU time per call, storage excluded | target ≤ 200 µs | **not yet measured** |\n\
| DynamoDB round trips and consumed capacity per endpoint (`ReturnConsumedCapacity`), and dollars per million calls | the estimates in README.md, \"What it costs per million calls\" | **not yet measured** |\n\
| warm latency through the local stack (local gateway → functions → DynamoDB Local) | no target yet | **not yet measured** |\n\
| find by field at 1,000 vs 100,000 contacts in a channel | each other: the field index is meant to make a find cost what it returns, whatever the channel's size | **not yet measured** |\n\
\n\
The targets, all together: cold start to the first `next` ≤ 12 ms, first invocation \
complete ≤ 30 ms, peak RSS ≤ 32 MiB and zipped package ≤ 4 MiB (measured above); handler \
CPU ≤ 200 µs per call (not yet measured).\n";

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
