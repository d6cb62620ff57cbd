//! Errors the gateway raises itself, rendered through the template's gateway responses.

use hyper::HeaderMap;
use serde_json::Value;

use crate::proxy::Outgoing;
use crate::template::ApiModel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// No identity header, or the authorizer said "Unauthorized".
    Unauthorized,
    /// The authorizer's policy does not allow the call.
    AccessDenied,
    /// The route needs an API key and the authorizer named none.
    InvalidApiKey,
    /// The usage plan's bucket for this key is empty.
    Throttled,
    /// No resource or method for the request (API Gateway's famous 403).
    MissingAuthenticationToken,
    /// The authorizer failed or returned something unusable, or the API key it named could
    /// not be looked up: locally the key lives in the token table, and failing to read
    /// that table is what this response (503 in template.yaml) stands for.
    AuthorizerFailure,
    /// The function could not be invoked.
    IntegrationFailure,
    IntegrationTimeout,
    /// The function failed or returned a malformed proxy response.
    BadGateway,
    RequestTooLarge,
}

impl GatewayError {
    /// The gateway response type, as the template names it.
    pub fn kind(self) -> &'static str {
        match self {
            GatewayError::Unauthorized => "UNAUTHORIZED",
            GatewayError::AccessDenied => "ACCESS_DENIED",
            GatewayError::InvalidApiKey => "INVALID_API_KEY",
            GatewayError::Throttled => "THROTTLED",
            GatewayError::MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            GatewayError::AuthorizerFailure => "AUTHORIZER_FAILURE",
            GatewayError::IntegrationFailure => "INTEGRATION_FAILURE",
            GatewayError::IntegrationTimeout => "INTEGRATION_TIMEOUT",
            GatewayError::BadGateway => "DEFAULT_5XX",
            GatewayError::RequestTooLarge => "REQUEST_TOO_LARGE",
        }
    }

    /// API Gateway's own status and message when the template does not override them.
    fn defaults(self) -> (u16, &'static str) {
        match self {
            GatewayError::Unauthorized => (401, "Unauthorized"),
            GatewayError::AccessDenied => (403, "User is not authorized to access this resource"),
            GatewayError::InvalidApiKey => (403, "Forbidden"),
            GatewayError::Throttled => (429, "Too Many Requests"),
            GatewayError::MissingAuthenticationToken => (403, "Missing Authentication Token"),
            GatewayError::AuthorizerFailure => (500, "Internal server error"),
            GatewayError::IntegrationFailure => (504, "Internal server error"),
            GatewayError::IntegrationTimeout => (504, "Endpoint request timed out"),
            GatewayError::BadGateway => (502, "Internal server error"),
            GatewayError::RequestTooLarge => (413, "Request Too Long"),
        }
    }
}

/// A gateway response: the type's own entry, else the DEFAULT_4XX/DEFAULT_5XX entry,
/// else API Gateway's default. Its headers are those of its `ResponseParameters` (the
/// type's own, else its family's, as for the template); the server adds the JSON
/// content type when they set none.
pub fn render(api: &ApiModel, error: GatewayError) -> Outgoing {
    let (default_status, message) = error.defaults();
    let family = if default_status >= 500 {
        "DEFAULT_5XX"
    } else {
        "DEFAULT_4XX"
    };
    let own = api.gateway_responses.get(error.kind());
    let fallback = api.gateway_responses.get(family);
    let status = own
        .and_then(|r| r.status)
        .or_else(|| {
            own.is_none()
                .then(|| fallback.and_then(|r| r.status))
                .flatten()
        })
        .unwrap_or(default_status);
    let template = own
        .and_then(|r| r.template.clone())
        .or_else(|| fallback.and_then(|r| r.template.clone()));
    let body = match template {
        Some(template) => template
            .replace(
                "$context.error.messageString",
                &Value::from(message).to_string(),
            )
            .replace("$context.error.message", message),
        None => serde_json::json!({ "message": message }).to_string(),
    };
    let parameters = own
        .filter(|r| !r.headers.is_empty())
        .or(fallback)
        .map(|r| r.headers.as_slice())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    for (name, value) in parameters {
        headers.insert(name.clone(), value.clone());
    }
    Outgoing {
        status,
        headers,
        body: body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_responses_are_the_contracts() {
        let api = ApiModel::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
        )
        .unwrap();
        // Each error the gateway raises, and the contract's error its response rewrites it to.
        let contract = |kind: &str| {
            contacts_shared::error::GATEWAY_ERRORS
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, e)| (e.status(), e.envelope()))
                .unwrap_or_else(|| panic!("{kind} is not one of the contract's gateway errors"))
        };
        let internal = contacts_shared::ApiError::Internal.envelope();
        let mut cases: Vec<(GatewayError, u16, serde_json::Value)> = [
            GatewayError::Unauthorized,
            GatewayError::AccessDenied,
            GatewayError::InvalidApiKey,
            GatewayError::Throttled,
            GatewayError::MissingAuthenticationToken,
            GatewayError::AuthorizerFailure,
            GatewayError::IntegrationFailure,
            GatewayError::IntegrationTimeout,
        ]
        .into_iter()
        .map(|e| {
            let (status, body) = contract(e.kind());
            (e, status, body)
        })
        .collect();
        // DEFAULT_5XX keeps the status; DEFAULT_4XX carries API Gateway's own message.
        cases.push((GatewayError::BadGateway, 502, internal));
        cases.push((
            GatewayError::RequestTooLarge,
            403,
            serde_json::json!({"status": "error", "message": "Request Too Long", "data": []}),
        ));
        for (error, status, expected) in cases {
            let rendered = render(&api, error);
            assert_eq!(rendered.status, status, "{error:?}");
            let body: Value = serde_json::from_slice(&rendered.body).unwrap();
            assert_eq!(body, expected, "{error:?}");
            // Browsers are refused: no CORS header on any gateway response.
            assert!(
                !rendered
                    .headers
                    .keys()
                    .any(|name| name.as_str().starts_with("access-control-")),
                "{error:?}"
            );
            let retry_after = rendered.headers.get("retry-after");
            if status == 429 {
                assert_eq!(retry_after.unwrap(), "1", "{error:?}");
            } else {
                assert!(retry_after.is_none(), "{error:?}");
            }
        }
    }

    #[test]
    fn response_parameters_are_headers_of_the_response() {
        let api = ApiModel::parse(
            r#"
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: api
      GatewayResponses:
        THROTTLED:
          StatusCode: 429
          ResponseParameters:
            Headers:
              Retry-After: "'60'"
        UNAUTHORIZED:
          StatusCode: 401
        DEFAULT_4XX:
          ResponseParameters:
            Headers:
              X-Family: "'4xx'"
"#,
        )
        .unwrap();
        let header = |error, name: &str| {
            render(&api, error)
                .headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let throttled = render(&api, GatewayError::Throttled);
        assert_eq!(throttled.status, 429);
        assert_eq!(
            header(GatewayError::Throttled, "retry-after").as_deref(),
            Some("60")
        );
        assert_eq!(
            header(GatewayError::Throttled, "x-family"),
            None,
            "its own parameters replace its family's"
        );
        assert_eq!(
            header(GatewayError::Unauthorized, "x-family").as_deref(),
            Some("4xx"),
            "a type without parameters takes its family's"
        );
        assert_eq!(header(GatewayError::Unauthorized, "retry-after"), None);
        assert_eq!(header(GatewayError::BadGateway, "x-family"), None);
    }
}
