//! Many parallel clients on one contact end with the state some serial order gives, and
//! the field index never disagrees with the contacts (checked by `contacts-admin check`).

use std::collections::BTreeSet;

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::{define_field, Method};
use serde_json::{json, Value};

use crate::{assert_consistent, create, fields_body, get, stack, update};

const WRITERS: usize = 8;

/// Runs `WRITERS` clients at once; each gets its number.
fn in_parallel(work: impl Fn(usize) + Sync) {
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = (0..WRITERS).map(|i| scope.spawn(move || work(i))).collect();
        for handle in handles {
            handle.join().expect("writer panicked");
        }
    });
}

#[test]
fn parallel_tag_changes_all_survive() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Facebook);
    let id = create(&token, &[("firstName", json!("Tagged"))]);
    let path = format!("/v1/contact/{id}/tags");
    s.call(
        Method::POST,
        &path,
        Some(&token),
        Some(r#"{"tags":["shared","doomed"]}"#),
    );
    in_parallel(|i| {
        let add = json!({"tags": [format!("keep-{i}"), format!("drop-{i}"), "shared"]}).to_string();
        assert_eq!(
            s.call(Method::POST, &path, Some(&token), Some(&add)).status,
            200
        );
        let remove = json!({"tags": [format!("drop-{i}"), "doomed"]}).to_string();
        assert_eq!(
            s.call(Method::DELETE, &path, Some(&token), Some(&remove))
                .status,
            200
        );
    });
    let tags: BTreeSet<String> =
        serde_json::from_value(get(&token, &id).json["data"]["tags"].clone()).unwrap();
    let mut expected: BTreeSet<String> = (0..WRITERS).map(|i| format!("keep-{i}")).collect();
    expected.insert("shared".into());
    assert_eq!(tags, expected);
    assert_consistent(&channel);
}

#[test]
fn parallel_updates_of_different_fields_all_survive() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Telegram);
    for i in 0..WRITERS {
        define_field(&s.store, &channel, &format!("f{i}"), FieldType::Number, &[]);
    }
    let id = create(&token, &[("firstName", json!("Busy"))]);
    for round in 0..2 {
        in_parallel(|i| {
            let body = fields_body(&[(&format!("f{i}"), json!(round * 100 + i))]);
            let reply = update(&token, &id, &body);
            assert_eq!(reply.status, 200, "{}", reply.text);
        });
    }
    let fields = get(&token, &id).json["data"]["custom_fields"].clone();
    for i in 0..WRITERS {
        assert_eq!(
            fields[format!("f{i}")],
            json!((100 + i).to_string()),
            "{fields}"
        );
    }
    assert_eq!(fields["firstName"], "Busy");
    assert_consistent(&channel);
}

#[test]
fn parallel_updates_of_one_field_leave_one_winner_everywhere() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Twitter);
    let id = create(&token, &[("lastName", json!("start"))]);
    in_parallel(|i| {
        let body = fields_body(&[("lastName", json!(format!("writer{i}")))]);
        assert_eq!(update(&token, &id, &body).status, 200);
    });
    let winner = get(&token, &id).json["data"]["custom_fields"]["lastName"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(winner.starts_with("writer"), "{winner}");
    // Exactly one value is indexed, and it is the stored one.
    for value in
        std::iter::once("start".to_string()).chain((0..WRITERS).map(|i| format!("writer{i}")))
    {
        let found = s.call(
            Method::GET,
            &format!("/v1/contact/by_custom_field?name=lastName&value={value}"),
            Some(&token),
            None,
        );
        let expected = if value == winner { 1 } else { 0 };
        assert_eq!(
            found.json["meta"]["total"],
            Value::from(expected),
            "{value} (winner {winner})"
        );
    }
    assert_consistent(&channel);
}
