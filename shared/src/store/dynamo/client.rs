//! Building the DynamoDB client, once per process.

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

    /// A store on `endpoint` (DynamoDB Local) or, with `None`, on AWS, its calls' capacity
    /// metered for the functions' metrics.
    pub async fn connect(endpoint: Option<&str>, table: &str) -> Self {
        let config = crate::aws::sdk_config(endpoint).await;
        let config = aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(super::capacity::CapacityMeter)
            .build();
        DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table)
    }
}
