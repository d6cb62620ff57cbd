//! A metering proxy between a function and DynamoDB Local: it forwards every request on a
//! connection of its own, and notes each round trip's operation, timing and the capacity
//! DynamoDB says it consumed (the store asks for it with `ReturnConsumedCapacity`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use contacts_shared::store::dynamo::capacity::consumed_units;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1 as client;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::server::conn::http1 as server;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::{JoinHandle, JoinSet};

/// One request to DynamoDB and its answer.
#[derive(Debug, Clone)]
pub struct RoundTrip {
    /// `GetItem`, `TransactWriteItems`, ... (from `X-Amz-Target`).
    pub operation: String,
    pub sent: Instant,
    pub answered: Instant,
    /// Capacity units as DynamoDB bills them: the answer's `ConsumedCapacity`, except for
    /// transactions (see [`transaction_units`]).
    pub units: f64,
}

impl RoundTrip {
    /// Whether DynamoDB bills this operation in write units.
    pub fn writes(&self) -> bool {
        matches!(
            self.operation.as_str(),
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
        )
    }
}

type Log = Arc<Mutex<Vec<RoundTrip>>>;

pub struct Meter {
    /// `http://127.0.0.1:{port}`, for the function's `DYNAMODB_ENDPOINT`.
    pub endpoint: String,
    log: Log,
    server: JoinHandle<()>,
}

impl Meter {
    /// A proxy on a free loopback port in front of DynamoDB at `upstream` (`host:port`).
    pub async fn start(upstream: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let log = Log::default();
        let server = tokio::spawn(serve(listener, upstream, log.clone()));
        Ok(Self {
            endpoint,
            log,
            server,
        })
    }

    /// The round trips since the last call, oldest first.
    pub fn take(&self) -> Vec<RoundTrip> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `trips` (in the order they were sent) grouped into rounds that had to wait for one
/// another: a round trip sent before the round's last answer joins that round.
pub fn rounds(trips: &[RoundTrip]) -> Vec<Vec<&RoundTrip>> {
    let mut rounds: Vec<Vec<&RoundTrip>> = Vec::new();
    let mut last_answer: Option<Instant> = None;
    for trip in trips {
        match (last_answer, rounds.last_mut()) {
            (Some(answered), Some(round)) if trip.sent < answered => {
                round.push(trip);
                last_answer = Some(answered.max(trip.answered));
            }
            _ => {
                rounds.push(vec![trip]);
                last_answer = Some(trip.answered);
            }
        }
    }
    rounds
}

type Sender = client::SendRequest<Full<Bytes>>;

async fn connect(upstream: &str) -> anyhow::Result<(Sender, JoinHandle<()>)> {
    let stream = TcpStream::connect(upstream).await?;
    let (sender, connection) = client::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((sender, driver))
}

async fn serve(listener: TcpListener, upstream: String, log: Log) {
    let upstream: Arc<str> = upstream.into();
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        let (upstream, log) = (upstream.clone(), log.clone());
        connections.spawn(async move {
            // One upstream connection per function connection, so keep-alive is kept.
            let Ok((sender, driver)) = connect(&upstream).await else {
                return;
            };
            let sender = Arc::new(AsyncMutex::new(sender));
            let service = service_fn(move |request| {
                forward(request, sender.clone(), upstream.clone(), log.clone())
            });
            let _ = server::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            driver.abort();
        });
    }
}

async fn forward(
    request: Request<Incoming>,
    sender: Arc<AsyncMutex<Sender>>,
    upstream: Arc<str>,
    log: Log,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let sent = Instant::now();
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("?")
        .to_string();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(failure());
    };
    let billed = if operation == "TransactWriteItems" {
        transaction_units(&body, &parts.headers, &upstream).await
    } else {
        None
    };
    let answer = {
        let mut sender = sender.lock().await;
        sender
            .send_request(Request::from_parts(parts, Full::new(body)))
            .await
    };
    let Ok(answer) = answer else {
        return Ok(failure());
    };
    let (parts, body) = answer.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(failure());
    };
    let trip = RoundTrip {
        operation,
        sent,
        answered: Instant::now(),
        units: billed.unwrap_or_else(|| consumed_units(&body)),
    };
    log.lock().unwrap_or_else(|e| e.into_inner()).push(trip);
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// What DynamoDB bills a `TransactWriteItems`: two write units per KB (rounded up) of
/// each item it writes. DynamoDB Local reports two units for any transaction, so the
/// meter sizes the items itself: a put's from the request, an update's or delete's as
/// stored (read from DynamoDB Local before the transaction runs). `None` if the request
/// cannot be read.
async fn transaction_units(body: &[u8], headers: &HeaderMap, upstream: &str) -> Option<f64> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let mut units = 0.0;
    for action in request["TransactItems"].as_array()? {
        let size = if let Some(item) = action["Put"]["Item"].as_object() {
            item_size(item)
        } else {
            let (table, key) = ["Update", "Delete", "ConditionCheck"]
                .iter()
                .map(|kind| &action[*kind])
                .find(|a| a.is_object())
                .map(|a| (a["TableName"].clone(), a["Key"].clone()))?;
            stored_size(&table, &key, headers, upstream).await?
        };
        units += 2.0 * (size as f64 / 1024.0).ceil().max(1.0);
    }
    Some(units)
}

