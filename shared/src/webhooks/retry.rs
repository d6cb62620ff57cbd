//! When a failed delivery is tried again: after the base delay, doubling each time up to
//! the longest; the queue's `maxReceiveCount` ([`WEBHOOK_MAX_ATTEMPTS`]) ends it.

use std::time::Duration;

use crate::env;
use crate::limits::{DEFAULT_RETRY_BASE_SECONDS, DEFAULT_RETRY_MAX_SECONDS, WEBHOOK_MAX_ATTEMPTS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub base: Duration,
    pub max: Duration,
}

impl RetrySchedule {
    /// From `WEBHOOK_RETRY_BASE_SECONDS` and `WEBHOOK_RETRY_MAX_SECONDS` (shorter in tests).
    pub fn from_env() -> Self {
        RetrySchedule {
            base: env::seconds(env::WEBHOOK_RETRY_BASE_SECONDS, DEFAULT_RETRY_BASE_SECONDS),
            max: env::seconds(env::WEBHOOK_RETRY_MAX_SECONDS, DEFAULT_RETRY_MAX_SECONDS),
        }
    }

    /// The wait after the `attempt`th try (1-based) failed.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }

    /// From the first try to the last.
    pub fn span(&self) -> Duration {
        (1..WEBHOOK_MAX_ATTEMPTS).map(|a| self.delay(a)).sum()
    }

    /// Whether the `attempt`th try is the last the queue gives.
    pub fn is_last(attempt: u32) -> bool {
        attempt >= WEBHOOK_MAX_ATTEMPTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_span_more_than_a_day() {
        let schedule = RetrySchedule {
            base: Duration::from_secs(DEFAULT_RETRY_BASE_SECONDS),
            max: Duration::from_secs(DEFAULT_RETRY_MAX_SECONDS),
        };
        assert_eq!(schedule.delay(1), Duration::from_secs(30));
        assert_eq!(schedule.delay(2), Duration::from_secs(60));
        assert_eq!(schedule.delay(10), Duration::from_secs(3 * 3600));
        assert_eq!(schedule.delay(u32::MAX), Duration::from_secs(3 * 3600));
        let span = schedule.span().as_secs();
        assert!(span >= 24 * 3600, "{span} s");
        assert!(span < 26 * 3600, "{span} s");
        // SQS delays a message at most 12 hours.
        assert!(schedule.max <= Duration::from_secs(12 * 3600));
    }
}
