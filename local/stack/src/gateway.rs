//! The local gateway (`local-gateway`): API Gateway for the local stack, configured from
//! `template.yaml`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::paths;
use crate::ports::{free_port, wait_listening};
use crate::supervise::{Logs, Service};

const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `None`: a free port.
    pub port: Option<u16>,
    /// The functions' invoke API.
    pub lambda_port: u16,
    /// The DynamoDB and table holding the usage plan's API keys, which the gateway checks
    /// on every call (the functions' own: `None` is AWS's).
    pub dynamodb_endpoint: Option<String>,
    pub table: String,
    /// The SAM template to read the API from (`None`: the repository's).
    pub template: Option<PathBuf>,
    /// More `local-gateway` arguments (`--no-throttle`, `--authorizer-ttl 1`, ...).
    pub args: Vec<String>,
    pub logs: Logs,
}

pub struct Gateway {
    pub port: u16,
    pub service: Service,
}

impl Gateway {
    /// Starts the `local-gateway` built beside the running program (debug for the tests
    /// and `make dev`, release for `make bench`).
    pub fn start(config: &GatewayConfig) -> anyhow::Result<Self> {
        let port = match config.port {
            Some(port) => port,
            None => free_port()?,
        };
        let template = config
            .template
            .clone()
            .unwrap_or_else(|| paths::repo_root().join("template.yaml"));
        let mut command = Command::new(paths::sibling_binary("local-gateway")?);
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--lambda-endpoint",
                &format!("http://127.0.0.1:{}", config.lambda_port),
            ])
            .arg("--template")
            .arg(template)
            .args(["--table", &config.table]);
        if let Some(endpoint) = &config.dynamodb_endpoint {
            command.args(["--dynamodb-endpoint", endpoint]);
        }
        command.args(&config.args);
        let mut service = Service::start("local gateway", "gateway", port, command, &config.logs)?;
        wait_listening(&mut service, port, START_TIMEOUT)?;
        Ok(Gateway { port, service })
    }

    /// `http://127.0.0.1:{port}/api`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/api", self.port)
    }
}
