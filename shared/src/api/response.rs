//! What a function answers: the contract's JSON bodies and error envelopes.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde_json::Value;

use crate::error::ApiError;

pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";
/// A JSON response.
pub fn json(status: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The response for an operation's outcome: 200 with its body, or the error envelope.
pub fn respond(outcome: Result<Value, ApiError>) -> Response<Body> {
    match outcome {
        Ok(body) => json(200, &body),
        Err(error) => error_response(&error),
    }
}

pub fn error_response(error: &ApiError) -> Response<Body> {
    let mut response = json(error.status(), &error.envelope());
    if let ApiError::MethodNotAllowed(methods) = error {
        if let Ok(allow) = HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    response
}

/// The body of a 200 that carries only a message, as the tag endpoints answer.
pub fn success_message(message: &str) -> Value {
    serde_json::json!({"status": "success", "message": message, "data": []})
}
