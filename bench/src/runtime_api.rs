//! A minimal Lambda Runtime API on loopback, one per function process (so that a killed
//! process's pending `next` can never take the next process's event). It hands out one
//! event per `GET invocation/next` and reports every call of the function to the bench,
//! stamped with the instant it arrived.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail};
use contacts_shared::limits::FUNCTION_TIMEOUT_SECONDS;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// The variable a Lambda runtime finds its Runtime API by (Lambda's own; the product's
/// code never reads it, the runtime crate does).
pub const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";
const PREFIX: &str = "/2018-06-01/runtime/";
/// The functions' timeout in template.yaml: the deadline each event carries.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(FUNCTION_TIMEOUT_SECONDS);

/// A call the function made.
enum Call {
    /// `GET invocation/next`: the function waits until `reply` gets its event.
    Next {
        at: Instant,
        reply: oneshot::Sender<Event>,
    },
    /// `POST invocation/{id}/response`, once its body has arrived.
    Response {
        at: Instant,
        request_id: String,
        body: Bytes,
    },
    /// `POST invocation/{id}/error`, `init/error` or anything unexpected.
    Other { path: String, body: Bytes },
}

struct Event {
    request_id: String,
    trace_id: String,
    payload: Bytes,
}

/// One invocation as the Runtime API saw it.
pub struct Invocation {
    /// When the function asked for the event.
    pub asked: Instant,
    /// When the event was handed to the server to send.
    pub handed: Instant,
    /// When the whole response had arrived.
    pub answered: Instant,
    pub response: Bytes,
}

pub struct RuntimeApi {
    address: SocketAddr,
    calls: mpsc::UnboundedReceiver<Call>,
    served: u64,
    /// Whether every event carries the same trace id (Lambda's differ).
    fixed_trace_id: bool,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves on a free loopback port the Runtime API of function `name`.
    pub async fn start(name: &str, fixed_trace_id: bool) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (sender, calls) = mpsc::unbounded_channel();
        let arn: Arc<str> = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}").into();
        let server = tokio::spawn(serve(listener, sender, arn));
        Ok(Self {
            address,
            calls,
            served: 0,
            fixed_trace_id,
            server,
        })
    }

    /// `host:port`, for [`RUNTIME_API`].
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Waits for the function to ask for an event, hands it `payload` and waits for the
    /// response; each wait at most `timeout`.
    pub async fn invoke(
        &mut self,
        payload: &Bytes,
        timeout: Duration,
    ) -> anyhow::Result<Invocation> {
        let (asked, reply) = match self.call(timeout).await? {
            Call::Next { at, reply } => (at, reply),
            other => return Err(unexpected(other, "a request for an event")),
        };
        self.served += 1;
        let request_id = format!("00000000-0000-4000-8000-{:012x}", self.served);
        let event = Event {
            request_id: request_id.clone(),
            // One per invocation, as Lambda sends (it matters: see the memory figures).
            trace_id: format!(
                "Root=1-00000000-{:024x};Sampled=0",
                if self.fixed_trace_id { 1 } else { self.served }
            ),
            payload: payload.clone(),
        };
        let handed = Instant::now();
        if reply.send(event).is_err() {
            bail!("the function hung up before getting its event");
        }
        match self.call(timeout).await? {
            Call::Response {
                at,
                request_id: id,
                body,
            } if id == request_id => Ok(Invocation {
                asked,
                handed,
                answered: at,
                response: body,
            }),
            other => Err(unexpected(other, &format!("the response of {request_id}"))),
        }
    }

    async fn call(&mut self, timeout: Duration) -> anyhow::Result<Call> {
        match tokio::time::timeout(timeout, self.calls.recv()).await {
            Ok(Some(call)) => Ok(call),
            Ok(None) => bail!("the Runtime API server stopped"),
            Err(_) => bail!("no call from the function within {timeout:?}"),
        }
    }
}

impl Drop for RuntimeApi {
    /// Stops the server and, with it, every connection it holds.
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn unexpected(call: Call, wanted: &str) -> anyhow::Error {
    let got = match call {
        Call::Next { .. } => "a request for an event".to_string(),
        Call::Response { request_id, .. } => format!("a response for {request_id}"),
        Call::Other { path, body } => format!("{path}: {}", String::from_utf8_lossy(&body)),
    };
    anyhow!("expected {wanted}, got {got}")
}

async fn serve(listener: TcpListener, calls: mpsc::UnboundedSender<Call>, arn: Arc<str>) {
    // Owned here, so aborting this task drops (and aborts) every connection.
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                eprintln!("runtime API: accept failed: {err}");
                return;
            }
        };
        while connections.try_join_next().is_some() {}
        let (calls, arn) = (calls.clone(), arn.clone());
        connections.spawn(async move {
            let service = service_fn(move |request| answer(request, calls.clone(), arn.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    calls: mpsc::UnboundedSender<Call>,
    arn: Arc<str>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    if request.method() == Method::GET && route == "invocation/next" {
        let (reply, event) = oneshot::channel();
        let asked = Call::Next {
            at: Instant::now(),
            reply,
        };
        if calls.send(asked).is_err() {
            return Ok(status(StatusCode::SERVICE_UNAVAILABLE));
        }
        return Ok(match event.await {
            Ok(event) => next_event(event, &arn),
            Err(_) => status(StatusCode::SERVICE_UNAVAILABLE),
        });
    }
    if request.method() != Method::POST {
        return Ok(status(StatusCode::NOT_FOUND));
    }
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => Bytes::from(format!("(unreadable body: {err})")),
    };
    let at = Instant::now();
    let response_of = route
        .strip_prefix("invocation/")
        .and_then(|rest| rest.strip_suffix("/response"));
    let call = match response_of {
        Some(request_id) => Call::Response {
            at,
            request_id: request_id.to_string(),
            body,
        },
        None => Call::Other { path, body },
    };
    let _ = calls.send(call);
    Ok(status(StatusCode::ACCEPTED))
}

/// The event with the headers Lambda sends (lambda_runtime requires the request id and
/// the deadline).
fn next_event(event: Event, arn: &str) -> Response<Full<Bytes>> {
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(FUNCTION_TIMEOUT)
        .as_millis();
    let response = Response::builder()
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &event.request_id)
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", arn)
        .header("lambda-runtime-trace-id", &event.trace_id)
        .body(Full::new(event.payload));
    response.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
