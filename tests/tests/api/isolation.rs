//! A second channel's token sees, finds and changes nothing of the first's.

use contacts_shared::ChannelType;
use contacts_tests::Method;
use serde_json::json;

use crate::{assert_consistent, assert_error, create, fields_body, get, stack, update};

#[test]
fn another_channels_token_cannot_touch_a_contact() {
    let s = stack();
    let (owner_channel, owner) = s.channel(ChannelType::Facebook);
    let (intruder_channel, intruder) = s.channel(ChannelType::Facebook);
    let id = create(
        &owner,
        &[("firstName", json!("Private")), ("phone", json!("5550001"))],
    );
    let tags = r#"{"tags":["hacked"]}"#;
    s.call(
        Method::POST,
        &format!("/v1/contact/{id}/tags"),
        Some(&owner),
        Some(r#"{"tags":["mine"]}"#),
    );
    let before = get(&owner, &id).json;

    // Exactly the answer for a contact that does not exist: existence does not leak.
    assert_error(&get(&intruder, &id), 403, "There is no such contact.");
    let hack = fields_body(&[("firstName", json!("Hacked"))]);
    assert_error(
        &update(&intruder, &id, &hack),
        403,
        "There is no such contact.",
    );
    assert_error(
        &s.call(
            Method::POST,
            &format!("/v1/contact/{id}/tags"),
            Some(&intruder),
            Some(tags),
        ),
        403,
        "There is no such contact.",
    );
    assert_error(
        &s.call(
            Method::DELETE,
            &format!("/v1/contact/{id}/tags"),
            Some(&intruder),
            Some(r#"{"tags":["mine"]}"#),
        ),
        403,
        "There is no such contact.",
    );
    for query in ["name=firstName&value=Private", "name=phone&value=5550001"] {
        let found = s.call(
            Method::GET,
            &format!("/v1/contact/by_custom_field?{query}"),
            Some(&intruder),
            None,
        );
        assert_eq!(found.json["meta"]["total"], 0, "{query}");
    }
    // The intruder's own contacts never show up on the owner's side either.
    create(&intruder, &[("firstName", json!("Private"))]);
    let found = s.call(
        Method::GET,
        "/v1/contact/by_custom_field?name=firstName&value=private",
        Some(&owner),
        None,
    );
    assert_eq!(found.json["meta"]["total"], 1);
    assert_eq!(get(&owner, &id).json, before, "nothing changed");
    assert_consistent(&owner_channel);
    assert_consistent(&intruder_channel);
}
