//! Services: processes that die with the process that started them (their owner),
//! however it dies. The owner becomes a child subreaper, so whatever its services start
//! stays in its process tree; a guard process (`local-stack guard`, in a process group of
//! its own) watches that tree and, when the owner is gone (the pipe it holds closes, which
//! the kernel does even on SIGKILL), kills everything that was in it.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::procs::{self, ProcId};

/// How long a service may take to stop after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Where services' output goes.
#[derive(Debug, Clone)]
pub enum Logs {
    /// This process's own stdout and stderr.
    Inherit,
    /// A file per service in this folder: `{service}-{port}.log`, truncated first.
    Dir(PathBuf),
}

impl Logs {
    /// Where the output of service `file_name` (on `port`) goes; `None` for inherited.
    pub fn file(&self, file_name: &str, port: u16) -> Option<PathBuf> {
        match self {
            Logs::Inherit => None,
            Logs::Dir(dir) => Some(dir.join(format!("{file_name}-{port}.log"))),
        }
    }

    fn apply(&self, command: &mut Command, file_name: &str, port: u16) -> Result<(), String> {
        let Some(path) = self.file(file_name, port) else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let out = std::fs::File::create(&path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        command.stdout(out).stderr(err);
        Ok(())
    }
}

/// The pipe to this process's guard; the guard reads `+pid` for each new service.
fn guard() -> Result<&'static Mutex<std::io::PipeWriter>, String> {
    static GUARD: OnceLock<Result<Mutex<std::io::PipeWriter>, String>> = OnceLock::new();
    GUARD
        .get_or_init(start_guard)
        .as_ref()
        .map_err(Clone::clone)
}

fn start_guard() -> Result<Mutex<std::io::PipeWriter>, String> {
    // Orphans of the services (a function whose watcher died, say) become this process's
    // children instead of init's, so the guard still sees them in this process's tree.
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes plain integers.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "cannot become a child subreaper: {}",
            std::io::Error::last_os_error()
        ));
    }
    let binary = crate::paths::local_stack_binary()?;
    // Both ends are close-on-exec: only the guard (as its stdin) and this process hold them.
    let (reader, writer) = std::io::pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
    let guard = Command::new(&binary)
        .arg("guard")
        .stdin(reader)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Out of the owner's process group: a signal to that group must not reach it.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the guard {}: {e}", binary.display()))?;
    // Never waited for: it outlives this process on purpose.
    std::mem::forget(guard);
    Ok(Mutex::new(writer))
}

/// Tells the guard about a process of ours.
fn watch(pid: u32) -> Result<(), String> {
    let mut pipe = guard()?.lock().unwrap_or_else(|e| e.into_inner());
    writeln!(pipe, "+{pid}").map_err(|e| format!("the guard is gone: {e}"))
}

/// A process of the local stack and everything it starts.
pub struct Service {
    name: String,
    child: Child,
    id: ProcId,
    stopped: bool,
}

impl Service {
    /// Starts `command` as the service `name` (on `port`): in a process group of its own
    /// (a Ctrl-C meant for the owner does not reach it; the owner stops it in order),
    /// stdin closed, output where `logs` says (a file named `file_name`).
    pub fn start(
        name: &str,
        file_name: &str,
        port: u16,
        mut command: Command,
        logs: &Logs,
    ) -> Result<Self, String> {
        guard()?;
        logs.apply(&mut command, file_name, port)?;
        command.stdin(Stdio::null()).process_group(0);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", command.get_program()))?;
        watch(child.id())?;
        let pid = child.id() as i32;
        // It may have exited already; then there is nothing to stop.
        let id = procs::identify(pid).unwrap_or(ProcId { pid, start: 0 });
        Ok(Service {
            name: name.to_string(),
            child,
            id,
            stopped: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops it and everything it started: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        procs::terminate(&BTreeSet::from([self.id]), grace);
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop(STOP_GRACE);
    }
}

/// The guard's main loop (`local-stack guard`): remembers every process below its owner
/// (its parent), and once the owner is gone, kills them all.
pub fn guard_main() {
    use std::io::Read;

    let owner = procs::identify(std::os::unix::process::parent_id() as i32);
    let me = procs::identify(std::process::id() as i32);
    let mut known: BTreeSet<ProcId> = BTreeSet::new();
    let mut input = Vec::new();
    let mut buffer = [0u8; 512];
    loop {
        let mut poll = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, as poll(2) expects.
        let ready = unsafe { libc::poll(&mut poll, 1, 250) };
        if ready > 0 {
            match std::io::stdin().read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => input.extend_from_slice(&buffer[..n]),
            }
            while let Some(end) = input.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = input.drain(..=end).collect();
                let pid = std::str::from_utf8(&line)
                    .ok()
                    .and_then(|l| l.trim().strip_prefix('+')?.parse().ok());
                known.extend(pid.and_then(procs::identify));
            }
        }
        // Everything below the owner now: what a process of the stack started since.
        if let Some(owner) = owner {
            let below = procs::closure(&BTreeSet::from([owner]));
            known.extend(below.into_iter().filter(|id| Some(*id) != me));
            known.remove(&owner);
        }
        known.retain(|id| procs::alive(*id));
    }
    // The owner is gone: so must be everything it started.
    procs::kill_all(&known);
}
