//! End to end over HTTP through the local gateway (routes, authorizer, throttle and
//! gateway responses from template.yaml) to the functions under `cargo lambda watch`
//! and DynamoDB Local. Every test works in channels of its own.

mod concurrency;
mod contacts;
mod errors;
mod events;
mod find;
mod gateway;
mod idempotency;
mod isolation;
mod lifecycle;
mod metrics;
mod migration;
mod phone_ids;
mod rate_limit;
mod request_ids;
mod unique;
mod viber;

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::{Method, Reply, Stack};
use serde_json::{json, Value};

pub fn stack() -> &'static Stack {
    Stack::shared()
}

/// `{"custom_fields":[{"name":..,"value":..}, ...]}` from pairs.
pub fn fields_body(pairs: &[(&str, Value)]) -> String {
    let entries: Vec<Value> = pairs
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    json!({ "custom_fields": entries }).to_string()
}

/// Creates a contact and returns its id.
pub fn create(token: &str, pairs: &[(&str, Value)]) -> String {
    let reply = stack().call(
        Method::POST,
        "/v1/contact",
        Some(token),
        Some(&fields_body(pairs)),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["data"]["id"]
        .as_str()
        .expect("new id")
        .to_string()
}

pub fn get(token: &str, id: &str) -> Reply {
    stack().call(Method::GET, &format!("/v1/contact/{id}"), Some(token), None)
}

/// `PUT /v1/contact/{id}` with a raw body.
pub fn update(token: &str, id: &str, body: &str) -> Reply {
    stack().call(
        Method::PUT,
        &format!("/v1/contact/{id}"),
        Some(token),
        Some(body),
    )
}

/// A channel of `kind` with these custom fields (name, type, a list field's values); its
/// id and a token.
pub fn channel_with_fields(
    kind: ChannelType,
    fields: &[(&str, FieldType, &[&str])],
) -> (String, String) {
    let s = stack();
    let (channel, token) = s.channel(kind);
    for (name, field_type, values) in fields {
        contacts_tests::define_field(&s.store, &channel, name, *field_type, values);
    }
    (channel, token)
}

/// Asserts `contacts-admin check` finds the channel consistent; every test that writes
/// ends with it.
#[track_caller]
pub fn assert_consistent(channel: &str) {
    contacts_tests::assert_consistent(&stack().store, channel);
}

/// Asserts a reply is the contract's error envelope with this status and message.
#[track_caller]
pub fn assert_error(reply: &Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.json,
        contacts_tests::envelope(message),
        "{}",
        reply.text
    );
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "every response is JSON"
    );
}
