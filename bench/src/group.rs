//! Every process the bench starts (DynamoDB Local, the functions) joins one process group,
//! led by a watchdog shell that kills the whole group once the bench is gone. Nothing
//! outlives the bench, even when it aborts (the release profile has `panic = "abort"`, so
//! no destructor runs) or is killed.

use std::ffi::OsStr;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

pub struct ProcessGroup {
    watchdog: Child,
}

impl ProcessGroup {
    pub fn start() -> io::Result<Self> {
        // `kill 0` signals the shell's own group: every process that joined it.
        let script = r#"while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -KILL 0"#;
        let watchdog = Command::new("sh")
            .args(["-c", script, &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        Ok(Self { watchdog })
    }

    fn id(&self) -> u32 {
        self.watchdog.id()
    }

    /// A command whose process joins the group (and is killed if its handle is dropped).
    pub fn command(&self, program: impl AsRef<OsStr>) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(program);
        command
            .process_group(self.id() as i32)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }
}

impl Drop for ProcessGroup {
    /// Ends every member at once, the watchdog included.
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", r#"kill -KILL -"$0""#, &self.id().to_string()])
            .status();
        // Should that have failed, the watchdog at least must go, or `wait` never returns.
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}
