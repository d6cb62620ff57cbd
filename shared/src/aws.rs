//! The AWS SDK configuration every client of the product is built from, once per process:
//! bounded timeouts and retries, and, for a local endpoint (DynamoDB Local, moto), a region
//! and credentials when the environment has none.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

use crate::env;

/// The configuration for a service at `endpoint` (local) or, with `None`, on AWS.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    // Bounded: a dead endpoint must turn into a 503 well inside the function timeout.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build();
    let retries = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(500));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries);
    if let Some(endpoint) = endpoint {
        // Local services accept any credentials and region; supply them when the
        // environment has none, so that nothing probes instance metadata (slow, and
        // absent off EC2).
        let region = [env::AWS_REGION, env::AWS_DEFAULT_REGION]
            .into_iter()
            .find_map(env::get)
            .unwrap_or_else(|| "us-east-1".to_string());
        loader = loader.endpoint_url(endpoint).region(Region::new(region));
        if env::get(env::AWS_ACCESS_KEY_ID).is_none() {
            loader = loader
                .credentials_provider(Credentials::new("local", "local", None, None, "local"));
        }
    }
    loader.load().await
}
