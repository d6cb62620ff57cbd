//! Create, get, update and tags, with the original documentation's own requests.

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::{define_field, Method};
use serde_json::json;

use crate::{
    assert_consistent, assert_error, channel_with_fields, create, fields_body, get, stack, update,
};

#[test]
fn the_original_documentations_requests() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Facebook);
    define_field(&s.store, &channel, "customerid", FieldType::Number, &[]);

    // Create, exactly as documented (trailing slash included).
    let body = r#"{"custom_fields":[{"name":"phone","value":"03244077087"},{"name":"firstName","value":"Muhammad Mahin"},{"name":"lastName","value":"Dar"}]}"#;
    let created = s.call(Method::POST, "/v1/contact/", Some(&token), Some(body));
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.json["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created.json, json!({"data": {"id": id}}));
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe id {id}"
    );

    let got = get(&token, &id);
    assert_eq!(got.status, 200);
    let created_at = got.json["data"]["created_at"].as_i64().unwrap();
    assert!((contacts_shared::clock::now() - created_at).abs() < 300);
    assert_eq!(
        got.json,
        json!({"data": {"id": id, "custom_fields": {"firstName": "Muhammad Mahin", "lastName": "Dar", "phone": "03244077087"}, "tags": [], "created_at": created_at}})
    );
    let position = |key: &str| got.text.find(&format!("\"{key}\"")).unwrap();
    assert!(
        position("id") < position("custom_fields") && position("tags") < position("created_at"),
        "keys in the documented order: {}",
        got.text
    );

    let update = r#"{"custom_fields":[{"name":"firstName","value":"Muhammad Mahin"},{"name":"lastName","value":"Dar"},{"name":"customerid","value":"1"}]}"#;
    let updated = s.call(
        Method::PUT,
        &format!("/v1/contact/{id}"),
        Some(&token),
        Some(update),
    );
    assert_eq!(updated.json, json!({"data": {"id": id}}));

    let tags = r#"{"tags":["Blog Updates","Platform Updates"]}"#;
    let added = s.call(
        Method::POST,
        &format!("/v1/contact/{id}/tags"),
        Some(&token),
        Some(tags),
    );
    assert_eq!(added.status, 200);
    assert_eq!(
        added.json,
        json!({"status": "success", "message": "Contact Tags have been added successfully.", "data": []})
    );
    assert!(
        added.text.starts_with(r#"{"status":"success","message""#),
        "{}",
        added.text
    );
    assert_eq!(
        get(&token, &id).json["data"]["tags"],
        json!(["Blog Updates", "Platform Updates"])
    );

    let removed = s.call(
        Method::DELETE,
        &format!("/v1/contact/{id}/tags"),
        Some(&token),
        Some(tags),
    );
    assert_eq!(
        removed.json,
        json!({"status": "success", "message": "Contact Tags deleted successfully.", "data": []})
    );

    let found = s.call(
        Method::GET,
        "/v1/contact/by_custom_field?name=firstName&value=Muhammad%20Mahin",
        Some(&token),
        None,
    );
    assert_eq!(found.status, 200);
    assert_eq!(found.json["data"][0]["custom_fields"]["customerid"], "1");
    assert_eq!(found.json["meta"]["total"], 1);
    assert_consistent(&channel);
}

#[test]
fn update_sets_clears_and_leaves_the_rest() {
    let (channel, token) = stack().channel(ChannelType::Telegram);
    let id = create(
        &token,
        &[
            ("firstName", json!("Ann")),
            ("lastName", json!("Lee")),
            ("email", json!("ann@example.com")),
        ],
    );
    let body = fields_body(&[
        ("firstName", json!("Anne")),
        ("lastName", json!(null)),
        ("email", json!("  ")),
    ]);
    let reply = update(&token, &id, &body);
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = fields_body(&[("timezone", json!(5))]);
    update(&token, &id, &body);
    assert_eq!(
        get(&token, &id).json["data"]["custom_fields"],
        json!({"firstName": "Anne", "timezone": "5"})
    );
    assert_consistent(&channel);
}

#[test]
fn no_upsert_and_unknown_contacts() {
    let (channel, token) = stack().channel(ChannelType::Sms);
    let body = fields_body(&[("firstName", json!("Ghost"))]);
    let s = stack();
    assert_error(
        &s.call(Method::PUT, "/v1/contact/nobody", Some(&token), Some(&body)),
        403,
        "There is no such contact.",
    );
    assert_error(&get(&token, "nobody"), 403, "There is no such contact.");
    let tags = r#"{"tags":["x"]}"#;
    assert_error(
        &s.call(
            Method::POST,
            "/v1/contact/nobody/tags",
            Some(&token),
            Some(tags),
        ),
        403,
        "There is no such contact.",
    );
    assert_error(
        &s.call(
            Method::DELETE,
            "/v1/contact/nobody/tags",
            Some(&token),
            Some(tags),
        ),
        403,
        "There is no such contact.",
    );
    assert_error(&get(&token, "nobody"), 403, "There is no such contact.");
    assert_consistent(&channel);
}

