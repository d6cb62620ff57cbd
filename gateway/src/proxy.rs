//! The API Gateway REST proxy integration: the event a function receives, and the
//! response it must return.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

/// Everything about an incoming request that the event carries.
pub struct Incoming<'a> {
    pub method: &'a str,
    /// Path below the stage, as sent (still percent-encoded).
    pub path: &'a str,
    /// Path with the stage prefix, as sent.
    pub full_path: &'a str,
    pub query: Option<&'a str>,
    /// Header name (lowercase) → values, in arrival order.
    pub headers: &'a BTreeMap<String, Vec<String>>,
    pub body: &'a [u8],
    pub source_ip: String,
    pub request_id: &'a str,
    pub epoch_ms: u128,
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

fn single_and_multi(pairs: impl IntoIterator<Item = (String, String)>) -> (Value, Value) {
    let mut multi: Map<String, Value> = Map::new();
    let mut single: Map<String, Value> = Map::new();
    for (name, value) in pairs {
        single.insert(name.clone(), Value::from(value.clone()));
        match multi
            .entry(name)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(values) => values.push(Value::from(value)),
            _ => unreachable!("only arrays are inserted"),
        }
    }
    if single.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (Value::Object(single), Value::Object(multi))
    }
}

/// The REST proxy event for a function.
pub fn event(
    incoming: &Incoming<'_>,
    stage: &str,
    resource: &str,
    path_params: &BTreeMap<String, String>,
    authorizer: Option<&Map<String, Value>>,
) -> Value {
    let header_pairs = incoming
        .headers
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |v| (name.clone(), v.clone())));
    let (headers, multi_headers) = single_and_multi(header_pairs);
    let (query, multi_query) = single_and_multi(query_params(incoming.query));
    let (body, base64) = match std::str::from_utf8(incoming.body) {
        _ if incoming.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::from(text), false),
        Err(_) => (Value::from(STANDARD.encode(incoming.body)), true),
    };
    let user_agent = incoming
        .headers
        .get("user-agent")
        .and_then(|v| v.first())
        .cloned();
    let domain = incoming
        .headers
        .get("host")
        .and_then(|v| v.first())
        .cloned();
    let mut context = json!({
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": "local",
        "resourcePath": resource,
        "httpMethod": incoming.method,
        "path": incoming.full_path,
        "stage": stage,
        "protocol": "HTTP/1.1",
        "requestId": incoming.request_id,
        "extendedRequestId": incoming.request_id,
        "requestTimeEpoch": incoming.epoch_ms,
        "domainName": domain,
        "identity": {"sourceIp": incoming.source_ip, "userAgent": user_agent},
    });
    if let Some(authorizer) = authorizer {
        context["authorizer"] = Value::Object(authorizer.clone());
    }
    json!({
        "resource": resource,
        "path": incoming.path,
        "httpMethod": incoming.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": if path_params.is_empty() { Value::Null } else { json!(path_params) },
        "stageVariables": Value::Null,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": base64,
    })
}

/// The REQUEST authorizer event: the same request, without body, with the method ARN.
pub fn authorizer_event(proxy_event: &Value, method_arn: &str) -> Value {
    let mut event = proxy_event.clone();
    if let Some(object) = event.as_object_mut() {
        object.remove("body");
        object.remove("isBase64Encoded");
        object.insert("type".into(), Value::from("REQUEST"));
        object.insert("methodArn".into(), Value::from(method_arn));
    }
    event
}

/// A function's proxy response.
pub struct Outgoing {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads a proxy response; `None` if it is malformed (API Gateway answers 502).
pub fn response(value: &Value) -> Option<Outgoing> {
    let status = u16::try_from(value.get("statusCode")?.as_u64()?)
        .ok()
        .filter(|s| (100..=599).contains(s))?;
    let mut headers = Vec::new();
    if let Some(single) = value.get("headers").and_then(Value::as_object) {
        for (name, v) in single {
            headers.push((name.clone(), scalar(v)?));
        }
    }
    if let Some(multi) = value.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            for v in values.as_array()? {
                headers.push((name.clone(), scalar(v)?));
            }
        }
    }
    let body = match value.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text))
            if value.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) =>
        {
            STANDARD.decode(text).ok()?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return None,
    };
    Some(Outgoing {
        status,
        headers,
        body,
    })
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn duplicate_parameters_keep_every_value() {
        let (single, multi) = single_and_multi(query_params(Some("page=1&page=2")));
        assert_eq!(single, json!({"page": "2"}));
        assert_eq!(multi, json!({"page": ["1", "2"]}));
    }

    #[test]
    fn malformed_proxy_responses_are_refused() {
        assert!(response(&json!({"body": "x"})).is_none());
        assert!(response(&json!({"statusCode": 99})).is_none());
        let ok = response(&json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"})).unwrap();
        assert_eq!((ok.status, ok.body.as_slice()), (200, b"{}".as_slice()));
    }
}
