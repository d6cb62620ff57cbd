//! DynamoDB's errors, classified by what the client should be told.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::store::StoreError;

/// How DynamoDB words an item grown past its 400 KB limit.
pub const TOO_LARGE_MESSAGE: &str = "exceeded the maximum allowed size";

/// Error codes after which the same request may succeed later.
const TRANSIENT_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Classifies an SDK error (after the SDK's own retries).
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(describe(&err))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let message = service.err().message().unwrap_or_default();
            if TRANSIENT_CODES.contains(&code) {
                StoreError::Unavailable(format!("{code}: {message}"))
            } else if code == "ValidationException" && message.contains(TOO_LARGE_MESSAGE) {
                StoreError::TooLarge
            } else {
                StoreError::Failed(format!("{code}: {message}"))
            }
        }
        _ => StoreError::Failed(describe(&err)),
    }
}

fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Whether a single-item write was refused by its condition expression.
pub fn condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// A conditional single-item write's outcome: `true` if written, `false` if its condition
/// refused it.
pub fn applied<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if condition_failed(&err) => Ok(false),
        Err(err) => Err(classify(err)),
    }
}

/// Whether a transaction was cancelled for one of these reasons.
pub fn cancelled_by<R>(err: &SdkError<TransactWriteItemsError, R>, codes: &[&str]) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| r.code().is_some_and(|c| codes.contains(&c))),
        _ => false,
    }
}

/// Which of a transaction's actions (by position) were cancelled with `code`.
pub fn cancelled_at<R>(err: &SdkError<TransactWriteItemsError, R>, code: &str) -> Vec<usize> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some(code))
            .map(|(i, _)| i)
            .collect(),
        _ => Vec::new(),
    }
}

pub fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Failed(format!("request could not be built: {err}"))
}
