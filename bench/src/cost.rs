//! Dollars per million calls from measured figures, at us-east-1 list prices.

use std::time::Duration;

/// API Gateway REST API, per million requests (first 333 million a month).
pub const API_GATEWAY_PER_MILLION: f64 = 3.50;
/// Lambda on arm64: per million requests, and per GB-second.
pub const LAMBDA_PER_MILLION: f64 = 0.20;
pub const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// The functions' memory in template.yaml, in GB.
pub const LAMBDA_MEMORY_GB: f64 = 0.125;
/// DynamoDB on-demand, per million write and read request units.
pub const WRITE_UNIT_PER_MILLION: f64 = 0.625;
pub const READ_UNIT_PER_MILLION: f64 = 0.125;
/// CloudWatch Logs ingestion (standard class), per GB: the functions' log lines and their
/// metrics lines (EMF metrics cost nothing more to extract).
pub const LOGS_PER_GB: f64 = 0.50;

/// What a million calls cost in CloudWatch Logs ingestion at `log_bytes` a call.
pub fn logs_per_million(log_bytes: f64) -> f64 {
    log_bytes * 1_000_000.0 / 1e9 * LOGS_PER_GB
}

/// A million calls of one endpoint.
pub struct PerMillion {
    pub api_gateway: f64,
    pub lambda: f64,
    pub dynamodb: f64,
    pub logs: f64,
}

impl PerMillion {
    /// `billed` is the function's duration per call (Lambda bills whole milliseconds);
    /// `log_bytes` what it logs per call.
    pub fn new(billed: Duration, read_units: f64, write_units: f64, log_bytes: f64) -> Self {
        let ms = billed.as_secs_f64() * 1000.0;
        let seconds = ms.ceil().max(1.0) / 1000.0;
        Self {
            api_gateway: API_GATEWAY_PER_MILLION,
            lambda: LAMBDA_PER_MILLION
                + 1_000_000.0 * seconds * LAMBDA_MEMORY_GB * LAMBDA_PER_GB_SECOND,
            dynamodb: read_units * READ_UNIT_PER_MILLION + write_units * WRITE_UNIT_PER_MILLION,
            logs: logs_per_million(log_bytes),
        }
    }

    pub fn total(&self) -> f64 {
        self.api_gateway + self.lambda + self.dynamodb + self.logs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_costs_api_gateway_lambda_one_read_unit_and_its_logs() {
        let cost = PerMillion::new(Duration::from_micros(1_200), 1.0, 0.0, 1_000.0);
        // 2 ms billed at 128 MB: 1e6 × 0.002 s × 0.125 GB × $0.0000133334.
        assert!((cost.lambda - (0.20 + 0.003_333_35)).abs() < 1e-6);
        assert!((cost.dynamodb - 0.125).abs() < 1e-9);
        // A kilobyte a call: a gigabyte a million calls.
        assert!((cost.logs - 0.50).abs() < 1e-9);
        assert!((cost.total() - (3.50 + 0.203_333_35 + 0.125 + 0.50)).abs() < 1e-6);
    }
}
