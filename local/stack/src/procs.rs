//! The process tree, read from `/proc`: which processes a service is (it and everything it
//! started, however deep), and how to end them all. `cargo lambda watch` runs each
//! function in a session of its own, so neither a process group nor a session holds a
//! service's processes: only the parent links do.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// A process, told apart from a later one that reuses its pid by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcId {
    pub pid: i32,
    /// Clock ticks after boot at which it started (`/proc/<pid>/stat`, field 22).
    pub start: u64,
}

/// A living process and its parent.
struct Entry {
    id: ProcId,
    ppid: i32,
}

/// What `/proc/<pid>/stat` says, or `None` for a process that is gone or a zombie.
fn entry(pid: i32) -> Option<Entry> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields follow the last ')'.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let (state, ppid, start) = (fields.first()?, fields.get(1)?, fields.get(19)?);
    if matches!(*state, "Z" | "X" | "x") {
        return None;
    }
    Some(Entry {
        id: ProcId {
            pid,
            start: start.parse().ok()?,
        },
        ppid: ppid.parse().ok()?,
    })
}

fn entries() -> Vec<Entry> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(entry)
        .collect()
}

/// The process with this pid now, if it lives.
pub fn identify(pid: i32) -> Option<ProcId> {
    entry(pid).map(|e| e.id)
}

pub fn alive(id: ProcId) -> bool {
    identify(id.pid) == Some(id)
}

/// The living ones of `roots`, and every living process below them.
pub fn closure(roots: &BTreeSet<ProcId>) -> BTreeSet<ProcId> {
    let all = entries();
    let mut children: HashMap<i32, Vec<ProcId>> = HashMap::new();
    let mut living = BTreeSet::new();
    for e in &all {
        children.entry(e.ppid).or_default().push(e.id);
        living.insert(e.id);
    }
    let mut found: BTreeSet<ProcId> = roots.intersection(&living).copied().collect();
    let mut pending: Vec<ProcId> = found.iter().copied().collect();
    while let Some(parent) = pending.pop() {
        for child in children.get(&parent.pid).into_iter().flatten() {
            if found.insert(*child) {
                pending.push(*child);
            }
        }
    }
    found
}

fn signal(ids: &BTreeSet<ProcId>, signal: i32) {
    for id in ids {
        // Checked just before, so a pid reused since is left alone.
        if alive(*id) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(id.pid, signal) };
        }
    }
}

/// Waits until none of `ids` lives; whether that happened within `timeout`.
fn wait_gone(ids: &BTreeSet<ProcId>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !ids.iter().any(|id| alive(*id)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills `roots` and everything below them at once: each is stopped first (so none can
/// start another process that would escape), the tree read again until it stops
/// growing, then all are killed.
pub fn kill_all(roots: &BTreeSet<ProcId>) {
    let mut members = closure(roots);
    loop {
        signal(&members, libc::SIGSTOP);
        let grown = closure(&members);
        if grown.is_subset(&members) {
            break;
        }
        members.extend(grown);
    }
    signal(&members, libc::SIGKILL);
    wait_gone(&members, Duration::from_secs(5));
}

/// Asks `roots` and everything below them to stop (SIGTERM), waits up to `grace`, then
/// kills what is left.
pub fn terminate(roots: &BTreeSet<ProcId>, grace: Duration) {
    let members = closure(roots);
    signal(&members, libc::SIGTERM);
    if !wait_gone(&members, grace) {
        let left: BTreeSet<ProcId> = members.into_iter().filter(|id| alive(*id)).collect();
        kill_all(&left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_tree_is_found_and_killed_whole() {
        // A shell whose child sleeps: the grandchild is found through its parent.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 60 & wait"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let root = identify(child.id() as i32).unwrap();
        let roots = BTreeSet::from([root]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while closure(&roots).len() < 2 {
            assert!(Instant::now() < deadline, "the grandchild never appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
        let members = closure(&roots);
        kill_all(&roots);
        let _ = child.wait();
        assert!(members.iter().all(|id| !alive(*id)), "{members:?}");
    }

    #[test]
    fn a_reused_pid_is_not_the_same_process() {
        let me = identify(std::process::id() as i32).unwrap();
        assert!(alive(me));
        assert!(!alive(ProcId {
            pid: me.pid,
            start: me.start + 1
        }));
    }
}
