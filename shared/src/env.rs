//! Every environment variable the product reads, in one place.

/// A DynamoDB endpoint to use instead of AWS's (DynamoDB Local).
pub const DYNAMODB_ENDPOINT: &str = "DYNAMODB_ENDPOINT";
/// The table (template.yaml sets it on every function).
pub const CONTACTS_TABLE: &str = "CONTACTS_TABLE";
/// The table when `CONTACTS_TABLE` is not set.
pub const DEFAULT_TABLE: &str = "contacts";
/// The region; DynamoDB Local accepts any, AWS sets it in Lambda.
pub const AWS_REGION: &str = "AWS_REGION";
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// Present when credentials come from the environment (Lambda sets it).
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// The functions' log level, as Lambda's advanced logging controls set it.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// `JSON` for JSON log lines (template.yaml's LoggingConfig).
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
/// The log level outside Lambda (`tracing` directives).
pub const RUST_LOG: &str = "RUST_LOG";
/// The stack's usage plan, for the admin tool's channel and token commands on AWS.
pub const USAGE_PLAN_ID: &str = "USAGE_PLAN_ID";
/// An API Gateway endpoint to use instead of AWS's (moto, in tests).
pub const APIGATEWAY_ENDPOINT: &str = "APIGATEWAY_ENDPOINT";

/// A variable's value, if it is set and not empty.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