#[test]
fn typed_values_are_validated_and_canonical() {
    let s = stack();
    let (channel, token) = channel_with_fields(
        ChannelType::Line,
        &[
            ("vip", FieldType::Boolean, &[]),
            ("score", FieldType::Number, &[]),
            ("birthday", FieldType::Date, &[]),
            ("callAt", FieldType::Time, &[]),
            ("tier", FieldType::List, &["Gold", "Silver"]),
        ],
    );
    let id = create(
        &token,
        &[
            ("vip", json!(true)),
            ("score", json!("05.50")),
            ("birthday", json!("2024-02-29")),
            ("callAt", json!("09:30")),
            ("tier", json!("gold")),
            ("firstName", json!("  padded  ")),
            ("countryCode", json!(92)),
        ],
    );
    assert_eq!(
        get(&token, &id).json["data"]["custom_fields"],
        json!({"birthday": "2024-02-29", "callAt": "09:30", "countryCode": "92", "firstName": "padded", "score": "5.5", "tier": "Gold", "vip": "TRUE"})
    );
    let cases = [
        ("vip", json!("yes"), "Invalid value for custom field 'vip': expected TRUE or FALSE."),
        ("score", json!("five"), "Invalid value for custom field 'score': expected a number, such as 42 or -5.5."),
        ("birthday", json!("2023-02-29"), "Invalid value for custom field 'birthday': expected a date in the form YYYY-MM-DD."),
        ("callAt", json!("9:30"), "Invalid value for custom field 'callAt': expected a time in the form HH:MM."),
        ("tier", json!("Bronze"), "Invalid value for custom field 'tier': expected one of: Gold, Silver."),
        ("email", json!("not-an-email"), "Invalid value for custom field 'email': expected an email address, such as name@example.com."),
        ("profilePic", json!("pic.png"), "Invalid value for custom field 'profilePic': expected a URL starting with http:// or https://."),
        ("firstName", json!({"a": 1}), "Value of custom field 'firstName' must be a string, number, boolean or null."),
        ("lastName", json!("x".repeat(1001)), "Value of custom field 'lastName' is too long (maximum 1000 characters)."),
        ("customerid", json!("1"), "Custom field 'customerid' does not exist."),
    ];
    for (name, value, message) in cases {
        let body = fields_body(&[(name, value)]);
        assert_error(
            &s.call(Method::POST, "/v1/contact", Some(&token), Some(&body)),
            403,
            message,
        );
        assert_error(&update(&token, &id, &body), 403, message);
    }
    assert_consistent(&channel);
}

#[test]
fn a_bad_entry_leaves_the_contact_untouched() {
    let (channel, token) = stack().channel(ChannelType::Facebook);
    let id = create(&token, &[("firstName", json!("Ann"))]);
    let before = get(&token, &id).json;
    let body = fields_body(&[("firstName", json!("Changed")), ("email", json!("broken"))]);
    let reply = update(&token, &id, &body);
    assert_eq!(reply.status, 403);
    assert_eq!(get(&token, &id).json, before, "no partial write");
    assert_consistent(&channel);
}

#[test]
fn thirty_fields_per_request_and_ten_tags() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Webchat);
    for i in 0..21 {
        define_field(
            &s.store,
            &channel,
            &format!("extra{i}"),
            FieldType::Text,
            &[],
        );
    }
    let names: Vec<String> = contacts_shared::domain::field_defs::BUILT_IN_FIELDS
        .iter()
        .map(|(n, _)| n.to_string())
        .chain((0..21).map(|i| format!("extra{i}")))
        .collect();
    let values = |n: usize| -> Vec<(&str, serde_json::Value)> {
        names[..n]
            .iter()
            .map(|name| {
                let value = match name.as_str() {
                    "phone" => json!("123456"),
                    "email" => json!("a@b.io"),
                    "timezone" => json!(1),
                    "profilePic" => json!("https://x.io/p.png"),
                    _ => json!("v"),
                };
                (name.as_str(), value)
            })
            .collect()
    };
    let id = create(&token, &values(30));
    assert_eq!(
        get(&token, &id).json["data"]["custom_fields"]
            .as_object()
            .unwrap()
            .len(),
        30
    );
    let over = fields_body(&values(31));
    let message = "Maximum 30 custom fields can be set per request.";
    assert_error(
        &s.call(Method::POST, "/v1/contact", Some(&token), Some(&over)),
        403,
        message,
    );
    assert_error(&update(&token, &id, &over), 403, message);

    let tags = |n: usize| {
        json!({ "tags": (0..n).map(|i| format!("tag {i}")).collect::<Vec<_>>() }).to_string()
    };
    let path = format!("/v1/contact/{id}/tags");
    assert_eq!(
        s.call(Method::POST, &path, Some(&token), Some(&tags(10)))
            .status,
        200
    );
    let message = "Maximum 10 tags can be set per request.";
    assert_error(
        &s.call(Method::POST, &path, Some(&token), Some(&tags(11))),
        403,
        message,
    );
    assert_error(
        &s.call(Method::DELETE, &path, Some(&token), Some(&tags(11))),
        403,
        message,
    );
    let long = json!({"tags": ["x".repeat(256)]}).to_string();
    assert_error(
        &s.call(Method::POST, &path, Some(&token), Some(&long)),
        403,
        "tags[0] is longer than 255 characters.",
    );
    assert_eq!(
        get(&token, &id).json["data"]["tags"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_consistent(&channel);
}

#[test]
fn tags_are_trimmed_sorted_and_idempotent() {
    let (channel, token) = stack().channel(ChannelType::Instagram);
    let id = create(&token, &[("firstName", json!("T"))]);
    let path = format!("/v1/contact/{id}/tags");
    let s = stack();
    for body in [r#"{"tags":[" b ","a","Ä"]}"#, r#"{"tags":["a","B"]}"#] {
        assert_eq!(
            s.call(Method::POST, &path, Some(&token), Some(body)).status,
            200
        );
    }
    assert_eq!(
        get(&token, &id).json["data"]["tags"],
        json!(["B", "a", "b", "Ä"])
    );
    assert_eq!(
        s.call(
            Method::DELETE,
            &path,
            Some(&token),
            Some(r#"{"tags":["zzz","a"]}"#)
        )
        .status,
        200
    );
    assert_eq!(
        get(&token, &id).json["data"]["tags"],
        json!(["B", "b", "Ä"])
    );
    assert_consistent(&channel);
}
