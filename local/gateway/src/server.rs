//! The gateway itself: one request in, API Gateway's steps in order, one response out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use contacts_shared::api::response::REQUEST_ID_HEADER;
use contacts_shared::{random, DynamoStore};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value};

use crate::authorizer::{Allowed, Authorizer};
use crate::proxy::{self, Headers, Incoming, Outgoing};
use crate::responses::{render, GatewayError};
use crate::routing::Router;
use crate::template::{ApiModel, Route, Stage};
use crate::throttle::Buckets;
use lambda_invoke::{InvokeError, Invoker};

/// API Gateway's payload limit.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

pub struct Gateway {
    pub api: ApiModel,
    pub router: Router,
    pub authorizer: Option<Authorizer>,
    pub buckets: Option<Buckets>,
    pub invoker: Invoker,
    /// Where the usage plan's API keys are (the local stack's table).
    pub keys: DynamoStore,
    pub listen: SocketAddr,
    pub quiet: bool,
    requests: AtomicU64,
}

impl Gateway {
    pub fn new(
        api: ApiModel,
        invoker: Invoker,
        keys: DynamoStore,
        listen: SocketAddr,
        authorizer_ttl: Option<Duration>,
        quiet: bool,
    ) -> Self {
        let router = Router::new(&api.routes);
        let authorizer = api.authorizer.as_ref().map(|a| {
            Authorizer::new(
                a.function.clone(),
                a.identity_headers.clone(),
                authorizer_ttl.unwrap_or(a.ttl),
            )
        });
        let buckets = api.throttle.map(Buckets::new);
        Gateway {
            api,
            router,
            authorizer,
            buckets,
            invoker,
            keys,
            listen,
            quiet,
            requests: AtomicU64::new(0),
        }
    }

    pub async fn handle(&self, request: Request<Body>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        // Before anything can fail, so that every response carries it.
        let request_id = self.request_id();
        let out = match self.process(request, peer, &request_id).await {
            Ok(out) => out,
            Err(error) => render(&self.api, error),
        };
        if !self.quiet {
            // Method, path and status only: headers (tokens) and queries (contact data) stay out of logs.
            eprintln!(
                "local-gateway: {request_id} {method} {path} -> {} ({} ms)",
                out.status,
                started.elapsed().as_millis()
            );
        }
        let mut response = Response::new(Full::new(Bytes::from(out.body)));
        *response.status_mut() =
            StatusCode::from_u16(out.status).unwrap_or(StatusCode::BAD_GATEWAY);
        *response.headers_mut() = out.headers;
        // API Gateway's own, whatever the function set.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(REQUEST_ID_HEADER.as_bytes()),
            HeaderValue::from_str(&request_id),
        ) {
            response.headers_mut().insert(name, value);
        }
        if !response.headers().contains_key(CONTENT_TYPE) {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        response
    }

    /// API Gateway's steps: the payload limit, the route, the authorizer, the usage plan,
    /// then the function.
    async fn process(
        &self,
        request: Request<Body>,
        peer: SocketAddr,
        request_id: &str,
    ) -> Result<Outgoing, GatewayError> {
        let (parts, body) = request.into_parts();
        let body = Limited::new(body, MAX_PAYLOAD)
            .collect()
            .await
            .map_err(|_| GatewayError::RequestTooLarge)?
            .to_bytes();
        let full_path = parts.uri.path();
        let (stage, path) = self.stage_and_path(full_path)?;
        let matched = self
            .router
            .find(parts.method.as_str(), path)
            .ok_or(GatewayError::MissingAuthenticationToken)?;
        let headers = self.headers(&parts.headers, peer);
        let params = matched.params;
        let incoming = Incoming {
            method: &parts.method,
            path,
            full_path,
            query: parts.uri.query(),
            headers: &headers,
            body: &body,
            source_ip: peer.ip().to_string(),
            request_id,
            epoch_ms: epoch_ms(),
            stage: &stage.name,
            resource: &matched.route.path,
            path_params: &params,
        };
        let authorizer_context = self.admit(stage, matched.route, &incoming).await?;
        let event = proxy::event(&incoming, authorizer_context.as_ref());
        self.integrate(&matched.route.function, &event).await
    }

