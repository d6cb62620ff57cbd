//! The API Gateway REST proxy integration, in the `aws_lambda_events` types the functions
//! read it with (through lambda_http), so that what the gateway sends and what they read
//! cannot drift apart: the event a function receives, the REQUEST authorizer's event, and
//! the response a function must return.

use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequestContext,
    ApiGatewayCustomAuthorizerRequestTypeRequestIdentity, ApiGatewayProxyRequest,
    ApiGatewayProxyRequestContext, ApiGatewayProxyResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::query_map::QueryMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// Header name (lowercase) → values, in arrival order.
pub type Headers = BTreeMap<String, Vec<String>>;

/// Everything the events carry about an incoming request and the resource it matched.
pub struct Incoming<'a> {
    pub method: &'a Method,
    /// Path below the stage, as sent (still percent-encoded).
    pub path: &'a str,
    /// Path with the stage prefix, as sent.
    pub full_path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a Headers,
    pub body: &'a [u8],
    pub source_ip: String,
    pub request_id: &'a str,
    pub epoch_ms: i64,
    pub stage: &'a str,
    /// The matched resource as declared, e.g. `/v1/contact/{contact_id}`.
    pub resource: &'a str,
    /// Its path parameters, still percent-encoded, as API Gateway REST sends them.
    pub path_params: &'a HashMap<String, String>,
}

/// Account and API ids the local stack reports, in the shape AWS uses.
pub const ACCOUNT_ID: &str = "123456789012";
pub const API_ID: &str = "local";
pub const REGION: &str = "us-east-1";

pub fn method_arn(stage: &str, method: &str, path: &str) -> String {
    format!("arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{stage}/{method}{path}")
}

/// Query parameters, decoded, in arrival order (API Gateway decodes `%XX`, not `+`).
pub fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (decode(name), decode(value))
        })
        .collect()
}

/// API Gateway's two query maps: each name's last value, and all its values in order.
fn query_maps(pairs: Vec<(String, String)>) -> (QueryMap, QueryMap) {
    let mut all: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in pairs {
        all.entry(name).or_default().push(value);
    }
    let last: HashMap<String, String> = all
        .iter()
        .filter_map(|(name, values)| Some((name.clone(), values.last()?.clone())))
        .collect();
    (QueryMap::from(last), QueryMap::from(all))
}

/// API Gateway's two header maps: each name's last value, and all its values in order.
/// (The event types serialize a map's first value as the single one, hence two maps.)
fn header_maps(headers: &Headers) -> (HeaderMap, HeaderMap) {
    let (mut last, mut all) = (HeaderMap::new(), HeaderMap::new());
    for (name, values) in headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        for value in values.iter().filter_map(|v| HeaderValue::from_str(v).ok()) {
            last.insert(name.clone(), value.clone());
            all.append(name.clone(), value);
        }
    }
    (last, all)
}

fn first_header(incoming: &Incoming<'_>, name: &str) -> Option<String> {
    incoming.headers.get(name)?.first().cloned()
}

/// The body as the event carries it: text, Base64 when it is not UTF-8, none when empty.
fn event_body(body: &[u8]) -> (Option<String>, bool) {
    match std::str::from_utf8(body) {
        _ if body.is_empty() => (None, false),
        Ok(text) => (Some(text.to_string()), false),
        Err(_) => (Some(STANDARD.encode(body)), true),
    }
}

