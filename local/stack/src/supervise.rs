//! Services: processes that die with the process that started them (their owner),
//! however it dies. The owner becomes a child subreaper, so whatever its services start
//! stays in its process tree; a guard process (`local-stack guard`, in a process group of
//! its own) watches that tree and, when the owner is gone (the pipe it holds closes, which
//! the kernel does even on SIGKILL), kills everything that was in it.

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Write};

use anyhow::{anyhow, Context};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    /// As `Dir`, and the lines that warn or fail also on this process's stderr, named by
    /// their service (`make dev`: the terminal keeps the banner, then shows only what
    /// needs a look, never a line per request).
    Quiet(PathBuf),
}

impl Logs {
    /// Where the output of service `file_name` (on `port`) goes; `None` for inherited.
    pub fn file(&self, file_name: &str, port: u16) -> Option<PathBuf> {
        match self {
            Logs::Inherit => None,
            Logs::Dir(dir) | Logs::Quiet(dir) => Some(dir.join(format!("{file_name}-{port}.log"))),
        }
    }

    /// Points `command`'s output where it goes: inherited, a file, or pipes that
    /// [`follow`](Self::follow) reads once it runs.
    fn apply(&self, command: &mut Command, file_name: &str, port: u16) -> anyhow::Result<()> {
        let Some(path) = self.file(file_name, port) else {
            return Ok(());
        };
        if let Logs::Quiet(_) = self {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            return Ok(());
        }
        let out = create_log(&path)?;
        let err = out
            .try_clone()
            .with_context(|| path.display().to_string())?;
        command.stdout(out).stderr(err);
        Ok(())
    }

    /// For `Quiet`: copies the running service's output to its file, and the lines that
    /// warn or fail to this process's stderr too, until the service closes its output.
    fn follow(
        &self,
        child: &mut Child,
        name: &str,
        file_name: &str,
        port: u16,
        stopping: &Arc<AtomicBool>,
    ) -> anyhow::Result<()> {
        let (Logs::Quiet(_), Some(path)) = (self, self.file(file_name, port)) else {
            return Ok(());
        };
        let file = Arc::new(Mutex::new(create_log(&path)?));
        let out = child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>);
        let err = child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>);
        for stream in [out, err].into_iter().flatten() {
            let (file, name, stopping) = (file.clone(), name.to_string(), stopping.clone());
            std::thread::spawn(move || copy_lines(stream, &file, &name, &stopping));
        }
        Ok(())
    }
}

fn create_log(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))
}

/// Copies lines to the file; shows those that warn or fail, until the service is being
/// stopped (what it says as it is killed is no news).
fn copy_lines(
    stream: Box<dyn Read + Send>,
    file: &Mutex<std::fs::File>,
    name: &str,
    stopping: &AtomicBool,
) {
    let mut reader = std::io::BufReader::new(stream);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let _ = file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(&line);
        let text = String::from_utf8_lossy(&line);
        if warns_or_fails(&text) && !stopping.load(Ordering::Relaxed) {
            eprint!("[{name}] {text}");
        }
        line.clear();
    }
}

/// Whether a line of a service's output warns or reports a failure: a log level of
/// WARN or above (the functions' tracing, the gateway's, DynamoDB Local's log4j, moto's
/// Python logging), a compiler's error or warning (cargo lambda watch rebuilding), a
/// panic or a Python traceback.
pub fn warns_or_fails(line: &str) -> bool {
    const MARKS: [&str; 8] = [
        "WARN",
        "ERROR",
        "FATAL",
        "CRITICAL",
        "error:",
        "error[",
        "panicked",
        "Traceback",
    ];
    // Warnings of the local emulation itself, said at every start, never of the product:
    // moto's server is werkzeug's development server, and cargo lambda watch sets
    // AWS_LAMBDA_MAX_CONCURRENCY for each function, which the runtime warns about (on AWS
    // only Lambda Managed Instances set it).
    const EXPECTED: [&str; 2] = [
        "This is a development server",
        "AWS_LAMBDA_MAX_CONCURRENCY is set",
    ];
    (MARKS.iter().any(|mark| line.contains(mark)) || line.starts_with("warning:"))
        && !EXPECTED.iter().any(|expected| line.contains(expected))
}

