//! The gateway itself: one request in, API Gateway's steps in order, one response out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;

use crate::authorizer::{Allowed, Authorizer};
use crate::lambda::{InvokeError, Invoker};
use crate::proxy::{self, Incoming};
use crate::responses::{render, GatewayError};
use crate::routing::Router;
use crate::template::ApiModel;
use crate::throttle::Buckets;

/// API Gateway's payload limit.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

pub struct Gateway {
    pub api: ApiModel,
    pub router: Router,
    pub authorizer: Option<Authorizer>,
    pub buckets: Option<Buckets>,
    pub invoker: Invoker,
    pub listen: SocketAddr,
    pub quiet: bool,
    requests: AtomicU64,
}

impl Gateway {
    pub fn new(
        api: ApiModel,
        invoker: Invoker,
        listen: SocketAddr,
        authorizer_ttl: Option<std::time::Duration>,
        quiet: bool,
    ) -> Self {
        let router = Router::new(&api.routes);
        let authorizer = api
            .authorizer
            .as_ref()
            .map(|a| Authorizer::new(a.function.clone(), authorizer_ttl.unwrap_or(a.ttl)));
        let buckets = api.throttle.map(Buckets::new);
        Gateway {
            api,
            router,
            authorizer,
            buckets,
            invoker,
            listen,
            quiet,
            requests: AtomicU64::new(0),
        }
    }

    pub async fn handle(&self, request: Request<Body>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let method = request.method().as_str().to_string();
        let path = request.uri().path().to_string();
        let (status, headers, body) = match self.process(request, peer).await {
            Ok(out) => (out.status, out.headers, out.body),
            Err(error) => {
                let (status, body) = render(&self.api, error);
                (
                    status,
                    vec![("content-type".to_string(), "application/json".to_string())],
                    body.into_bytes(),
                )
            }
        };
        if !self.quiet {
            // Method, path and status only: headers (tokens) and queries (contact data) stay out of logs.
            eprintln!(
                "local-gateway: {method} {path} -> {status} ({} ms)",
                started.elapsed().as_millis()
            );
        }
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(name), HeaderValue::try_from(value))
            {
                response.headers_mut().append(name, value);
            }
        }
        if !response.headers().contains_key(CONTENT_TYPE) {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        response
    }

    async fn process(
        &self,
        request: Request<Body>,
        peer: SocketAddr,
    ) -> Result<proxy::Outgoing, GatewayError> {
        let (parts, body) = request.into_parts();
        let body = Limited::new(body, MAX_PAYLOAD)
            .collect()
            .await
            .map_err(|_| GatewayError::RequestTooLarge)?
            .to_bytes();
        let full_path = parts.uri.path();
        let stage_prefix = format!("/{}", self.api.stage);
        let path = match full_path.strip_prefix(&stage_prefix) {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => return Err(GatewayError::MissingAuthenticationToken),
        };
        let method = parts.method.as_str();
        let matched = self
            .router
            .find(method, path)
            .ok_or(GatewayError::MissingAuthenticationToken)?;
        let route = matched.route;

        let headers = self.headers(&parts.headers, peer);
        let request_id = self.request_id();
        let incoming = Incoming {
            method,
            path,
            full_path,
            query: parts.uri.query(),
            headers: &headers,
            body: &body,
            source_ip: peer.ip().to_string(),
            request_id: &request_id,
            epoch_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
        };
        let params: BTreeMap<String, String> = matched.params.into_iter().collect();
        let bare_event = proxy::event(&incoming, &self.api.stage, &route.path, &params, None);

        let mut authorizer_context = None;
        if route.authorized {
            let allowed = self.authorize(&headers, method, path, &bare_event).await?;
            if route.api_key_required {
                let key = allowed
                    .usage_key
                    .as_deref()
                    .ok_or(GatewayError::InvalidApiKey)?;
                if let Some(buckets) = &self.buckets {
                    if !buckets.take(key) {
                        return Err(GatewayError::Throttled);
                    }
                }
            }
            authorizer_context = Some(allowed.context);
        }

        let event = proxy::event(
            &incoming,
            &self.api.stage,
            &route.path,
            &params,
            authorizer_context.as_ref(),
        );
        match self.invoker.invoke(&route.function, &event).await {
            Ok(result) => proxy::response(&result).ok_or_else(|| {
                eprintln!(
                    "local-gateway: {} returned a malformed proxy response",
                    route.function
                );
                GatewayError::BadGateway
            }),
            Err(InvokeError::Function(message)) => {
                eprintln!(
                    "local-gateway: {} failed: {}",
                    route.function,
                    message.chars().take(200).collect::<String>()
                );
                Err(GatewayError::BadGateway)
            }
            Err(InvokeError::TimedOut) => Err(GatewayError::IntegrationTimeout),
            Err(InvokeError::Unreachable(why)) => {
                eprintln!("local-gateway: cannot invoke {}: {why}", route.function);
                Err(GatewayError::IntegrationFailure)
            }
        }
    }

    async fn authorize(
        &self,
        headers: &BTreeMap<String, Vec<String>>,
        method: &str,
        path: &str,
        event: &Value,
    ) -> Result<Allowed, GatewayError> {
        let (Some(authorizer), Some(model)) = (&self.authorizer, &self.api.authorizer) else {
            return Err(GatewayError::AuthorizerFailure);
        };
        // Every identity source must be present and non-empty, or API Gateway answers 401
        // without calling the authorizer.
        let mut identity = Vec::new();
        for name in &model.identity_headers {
            let value = headers
                .get(name)
                .and_then(|v| v.last())
                .filter(|v| !v.trim().is_empty());
            identity.push(value.ok_or(GatewayError::Unauthorized)?.as_str());
        }
        let method_arn = proxy::method_arn(&self.api.stage, method, path);
        let event = proxy::authorizer_event(event, &method_arn);
        authorizer
            .authorize(&self.invoker, &identity.join("\u{0}"), &method_arn, &event)
            .await
    }

    /// Request headers as the integration sees them, with the ones API Gateway sets.
    fn headers(&self, raw: &hyper::HeaderMap, peer: SocketAddr) -> BTreeMap<String, Vec<String>> {
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
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

    fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{:016x}-{n:08x}", epoch as u64)
    }
}
