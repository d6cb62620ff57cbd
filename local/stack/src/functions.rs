//! The functions as real Lambda binaries under `cargo lambda watch`, invoked through its
//! Lambda invoke API.

use std::process::Command;
use std::time::Duration;

use crate::paths;
use crate::ports::{free_port, wait_listening};
use crate::supervise::{Logs, Service};

/// How long `cargo lambda watch` may take to serve its invoke API.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct FunctionsConfig {
    /// Port of the invoke API; `None`: a free port.
    pub port: Option<u16>,
    /// Run the release builds (`make bench`) rather than the debug ones.
    pub release: bool,
    /// Rebuild and restart a function when its code changes (`make dev`).
    pub reload: bool,
    /// Environment of every function.
    pub env: Vec<(String, String)>,
    pub logs: Logs,
}

pub struct Functions {
    /// Port of the invoke API (`cargo lambda invoke --invoke-port`).
    pub port: u16,
    pub service: Service,
}

impl Functions {
    pub fn start(config: &FunctionsConfig) -> anyhow::Result<Self> {
        let port = match config.port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut env = Vec::new();
        for (name, value) in &config.env {
            if value.contains(',') || name.contains(['=', ',']) {
                anyhow::bail!("cannot pass {name}={value} to cargo lambda watch");
            }
            env.push(format!("{name}={value}"));
        }
        let mut command = Command::new(paths::tool("cargo-lambda")?);
        command
            .args(["lambda", "watch", "--quiet"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            // A Lambda environment serves one event at a time; four lets a burst of
            // requests to one function run side by side, as separate environments would.
            .args(["--concurrency", "4"])
            .env("PATH", paths::path_with_tools())
            .current_dir(paths::repo_root());
        if config.release {
            command.arg("--release");
        }
        if !config.reload {
            command.arg("--ignore-changes");
        }
        if !env.is_empty() {
            command.args(["--env-var", &env.join(",")]);
        }
        let mut service = Service::start(
            "cargo lambda watch",
            "functions",
            port,
            command,
            &config.logs,
        )?;
        wait_listening(&mut service, port, START_TIMEOUT)?;
        Ok(Functions { port, service })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