/// The REST proxy event for a function; `authorizer` is the authorizer's context.
pub fn event(
    incoming: &Incoming<'_>,
    authorizer: Option<&Map<String, Value>>,
) -> ApiGatewayProxyRequest {
    let (headers, multi_value_headers) = header_maps(incoming.headers);
    let (query, multi_value_query) = query_maps(query_params(incoming.query));
    let (body, is_base64_encoded) = event_body(incoming.body);
    // The event types are non-exhaustive: built from their defaults.
    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(incoming.resource.to_string());
    event.path = Some(incoming.path.to_string());
    event.http_method = incoming.method.clone();
    event.headers = headers;
    event.multi_value_headers = multi_value_headers;
    event.query_string_parameters = query;
    event.multi_value_query_string_parameters = multi_value_query;
    event.path_parameters = incoming.path_params.clone();
    event.request_context = request_context(incoming, authorizer);
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

fn request_context(
    incoming: &Incoming<'_>,
    authorizer: Option<&Map<String, Value>>,
) -> ApiGatewayProxyRequestContext {
    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(ACCOUNT_ID.to_string());
    context.apiid = Some(API_ID.to_string());
    context.resource_id = Some("local".to_string());
    context.resource_path = Some(incoming.resource.to_string());
    context.http_method = incoming.method.clone();
    context.path = Some(incoming.full_path.to_string());
    context.stage = Some(incoming.stage.to_string());
    context.protocol = Some("HTTP/1.1".to_string());
    context.request_id = Some(incoming.request_id.to_string());
    context.request_time = Some(request_time(incoming.epoch_ms));
    context.request_time_epoch = incoming.epoch_ms;
    context.domain_name = first_header(incoming, "host");
    context.identity.source_ip = Some(incoming.source_ip.clone());
    context.identity.user_agent = first_header(incoming, "user-agent");
    if let Some(fields) = authorizer {
        context.authorizer.fields = fields.clone().into_iter().collect();
    }
    context
}

/// The REQUEST authorizer event: the same request, without body, with the method ARN.
pub fn authorizer_event(
    incoming: &Incoming<'_>,
    method_arn: &str,
) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    let (headers, multi_value_headers) = header_maps(incoming.headers);
    let (query, multi_value_query) = query_maps(query_params(incoming.query));
    let mut identity = ApiGatewayCustomAuthorizerRequestTypeRequestIdentity::default();
    identity.source_ip = Some(incoming.source_ip.clone());
    let mut context = ApiGatewayCustomAuthorizerRequestTypeRequestContext::default();
    context.account_id = Some(ACCOUNT_ID.to_string());
    context.apiid = Some(API_ID.to_string());
    context.resource_id = Some("local".to_string());
    context.resource_path = Some(incoming.resource.to_string());
    context.http_method = Some(incoming.method.clone());
    context.path = Some(incoming.full_path.to_string());
    context.stage = Some(incoming.stage.to_string());
    context.request_id = Some(incoming.request_id.to_string());
    context.identity = Some(identity);
    let mut event = ApiGatewayCustomAuthorizerRequestTypeRequest::default();
    event.type_ = Some("REQUEST".to_string());
    event.method_arn = Some(method_arn.to_string());
    event.resource = Some(incoming.resource.to_string());
    event.path = Some(incoming.path.to_string());
    event.http_method = Some(incoming.method.clone());
    event.headers = headers;
    event.multi_value_headers = multi_value_headers;
    event.query_string_parameters = query;
    event.multi_value_query_string_parameters = multi_value_query;
    event.path_parameters = incoming.path_params.clone();
    event.request_context = context;
    event
}

