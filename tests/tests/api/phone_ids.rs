//! Channel-native ids on WhatsApp and SMS channels: a contact's id is its phone's digits,
//! as the original answered, and as a real v1 WhatsApp integration relies on (it looks a
//! contact up by phone, creates it when absent, then tags it at /v1/contact/{phone}/tags).

use contacts_shared::ChannelType;
use contacts_tests::Method;
use serde_json::{json, Value};

use crate::{assert_consistent, assert_error, fields_body, get, stack};

const PHONE: &str = "27824991602";
const NO_SUCH_CONTACT: &str = "There is no such contact.";

fn find_by_phone(token: &str, value: &str) -> Value {
    let value = value.replace('+', "%2B").replace(' ', "%20");
    let reply = stack().call(
        Method::GET,
        &format!("/v1/contact/by_custom_field?name=phone&value={value}"),
        Some(token),
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

fn create(token: &str, body: &str) -> contacts_tests::Reply {
    stack().call(Method::POST, "/v1/contact", Some(token), Some(body))
}

#[test]
fn the_whatsapp_clients_flow_works_on_whatsapp_and_sms_channels() {
    for kind in [ChannelType::Whatsapp, ChannelType::Sms] {
        let (channel, token) = stack().channel(kind);
        // 1. Look the contact up by phone: not there yet.
        let found = find_by_phone(&token, PHONE);
        assert_eq!(found["data"], json!([]), "{kind}");
        assert_eq!(found["meta"]["total"], 0);
        // 2. Create it with its phone: its id is the phone number.
        let body = fields_body(&[("firstName", json!("Thandi")), ("phone", json!(PHONE))]);
        let created = create(&token, &body);
        assert_eq!(created.status, 200, "{kind}: {}", created.text);
        assert_eq!(created.json, json!({"data": {"id": PHONE}}));
        // 3. Tag it, addressing it by its phone number.
        let tagged = stack().call(
            Method::POST,
            &format!("/v1/contact/{PHONE}/tags"),
            Some(&token),
            Some(r#"{"tags":["whatsapp-optin"]}"#),
        );
        assert_eq!(tagged.status, 200, "{kind}: {}", tagged.text);
        // 4. Look it up again: found, by its id, with its tag.
        let found = find_by_phone(&token, "+27 82 499 1602");
        assert_eq!(found["meta"]["total"], 1, "{found}");
        assert_eq!(found["data"][0]["id"], PHONE);
        assert_eq!(found["data"][0]["tags"], json!(["whatsapp-optin"]));
        assert_eq!(found["data"][0]["custom_fields"]["firstName"], "Thandi");

        // A path reads a phone number in any spelling by its digits.
        for spelling in [
            "%2B27%2082%20499%201602",
            "+27-82-499-1602",
            "(27)824991602",
        ] {
            let reply = get(&token, spelling);
            assert_eq!(reply.status, 200, "{kind} {spelling}: {}", reply.text);
            assert_eq!(reply.json["data"]["id"], PHONE);
        }

        // A second create with the same digits is refused, and writes nothing.
        let again = fields_body(&[
            ("firstName", json!("Other")),
            ("phone", json!("+27 824 991 602")),
        ]);
        assert_error(
            &create(&token, &again),
            403,
            &format!("Contact '{PHONE}' already exists."),
        );
        let contact = get(&token, PHONE);
        assert_eq!(contact.json["data"]["custom_fields"]["firstName"], "Thandi");
        assert_eq!(find_by_phone(&token, PHONE)["meta"]["total"], 1);

        // No phone, no contact.
        let article = if kind == ChannelType::Sms { "an" } else { "a" };
        assert_error(
            &create(&token, &fields_body(&[("firstName", json!("Nobody"))])),
            403,
            &format!("A contact on {article} {kind} channel needs a phone."),
        );
        assert_error(
            &create(&token, &fields_body(&[("phone", Value::Null)])),
            403,
            &format!("A contact on {article} {kind} channel needs a phone."),
        );

        // The id never changes: a new phone is a field like any other.
        let update = stack().call(
            Method::PUT,
            &format!("/v1/contact/{PHONE}"),
            Some(&token),
            Some(&fields_body(&[("phone", json!("+44 20 7946 0958"))])),
        );
        assert_eq!(update.status, 200, "{}", update.text);
        assert_eq!(update.json, json!({"data": {"id": PHONE}}));
        let moved = find_by_phone(&token, "442079460958");
        assert_eq!(moved["data"][0]["id"], PHONE, "{moved}");
        assert_eq!(find_by_phone(&token, PHONE)["meta"]["total"], 0);
        // ... and its old number is free for a new contact, whose id is that number.
        let newcomer = create(
            &token,
            &fields_body(&[("phone", json!("+1 (415) 555-0100"))]),
        );
        assert_eq!(
            newcomer.json,
            json!({"data": {"id": "14155550100"}}),
            "{}",
            newcomer.text
        );
        assert_consistent(&channel);
    }
}

#[test]
fn racing_creates_of_one_phone_in_different_spellings_make_one_contact() {
    let (channel, token) = stack().channel(ChannelType::Whatsapp);
    let spellings = [
        "27824991602",
        "+27824991602",
        "+27 82 499 1602",
        "+27-82-499-1602",
        "(27) 82 499 1602",
        "27.82.499.1602",
        "+27 (82) 499-1602",
        "2782 499 1602",
    ];
    let replies: Vec<contacts_tests::Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let body = fields_body(&[
                    ("firstName", json!(format!("Racer {i}"))),
                    ("phone", json!(spellings[i % spellings.len()])),
                ]);
                let token = &token;
                scope.spawn(move || create(token, &body))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&contacts_tests::Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one create wins: {replies:#?}");
    assert_eq!(winners[0].json, json!({"data": {"id": PHONE}}));
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_error(reply, 403, &format!("Contact '{PHONE}' already exists."));
    }
    let found = find_by_phone(&token, PHONE);
    assert_eq!(found["meta"]["total"], 1, "{found}");
    assert_consistent(&channel);
}

#[test]
fn idempotent_create_keeps_working_with_phone_ids() {
    let (channel, token) = stack().channel(ChannelType::Sms);
    let body = fields_body(&[("phone", json!("+92 324 4077087"))]);
    let send = || {
        stack()
            .client
            .post(format!("{}/v1/contact", stack().base))
            .header("Authorization", format!("Bearer {token}"))
            .header("Idempotency-Key", "sms-signup-1")
            .body(body.clone())
            .send()
            .map(contacts_tests::reply)
            .expect("request")
    };
    let replies: Vec<contacts_tests::Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6).map(|_| scope.spawn(send)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json, json!({"data": {"id": "923244077087"}}));
    }
    let retry = send();
    assert_eq!(retry.json, json!({"data": {"id": "923244077087"}}));
    assert_consistent(&channel);
}

/// Every route that takes a contact id answers a missing contact, and another channel's,
/// with exactly the same 403.
#[test]
fn a_missing_contact_gets_the_same_403_on_every_route() {
    let (channel, owner) = stack().channel(ChannelType::Whatsapp);
    let created = create(&owner, &fields_body(&[("phone", json!(PHONE))]));
    assert_eq!(created.status, 200, "{}", created.text);
    let tags = r#"{"tags":["x"]}"#;
    let update = fields_body(&[("firstName", json!("Intruder"))]);
    let routes = |id: &str| {
        [
            (Method::GET, format!("/v1/contact/{id}"), None),
            (
                Method::PUT,
                format!("/v1/contact/{id}"),
                Some(update.clone()),
            ),
            (
                Method::POST,
                format!("/v1/contact/{id}/tags"),
                Some(tags.to_string()),
            ),
            (
                Method::DELETE,
                format!("/v1/contact/{id}/tags"),
                Some(tags.to_string()),
            ),
        ]
    };
    let mut answers = Vec::new();
    for kind in [
        ChannelType::Whatsapp,
        ChannelType::Facebook,
        ChannelType::Sms,
    ] {
        let (_, other) = stack().channel(kind);
        // Another channel's contact, and ids no contact has.
        for id in [PHONE, "14155550100", "nobody"] {
            for (method, path, body) in routes(id) {
                let reply = stack().call(method.clone(), &path, Some(&other), body.as_deref());
                assert_error(&reply, 403, NO_SUCH_CONTACT);
                answers.push(reply.text);
            }
        }
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "one body for every case: {answers:?}");
    // The owner's contact was not touched by any of it.
    let contact = get(&owner, PHONE);
    assert_eq!(
        contact.json["data"]["custom_fields"],
        json!({"phone": PHONE})
    );
    assert_eq!(contact.json["data"]["tags"], json!([]));
    assert_consistent(&channel);
}
