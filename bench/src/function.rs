//! The functions under test, and starting one as Lambda would: a fresh process with
//! Lambda's environment, polling a Runtime API of its own.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use hyper::body::Bytes;
use serde_json::Value;
use tokio::process::Child;

use contacts_shared::api::functions::{Role, FUNCTIONS};
use contacts_shared::{env, metrics};

use crate::runtime_api::{self, Invocation, RuntimeApi};
use crate::seed;

/// How long a function may take to ask for an event or to answer one.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A function of the table, and what a successful answer to its event looks like.
pub struct Function {
    pub name: &'static str,
    expect: Expect,
}

enum Expect {
    /// An API Gateway proxy response with this status code.
    Status(u64),
    /// An authorizer policy for this principal.
    Principal(&'static str),
}

/// Every function of the table (`contacts_shared::api::functions`), in its order.
/// The webhook functions are measured end to end instead (delivery latency).
pub fn all() -> Vec<Function> {
    FUNCTIONS
        .iter()
        .filter_map(|f| {
            let expect = match f.role {
                Role::Endpoint { .. } => Expect::Status(200),
                // Its event asks for a method the resource does not have.
                Role::Responder => Expect::Status(405),
                // Seeded with a live token of the demo channel.
                Role::Authorizer => Expect::Principal(seed::DEMO_CHANNEL),
                Role::Stream | Role::Queue => return None,
            };
            Some(Function {
                name: f.name,
                expect,
            })
        })
        .collect()
}

impl Function {
    /// The HTTP status a client gets for this function's event; `None` for the authorizer,
    /// which no client calls.
    pub fn http_status(&self) -> Option<u16> {
        match self.expect {
            Expect::Status(code) => u16::try_from(code).ok(),
            Expect::Principal(_) => None,
        }
    }

    /// Whether `response` is the success its event should get; a failed benchmark
    /// otherwise (timing errors would mean nothing).
    pub fn check(&self, response: &[u8]) -> anyhow::Result<()> {
        let json: Value = serde_json::from_slice(response).unwrap_or(Value::Null);
        let ok = match self.expect {
            Expect::Status(code) => json["statusCode"] == code,
            Expect::Principal(id) => json["principalId"] == id,
        };
        if !ok {
            bail!(
                "{}: unexpected response {}",
                self.name,
                String::from_utf8_lossy(response)
            );
        }
        Ok(())
    }
}

/// Starts processes of one function binary.
#[derive(Clone)]
pub struct Launcher {
    pub name: &'static str,
    pub binary: PathBuf,
    pub endpoint: String,
    pub table: String,
    pub log: PathBuf,
    pub fixed_trace_id: bool,
    /// Logs at ERROR and no metrics, instead of the template's INFO and metrics: what
    /// logging and metrics cost is the difference.
    pub quiet: bool,
}

impl Launcher {
    pub async fn start(&self) -> anyhow::Result<Instance> {
        let api = RuntimeApi::start(self.name, self.fixed_trace_id)
            .await
            .with_context(|| format!("{}: runtime API", self.name))?;
        let (out, err) = self.log_files()?;
        // Killed when dropped, and by the bench's guard should the bench die first.
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .env_clear()
            .envs(self.environment())
            .env(runtime_api::RUNTIME_API, api.address())
            .stdout(out)
            .stderr(err);
        let spawned = Instant::now();
        let process = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        Ok(Instance {
            name: self.name,
            log: self.log.clone(),
            process,
            api,
            spawned,
        })
    }

    /// What Lambda sets for a `provided.al2023` function with template.yaml's settings
    /// (128 MB, JSON logs at INFO, metrics on), plus the store's endpoint. The credentials are dummies
    /// in Lambda's form: DynamoDB Local accepts any.
    fn environment(&self) -> Vec<(&'static str, String)> {
        let fixed = [
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench"),
            (env::AWS_LAMBDA_LOG_FORMAT, "JSON"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            (env::AWS_REGION, "us-east-1"),
            (env::AWS_DEFAULT_REGION, "us-east-1"),
            (env::AWS_ACCESS_KEY_ID, "ASIABENCHBENCHBENCH0"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
            ("AWS_SESSION_TOKEN", "bench"),
            ("LANG", "en_US.UTF-8"),
            ("TZ", ":UTC"),
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ];
        let mut env: Vec<_> = fixed.map(|(k, v)| (k, v.to_string())).into();
        env.extend([
            (env::AWS_LAMBDA_FUNCTION_NAME, self.name.to_string()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            ),
            (env::DYNAMODB_ENDPOINT, self.endpoint.clone()),
            (env::CONTACTS_TABLE, self.table.clone()),
        ]);
        if self.quiet {
            env.push((env::AWS_LAMBDA_LOG_LEVEL, "ERROR".to_string()));
        } else {
            env.push((env::AWS_LAMBDA_LOG_LEVEL, "INFO".to_string()));
            env.push((env::METRICS_NAMESPACE, metrics::NAMESPACE.to_string()));
        }
        env
    }

    fn log_files(&self) -> anyhow::Result<(File, File)> {
        let open = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .with_context(|| self.log.display().to_string())
        };
        Ok((open()?, open()?))
    }
}

/// A running function process.
pub struct Instance {
    name: &'static str,
    log: PathBuf,
    /// Killed when dropped.
    process: Child,
    api: RuntimeApi,
    /// Just before the process was spawned.
    pub spawned: Instant,
}

impl Instance {
    /// One invocation; fails at once if the process exits meanwhile.
    pub async fn invoke(&mut self, payload: &Bytes) -> anyhow::Result<Invocation> {
        let outcome = tokio::select! {
            invocation = self.api.invoke(payload, CALL_TIMEOUT) => invocation,
            status = self.process.wait() => Err(match status {
                Ok(status) => anyhow!("the process exited: {status}"),
                Err(err) => anyhow::Error::new(err).context("cannot watch the process"),
            }),
        };
        outcome.with_context(|| format!("{} (see {})", self.name, self.log.display()))
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    pub async fn stop(mut self) {
        let _ = self.process.start_kill();
        let _ = self.process.wait().await;
    }
}
