//! Each call's metrics in CloudWatch's Embedded Metric Format: one JSON line on stdout per
//! call, which CloudWatch Logs turns into metrics with no API call and nothing to flush.
//! A few lines of `serde_json` rather than a crate: the format is one documented object,
//! and the crates that write it bring a metrics registry and a background flush a
//! one-event-at-a-time function does not need.
//!
//! Metrics, by `Endpoint` (the function's name in the table of functions): `Calls`,
//! `ClientErrors` (4xx), `ServerErrors` (5xx), `ColdStarts`, `Duration` (ms, the handler's
//! own time), `ReadUnits` and `WriteUnits` (DynamoDB capacity consumed). The channel and
//! the request id are properties, not dimensions: searchable in Logs Insights at no cost,
//! where a dimension would make a paid metric of every channel.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Value};

use crate::store::dynamo::capacity::Units;

/// The namespace the template gives the functions (its `MetricsNamespace` default) and
/// the local stack uses.
pub const NAMESPACE: &str = "ContactsApi";

/// The dimension every metric has.
pub const DIMENSION: &str = "Endpoint";

/// Every metric a call writes, with its unit.
pub const METRICS: [(&str, &str); 7] = [
    ("Calls", "Count"),
    ("ClientErrors", "Count"),
    ("ServerErrors", "Count"),
    ("ColdStarts", "Count"),
    ("Duration", "Milliseconds"),
    ("ReadUnits", "Count"),
    ("WriteUnits", "Count"),
];

/// What one call did.
#[derive(Debug, Clone)]
pub struct CallMetrics<'a> {
    pub endpoint: &'a str,
    pub status: u16,
    pub cold_start: bool,
    pub duration_ms: f64,
    pub units: Units,
    pub request_id: &'a str,
    pub channel: Option<&'a str>,
}

impl CallMetrics<'_> {
    /// The EMF object, stamped `timestamp_ms` (Unix milliseconds).
    pub fn emf(&self, namespace: &str, timestamp_ms: u128) -> Value {
        let definitions: Vec<Value> = METRICS
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        let count = |yes: bool| u8::from(yes);
        let mut line = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": definitions,
                }],
            },
            DIMENSION: self.endpoint,
            "Calls": 1,
            "ClientErrors": count((400..500).contains(&self.status)),
            "ServerErrors": count(self.status >= 500),
            "ColdStarts": count(self.cold_start),
            "Duration": (self.duration_ms * 1000.0).round() / 1000.0,
            "ReadUnits": self.units.read,
            "WriteUnits": self.units.write,
            "status": self.status,
            "request_id": self.request_id,
        });
        if let Some(channel) = self.channel {
            line["channel_id"] = Value::from(channel);
        }
        line
    }

    /// Writes the line to stdout, where Lambda's logs take it, if metrics are on.
    pub fn write(&self) {
        let Some(namespace) = namespace() else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        println!("{}", self.emf(namespace, now));
    }
}

/// The namespace, read once; `None` turns metrics off.
fn namespace() -> Option<&'static str> {
    static NAMESPACE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAMESPACE
        .get_or_init(|| crate::env::get(crate::env::METRICS_NAMESPACE))
        .as_deref()
}

/// True for the process's first call only: its cold start.
pub fn first_call() -> bool {
    static SERVED: AtomicBool = AtomicBool::new(false);
    !SERVED.swap(true, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_every_metric_it_carries() {
        let call = CallMetrics {
            endpoint: "get-contact",
            status: 404,
            cold_start: true,
            duration_ms: 2.34567,
            units: Units {
                read: 1.0,
                write: 0.0,
            },
            request_id: "r-1",
            channel: Some("ch1"),
        };
        let line = call.emf("ContactsApi", 1_700_000_000_000);
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "ContactsApi");
        assert_eq!(declared["Dimensions"], json!([["Endpoint"]]));
        for (i, (name, _)) in METRICS.iter().enumerate() {
            assert_eq!(declared["Metrics"][i]["Name"], *name);
            assert!(line[name].is_number(), "{name}");
        }
        assert_eq!(line["Endpoint"], "get-contact");
        assert_eq!(line["ClientErrors"], 1);
        assert_eq!(line["ServerErrors"], 0);
        assert_eq!(line["ColdStarts"], 1);
        assert_eq!(line["Duration"], 2.346);
        assert_eq!(line["channel_id"], "ch1");
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }
}