/// The size of the item at `key` as DynamoDB Local holds it (0 if there is none).
async fn stored_size(
    table: &Value,
    key: &Value,
    headers: &HeaderMap,
    upstream: &str,
) -> Option<usize> {
    let body = serde_json::json!({"TableName": table, "Key": key, "ConsistentRead": true});
    let mut request = Request::post("/")
        .body(Full::new(Bytes::from(body.to_string())))
        .ok()?;
    for name in [
        "authorization",
        "host",
        "x-amz-date",
        "x-amz-security-token",
    ] {
        if let Some(value) = headers.get(name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    let target = HeaderValue::from_static("DynamoDB_20120810.GetItem");
    request.headers_mut().insert("x-amz-target", target);
    let json = HeaderValue::from_static("application/x-amz-json-1.0");
    request.headers_mut().insert("content-type", json);
    let (mut sender, driver) = connect(upstream).await.ok()?;
    let answer = sender.send_request(request).await.ok()?;
    let body = answer.into_body().collect().await.ok()?.to_bytes();
    driver.abort();
    let found: Value = serde_json::from_slice(&body).ok()?;
    Some(found["Item"].as_object().map(item_size).unwrap_or(0))
}

/// An item's size by DynamoDB's rules: each attribute's name and value in bytes.
fn item_size(item: &serde_json::Map<String, Value>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let text = inner.as_str().unwrap_or_default();
    let number = |n: &str| n.trim_start_matches('-').len().div_ceil(2) + 1;
    let list = || inner.as_array().into_iter().flatten();
    match kind.as_str() {
        "S" => text.len(),
        "N" => number(text),
        "B" => text.len() * 3 / 4,
        "BOOL" | "NULL" => 1,
        "SS" => list().map(|v| v.as_str().unwrap_or_default().len()).sum(),
        "NS" => list().map(|v| number(v.as_str().unwrap_or_default())).sum(),
        "BS" => list()
            .map(|v| v.as_str().unwrap_or_default().len() * 3 / 4)
            .sum(),
        "L" => 3 + list().map(|v| value_size(v) + 1).sum::<usize>(),
        "M" => {
            let map = inner.as_object().into_iter().flatten();
            3 + map.map(|(k, v)| k.len() + value_size(v) + 1).sum::<usize>()
        }
        _ => 0,
    }
}

fn failure() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn trip(at: Instant, from_ms: u64, to_ms: u64) -> RoundTrip {
        RoundTrip {
            operation: "Query".into(),
            sent: at + Duration::from_millis(from_ms),
            answered: at + Duration::from_millis(to_ms),
            units: 1.0,
        }
    }

    #[test]
    fn overlapping_round_trips_count_once() {
        let t = Instant::now();
        // Two queries in parallel, then a batch read: two sequential rounds.
        let find = [trip(t, 0, 3), trip(t, 1, 4), trip(t, 5, 6)];
        assert_eq!(
            rounds(&find).iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(rounds(&find[..1]).len(), 1);
        assert!(rounds(&[]).is_empty());
    }

    #[test]
    fn items_are_sized_by_dynamodbs_rules() {
        let item = serde_json::json!({
            "PK": {"S": "CH#demo"},
            "n": {"N": "12345"},
            "tags": {"SS": ["ab", "cde"]},
            "f": {"M": {"x": {"S": "yz"}}}
        });
        // 2+7, 1+(3+1), 4+5, 1+(3+(1+2+1)).
        assert_eq!(item_size(item.as_object().unwrap()), 9 + 5 + 9 + 8);
    }
}
