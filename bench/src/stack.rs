//! Warm latency through the local stack, as a client sees it: HTTP to the local gateway,
//! which invokes the functions' release builds under `cargo lambda watch`, which call
//! DynamoDB Local. The gateway runs without the usage plan's throttle (100 calls a minute
//! would make this take hours); the authorizer's answer is cached after the first call,
//! as on AWS.

use std::path::Path;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::process::Child;

use crate::events::Events;
use crate::group::ProcessGroup;
use crate::net::{free_port, wait_listening};

const START_TIMEOUT: Duration = Duration::from_secs(120);
/// The first call of a function may wait for `cargo lambda watch` to start (or build) it.
const FIRST_CALL_TIMEOUT: Duration = Duration::from_secs(900);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The gateway and the functions behind it; both stop when dropped.
pub struct LocalStack {
    gateway: u16,
    _watch: Child,
    _gateway: Child,
}

impl LocalStack {
    pub async fn start(
        group: &ProcessGroup,
        root: &Path,
        gateway: &Path,
        work: &Path,
        endpoint: &str,
        table: &str,
    ) -> Result<Self, String> {
        let invoke_port = free_port()?;
        let log = |name: &str| {
            let path = work.join(name);
            std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let mut watch = group.command("cargo");
        watch
            .args([
                "lambda",
                "watch",
                "--release",
                "--quiet",
                "--ignore-changes",
            ])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &invoke_port.to_string()])
            .args([
                "--env-var",
                &format!("DYNAMODB_ENDPOINT={endpoint},CONTACTS_TABLE={table}"),
            ])
            .current_dir(root)
            .stdout(log("stack-watch.log")?)
            .stderr(log("stack-watch.err.log")?);
        let mut watch = watch
            .spawn()
            .map_err(|e| format!("cannot start cargo lambda watch: {e}"))?;
        wait_listening(invoke_port, &mut watch, "cargo lambda watch", START_TIMEOUT).await?;

        let port = free_port()?;
        let mut gateway = group.command(gateway);
        gateway
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--lambda-endpoint",
                &format!("http://127.0.0.1:{invoke_port}"),
            ])
            .arg("--template")
            .arg(root.join("template.yaml"))
            .args(["--no-throttle", "--quiet"])
            // A function's first call may wait for `cargo lambda watch` to start it.
            .args([
                "--integration-timeout",
                &FIRST_CALL_TIMEOUT.as_secs().to_string(),
            ])
            .stdout(log("stack-gateway.log")?)
            .stderr(log("stack-gateway.err.log")?);
        let mut gateway = gateway
            .spawn()
            .map_err(|e| format!("cannot start the local gateway: {e}"))?;
        wait_listening(port, &mut gateway, "the local gateway", START_TIMEOUT).await?;
        Ok(Self {
            gateway: port,
            _watch: watch,
            _gateway: gateway,
        })
    }

    /// `warmup` untimed calls, then `calls` timed ones, of the requests `events` describe,
    /// one after another on one keep-alive connection; each must get `status`.
    pub async fn latencies(
        &self,
        events: &Events,
        status: u16,
        warmup: usize,
        calls: usize,
    ) -> Result<Vec<Duration>, String> {
        let requests: Vec<Request<Full<Bytes>>> =
            events.all().iter().map(request).collect::<Result<_, _>>()?;
        let stream = TcpStream::connect(("127.0.0.1", self.gateway))
            .await
            .map_err(|e| format!("local gateway: {e}"))?;
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("local gateway: {e}"))?;
        let driver = tokio::spawn(connection);
        let mut latencies = Vec::with_capacity(calls);
        for done in 0..warmup + calls {
            let template = &requests[done % requests.len()];
            let timeout = if done == 0 {
                FIRST_CALL_TIMEOUT
            } else {
                CALL_TIMEOUT
            };
            let started = Instant::now();
            let call = async {
                let response = sender.send_request(clone(template)).await?;
                let code = response.status().as_u16();
                let body = response.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>((code, body))
            };
            let (code, body) = tokio::time::timeout(timeout, call)
                .await
                .map_err(|_| format!("no answer within {timeout:?}"))?
                .map_err(|e| format!("local gateway: {e}"))?;
            if code != status {
                return Err(format!(
                    "{} {}: {code} {}",
                    template.method(),
                    template.uri(),
                    String::from_utf8_lossy(&body)
                ));
            }
            if done >= warmup {
                latencies.push(started.elapsed());
            }
        }
        driver.abort();
        Ok(latencies)
    }
}

/// The HTTP request an API Gateway proxy event was made from.
fn request(event: &Value) -> Result<Request<Full<Bytes>>, String> {
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
        .map_err(|e| format!("event {}: {e}", text("path")))
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
