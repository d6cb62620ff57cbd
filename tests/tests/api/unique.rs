//! Unique fields and upsert over HTTP, with uniqueness declared by `contacts-admin` as an
//! operator does: a unique value belongs to one contact whatever the concurrency, moves
//! with updates and deletes, and an upsert creates a value's contact exactly once.

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::{AdminCli, Method, Reply};
use serde_json::{json, Value};

use crate::{assert_consistent, assert_error, channel_with_fields, create, fields_body, stack};

fn admin() -> AdminCli {
    AdminCli::for_table(stack().store.table())
}

fn post(token: &str, pairs: &[(&str, Value)]) -> Reply {
    stack().call(
        Method::POST,
        "/v1/contact",
        Some(token),
        Some(&fields_body(pairs)),
    )
}

fn put(token: &str, id: &str, pairs: &[(&str, Value)]) -> Reply {
    stack().call(
        Method::PUT,
        &format!("/v1/contact/{id}"),
        Some(token),
        Some(&fields_body(pairs)),
    )
}

fn upsert(token: &str, name: &str, value: &str, pairs: &[(&str, Value)]) -> Reply {
    stack().call(
        Method::PUT,
        &format!("/v1/contact/by_custom_field?name={name}&value={value}"),
        Some(token),
        Some(&fields_body(pairs)),
    )
}

/// Asserts a 409 naming the value's owner.
#[track_caller]
fn assert_taken(reply: &Reply, field: &str, value: &str, owner: &str) {
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!({"status": "error",
            "message": format!("Custom field '{field}' value '{value}' belongs to contact '{owner}'."),
            "data": {"id": owner}})
    );
}

