//! On Viber channels `{contact_id}` is the Base64 encoding of the contact's id.

use std::collections::BTreeSet;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use contacts_shared::store::{ContactStore, NewContact};
use contacts_shared::ChannelType;
use contacts_tests::{runtime, Method};
use serde_json::json;

use crate::{assert_consistent, assert_error, get, stack, update};

#[test]
fn viber_ids_are_base64_in_the_path() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Viber);
    // A Viber user id: '+', '/' and '=' would break a URL.
    let viber_id = "01234567+/AbCd==";
    let tags = BTreeSet::new();
    let contact = NewContact {
        id: viber_id,
        created_at: 1_575_618_542,
        created_micros: 0,
        writes: &[],
        tags: &tags,
    };
    assert!(runtime()
        .block_on(s.store.insert_contact(&channel, &contact))
        .unwrap());

    let standard = STANDARD.encode(viber_id);
    let encoded = standard
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    for path_id in [
        encoded.clone(),
        URL_SAFE_NO_PAD.encode(viber_id),
        standard
            .trim_end_matches('=')
            .replace('/', "%2F")
            .replace('+', "%2B"),
    ] {
        let reply = get(&token, &path_id);
        assert_eq!(reply.status, 200, "{path_id}: {}", reply.text);
        assert_eq!(
            reply.json["data"]["id"], viber_id,
            "responses carry the real id"
        );
    }
    let path_id = URL_SAFE_NO_PAD.encode(viber_id);
    let tagged = s.call(
        Method::POST,
        &format!("/v1/contact/{path_id}/tags"),
        Some(&token),
        Some(r#"{"tags":["viber"]}"#),
    );
    assert_eq!(tagged.status, 200);
    let body = crate::fields_body(&[("firstName", json!("Vi"))]);
    let updated = update(&token, &path_id, &body);
    assert_eq!(updated.json, json!({"data": {"id": viber_id}}));

    // The raw id is not Base64 here: refused, not looked up.
    assert_error(
        &get(&token, "not%20base64%21"),
        403,
        "On a Viber channel the contact id must be Base64-encoded.",
    );
    assert_error(
        &get(&token, "%2F%2F%2F%2F%2F"),
        403,
        "On a Viber channel the contact id must be Base64-encoded.",
    );

    // Contacts the API creates on a Viber channel are reached the same way.
    let created = crate::create(&token, &[("firstName", json!("New"))]);
    assert_eq!(
        get(&token, &URL_SAFE_NO_PAD.encode(&created)).json["data"]["id"],
        created
    );

    // On other channels the id is taken verbatim.
    let (_, other) = s.channel(ChannelType::Facebook);
    assert_error(&get(&other, &path_id), 403, "There is no such contact.");
    assert_consistent(&channel);
}
