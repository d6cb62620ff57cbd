//! What each call costs in storage: the function runs behind the metering proxy, and each
//! invocation's DynamoDB round trips are read off the wire.

use anyhow::Context;

use crate::events::Events;
use crate::function::{Function, Launcher};
use crate::meter::{self, Meter, RoundTrip};

/// The storage figures of one function's warm calls.
pub struct Storage {
    /// Round trips per call: the most common count, and the most seen.
    pub round_trips: usize,
    pub max_round_trips: usize,
    /// Round trips that waited for one another, per call (most common).
    pub sequential: usize,
    /// The most common call's operations, in the order they were sent.
    pub operations: String,
    /// Mean units per call as DynamoDB bills them.
    pub read_units: f64,
    pub write_units: f64,
}

/// `calls` invocations of one fresh process whose DynamoDB endpoint is a meter in front
/// of `launcher`'s, after its first (which also loads the channel's field definitions).
pub async fn measure(
    function: &Function,
    launcher: &Launcher,
    events: &mut Events,
    calls: usize,
) -> anyhow::Result<Storage> {
    let upstream = launcher.endpoint.trim_start_matches("http://").to_string();
    let meter = Meter::start(upstream)
        .await
        .with_context(|| format!("{}: metering proxy", function.name))?;
    let metered = Launcher {
        endpoint: meter.endpoint.clone(),
        ..launcher.clone()
    };
    let mut instance = metered.start().await?;
    let mut per_call = Vec::with_capacity(calls);
    for done in 0..=calls {
        let invocation = instance.invoke(events.next()).await?;
        function.check(&invocation.response)?;
        let trips = meter.take();
        if done > 0 {
            per_call.push(trips);
        }
    }
    instance.stop().await;
    Ok(summarize(per_call))
}

fn summarize(mut per_call: Vec<Vec<RoundTrip>>) -> Storage {
    for trips in &mut per_call {
        trips.sort_by_key(|t| t.sent);
    }
    let counts: Vec<usize> = per_call.iter().map(Vec::len).collect();
    let rounds: Vec<_> = per_call.iter().map(|t| meter::rounds(t)).collect();
    let sequential: Vec<usize> = rounds.iter().map(Vec::len).collect();
    let names: Vec<String> = rounds.iter().map(|r| operations(r)).collect();
    let (mut read, mut write) = (0.0, 0.0);
    for trip in per_call.iter().flatten() {
        if trip.writes() {
            write += trip.units;
        } else {
            read += trip.units;
        }
    }
    let calls = per_call.len().max(1) as f64;
    Storage {
        round_trips: most_common(&counts).unwrap_or(0),
        max_round_trips: counts.iter().copied().max().unwrap_or(0),
        sequential: most_common(&sequential).unwrap_or(0),
        operations: most_common(&names).unwrap_or_default(),
        read_units: read / calls,
        write_units: write / calls,
    }
}

/// `Query ‖ Query → BatchGetItem`: `‖` joins round trips that overlapped.
fn operations(rounds: &[Vec<&RoundTrip>]) -> String {
    if rounds.is_empty() {
        return "none".to_string();
    }
    let round = |r: &Vec<&RoundTrip>| {
        let names: Vec<&str> = r.iter().map(|t| t.operation.as_str()).collect();
        names.join(" ‖ ")
    };
    rounds.iter().map(round).collect::<Vec<_>>().join(" → ")
}

fn most_common<T: Ord + Clone>(values: &[T]) -> Option<T> {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| run.len())
        .map(|run| run[0].clone())
}
