//! Building the DynamoDB client, once per process.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};

use super::DynamoStore;
use crate::env;

impl DynamoStore {
    /// The store the environment describes: `CONTACTS_TABLE` (default `contacts`) and,
    /// when set, `DYNAMODB_ENDPOINT`.
    pub async fn from_env() -> Self {
        let endpoint = env::get(env::DYNAMODB_ENDPOINT);
        let table = env::get(env::CONTACTS_TABLE);
        Self::connect(
            endpoint.as_deref(),
            table.as_deref().unwrap_or(env::DEFAULT_TABLE),
        )
        .await
    }

    /// A store on `endpoint` (DynamoDB Local) or, with `None`, on AWS.
    pub async fn connect(endpoint: Option<&str>, table: &str) -> Self {
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
            // DynamoDB Local accepts any credentials and region; supply them when the
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
        let config = loader.load().await;
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)
    }
}
