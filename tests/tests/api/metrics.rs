//! Every call writes one line of metrics in CloudWatch's Embedded Metric Format to the
//! function's log, which CloudWatch Logs turns into the dashboard's per-endpoint metrics.
//! Read back here the way CloudWatch reads it: each declared metric present and a number,
//! the `Endpoint` dimension the function's name, and the values what the call did
//! (status, DynamoDB units as DynamoDB reported them), with its request id and channel.

use contacts_shared::api::response::REQUEST_ID_HEADER;
use contacts_shared::metrics::{DIMENSION, METRICS, NAMESPACE};
use contacts_shared::ChannelType;
use contacts_tests::Reply;
use serde_json::{json, Value};

use crate::{fields_body, get, stack};

fn request_id(reply: &Reply) -> String {
    reply.headers[REQUEST_ID_HEADER]
        .to_str()
        .unwrap()
        .to_string()
}

/// The metric lines in the functions' log (every line that is an EMF object).
fn emf_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

/// The metric line of `endpoint` for the call `request_id`, checked against the format.
fn metrics_of(endpoint: &str, request_id: &str) -> Value {
    let log = stack().log_once("functions", |line| {
        line.contains(request_id) && line.contains(endpoint) && line.contains("_aws")
    });
    let lines = emf_lines(&log);
    let line = lines
        .iter()
        .find(|l| l["request_id"] == request_id && l[DIMENSION] == endpoint)
        .unwrap_or_else(|| panic!("no metrics of {endpoint} for {request_id}"))
        .clone();
    let declared = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], NAMESPACE);
    assert_eq!(declared["Dimensions"], json!([[DIMENSION]]));
    let names: Vec<&str> = declared["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, METRICS.map(|(name, _)| name));
    for (name, _) in METRICS {
        assert!(
            line[name].as_f64().is_some_and(|v| v >= 0.0),
            "{name}: {line}"
        );
    }
    assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(line["Calls"], 1);
    line
}

#[test]
fn every_call_writes_its_metrics_in_embedded_metric_format() {
    let s = stack();
    // A channel of its own: its token is new to the authorizer, so the first call goes
    // through it.
    let (channel, token) = s.channel(ChannelType::Facebook);
    let reply = s.call(
        contacts_tests::Method::POST,
        "/v1/contact",
        Some(&token),
        Some(&fields_body(&[("firstName", json!("Ada"))])),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.json["data"]["id"].as_str().unwrap().to_string();
    let created = request_id(&reply);

    let authorizer = metrics_of("authorizer", &created);
    assert_eq!(authorizer["status"], 200);
    assert!(
        authorizer["ReadUnits"].as_f64().unwrap() > 0.0,
        "{authorizer}"
    );
    assert_eq!(authorizer["WriteUnits"], 0.0);

    let created_metrics = metrics_of("create-contact", &created);
    assert_eq!(created_metrics["status"], 200);
    assert_eq!(created_metrics["channel_id"], channel.as_str());
    assert_eq!(created_metrics["ClientErrors"], 0);
    assert_eq!(created_metrics["ServerErrors"], 0);
    let units = created_metrics["WriteUnits"].as_f64().unwrap();
    assert!(units > 0.0, "{created_metrics}");

    let read = get(&token, &id);
    assert_eq!(read.status, 200);
    let got = metrics_of("get-contact", &request_id(&read));
    assert_eq!(got["channel_id"], channel.as_str());
    assert!(got["ReadUnits"].as_f64().unwrap() > 0.0, "{got}");
    assert_eq!(got["WriteUnits"], 0.0);

    let missing = get(&token, &format!("{id}x"));
    assert!(matches!(missing.status, 400..=499), "{}", missing.text);
    let refused = metrics_of("get-contact", &request_id(&missing));
    assert_eq!(refused["ClientErrors"], 1);
    assert_eq!(refused["ServerErrors"], 0);
    assert_eq!(refused["status"], missing.status);

    // Each process's first call is its cold start: as many as the instances
    // `cargo lambda watch` started for the endpoint (it may start more than one), and the
    // log's first line of an endpoint is one.
    let log = s.log_once("functions", |_| true);
    let lines: Vec<Value> = emf_lines(&log)
        .into_iter()
        .filter(|l| l[DIMENSION] == "get-contact")
        .collect();
    assert_eq!(lines[0]["ColdStarts"], 1, "{}", lines[0]);
    let cold: u64 = lines
        .iter()
        .map(|l| l["ColdStarts"].as_u64().unwrap())
        .sum();
    let instances = log
        .matches(r#"spawning function instance function="get-contact""#)
        .count() as u64;
    assert!(
        (1..=instances).contains(&cold),
        "{cold} cold starts of {instances} instances"
    );
}