/// The pipe to this process's guard; the guard reads `+pid` for each new service.
fn guard() -> anyhow::Result<&'static Mutex<std::io::PipeWriter>> {
    // The reason it failed is kept as text: every later service is refused with it too.
    static GUARD: OnceLock<Result<Mutex<std::io::PipeWriter>, String>> = OnceLock::new();
    GUARD
        .get_or_init(|| start_guard().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|why| anyhow!("{why}"))
}

fn start_guard() -> anyhow::Result<Mutex<std::io::PipeWriter>> {
    // Orphans of the services (a function whose watcher died, say) become this process's
    // children instead of init's, so the guard still sees them in this process's tree.
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes plain integers.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot become a child subreaper");
    }
    let binary = crate::paths::local_stack_binary()?;
    // Both ends are close-on-exec: only the guard (as its stdin) and this process hold them.
    let (reader, writer) = std::io::pipe().context("cannot make a pipe")?;
    let guard = Command::new(&binary)
        .arg("guard")
        .stdin(reader)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Out of the owner's process group: a signal to that group must not reach it.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start the guard {}", binary.display()))?;
    // Never waited for: it outlives this process on purpose.
    std::mem::forget(guard);
    Ok(Mutex::new(writer))
}

/// Tells the guard about a process of ours.
fn watch(pid: u32) -> anyhow::Result<()> {
    let mut pipe = guard()?.lock().unwrap_or_else(|e| e.into_inner());
    writeln!(pipe, "+{pid}").context("the guard is gone")
}

/// A process of the local stack and everything it starts.
pub struct Service {
    name: String,
    child: Child,
    id: ProcId,
    stopped: bool,
    /// Set once it is being stopped: its output is no longer shown (`Logs::Quiet`).
    stopping: Arc<AtomicBool>,
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
    ) -> anyhow::Result<Self> {
        guard()?;
        logs.apply(&mut command, file_name, port)?;
        command.stdin(Stdio::null()).process_group(0);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name} ({:?})", command.get_program()))?;
        watch(child.id())?;
        let stopping = Arc::new(AtomicBool::new(false));
        logs.follow(&mut child, name, file_name, port, &stopping)?;
        let pid = child.id() as i32;
        // It may have exited already; then there is nothing to stop.
        let id = procs::identify(pid).unwrap_or(ProcId { pid, start: 0 });
        Ok(Service {
            name: name.to_string(),
            child,
            id,
            stopped: false,
            stopping,
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
        self.stopping.store(true, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::warns_or_fails;

    #[test]
    fn only_warnings_and_failures_reach_the_terminal() {
        for shown in [
            r#"{"level":"WARN","fields":{"message":"scan retried"}}"#,
            r#"{"timestamp":"…","level":"ERROR","fields":{"message":"storage unavailable"}}"#,
            "2026-12-03T10:00:00Z  WARN local_relay: stream read failed",
            "\u{1b}[31mERROR\u{1b}[0m local_gateway: the authorizer failed",
            "error[E0308]: mismatched types",
            "warning: unused import: `Path`",
            "thread 'main' panicked at src/main.rs:3:5:",
            "Traceback (most recent call last):",
            "2026-12-03 10:00:00.000 WARN  [main] com.amazonaws.services.dynamodbv2.local",
        ] {
            assert!(warns_or_fails(shown), "{shown}");
        }
        for quiet in [
            r#"127.0.0.1 - - [03/Dec/2026 10:00:00] "POST / HTTP/1.1" 200 -"#,
            r#"{"level":"INFO","fields":{"message":"delivered"},"span":{"request_id":"x"}}"#,
            r#"{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Name":"ClientErrors"},{"Name":"ServerErrors"}]}]},"ServerErrors":0}"#,
            "GET /api/v1/contact/x 401 2 ms",
            "Initializing DynamoDB Local with the following configuration:",
            "\u{1b}[31m\u{1b}[1mWARNING: This is a development server. Do not use it in a \
             production deployment.\u{1b}[0m",
            " WARN AWS_LAMBDA_MAX_CONCURRENCY is set to '1', but the concurrency-tokio feature \
             is not enabled; running sequentially",
        ] {
            assert!(!warns_or_fails(quiet), "{quiet}");
        }
    }
}
