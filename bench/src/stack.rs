//! Warm latency through the local stack, as a client sees it: HTTP to the local gateway,
//! which invokes the functions' release builds under `cargo lambda watch`, which call
//! DynamoDB Local. The gateway runs without the usage plan's throttle (100 calls a minute
//! would make this take hours); the authorizer's answer is cached after the first call,
//! as on AWS.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use local_stack::{Logs, StackConfig, Storage};
use serde_json::Value;
use tokio::net::TcpStream;

use crate::events::Events;

/// The first call of a function may wait for `cargo lambda watch` to start (or build) it.
const FIRST_CALL_TIMEOUT: Duration = Duration::from_secs(900);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The gateway and the functions behind it; both stop when dropped.
pub struct LocalStack {
    stack: local_stack::LocalStack,
}

impl LocalStack {
    /// The release builds of the functions and the gateway (logging into `work`), on
    /// `table` of the DynamoDB at `endpoint`.
    pub fn start(work: &std::path::Path, endpoint: &str, table: &str) -> anyhow::Result<Self> {
        let stack = local_stack::LocalStack::start(StackConfig {
            storage: Storage::Endpoint(Some(endpoint.to_string())),
            table: table.to_string(),
            lambda_port: None,
            gateway_port: None,
            release: true,
            reload: false,
            function_env: Vec::new(),
            gateway_args: [
                "--no-throttle",
                "--quiet",
                "--integration-timeout",
                &FIRST_CALL_TIMEOUT.as_secs().to_string(),
            ]
            .map(String::from)
            .to_vec(),
            sealing_keys: Vec::new(),
            logs: Logs::Dir(work.to_path_buf()),
        })?;
        Ok(Self { stack })
    }

    /// The local relay's log, in `work` (where [`start`](Self::start) put the logs).
    pub fn relay_log(&self, work: &std::path::Path) -> std::path::PathBuf {
        work.join(format!("relay-{}.log", self.stack.relay.port))
    }

    /// The key the stack's functions open webhook secrets with.
    pub fn sealing_key(&self) -> &str {
        &self.stack.sealing_key
    }

    /// One request on a connection of its own: its status and body.
    pub async fn call(&self, request: Request<Full<Bytes>>) -> anyhow::Result<(u16, Bytes)> {
        let (mut sender, driver) = self.connect().await?;
        let outcome = send(&mut sender, request, FIRST_CALL_TIMEOUT).await;
        driver.abort();
        outcome
    }

    /// A keep-alive connection to the gateway, and the task that drives it.
    async fn connect(
        &self,
    ) -> anyhow::Result<(http1::SendRequest<Full<Bytes>>, tokio::task::JoinHandle<()>)> {
        let stream = TcpStream::connect(("127.0.0.1", self.stack.gateway.port))
            .await
            .context("local gateway")?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .context("local gateway")?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok((sender, driver))
    }

    /// `warmup` untimed calls, then `calls` timed ones, of the requests `events` describe,
    /// one after another on one keep-alive connection; each must get `status`.
    pub async fn latencies(
        &self,
        events: &Events,
        status: u16,
        warmup: usize,
        calls: usize,
    ) -> anyhow::Result<Vec<Duration>> {
        let requests: Vec<Request<Full<Bytes>>> = events
            .all()
            .iter()
            .map(request)
            .collect::<anyhow::Result<_>>()?;
        let (mut sender, driver) = self.connect().await?;
        let mut latencies = Vec::with_capacity(calls);
        for done in 0..warmup + calls {
            let template = &requests[done % requests.len()];
            let timeout = if done == 0 {
                FIRST_CALL_TIMEOUT
            } else {
                CALL_TIMEOUT
            };
            let started = Instant::now();
            let (code, body) = send(&mut sender, clone(template), timeout).await?;
            if code != status {
                bail!(
                    "{} {}: {code} {}",
                    template.method(),
                    template.uri(),
                    String::from_utf8_lossy(&body)
                );
            }
            if done >= warmup {
                latencies.push(started.elapsed());
            }
        }
        driver.abort();
        Ok(latencies)
    }
}

/// Sends `request` on `sender`: its status and body, within `timeout`.
async fn send(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> anyhow::Result<(u16, Bytes)> {
    let call = async {
        let response = sender.send_request(request).await?;
        let code = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((code, body))
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| anyhow!("no answer within {timeout:?}"))?
        .context("local gateway")
}

/// The HTTP request an API Gateway proxy event was made from.
fn request(event: &Value) -> anyhow::Result<Request<Full<Bytes>>> {
    let text = |key: &str| event[key].as_str().unwrap_or_default().to_string();
    let mut uri = format!("/api{}", text("path"));
    if let Some(query) = event["queryStringParameters"].as_object() {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v.as_str().unwrap_or_default())))
            .collect();
        uri = format!("{uri}?{}", pairs.join("&"));
    }
    let mut builder = Request::builder()
        .method(text("httpMethod").as_str())
        .uri(uri);
    for (name, value) in event["headers"].as_object().into_iter().flatten() {
        builder = builder.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    builder
        .body(Full::new(Bytes::from(text("body"))))
        .with_context(|| format!("event {}", text("path")))
}

fn clone(request: &Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
