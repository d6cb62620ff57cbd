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

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::Invalid(_) | ApiError::ContactNotFound => 403,
            ApiError::RouteNotFound => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::TooManyRequests => 429,
            ApiError::Internal => 500,
            ApiError::Unavailable => 503,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::Unauthorized => "API Token is invalid.",
            ApiError::Invalid(message) => message,
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
        serde_json::json!({"status": "error", "message": self.message(), "data": []})
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.message())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

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
        for (error, status, message) in cases {
            assert_eq!(error.status(), status);
            assert_eq!(
                error.envelope(),
                serde_json::json!({"status": "error", "message": message, "data": []})
            );
        }
    }
}