/// `requestTime` as API Gateway writes it: `09/Apr/2015:12:34:56 +0000`.
fn request_time(epoch_ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = epoch_ms.div_euclid(1000);
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // The proleptic Gregorian date of a day number (Howard Hinnant's civil_from_days).
    let shifted = days + 719_468;
    let (era, day_of_era) = (shifted.div_euclid(146_097), shifted.rem_euclid(146_097));
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = (month_from_march + 2) % 12;
    let year = era * 400 + year_of_era + i64::from(month < 2);
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[month as usize],
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// A response to the client: a function's, or one of the gateway's own.
pub struct Outgoing {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Reads a function's proxy response; `None` if it is malformed (API Gateway answers 502).
pub fn response(value: Value) -> Option<Outgoing> {
    let response: ApiGatewayProxyResponse = serde_json::from_value(value).ok()?;
    let status = u16::try_from(response.status_code)
        .ok()
        .filter(|s| (100..=599).contains(s))?;
    let mut headers = response.headers;
    // A name in multiValueHeaders replaces its single value: `extend` replaces by name.
    headers.extend(response.multi_value_headers);
    let body = match response.body {
        Some(Body::Text(text)) if response.is_base64_encoded => STANDARD.decode(text).ok()?,
        Some(body) => body.to_vec(),
        None => Vec::new(),
    };
    Some(Outgoing {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_values_are_percent_decoded_but_plus_is_kept() {
        assert_eq!(
            query_params(Some("name=firstName&value=Muhammad%20Mahin&x=a+b&flag")),
            vec![
                ("name".into(), "firstName".into()),
                ("value".into(), "Muhammad Mahin".into()),
                ("x".into(), "a+b".into()),
                ("flag".into(), "".into())
            ]
        );
    }

    #[test]
    fn request_time_is_in_api_gateways_format() {
        assert_eq!(
            request_time(1_428_582_896_000),
            "09/Apr/2015:12:34:56 +0000"
        );
        assert_eq!(request_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(request_time(951_782_400_999), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(
            request_time(1_767_225_599_000),
            "31/Dec/2025:23:59:59 +0000"
        );
    }

    /// A request for `/v1/contact/{contact_id}` with repeated headers and query
    /// parameters, an encoded path parameter and a body that is not UTF-8.
    fn with_incoming<T>(run: impl FnOnce(&Incoming<'_>) -> T) -> T {
        let headers: Headers = [
            ("host", vec!["gw.example:3000"]),
            ("user-agent", vec!["probe/1"]),
            ("x-dup", vec!["first", "second"]),
            ("authorization", vec!["Bearer a", "Bearer b"]),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
        let params = HashMap::from([("contact_id".to_string(), "a%2Fb".to_string())]);
        run(&Incoming {
            method: &Method::PUT,
            path: "/v1/contact/a%2Fb",
            full_path: "/api/v1/contact/a%2Fb",
            query: Some("page=1&page=2&name=a+b&value=Muhammad%20Mahin"),
            headers: &headers,
            body: &[0xff, 0x00, 0x41],
            source_ip: "127.0.0.9".to_string(),
            request_id: "req-1",
            epoch_ms: 1_428_582_896_000,
            stage: "api",
            resource: "/v1/contact/{contact_id}",
            path_params: &params,
        })
    }

    #[test]
    fn the_proxy_event_carries_what_api_gateway_sends() {
        let context = Map::from_iter([
            ("channel_id".to_string(), json!("ch1")),
            ("channel_type".to_string(), json!("facebook")),
        ]);
        let event = with_incoming(|incoming| event(incoming, Some(&context)));
        let sent = serde_json::to_value(&event).unwrap();
        assert_eq!(sent["resource"], "/v1/contact/{contact_id}");
        assert_eq!(sent["path"], "/v1/contact/a%2Fb");
        assert_eq!(sent["httpMethod"], "PUT");
        assert_eq!(sent["pathParameters"], json!({"contact_id": "a%2Fb"}));
        assert_eq!(sent["headers"]["x-dup"], "second", "the last value");
        assert_eq!(
            sent["multiValueHeaders"]["x-dup"],
            json!(["first", "second"])
        );
        assert_eq!(sent["queryStringParameters"]["page"], "2", "the last value");
        assert_eq!(
            sent["multiValueQueryStringParameters"]["page"],
            json!(["1", "2"])
        );
        assert_eq!(sent["queryStringParameters"]["name"], "a+b");
        assert_eq!(sent["queryStringParameters"]["value"], "Muhammad Mahin");
        assert_eq!(
            (&sent["body"], &sent["isBase64Encoded"]),
            (&json!("/wBB"), &json!(true))
        );
        let context = &sent["requestContext"];
        assert_eq!(context["stage"], "api");
        assert_eq!(context["requestId"], "req-1");
        assert_eq!(context["path"], "/api/v1/contact/a%2Fb");
        assert_eq!(context["resourcePath"], "/v1/contact/{contact_id}");
        assert_eq!(context["requestTime"], "09/Apr/2015:12:34:56 +0000");
        assert_eq!(context["requestTimeEpoch"], 1_428_582_896_000i64);
        assert_eq!(context["domainName"], "gw.example:3000");
        assert_eq!(context["identity"]["sourceIp"], "127.0.0.9");
        assert_eq!(context["identity"]["userAgent"], "probe/1");
        assert_eq!(context["authorizer"]["channel_id"], "ch1");
    }

    /// The functions' own code (lambda_http and contacts-shared) reads the event back.
    #[test]
    fn the_functions_read_the_proxy_event() {
        use contacts_shared::api::request;
        let context = Map::from_iter([
            ("channel_id".to_string(), json!("ch1")),
            ("channel_type".to_string(), json!("facebook")),
        ]);
        let sent = with_incoming(|incoming| event(incoming, Some(&context)));
        let request =
            lambda_http::request::from_str(&serde_json::to_string(&sent).unwrap()).unwrap();
        let channel = request::channel(&request).unwrap();
        assert_eq!(
            (channel.id.as_str(), channel.kind.as_str()),
            ("ch1", "facebook")
        );
        assert_eq!(request::contact_id(&request, &channel).unwrap(), "a/b");
        assert_eq!(request::header(&request, "x-dup").unwrap(), Some("second"));
        assert_eq!(request::body(&request), &[0xff, 0x00, 0x41]);
        assert_eq!(
            request::url_without_query(&request),
            "https://gw.example:3000/api/v1/contact/a%2Fb"
        );
        // Without the authorizer's context, no channel.
        let bare = with_incoming(|incoming| event(incoming, None));
        let bare = lambda_http::request::from_str(&serde_json::to_string(&bare).unwrap()).unwrap();
        assert!(request::channel(&bare).is_err());
    }

    #[test]
    fn the_authorizer_event_is_a_request_type_event() {
        let arn = method_arn("api", "PUT", "/v1/contact/a%2Fb");
        let event = with_incoming(|incoming| authorizer_event(incoming, &arn));
        let sent = serde_json::to_value(&event).unwrap();
        assert_eq!(sent["type"], "REQUEST");
        assert_eq!(sent["methodArn"], arn.as_str());
        assert!(sent.get("body").is_none());
        assert_eq!(sent["requestContext"]["identity"]["sourceIp"], "127.0.0.9");
        assert_eq!(sent["requestContext"]["requestId"], "req-1");
        let read: ApiGatewayCustomAuthorizerRequestTypeRequest =
            serde_json::from_value(sent).unwrap();
        let authorizations: Vec<&str> = read
            .multi_value_headers
            .get_all("authorization")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            authorizations,
            ["Bearer a", "Bearer b"],
            "every value, in order"
        );
        assert_eq!(read.path_parameters["contact_id"], "a%2Fb");
    }

    #[test]
    fn proxy_responses_are_read_as_api_gateway_reads_them() {
        let ok = response(json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"})).unwrap();
        assert_eq!((ok.status, ok.body.as_slice()), (200, b"{}".as_slice()));
        assert_eq!(ok.headers["content-type"], "application/json");
        let merged = response(json!({
            "statusCode": 201,
            "headers": {"x-a": "single", "x-b": "kept"},
            "multiValueHeaders": {"x-a": ["one", "two"]},
            "body": "AAEC",
            "isBase64Encoded": true,
        }))
        .unwrap();
        let x_a: Vec<_> = merged.headers.get_all("x-a").iter().collect();
        assert_eq!(x_a, ["one", "two"], "multiValueHeaders win");
        assert_eq!(merged.headers["x-b"], "kept");
        assert_eq!(merged.body, [0, 1, 2]);
        let empty = response(json!({"statusCode": 204, "body": null})).unwrap();
        assert!(empty.body.is_empty());
    }

    #[test]
    fn malformed_proxy_responses_are_refused() {
        for malformed in [
            json!({"body": "x"}),
            json!({"statusCode": 99}),
            json!({"statusCode": 600}),
            json!({"statusCode": "200"}),
            json!({"statusCode": 200, "body": {"not": "text"}}),
            json!({"statusCode": 200, "headers": {"x": ["a", {}]}}),
            json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true}),
            json!("not an object"),
        ] {
            assert!(response(malformed.clone()).is_none(), "{malformed}");
        }
    }
}
