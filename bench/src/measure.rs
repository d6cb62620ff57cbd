//! The measurements of one function: cold starts, then one long-lived process for warm
//! latency and memory.

use std::time::Duration;

use hyper::body::Bytes;

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
}

/// `starts` fresh processes, each killed after its first invocation.
pub async fn cold_starts(
    function: &Function,
    launcher: &Launcher<'_>,
    event: &Bytes,
    starts: usize,
) -> Result<ColdStarts, String> {
    let mut cold = ColdStarts {
        to_next: Vec::with_capacity(starts),
        first_done: Vec::with_capacity(starts),
    };
    for _ in 0..starts {
        let mut instance = launcher.start().await?;
        let first = instance.invoke(event).await?;
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
    launcher: &Launcher<'_>,
    event: &Bytes,
    warmup: usize,
    total: usize,
) -> Result<Warm, String> {
    let mut instance = launcher.start().await?;
    let pid = instance
        .pid()
        .ok_or_else(|| format!("{}: the process is gone", function.name))?;
    let mut latencies = Vec::with_capacity(total - warmup);
    let mut rss_warm = 0;
    for done in 1..=total {
        let invocation = instance.invoke(event).await?;
        function.check(&invocation.response)?;
        if done > warmup {
            latencies.push(invocation.answered - invocation.handed);
        }
        if done == warmup {
            rss_warm = memory(pid)?.rss;
        }
    }
    let end = memory(pid)?;
    instance.stop().await;
    Ok(Warm {
        latencies,
        rss_warm,
        rss_end: end.rss,
        peak_end: end.peak,
    })
}

struct Memory {
    rss: u64,
    peak: u64,
}

/// VmRSS and VmHWM of `pid`, in KiB.
fn memory(pid: u32) -> Result<Memory, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("{path}: no {name}"))
    };
    Ok(Memory {
        rss: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}
