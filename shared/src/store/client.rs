//! Building the DynamoDB client, once per process.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};

use super::DynamoStore;

/// Environment variable naming a DynamoDB endpoint to use instead of AWS's (DynamoDB Local).
pub const ENDPOINT_ENV: &str = "DYNAMODB_ENDPOINT";
/// Environment variable naming the table.
pub const TABLE_ENV: &str = "CONTACTS_TABLE";
pub const DEFAULT_TABLE: &str = "contacts";

impl DynamoStore {
    /// The store the environment describes: `CONTACTS_TABLE` (default `contacts`) and,
    /// when set, `DYNAMODB_ENDPOINT`.
    pub async fn from_env() -> Self {
        let endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|e| !e.is_empty());
        let table = std::env::var(TABLE_ENV).ok().filter(|t| !t.is_empty());
        Self::connect(
            endpoint.as_deref(),
            table.as_deref().unwrap_or(DEFAULT_TABLE),
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
            let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|r| !r.is_empty()))
                .unwrap_or_else(|| "us-east-1".to_string());
            loader = loader.endpoint_url(endpoint).region(Region::new(region));
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader
                    .credentials_provider(Credentials::new("local", "local", None, None, "local"));
            }
        }
        let config = loader.load().await;
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)
    }
}
