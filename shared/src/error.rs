//! The one error type of the API and its mapping to the contract's status and message.

use std::fmt;

/// Every way a request can fail, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Missing, malformed, unknown or revoked token (or no channel in the authorizer context).
    Unauthorized,
    /// Any other client error; the text names the problem.
    Invalid(String),
    /// The contact id is not known in this channel (a 403, as the original answers it:
    /// v1 clients look for "no such contact" in a 403).
    ContactNotFound,
    /// A unique field's value is held by another contact (409, the owner's id in `data`).
    ValueTaken {
        field: String,
        owner: String,
        message: String,
    },
    /// No such route.
    RouteNotFound,
    /// Known path, method not supported; holds the methods the path supports.
    MethodNotAllowed(Vec<&'static str>),
    /// Over the rate limit.
    TooManyRequests,
    /// Storage throttled or unreachable.
    Unavailable,
    /// Anything else that is our fault.
    Internal,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Invalid(message.into())
    }

    pub fn value_taken(field: &str, value: &str, owner: String) -> Self {
        ApiError::ValueTaken {
            field: field.to_string(),
            message: format!(
                "Custom field '{}' value '{}' belongs to contact '{}'.",
                printable(field),
                printable(value),
                printable(&owner)
            ),
            owner,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::Invalid(_) | ApiError::ContactNotFound => 403,
            ApiError::RouteNotFound => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::ValueTaken { .. } => 409,
            ApiError::TooManyRequests => 429,
            ApiError::Internal => 500,
            ApiError::Unavailable => 503,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::Unauthorized => "API Token is invalid.",
            ApiError::Invalid(message) | ApiError::ValueTaken { message, .. } => message,
            ApiError::ContactNotFound => "There is no such contact.",
            ApiError::RouteNotFound => "404 Not Found.",
            ApiError::MethodNotAllowed(_) => "405 Method Not Allowed.",
            ApiError::TooManyRequests => "Too many requests",
            ApiError::Internal => "Internal server error.",
            ApiError::Unavailable => "Service temporarily unavailable.",
        }
    }

    /// The contract's error envelope.
    pub fn envelope(&self) -> serde_json::Value {
        let data = match self {
            ApiError::ValueTaken { owner, .. } => serde_json::json!({ "id": owner }),
            _ => serde_json::json!([]),
        };
        serde_json::json!({"status": "error", "message": self.message(), "data": data})
    }
}

/// API Gateway's own errors, as template.yaml's gateway responses rewrite them: each
/// response type and the contract's error it answers with. Besides these, DEFAULT_4XX
/// answers 403 with API Gateway's own message in the envelope, and DEFAULT_5XX the
/// envelope of [`ApiError::Internal`] with each error's own 5xx status.
pub const GATEWAY_ERRORS: [(&str, ApiError); 11] = [
    ("UNAUTHORIZED", ApiError::Unauthorized),
    ("ACCESS_DENIED", ApiError::Unauthorized),
    // The channel's key is gone from the usage plan (channel deleted): its token is no good.
    ("INVALID_API_KEY", ApiError::Unauthorized),
    ("THROTTLED", ApiError::TooManyRequests),
    ("QUOTA_EXCEEDED", ApiError::TooManyRequests),
    // What a REST API answers for a path it has no resource for.
    ("MISSING_AUTHENTICATION_TOKEN", ApiError::RouteNotFound),
    ("RESOURCE_NOT_FOUND", ApiError::RouteNotFound),
    // The authorizer fails only when it cannot read the token table.
    ("AUTHORIZER_FAILURE", ApiError::Unavailable),
    ("AUTHORIZER_CONFIGURATION_ERROR", ApiError::Internal),
    ("INTEGRATION_FAILURE", ApiError::Unavailable),
    ("INTEGRATION_TIMEOUT", ApiError::Unavailable),
];

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.message())
    }
}

impl std::error::Error for ApiError {}

impl From<crate::random::RandomError> for ApiError {
    fn from(err: crate::random::RandomError) -> Self {
        tracing::error!(%err);
        ApiError::Internal
    }
}

/// A client-supplied string made safe to quote in a message: control characters
/// escaped and long input cut, so that an error never echoes a payload back whole.
pub fn printable(text: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = text
        .chars()
        .take(MAX)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_and_cuts() {
        assert_eq!(printable("a\nb\u{0}"), "a\\nb\\0");
        assert_eq!(printable(&"x".repeat(100)).chars().count(), 61);
    }

    #[test]
    fn envelopes_match_the_contract() {
        let cases = [
            (ApiError::Unauthorized, 401, "API Token is invalid."),
            (ApiError::invalid("Bad."), 403, "Bad."),
            (ApiError::ContactNotFound, 403, "There is no such contact."),
            (ApiError::RouteNotFound, 404, "404 Not Found."),
            (
                ApiError::MethodNotAllowed(vec!["GET"]),
                405,
                "405 Method Not Allowed.",
            ),
            (ApiError::TooManyRequests, 429, "Too many requests"),
            (ApiError::Internal, 500, "Internal server error."),
            (
                ApiError::Unavailable,
                503,
                "Service temporarily unavailable.",
            ),
        ];
        let taken = ApiError::value_taken("phone", "+92 324 4077087", "abc".into());
        assert_eq!(taken.status(), 409);
        assert_eq!(
            taken.envelope(),
            serde_json::json!({"status": "error",
                "message": "Custom field 'phone' value '+92 324 4077087' belongs to contact 'abc'.",
                "data": {"id": "abc"}})
        );
        for (error, status, message) in cases {
            assert_eq!(error.status(), status);
            assert_eq!(
                error.envelope(),
                serde_json::json!({"status": "error", "message": message, "data": []})
            );
        }
    }
}
