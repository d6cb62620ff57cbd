//! Invoking functions through the Lambda invoke API that `cargo lambda watch` serves: how
//! the local gateway calls the API's functions and the local relay the event consumers.

use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

pub struct Invoker {
    client: reqwest::Client,
    endpoint: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum InvokeError {
    /// The invoke API could not be reached.
    Unreachable(String),
    TimedOut,
    /// The function ran and failed; holds its error message.
    Function(String),
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Unreachable(why) => write!(f, "the invoke API is unreachable: {why}"),
            InvokeError::TimedOut => f.write_str("timed out"),
            InvokeError::Function(message) => write!(f, "the function failed: {message}"),
        }
    }
}

/// So that `?` carries it into an `anyhow::Error`.
impl std::error::Error for InvokeError {}

impl Invoker {
    pub fn new(endpoint: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("cannot build the invoke client")?;
        Ok(Invoker {
            client,
            endpoint: endpoint.trim_end_matches('/').to_string(),
        })
    }

    /// Invokes `function` with `event` and returns its result.
    pub async fn invoke(
        &self,
        function: &str,
        event: &impl Serialize,
    ) -> Result<Value, InvokeError> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.endpoint
        );
        let response = self
            .client
            .post(&url)
            .json(event)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    InvokeError::TimedOut
                } else {
                    InvokeError::Unreachable(e.to_string())
                }
            })?;
        let failed = response.headers().contains_key("x-amz-function-error")
            || !response.status().is_success();
        let body = response.bytes().await.map_err(|e| {
            if e.is_timeout() {
                InvokeError::TimedOut
            } else {
                InvokeError::Unreachable(e.to_string())
            }
        })?;
        let value: Value = serde_json::from_slice(&body).map_err(|_| {
            InvokeError::Function(String::from_utf8_lossy(&body).chars().take(200).collect())
        })?;
        let message = value.get("errorMessage").and_then(Value::as_str);
        match (failed, message) {
            (_, Some(message)) if value.get("errorType").is_some() || failed => {
                Err(InvokeError::Function(message.to_string()))
            }
            (true, _) => Err(InvokeError::Function(value.to_string())),
            _ => Ok(value),
        }
    }
}
