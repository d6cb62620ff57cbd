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

use std::fmt::Write as _;
use std::io::Write as _;
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
    /// The EMF line, stamped `timestamp_ms` (Unix milliseconds), for metrics declared by
    /// `declaration` ([`declaration`]). Written out rather than built as a JSON value:
    /// a value tree cost about 20 µs of CPU a call, the line as text about 2.
    pub fn line(&self, declaration: &str, timestamp_ms: u128) -> String {
        let count = |yes: bool| u8::from(yes);
        let mut line = String::with_capacity(declaration.len() + 320);
        let _ = write!(
            line,
            r#"{{"_aws":{{"Timestamp":{timestamp_ms},"CloudWatchMetrics":[{declaration}]}},"{DIMENSION}":{},"Calls":1,"ClientErrors":{},"ServerErrors":{},"ColdStarts":{},"Duration":{:.3},"ReadUnits":{},"WriteUnits":{},"status":{},"request_id":{}"#,
            quoted(self.endpoint),
            count((400..500).contains(&self.status)),
            count(self.status >= 500),
            count(self.cold_start),
            self.duration_ms,
            self.units.read,
            self.units.write,
            self.status,
            quoted(self.request_id),
        );
        if let Some(channel) = self.channel {
            let _ = write!(line, r#","channel_id":{}"#, quoted(channel));
        }
        line.push('}');
        line
    }

    /// Writes the line to stdout, where Lambda's logs take it, if metrics are on.
    pub fn write(&self) {
        let Some(declaration) = declared() else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let mut line = self.line(declaration, now);
        line.push('\n');
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

/// The `CloudWatchMetrics` entry of every line: the namespace, the dimension and each
/// metric with its unit.
pub fn declaration(namespace: &str) -> String {
    let metrics: Vec<Value> = METRICS
        .iter()
        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    json!({"Namespace": namespace, "Dimensions": [[DIMENSION]], "Metrics": metrics}).to_string()
}

/// The declaration for `METRICS_NAMESPACE`, made once; `None` (unset) turns metrics off.
fn declared() -> Option<&'static str> {
    static DECLARED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    DECLARED
        .get_or_init(|| crate::env::get(crate::env::METRICS_NAMESPACE).map(|n| declaration(&n)))
        .as_deref()
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    Value::from(text).to_string()
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
        let text = call.line(&declaration("ContactsApi"), 1_700_000_000_000);
        let line: Value = serde_json::from_str(&text).expect("one JSON object");
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

        // Whatever a request id holds, the line stays one JSON object.
        let odd = CallMetrics {
            request_id: "a\"b\\c\n",
            channel: None,
            ..call
        };
        let text = odd.line(&declaration("ContactsApi"), 1);
        let line: Value = serde_json::from_str(&text).expect("one JSON object");
        assert_eq!(line["request_id"], "a\"b\\c\n");
        assert!(line.get("channel_id").is_none());
    }
}
