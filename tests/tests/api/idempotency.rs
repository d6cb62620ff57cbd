//! `Idempotency-Key` on create: retries return the first response and create nothing.

use contacts_shared::ChannelType;
use contacts_tests::Method;
use serde_json::json;

use crate::{assert_consistent, assert_error, fields_body, stack};

fn create_with_key(token: &str, key: &str, body: &str) -> contacts_tests::Reply {
    let s = stack();
    let request = s
        .client
        .post(format!("{}/v1/contact", s.base))
        .header("Authorization", format!("Bearer {token}"))
        .header("Idempotency-Key", key)
        .body(body.to_string());
    contacts_tests::reply(request.send().unwrap())
}

fn matches(token: &str, last_name: &str) -> u64 {
    let path = format!("/v1/contact/by_custom_field?name=lastName&value={last_name}");
    stack().call(Method::GET, &path, Some(token), None).json["meta"]["total"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_retry_returns_the_first_response_and_creates_nothing() {
    let (channel, token) = stack().channel(ChannelType::Facebook);
    let body = fields_body(&[("lastName", json!("Retried"))]);
    let first = create_with_key(&token, "order-1", &body);
    assert_eq!(first.status, 200, "{}", first.text);
    for _ in 0..3 {
        let again = create_with_key(&token, "order-1", &body);
        assert_eq!((again.status, &again.json), (200, &first.json));
    }
    assert_eq!(matches(&token, "Retried"), 1);

    let other = fields_body(&[("lastName", json!("Different"))]);
    assert_error(
        &create_with_key(&token, "order-1", &other),
        403,
        "Idempotency-Key 'order-1' was already used with a different request body.",
    );
    assert_eq!(matches(&token, "Different"), 0);

    // Another key, or no key, creates as usual; keys belong to their channel.
    assert_ne!(create_with_key(&token, "order-2", &body).json, first.json);
    let (_, other_channel) = stack().channel(ChannelType::Facebook);
    let elsewhere = create_with_key(&other_channel, "order-1", &other);
    assert_eq!(elsewhere.status, 200);
    assert_eq!(matches(&token, "Retried"), 2);
    assert_consistent(&channel);
}

#[test]
fn invalid_keys_and_failed_requests() {
    let (channel, token) = stack().channel(ChannelType::Telegram);
    let body = fields_body(&[("lastName", json!("K"))]);
    let message = "Idempotency-Key must be 1 to 255 visible ASCII characters.";
    assert_error(
        &create_with_key(&token, &"k".repeat(256), &body),
        403,
        message,
    );
    assert_error(&create_with_key(&token, "two words", &body), 403, message);

    // A refused request records nothing: the same key works once the body is fixed.
    let bad = fields_body(&[("email", json!("broken"))]);
    assert_eq!(create_with_key(&token, "fix-me", &bad).status, 403);
    assert_eq!(create_with_key(&token, "fix-me", &body).status, 200);
    assert_consistent(&channel);
}

#[test]
fn concurrent_retries_create_one_contact() {
    let (channel, token) = stack().channel(ChannelType::Wechat);
    let body = fields_body(&[("lastName", json!("Racer"))]);
    let replies: Vec<contacts_tests::Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| create_with_key(&token, "race", &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text);
            r.json["data"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every retry got the first response: {ids:?}");
    assert_eq!(matches(&token, "Racer"), 1);
    assert_consistent(&channel);
}
