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
/// Warm finds timed per size, in `ROUNDS` processes that each first make `WARMUP` untimed.
const CALLS: usize = 1_000;
const ROUNDS: usize = 4;
const WARMUP: usize = 100;
/// Finds metered per size.
const METERED: usize = 100;

pub struct Scale {
    pub contacts: usize,
    /// How long seeding took (DynamoDB Local, 16 transactions at a time).
    pub seeding: Duration,
    pub latencies: Vec<Duration>,
    /// Set once every round has run.
    pub storage: Option<Storage>,
}

/// `launcher` is the find function's; each size gets a table of its own. Both are seeded
/// first, then measured in alternating rounds, so that drift (DynamoDB Local's garbage
/// collection after seeding, other work on the machine) falls on both alike.
pub async fn measure(
    find: &Function,
    launcher: &Launcher,
    root: &std::path::Path,
) -> Result<Vec<Scale>, String> {
    let mut sized = Vec::new();
    for contacts in SIZES {
        let table = format!("bench-scale-{contacts}");
        eprintln!("scaling: seeding {contacts} contacts");
        let started = Instant::now();
        let token = seed::table(&launcher.endpoint, &table).await?;
        seed::crowd(&launcher.endpoint, &table, contacts, MATCHES).await?;
        let scale = Scale {
            contacts,
            seeding: started.elapsed(),
            latencies: Vec::with_capacity(CALLS),
            storage: None,
        };
        let launcher = Launcher {
            table,
            ..launcher.clone()
        };
        sized.push((scale, launcher, Events::load(root, find.name, &token)?));
    }
    for round in 0..ROUNDS {
        for (scale, launcher, events) in &mut sized {
            eprintln!(
                "scaling: round {} of {ROUNDS}, {} finds among {} contacts",
                round + 1,
                CALLS / ROUNDS,
                scale.contacts
            );
            let warm =
                measure::warm(find, launcher, events, WARMUP, WARMUP + CALLS / ROUNDS).await?;
            scale.latencies.extend(warm.latencies);
        }
    }
    let mut out = Vec::new();
    for (mut scale, launcher, mut events) in sized {
        scale.storage = Some(storage::measure(find, &launcher, &mut events, METERED).await?);
        out.push(scale);
    }
    Ok(out)
}
