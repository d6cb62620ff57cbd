//! The wait before retrying a storage call that lost a race or was left unprocessed.

use std::time::Duration;

/// Exponential backoff with full jitter: up to 5, 10, 20, ... ms (at most 320), at least 1.
/// On tokio's clock, so that tests with a paused clock do not wait.
pub async fn backoff(attempt: u32) {
    let ceiling_ms = 5u64 << attempt.min(6);
    let jitter = crate::random::bytes::<2>()
        .map(u16::from_le_bytes)
        .unwrap_or(u16::MAX);
    let ms = ceiling_ms * u64::from(jitter) / u64::from(u16::MAX);
    tokio::time::sleep(Duration::from_millis(ms.max(1))).await;
}
