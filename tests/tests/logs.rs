//! The functions' logs at the quietest level the template allows (WARN) and in JSON, as an
//! operator on call reads them: a call that logs an error carries the request id the
//! client got in `x-amzn-RequestId` and its channel, and nothing below WARN is written.

use aws_sdk_dynamodb::types::AttributeValue;
use contacts_shared::api::response::REQUEST_ID_HEADER;
use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::env::{AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL};
use contacts_shared::store::dynamo::{item, keys};
use contacts_shared::ChannelType;
use contacts_tests::{create_channel, define_field, dynamodb_endpoint, raw_client, runtime};
use contacts_tests::{Method, Stack};
use serde_json::{json, Value};

#[test]
fn an_error_line_at_warn_carries_the_calls_request_id_and_channel() {
    let stack = Stack::start_with(
        dynamodb_endpoint(),
        &[
            (AWS_LAMBDA_LOG_LEVEL, "WARN"),
            (AWS_LAMBDA_LOG_FORMAT, "JSON"),
        ],
        &[],
    );
    let (channel, token) = create_channel(&stack.store, ChannelType::Facebook, None);
    define_field(&stack.store, &channel, "plan", FieldType::Text, &[]);
    // A definition this version cannot read (as a newer version might write): skipped, and
    // logged at ERROR by whichever function loads the channel's fields.
    let client = raw_client();
    runtime().block_on(async {
        client
            .update_item()
            .table_name(stack.store.table())
            .key(keys::PK, AttributeValue::S(keys::channel_pk(&channel)))
            .key(keys::SK, AttributeValue::S(keys::CHANNEL_SK.to_string()))
            .update_expression("SET #f.#n.#t = :t")
            .expression_attribute_names("#f", item::FIELD_DEFS)
            .expression_attribute_names("#n", "plan")
            .expression_attribute_names("#t", item::TYPE)
            .expression_attribute_values(":t", AttributeValue::S("hologram".into()))
            .send()
            .await
            .expect("the definition rewritten")
    });
    let body = json!({"custom_fields": [{"name": "firstName", "value": "Ada"}]}).to_string();
    let reply = stack.call(Method::POST, "/v1/contact", Some(&token), Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.headers[REQUEST_ID_HEADER]
        .to_str()
        .unwrap()
        .to_string();

    let log = stack.log_once("functions", |line| {
        line.contains(&id) && line.contains("ERROR")
    });
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(|line| line.get("level").is_some())
        .collect();
    for line in &lines {
        let level = line["level"].as_str().unwrap_or_default();
        assert!(
            matches!(level, "WARN" | "ERROR"),
            "written at {level}: {line}"
        );
    }
    let error = lines
        .iter()
        .find(|line| line["span"]["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no line of the call {id} in\n{log}"));
    assert_eq!(error["level"], "ERROR", "{error}");
    assert_eq!(error["span"]["channel"], channel.as_str(), "{error}");
    assert_eq!(error["fields"]["field"], "plan", "{error}");
    assert!(!log.contains(&token), "a token in the log");
}
