//! What a function reads from an API Gateway REST proxy request: the channel the
//! authorizer vouched for, the path's contact id, headers, the body and the find and list
//! queries.

use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use crate::api::authorizer::{CHANNEL_ID, CHANNEL_TYPE};
use crate::api::paginate::PageRequest;
use crate::domain::channel::{is_valid_channel_id, Channel};
use crate::domain::contact_id;
use crate::domain::service::FindQuery;
use crate::error::ApiError;

/// The channel the authorizer vouched for. A request without one never came through the
/// authorizer, and is refused.
pub fn channel(request: &Request) -> Result<Channel, ApiError> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthorized);
    };
    let field = |key: &str| context.authorizer.fields.get(key).and_then(Value::as_str);
    let id = field(CHANNEL_ID).filter(|id| is_valid_channel_id(id));
    let kind = field(CHANNEL_TYPE).and_then(|kind| kind.parse().ok());
    match (id, kind) {
        (Some(id), Some(kind)) => Ok(Channel {
            id: id.to_string(),
            kind,
        }),
        _ => Err(ApiError::Unauthorized),
    }
}

/// The `{contact_id}` of the path, decoded for this channel.
pub fn contact_id(request: &Request, channel: &Channel) -> Result<String, ApiError> {
    let raw = request
        .path_parameters_ref()
        .and_then(|p| p.first("contact_id"))
        .ok_or(ApiError::RouteNotFound)?;
    contact_id::from_path(raw, channel)
}

/// A header's value. Sent twice, the last value counts: that is what API Gateway's
/// single-value `headers` carry, and what reaches the function.
pub fn header<'a>(request: &'a Request, name: &str) -> Result<Option<&'a str>, ApiError> {
    request
        .headers()
        .get(name)
        .map(|value| {
            value.to_str().map_err(|_| {
                ApiError::invalid(format!("Header {name} must be visible ASCII text."))
            })
        })
        .transpose()
}

pub fn body(request: &Request) -> &[u8] {
    request.body().as_ref()
}

/// The find query: `name` and `value` required, `page`, `per_page` and `cursor` (our
/// links') optional, none of them given twice; the page as the client asked for it (links
/// keep its `per_page`).
pub fn find_query(request: &Request) -> Result<(FindQuery, PageRequest), ApiError> {
    let single = |key: &str| single_param(request, key);
    let (name, value) = name_and_value(request)?;
    let page = PageRequest::parse(single("page")?, single("per_page")?)?;
    let query = FindQuery {
        name,
        value,
        page: page.page,
        per_page: page.per_page,
        cursor: single("cursor")?.map(str::to_string),
    };
    Ok((query, page))
}

/// The `name` and `value` of a find or an upsert, both required, once each.
pub fn name_and_value(request: &Request) -> Result<(String, String), ApiError> {
    let required = |key: &str| -> Result<String, ApiError> {
        single_param(request, key)?
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid(format!("Query parameter '{key}' is required.")))
    };
    Ok((required("name")?, required("value")?))
}

/// The list query: `per_page` (1 to 100, default 10) and `cursor`, both optional.
pub fn list_query(request: &Request) -> Result<(Option<String>, u32), ApiError> {
    let page = PageRequest::parse(None, single_param(request, "per_page")?)?;
    let cursor = single_param(request, "cursor")?.map(str::to_string);
    Ok((cursor, page.per_page))
}

/// A query parameter that may be absent but not given twice.
fn single_param<'a>(request: &'a Request, key: &str) -> Result<Option<&'a str>, ApiError> {
    match request
        .query_string_parameters_ref()
        .and_then(|p| p.all(key))
    {
        Some(values) if values.len() > 1 => Err(ApiError::invalid(format!(
            "Query parameter '{key}' is given more than once."
        ))),
        Some(values) => Ok(values.first().copied()),
        None => Ok(None),
    }
}

/// The absolute URL of this request without its query: scheme from `X-Forwarded-Proto`,
/// host from `Host`, the path as the client sent it (stage prefix included).
pub fn url_without_query(request: &Request) -> String {
    let headers = request.headers();
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("http") => "http",
        _ => "https",
    };
    let context = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => Some(context),
        _ => None,
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| is_host(h))
        .or_else(|| context.and_then(|c| c.domain_name.as_deref()))
        .unwrap_or("localhost");
    let path = match context.and_then(|c| c.path.as_deref()) {
        Some(path) => path.to_string(),
        None => request.uri().path().to_string(),
    };
    format!("{scheme}://{host}{}", path.trim_end_matches('/'))
}

fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}
