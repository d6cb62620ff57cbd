//! The measurements of one function: cold starts, then one long-lived process for warm
//! latency and memory.

use std::time::Duration;

use anyhow::Context;

use crate::events::Events;
use crate::function::{Function, Launcher};

pub struct ColdStarts {
    /// From spawning the process to its first `GET invocation/next`.
    pub to_next: Vec<Duration>,
    /// From spawning the process to the end of its first invocation's response.
    pub first_done: Vec<Duration>,
}

pub struct Warm {
    /// From handing out the event to the end of the response, after the warm-up.
    pub latencies: Vec<Duration>,
    /// Resident set after the warm-up, in KiB.
    pub rss_warm: u64,
    /// Resident set after every invocation, in KiB.
    pub rss_end: u64,
    /// Peak resident set (VmHWM) after every invocation, in KiB.
    pub peak_end: u64,
    /// CPU time (user and system, all threads) per invocation after the warm-up: the
    /// handler, the runtime and the SDK's client. DynamoDB Local's work is another
    /// process's, and waiting for it takes none.
    pub cpu_per_call: Duration,
    /// Bytes the process wrote to its log (stdout and stderr: log lines and metrics) per
    /// invocation after the warm-up: what CloudWatch Logs ingests, Lambda's own START, END
    /// and REPORT lines aside.
    pub log_bytes_per_call: f64,
}

/// `starts` fresh processes, each killed after its first invocation.
pub async fn cold_starts(
    function: &Function,
    launcher: &Launcher,
    events: &mut Events,
    starts: usize,
) -> anyhow::Result<ColdStarts> {
    let mut cold = ColdStarts {
        to_next: Vec::with_capacity(starts),
        first_done: Vec::with_capacity(starts),
    };
    for _ in 0..starts {
        let mut instance = launcher.start().await?;
        let first = instance.invoke(events.next()).await?;
        function.check(&first.response)?;
        cold.to_next.push(first.asked - instance.spawned);
        cold.first_done.push(first.answered - instance.spawned);
        instance.stop().await;
    }
    Ok(cold)
}

/// One process, `total` sequential invocations; the first `warmup` (the cold one among
/// them) are not timed.
pub async fn warm(
    function: &Function,
    launcher: &Launcher,
    events: &mut Events,
    warmup: usize,
    total: usize,
) -> anyhow::Result<Warm> {
    let mut instance = launcher.start().await?;
    let pid = instance
        .pid()
        .with_context(|| format!("{}: the process is gone", function.name))?;
    let mut latencies = Vec::with_capacity(total - warmup);
    let mut rss_warm = 0;
    let mut cpu_warm = Duration::ZERO;
    let mut log_warm = 0;
    for done in 1..=total {
        let invocation = instance.invoke(events.next()).await?;
        function.check(&invocation.response)?;
        if done > warmup {
            latencies.push(invocation.answered - invocation.handed);
        }
        if done == warmup {
            rss_warm = memory(pid)?.rss;
            cpu_warm = cpu_time(pid)?;
            log_warm = log_size(launcher);
        }
    }
    let end = memory(pid)?;
    let cpu = cpu_time(pid)?.saturating_sub(cpu_warm);
    let logged = log_size(launcher).saturating_sub(log_warm);
    instance.stop().await;
    Ok(Warm {
        latencies,
        rss_warm,
        rss_end: end.rss,
        peak_end: end.peak,
        cpu_per_call: cpu / u32::try_from(total - warmup).unwrap_or(u32::MAX),
        log_bytes_per_call: logged as f64 / (total - warmup) as f64,
    })
}

/// The size of the function's log so far (its lines are written before it answers).
fn log_size(launcher: &Launcher) -> u64 {
    std::fs::metadata(&launcher.log).map_or(0, |m| m.len())
}

struct Memory {
    rss: u64,
    peak: u64,
}

/// VmRSS and VmHWM of `pid`, in KiB.
fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{path}: no {name}"))
    };
    Ok(Memory {
        rss: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// CPU time of `pid`'s threads so far, to the nanosecond: the first field of each
/// thread's `/proc/<pid>/task/<tid>/schedstat` (the ticks in `/proc/<pid>/stat` are
/// sampled, too coarse for calls of a few hundred microseconds). A thread that ends takes
/// its time with it; a function's only lasting thread is its runtime's.
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).with_context(|| dir.clone())?;
    let mut total = Duration::ZERO;
    for task in tasks.filter_map(Result::ok) {
        let path = task.path().join("schedstat");
        let Ok(stat) = std::fs::read_to_string(&path) else {
            continue; // the thread ended meanwhile
        };
        let ns: u64 = stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse().ok())
            .with_context(|| format!("{}: no run time", path.display()))?;
        total += Duration::from_nanos(ns);
    }
    Ok(total)
}
