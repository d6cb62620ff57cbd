//! What `make dev` tells the operator's tool about the local stack it runs: a small JSON
//! file, `.local/stack.json`, written once the stack is up and removed when it stops, so
//! that `contacts-admin` run inside the repository works against it with no variable and
//! no flag (its DynamoDB endpoint, its table, the key sealing its webhook secrets).

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where `make dev` writes the file, from the repository's root.
pub const FILE: &str = ".local/stack.json";

/// The running local stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevStack {
    /// The `local-stack` process: the file speaks for it only while it runs.
    pub pid: u32,
    pub dynamodb_endpoint: String,
    pub table: String,
    /// The file keeping the keys that seal webhook secrets, the current one first
    /// (absolute): what a rotation writes for the next start.
    pub sealing_key_file: PathBuf,
    /// The Secrets Manager secret the keys are read from, and the endpoint serving it.
    pub sealing_key_secret: String,
    pub secrets_endpoint: String,
    /// The template's queues (logical id → URL) on moto's SQS at `sqs_endpoint`.
    #[serde(default)]
    pub queues: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub sqs_endpoint: String,
    /// The API's base URL (`http://127.0.0.1:3000/api`).
    pub api_url: String,
}

impl DevStack {
    /// Writes the file whole (a reader never sees half of it).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&partial, text + "\n")?;
        std::fs::rename(&partial, path)
    }

    /// Removes the file if it still speaks for the process `pid` (another `make dev` may
    /// have written it since).
    pub fn remove(path: &Path, pid: u32) {
        if Self::read(path).is_ok_and(|stack| stack.pid == pid) {
            let _ = std::fs::remove_file(path);
        }
    }

    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The nearest stack file above the current directory, else above this program (a
    /// binary in the repository's `target/`): its path and what it says.
    pub fn find() -> Option<(PathBuf, Result<Self, String>)> {
        let cwd = std::env::current_dir().ok();
        let exe = std::env::current_exe().ok();
        [cwd, exe]
            .into_iter()
            .flatten()
            .flat_map(|start| {
                start
                    .ancestors()
                    .map(|dir| dir.join(FILE))
                    .collect::<Vec<_>>()
            })
            .find(|path| path.is_file())
            .map(|path| {
                let stack = Self::read(&path);
                (path, stack)
            })
    }

    /// Whether the stack it describes still runs: its process is alive and its DynamoDB
    /// Local answers (a stack killed outright leaves its file behind).
    pub fn is_running(&self) -> bool {
        let alive = Path::new(&format!("/proc/{}", self.pid)).exists();
        let address = self
            .dynamodb_endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_socket_addrs()
            .ok()
            .and_then(|mut addresses| addresses.next());
        alive
            && address.is_some_and(|address| {
                TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
            })
    }
}

/// Writes the keys sealing webhook secrets to the stack's key file, the current one first,
/// for its owner only; `new`: only if there is no such file yet.
pub fn keep_keys(path: &Path, keys: &[String], new: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| !k.is_empty())
        .collect();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .create_new(new)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| writeln!(file, "{}", text.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_read_and_removed_only_by_its_own_process() {
        let dir = std::env::temp_dir().join(format!("dev-stack-{}", std::process::id()));
        let path = dir.join(FILE);
        let stack = DevStack {
            pid: std::process::id(),
            // Nothing listens on port 9 (discard) here.
            dynamodb_endpoint: "http://127.0.0.1:9".into(),
            table: "contacts".into(),
            sealing_key_file: dir.join("key"),
            sealing_key_secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:k".into(),
            secrets_endpoint: "http://127.0.0.1:9".into(),
            queues: [(
                "WebhookQueue".to_string(),
                "http://127.0.0.1:9/q".to_string(),
            )]
            .into(),
            sqs_endpoint: "http://127.0.0.1:9".into(),
            api_url: "http://127.0.0.1:3000/api".into(),
        };
        stack.write(&path).unwrap();
        assert_eq!(DevStack::read(&path).unwrap(), stack);
        // Its process runs, but its DynamoDB does not answer.
        assert!(!stack.is_running());
        DevStack::remove(&path, stack.pid + 1);
        assert!(path.exists(), "another process's file is left alone");
        DevStack::remove(&path, stack.pid);
        assert!(!path.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
