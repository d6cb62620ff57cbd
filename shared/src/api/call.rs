//! One call's context for logs and metrics: the request id API Gateway gave it (what the
//! client got as `x-amzn-RequestId`), the channel the authorizer vouched for, and the
//! endpoint. Every line a function logs during the call is inside the call's span, made at
//! ERROR level so that no configured level (the template allows WARN and ERROR) drops it;
//! at the end, one line of metrics.

use std::future::Future;
use std::time::Instant;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tracing::Instrument;

use crate::api::{functions, request};
use crate::metrics::{first_call, CallMetrics};
use crate::store::dynamo::capacity;

#[derive(Debug, Clone)]
pub struct Call {
    pub request_id: String,
    pub channel: Option<String>,
    pub endpoint: &'static str,
}

impl Call {
    /// The call of an endpoint's `request` (`endpoint` when its route names none).
    pub fn of(request: &Request, otherwise: &'static str) -> Call {
        let context = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(context)) => Some(context),
            _ => None,
        };
        let request_id = context
            .and_then(|c| c.request_id.clone())
            .or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()))
            .unwrap_or_default();
        let channel = request::channel(request).ok().map(|channel| channel.id);
        let route =
            context.and_then(|c| Some((c.http_method.as_str(), c.resource_path.as_deref()?)));
        Call {
            request_id,
            channel,
            endpoint: route
                .and_then(|(method, path)| functions::endpoint(method, path))
                .unwrap_or(otherwise),
        }
    }

    /// Runs `work` inside the call's span, metering its DynamoDB capacity, and writes the
    /// call's metrics with the status `status` reads off its outcome.
    pub async fn run<T>(self, work: impl Future<Output = T>, status: impl Fn(&T) -> u16) -> T {
        let cold_start = first_call();
        // A channel not yet known (the authorizer's) is left out of the lines.
        let span = tracing::error_span!(
            "call",
            request_id = %self.request_id,
            channel = self.channel.as_deref(),
        );
        let started = Instant::now();
        // Boxed: the SDK's futures nest deep enough that the compiler cannot lay out the
        // whole call inline.
        let (outcome, units) = capacity::metered(Box::pin(work)).instrument(span).await;
        CallMetrics {
            endpoint: self.endpoint,
            status: status(&outcome),
            cold_start,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            units,
            request_id: &self.request_id,
            channel: self.channel.as_deref(),
        }
        .write();
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_their_endpoint() {
        let endpoint = functions::endpoint;
        assert_eq!(
            endpoint("GET", "/v1/contact/{contact_id}"),
            Some("get-contact")
        );
        assert_eq!(endpoint("POST", "/v1/contact"), Some("create-contact"));
        assert_eq!(endpoint("PATCH", "/v1/contact"), None);
        assert_eq!(functions::named(functions::Role::Responder), "responder");
    }
}
