//! The local relay (`local-relay`): the template's event source mappings, which invoke
//! the webhook functions with the table's stream and the delivery queues.

use std::process::Command;
use std::time::Duration;

use crate::paths;
use crate::ports::{free_port, wait_listening};
use crate::supervise::{Logs, Service};

/// It listens once it has found the stream and taken its iterators.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The functions' invoke API.
    pub lambda_port: u16,
    /// DynamoDB Local, which serves the table's stream (`None`: AWS's).
    pub dynamodb_endpoint: Option<String>,
    pub table: String,
    /// moto's SQS, and the template's queues on it (logical id → URL).
    pub sqs_endpoint: String,
    pub queues: std::collections::BTreeMap<String, String>,
    /// Whose event source mappings it runs.
    pub template: std::path::PathBuf,
    pub logs: Logs,
}

pub struct Relay {
    /// Where it listens once ready (nothing is served there).
    pub port: u16,
    pub service: Service,
}

impl Relay {
    /// Starts the `local-relay` built beside the running program; returns once it reads
    /// the stream, so that every change from then on reaches the stream function.
    pub fn start(config: &RelayConfig) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(paths::sibling_binary("local-relay")?);
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--lambda-endpoint",
                &format!("http://127.0.0.1:{}", config.lambda_port),
            ])
            .args(["--table", &config.table])
            .args(["--sqs-endpoint", &config.sqs_endpoint])
            .arg("--template")
            .arg(&config.template);
        for (id, url) in &config.queues {
            command.arg("--queue").arg(format!("{id}={url}"));
        }
        if let Some(endpoint) = &config.dynamodb_endpoint {
            command.args(["--dynamodb-endpoint", endpoint]);
        }
        let mut service = Service::start("local relay", "relay", port, command, &config.logs)?;
        wait_listening(&mut service, port, START_TIMEOUT)?;
        Ok(Relay { port, service })
    }
}
