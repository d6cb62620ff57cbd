//! Every environment variable the product reads, in one place.

/// A DynamoDB endpoint to use instead of AWS's (DynamoDB Local).
pub const DYNAMODB_ENDPOINT: &str = "DYNAMODB_ENDPOINT";
/// The table (template.yaml sets it on every function).
pub const CONTACTS_TABLE: &str = "CONTACTS_TABLE";
/// The table when `CONTACTS_TABLE` is not set.
pub const DEFAULT_TABLE: &str = "contacts";
/// The region; DynamoDB Local accepts any, AWS sets it in Lambda.
pub const AWS_REGION: &str = "AWS_REGION";
/// The region, as older SDKs and tools name it.
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

/// The CloudWatch namespace of the functions' metrics (template.yaml sets it; unset, no
/// metrics are written).
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
/// The function's name, as Lambda sets it.
pub const AWS_LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// A variable's value, if it is set and not empty.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// How long, in seconds, a warm function trusts the field definitions it loaded
/// (default [`DEFAULT_FIELD_CACHE_SECONDS`](crate::limits::DEFAULT_FIELD_CACHE_SECONDS)).
/// The operator tool reads it too, to know how long to wait before a change of
/// uniqueness or a channel's deletion has reached every function.
pub const FIELD_CACHE_SECONDS: &str = "FIELD_CACHE_SECONDS";

/// The field cache's lifetime, from [`FIELD_CACHE_SECONDS`] (read once).
pub fn field_cache_ttl() -> std::time::Duration {
    static TTL: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *TTL.get_or_init(|| {
        seconds(
            FIELD_CACHE_SECONDS,
            crate::limits::DEFAULT_FIELD_CACHE_SECONDS,
        )
    })
}

/// How long after the operator tool changes a channel's fields or deletes the channel
/// every request sees it: the field cache's lifetime plus the longest a request runs.
pub fn settle_time() -> std::time::Duration {
    field_cache_ttl() + std::time::Duration::from_secs(crate::limits::FUNCTION_TIMEOUT_SECONDS)
}

/// The webhook delivery queue (SQS): the stream function sends deliveries to it, the
/// delivery function puts failed ones back with a delay.
pub const WEBHOOK_QUEUE_URL: &str = "WEBHOOK_QUEUE_URL";
/// The delivery queue of a channel bursting (an import): its deliveries wait there, not
/// in front of everyone else's.
pub const WEBHOOK_BULK_QUEUE_URL: &str = "WEBHOOK_BULK_QUEUE_URL";
/// The queue the stream's event source mapping reports failed batches to, for the admin
/// tool's replay (the stack's `StreamFailureQueueUrl` output).
pub const STREAM_FAILURE_QUEUE_URL: &str = "STREAM_FAILURE_QUEUE_URL";
/// An SQS endpoint to use instead of AWS's (moto's server, locally).
pub const SQS_ENDPOINT: &str = "SQS_ENDPOINT";
/// The key that seals webhook secrets in the table (at least 32 characters; on AWS a
/// Secrets Manager secret the template generates). The delivery function unseals with it,
/// the admin tool seals with it; the table alone never hands a secret out.
pub const WEBHOOK_SEALING_KEY: &str = "WEBHOOK_SEALING_KEY";
/// The Secrets Manager secret holding the sealing keys (its ARN or name): its current
/// version seals, its previous one still opens (see `webhooks::keyring`). Set, it is
/// read instead of `WEBHOOK_SEALING_KEY`.
pub const WEBHOOK_SEALING_KEY_SECRET: &str = "WEBHOOK_SEALING_KEY_SECRET";
/// A Secrets Manager endpoint to use instead of AWS's (moto's server, locally).
pub const SECRETS_MANAGER_ENDPOINT: &str = "SECRETS_MANAGER_ENDPOINT";
/// The first retry delay of a failed delivery, in seconds (doubling from there; default
/// [`DEFAULT_RETRY_BASE_SECONDS`](crate::limits::DEFAULT_RETRY_BASE_SECONDS)).
pub const WEBHOOK_RETRY_BASE_SECONDS: &str = "WEBHOOK_RETRY_BASE_SECONDS";
/// The longest retry delay, in seconds (default
/// [`DEFAULT_RETRY_MAX_SECONDS`](crate::limits::DEFAULT_RETRY_MAX_SECONDS)).
pub const WEBHOOK_RETRY_MAX_SECONDS: &str = "WEBHOOK_RETRY_MAX_SECONDS";

/// A whole number of seconds from `name`, or `default`.
pub fn seconds(name: &str, default: u64) -> std::time::Duration {
    let seconds = get(name).and_then(|s| s.parse().ok()).unwrap_or(default);
    std::time::Duration::from_secs(seconds)
}

// The local stack's settings (`make dev`, and the tests that run it): read by `local-stack`
// and its gateway and relay, never deployed.

/// DynamoDB Local's port (default 8000).
pub const DYNAMODB_PORT: &str = "DYNAMODB_PORT";
/// The functions' Lambda invoke API's port (`cargo lambda watch`; default 9000).
pub const LAMBDA_PORT: &str = "LAMBDA_PORT";
/// The local gateway's port (default 3000).
pub const GATEWAY_PORT: &str = "GATEWAY_PORT";
/// Where DynamoDB Local keeps its data (default `.local/dynamodb`).
pub const DATA_DIR: &str = "DATA_DIR";
/// Where every service of the local stack writes its output (default `.local/logs`).
pub const LOG_DIR: &str = "LOG_DIR";
/// Where the local stack says where it runs (default `.local/stack.json`).
pub const STACK_FILE: &str = "STACK_FILE";
/// The demo channel `make dev` makes (default `demo`).
pub const DEMO_CHANNEL: &str = "DEMO_CHANNEL";
/// Where `make dev` keeps the key sealing webhook secrets.
pub const WEBHOOK_SEALING_KEY_FILE: &str = "WEBHOOK_SEALING_KEY_FILE";
/// The functions' invoke API, for the local gateway and the local relay.
pub const LAMBDA_ENDPOINT: &str = "LAMBDA_ENDPOINT";