fn total(token: &str, name: &str, value: &str) -> u64 {
    let reply = stack().call(
        Method::GET,
        &format!("/v1/contact/by_custom_field?name={name}&value={value}"),
        Some(token),
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["meta"]["total"].as_u64().unwrap()
}

#[test]
fn racing_creates_of_one_unique_phone_in_different_spellings_make_one_contact() {
    let (channel, token) = stack().channel(ChannelType::Telegram);
    admin().ok(&["field", "unique", "--channel", &channel, "--name", "phone"]);
    let spellings = [
        "+92 324 4077087",
        "923244077087",
        "+92-324-4077087",
        "(92) 324 4077087",
    ];
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let token = &token;
                scope.spawn(move || {
                    post(
                        token,
                        &[
                            ("firstName", json!(format!("Racer {i}"))),
                            ("phone", json!(spellings[i % spellings.len()])),
                        ],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one create wins: {replies:#?}");
    let owner = winners[0].json["data"]["id"].as_str().unwrap();
    for reply in replies.iter().filter(|r| r.status != 200) {
        let value = reply.json["message"].as_str().unwrap_or_default();
        let spelling = spellings
            .iter()
            .find(|s| value.contains(&format!("value '{s}'")))
            .unwrap_or_else(|| panic!("{}", reply.text));
        assert_taken(reply, "phone", spelling, owner);
    }
    assert_eq!(total(&token, "phone", "923244077087"), 1);
    assert_consistent(&channel);
}

#[test]
fn a_unique_value_moves_with_updates_and_deletes_and_compares_by_match_key() {
    let (channel, token) = stack().channel(ChannelType::Telegram);
    let admin = admin();
    admin.ok(&[
        "field",
        "define",
        "--channel",
        &channel,
        "--name",
        "workEmail",
        "--type",
        "email",
        "--unique",
    ]);
    let fields = admin.ok(&["field", "list", "--channel", &channel]);
    let listed = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "workEmail");
    assert_eq!(listed.unwrap()["unique"], "on", "{fields}");

    let ann = create(&token, &[("workEmail", json!("Ann@Example.com"))]);
    let bob = create(&token, &[("firstName", json!("Bob"))]);
    assert_taken(
        &post(&token, &[("workEmail", json!("ann@example.COM"))]),
        "workEmail",
        "ann@example.COM",
        &ann,
    );
    assert_taken(
        &put(&token, &bob, &[("workEmail", json!(" ANN@example.com "))]),
        "workEmail",
        "ANN@example.com",
        &ann,
    );
    // A refused update writes nothing: Bob's other field stays as it was.
    let refused = put(
        &token,
        &bob,
        &[
            ("firstName", json!("Robert")),
            ("workEmail", json!("ann@example.com")),
        ],
    );
    assert_eq!(refused.status, 409);
    let bob_now = stack().call(
        Method::GET,
        &format!("/v1/contact/{bob}"),
        Some(&token),
        None,
    );
    assert_eq!(bob_now.json["data"]["custom_fields"]["firstName"], "Bob");
    // Ann moves to a new address: the old one is free for Bob, the new one is hers.
    assert_eq!(
        put(&token, &ann, &[("workEmail", json!("ann@new.example"))]).status,
        200
    );
    assert_eq!(
        put(&token, &bob, &[("workEmail", json!("ann@example.com"))]).status,
        200
    );
    assert_taken(
        &post(&token, &[("workEmail", json!("ann@new.example"))]),
        "workEmail",
        "ann@new.example",
        &ann,
    );
    // Rewriting one's own value in another case is no clash.
    assert_eq!(
        put(&token, &ann, &[("workEmail", json!("ANN@new.example"))]).status,
        200
    );
    // Clearing and deleting free values too.
    assert_eq!(put(&token, &bob, &[("workEmail", Value::Null)]).status, 200);
    create(&token, &[("workEmail", json!("ann@example.com"))]);
    let deleted = stack().call(
        Method::DELETE,
        &format!("/v1/contact/{ann}"),
        Some(&token),
        None,
    );
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    create(&token, &[("workEmail", json!("ann@new.example"))]);
    assert_consistent(&channel);
}

#[test]
fn an_upsert_creates_a_values_contact_once_and_updates_it_after() {
    let (channel, token) = stack().channel(ChannelType::Telegram);
    let (other_channel, other_token) = stack().channel(ChannelType::Telegram);
    for ch in [&channel, &other_channel] {
        admin().ok(&[
            "field",
            "define",
            "--channel",
            ch,
            "--name",
            "crmId",
            "--type",
            "text",
            "--unique",
        ]);
    }
    let first = upsert(&token, "crmId", "C-1", &[("firstName", json!("Ann"))]);
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["data"]["created"], true);
    let id = first.json["data"]["id"].as_str().unwrap().to_string();
    let again = upsert(&token, "crmId", "c-1", &[("lastName", json!("Lee"))]);
    assert_eq!(again.json, json!({"data": {"id": id, "created": false}}));
    let empty = stack().call(
        Method::PUT,
        "/v1/contact/by_custom_field?name=crmId&value=C-1",
        Some(&token),
        Some(r#"{"custom_fields":[]}"#),
    );
    assert_eq!(empty.json, json!({"data": {"id": id, "created": false}}));
    let got = stack().call(
        Method::GET,
        &format!("/v1/contact/{id}"),
        Some(&token),
        None,
    );
    assert_eq!(
        got.json["data"]["custom_fields"],
        json!({"crmId": "C-1", "firstName": "Ann", "lastName": "Lee"})
    );

    // Another channel's token never reaches this channel's contact: it gets its own.
    let theirs = upsert(&other_token, "crmId", "C-1", &[]);
    assert_eq!(theirs.json["data"]["created"], true, "{}", theirs.text);
    assert_ne!(theirs.json["data"]["id"], json!(id));

    // What an upsert refuses.
    assert_error(
        &upsert(&token, "firstName", "Ann", &[]),
        403,
        "Custom field 'firstName' is not unique: an upsert finds its contact by a unique field.",
    );
    assert_error(
        &upsert(&token, "crmId", "C-1", &[("crmId", json!("C-2"))]),
        403,
        "Custom field 'crmId' is what the upsert finds the contact by: the body may not change it.",
    );
    assert_error(
        &upsert(&token, "nope", "x", &[]),
        403,
        "Custom field 'nope' does not exist.",
    );
    let missing = stack().call(
        Method::PUT,
        "/v1/contact/by_custom_field?name=crmId",
        Some(&token),
        Some(r#"{"custom_fields":[]}"#),
    );
    assert_error(&missing, 403, "Query parameter 'value' is required.");

    // 20 racing upserts of a new value: one contact, and every upsert answers its id.
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let token = &token;
                scope.spawn(move || upsert(token, "crmId", "C-RACE", &[("timezone", json!(i))]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: std::collections::BTreeSet<&str> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text);
            r.json["data"]["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{replies:#?}");
    let created = replies
        .iter()
        .filter(|r| r.json["data"]["created"] == true)
        .count();
    assert_eq!(created, 1, "{replies:#?}");
    assert_eq!(total(&token, "crmId", "C-RACE"), 1);
    assert_consistent(&channel);
    assert_consistent(&other_channel);
}

#[test]
fn declaring_unique_on_a_populated_channel_claims_values_or_lists_the_clashes() {
    let (channel, token) =
        channel_with_fields(ChannelType::Telegram, &[("code", FieldType::Text, &[])]);
    let admin = admin();
    let a = create(&token, &[("code", json!("Shared"))]);
    let b = create(&token, &[("code", json!("shared "))]);
    let c = create(&token, &[("code", json!("own"))]);
    let refused = admin.fails(&["field", "unique", "--channel", &channel, "--name", "code"]);
    assert!(
        refused.contains("contacts share values") && refused.contains(&a) && refused.contains(&b),
        "{refused}"
    );
    assert!(!refused.contains(&c), "{refused}");
    // Refused: the field is as it was, duplicates allowed.
    assert_eq!(post(&token, &[("code", json!("own"))]).status, 200);
    let fields = admin.ok(&["field", "list", "--channel", &channel]);
    let code = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "code")
        .unwrap();
    assert_eq!(code.get("unique"), None, "{fields}");
    assert_consistent(&channel);

    // Clashes resolved (the extra "own" cleared too): declared, and enforced.
    assert_eq!(put(&token, &b, &[("code", json!("other"))]).status, 200);
    let extra = stack().call(
        Method::GET,
        "/v1/contact/by_custom_field?name=code&value=own",
        Some(&token),
        None,
    );
    for contact in extra.json["data"].as_array().unwrap() {
        let id = contact["id"].as_str().unwrap();
        if id != c {
            assert_eq!(put(&token, id, &[("code", Value::Null)]).status, 200);
        }
    }
    admin.ok(&["field", "unique", "--channel", &channel, "--name", "code"]);
    assert_taken(
        &post(&token, &[("code", json!("SHARED"))]),
        "code",
        "SHARED",
        &a,
    );
    assert_taken(
        &put(&token, &c, &[("code", json!("other"))]),
        "code",
        "other",
        &b,
    );
    assert_consistent(&channel);

    // Lifted: duplicates are allowed again, and no claim is left.
    admin.ok(&[
        "field",
        "unique",
        "--channel",
        &channel,
        "--name",
        "code",
        "--off",
    ]);
    assert_eq!(post(&token, &[("code", json!("shared"))]).status, 200);
    assert_consistent(&channel);
}

#[test]
fn writes_racing_a_declaration_never_leave_a_duplicate_behind_it() {
    let (channel, token) =
        channel_with_fields(ChannelType::Telegram, &[("ticket", FieldType::Number, &[])]);
    for n in 0..5 {
        create(&token, &[("ticket", json!(n))]);
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Two writers, paced under the channel's 100 calls a minute for the declaration's 11 s.
    let (declared, written) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (token, stop) = (&token, &stop);
                scope.spawn(move || {
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        // Values the stored contacts hold, and new ones written twice.
                        let value = json!(n % 8);
                        let reply = post(token, &[("ticket", value), ("timezone", json!(w))]);
                        assert!(matches!(reply.status, 200 | 409), "{}", reply.text);
                        n += 1;
                        std::thread::sleep(std::time::Duration::from_millis(400));
                    }
                    n
                })
            })
            .collect();
        let out = admin().run(&["field", "unique", "--channel", &channel, "--name", "ticket"]);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
        (out, written)
    });
    assert!(written > 0);
    let stderr = String::from_utf8_lossy(&declared.stderr);
    // Values stored twice before the declaration: it must refuse, listing them.
    assert!(!declared.status.success(), "{stderr}");
    assert!(stderr.contains("contacts share values"), "{stderr}");
    assert_consistent(&channel);

    // With the duplicates gone, a declaration under the same load succeeds, and then no
    // value is held twice.
    let (dup_free, token2) =
        channel_with_fields(ChannelType::Telegram, &[("ticket", FieldType::Number, &[])]);
    for n in 0..5 {
        create(&token2, &[("ticket", json!(n))]);
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|scope| {
        let writer = {
            let (token, stop) = (&token2, &stop);
            scope.spawn(move || {
                let mut n = 100;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    // Only new values, each written once: nothing to clash.
                    let reply = post(token, &[("ticket", json!(n))]);
                    assert_eq!(reply.status, 200, "{}", reply.text);
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            })
        };
        let out = admin().run(&[
            "field",
            "unique",
            "--channel",
            &dup_free,
            "--name",
            "ticket",
        ]);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        writer.join().unwrap();
        out
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for n in [0, 3, 100] {
        assert_eq!(post(&token2, &[("ticket", json!(n))]).status, 409);
    }
    assert_consistent(&dup_free);
}