    /// The stage a path is under, and the path below it; any other path has no resource.
    fn stage_and_path<'p>(&self, full_path: &'p str) -> Result<(&Stage, &'p str), GatewayError> {
        let below = full_path.strip_prefix('/').unwrap_or_default();
        self.api
            .stages
            .iter()
            .find_map(|stage| match below.strip_prefix(stage.name.as_str()) {
                Some("") => Some((stage, "/")),
                Some(rest) if rest.starts_with('/') => Some((stage, rest)),
                _ => None,
            })
            .ok_or(GatewayError::MissingAuthenticationToken)
    }

    /// Lets a call through to its route: the authorizer, then the route's API key (which
    /// must exist, and have tokens left in its bucket). Returns the authorizer's context.
    async fn admit(
        &self,
        stage: &Stage,
        route: &Route,
        incoming: &Incoming<'_>,
    ) -> Result<Option<Map<String, Value>>, GatewayError> {
        let allowed = if route.authorized {
            Some(self.authorize(incoming).await?)
        } else {
            None
        };
        if route.api_key_required && !stage.metered {
            // No usage plan holds this stage, so no API key is valid on it.
            return Err(GatewayError::InvalidApiKey);
        }
        if route.api_key_required {
            // The API's keys come from the authorizer (ApiKeySourceType AUTHORIZER).
            let key = allowed
                .as_ref()
                .and_then(|a| a.usage_key.as_deref())
                .ok_or(GatewayError::InvalidApiKey)?;
            self.check_api_key(key).await?;
            self.throttle(key)?;
        }
        Ok(allowed.map(|a| a.context))
    }

    async fn authorize(&self, incoming: &Incoming<'_>) -> Result<Allowed, GatewayError> {
        let authorizer = self
            .authorizer
            .as_ref()
            .ok_or(GatewayError::AuthorizerFailure)?;
        let identity = authorizer.identity_source(incoming.headers)?;
        let method_arn = proxy::method_arn(incoming.stage, incoming.method.as_str(), incoming.path);
        let event = proxy::authorizer_event(incoming, &method_arn);
        authorizer
            .authorize(&self.invoker, identity, &method_arn, &event)
            .await
    }

    /// API Gateway checks the usage plan's key on every call, whatever the authorizer
    /// cache holds, so a deleted key is refused at once. A failed lookup fails the call.
    async fn check_api_key(&self, key: &str) -> Result<(), GatewayError> {
        match self.keys.api_key_exists(key).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(GatewayError::InvalidApiKey),
            Err(err) => {
                eprintln!("local-gateway: cannot look the API key up: {err}");
                Err(GatewayError::AuthorizerFailure)
            }
        }
    }

    fn throttle(&self, key: &str) -> Result<(), GatewayError> {
        match &self.buckets {
            Some(buckets) if !buckets.take(key) => Err(GatewayError::Throttled),
            _ => Ok(()),
        }
    }

    /// Invokes the route's function and reads its proxy response.
    async fn integrate(
        &self,
        function: &str,
        event: &impl serde::Serialize,
    ) -> Result<Outgoing, GatewayError> {
        match self.invoker.invoke(function, event).await {
            Ok(result) => proxy::response(result).ok_or_else(|| {
                eprintln!("local-gateway: {function} returned a malformed proxy response");
                GatewayError::BadGateway
            }),
            Err(InvokeError::Function(message)) => {
                eprintln!(
                    "local-gateway: {function} failed: {}",
                    message.chars().take(200).collect::<String>()
                );
                Err(GatewayError::BadGateway)
            }
            Err(InvokeError::TimedOut) => Err(GatewayError::IntegrationTimeout),
            Err(InvokeError::Unreachable(why)) => {
                eprintln!("local-gateway: cannot invoke {function}: {why}");
                Err(GatewayError::IntegrationFailure)
            }
        }
    }

    /// Request headers as the integration sees them, with the ones API Gateway sets.
    fn headers(&self, raw: &hyper::HeaderMap, peer: SocketAddr) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in raw {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers
                .entry(name.as_str().to_string())
                .or_default()
                .push(value);
        }
        let host_ok = headers
            .get("host")
            .filter(|v| v.len() == 1)
            .and_then(|v| v.first())
            .is_some_and(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            });
        if !host_ok {
            headers.insert("host".into(), vec![self.listen.to_string()]);
        }
        headers.insert("x-forwarded-proto".into(), vec!["http".into()]);
        headers.insert(
            "x-forwarded-port".into(),
            vec![self.listen.port().to_string()],
        );
        headers.insert("x-forwarded-for".into(), vec![peer.ip().to_string()]);
        headers
    }

    /// A fresh id in API Gateway's format: a random (version 4) UUID.
    fn request_id(&self) -> String {
        let bytes = random::bytes::<16>().unwrap_or_else(|_| {
            // The system's generator does not fail in practice; if it did, the time and a
            // counter still tell requests apart.
            let n = self.requests.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let mut bytes = [0; 16];
            bytes[..8].copy_from_slice(&nanos.to_be_bytes());
            bytes[8..].copy_from_slice(&n.to_be_bytes());
            bytes
        });
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product's gateway, with nothing behind it.
    async fn unconnected() -> Gateway {
        let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let api = ApiModel::load(&template).unwrap();
        let dead = "http://127.0.0.1:9";
        let invoker = Invoker::new(dead, Duration::from_secs(1)).unwrap();
        let keys = DynamoStore::connect(Some(dead), "contacts").await;
        let listen: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        Gateway::new(api, invoker, keys, listen, None, true)
    }

    /// A key lookup that cannot reach DynamoDB fails the call with a 5xx, never lets it
    /// through.
    #[tokio::test]
    async fn a_failed_key_lookup_fails_the_call() {
        let gateway = unconnected().await;
        let refused = gateway.check_api_key("key1").await;
        assert_eq!(refused, Err(GatewayError::AuthorizerFailure));
        let rendered = render(&gateway.api, GatewayError::AuthorizerFailure);
        assert_eq!(rendered.status, 503);
    }

    /// API Gateway's format (a version 4 UUID), fresh for every request.
    #[tokio::test]
    async fn request_ids_are_distinct_random_uuids() {
        let gateway = unconnected().await;
        let ids: std::collections::BTreeSet<String> =
            (0..100).map(|_| gateway.request_id()).collect();
        assert_eq!(ids.len(), 100);
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(
                *id,
                parsed.hyphenated().to_string(),
                "lowercase, hyphenated"
            );
        }
    }
}
