//! Whether a find costs what it returns rather than what the channel holds: the same
//! query, with the same number of matches, in a channel of 1,000 and one of 100,000
//! contacts.

use std::time::{Duration, Instant};

use crate::events::Events;
use crate::function::{Function, Launcher};
use crate::storage::Storage;
use crate::{measure, seed, storage};

/// Channel sizes compared, and the matches in each.
pub const SIZES: [usize; 2] = [1_000, 100_000];
pub const MATCHES: usize = 10;
/// Warm finds timed per size, after `WARMUP` untimed ones.
const CALLS: usize = 1_000;
const WARMUP: usize = 100;
/// Finds metered per size.
const METERED: usize = 100;

pub struct Scale {
    pub contacts: usize,
    /// How long seeding took (DynamoDB Local, 16 transactions at a time).
    pub seeding: Duration,
    pub latencies: Vec<Duration>,
    pub storage: Storage,
}

/// `launcher` is the find function's; each size gets a table of its own.
pub async fn measure(
    find: &Function,
    launcher: &Launcher<'_>,
    root: &std::path::Path,
) -> Result<Vec<Scale>, String> {
    let mut out = Vec::new();
    for contacts in SIZES {
        let table = format!("bench-scale-{contacts}");
        eprintln!("scaling: seeding {contacts} contacts");
        let started = Instant::now();
        let token = seed::table(&launcher.endpoint, &table).await?;
        seed::crowd(&launcher.endpoint, &table, contacts, MATCHES).await?;
        let seeding = started.elapsed();
        let mut events = Events::load(root, find.name, &token)?;
        let sized = Launcher {
            table,
            ..launcher.clone()
        };
        eprintln!("scaling: {CALLS} finds among {contacts} contacts");
        let warm = measure::warm(find, &sized, &mut events, WARMUP, WARMUP + CALLS).await?;
        let storage = storage::measure(find, &sized, &mut events, METERED).await?;
        out.push(Scale {
            contacts,
            seeding,
            latencies: warm.latencies,
            storage,
        });
    }
    Ok(out)
}
