//! The usage plan's throttle: one token bucket per API key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::template::Throttle;

pub struct Buckets {
    limit: Throttle,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Buckets {
    pub fn new(limit: Throttle) -> Self {
        Buckets {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket; `false` when it is empty.
    pub fn take(&self, key: &str) -> bool {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) = buckets
            .entry(key.to_string())
            .or_insert((self.limit.burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * self.limit.rate;
        *tokens = (*tokens + refill).min(self.limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_key() {
        let buckets = Buckets::new(Throttle {
            burst: 100.0,
            rate: 100.0 / 60.0,
        });
        let start = Instant::now();
        assert!((0..100).all(|_| buckets.take_at("a", start)));
        assert!(
            !buckets.take_at("a", start),
            "the 101st call in the same instant"
        );
        assert!(
            buckets.take_at("b", start),
            "another key has its own bucket"
        );
        assert!(!buckets.take_at("a", start + Duration::from_millis(500)));
        assert!(
            buckets.take_at("a", start + Duration::from_millis(700)),
            "one token per 0.6 s"
        );
        assert!(!buckets.take_at("a", start + Duration::from_millis(800)));
    }
}
