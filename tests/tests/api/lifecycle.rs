//! Delete and list over HTTP: a deleted contact is gone from every route, another
//! channel's token is answered as for a missing contact, and the list walks a channel by
//! its links, oldest first, also while contacts are created.

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::{Method, Reply};
use serde_json::{json, Value};

use crate::{assert_consistent, assert_error, channel_with_fields, create, get, stack};

const NO_SUCH_CONTACT: &str = "There is no such contact.";

fn delete(token: &str, id: &str) -> Reply {
    stack().call(
        Method::DELETE,
        &format!("/v1/contact/{id}"),
        Some(token),
        None,
    )
}

fn find(token: &str, name: &str, value: &str) -> Reply {
    stack().call(
        Method::GET,
        &format!("/v1/contact/by_custom_field?name={name}&value={value}"),
        Some(token),
        None,
    )
}

/// A path and query of the stack from an absolute link it gave.
fn path_of(link: &str) -> String {
    let at = link.find("/api/").expect("a link into the API");
    link[at + "/api".len()..].to_string()
}

/// Every contact id of the token's channel, following `links.next` from `first`.
fn walk(token: &str, first: &str, mut between: impl FnMut(usize)) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = first.to_string();
    for page in 0.. {
        let reply = stack().call(Method::GET, &path, Some(token), None);
        assert_eq!(reply.status, 200, "{}", reply.text);
        ids.extend(
            reply.json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
        between(page);
        match reply.json["links"]["next"].as_str() {
            Some(next) => path = path_of(next),
            None => {
                assert_eq!(reply.json["meta"]["next_cursor"], Value::Null);
                return ids;
            }
        }
    }
    unreachable!()
}

#[test]
fn a_deleted_contact_is_gone_from_every_route() {
    let (channel, token) =
        channel_with_fields(ChannelType::Telegram, &[("plan", FieldType::Text, &[])]);
    let (other_channel, other_token) = stack().channel(ChannelType::Telegram);
    let id = create(
        &token,
        &[("firstName", json!("Erase Me")), ("plan", json!("gold"))],
    );
    let kept = create(&token, &[("plan", json!("gold"))]);
    let tags = stack().call(
        Method::POST,
        &format!("/v1/contact/{id}/tags"),
        Some(&token),
        Some(r#"{"tags":["VIP"]}"#),
    );
    assert_eq!(tags.status, 200);

    // Another channel's token: the same answer as a contact that does not exist, and
    // nothing deleted.
    assert_error(&delete(&other_token, &id), 403, NO_SUCH_CONTACT);
    assert_eq!(get(&token, &id).status, 200);

    let reply = delete(&token, &id);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!({"status": "success", "message": "Contact deleted successfully.", "data": []})
    );
    assert_error(&get(&token, &id), 403, NO_SUCH_CONTACT);
    assert_error(&delete(&token, &id), 403, NO_SUCH_CONTACT);
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/v1/contact/{id}"),
            Some(r#"{"custom_fields":[{"name":"plan","value":"x"}]}"#),
        ),
        (
            Method::POST,
            format!("/v1/contact/{id}/tags"),
            Some(r#"{"tags":["back"]}"#),
        ),
        (
            Method::DELETE,
            format!("/v1/contact/{id}/tags"),
            Some(r#"{"tags":["VIP"]}"#),
        ),
    ] {
        let reply = stack().call(method.clone(), &path, Some(&token), body);
        assert_error(&reply, 403, NO_SUCH_CONTACT);
    }
    let found = find(&token, "plan", "gold");
    assert_eq!(found.json["meta"]["total"], 1, "{}", found.text);
    assert_eq!(found.json["data"][0]["id"], kept.as_str());
    assert_eq!(
        find(&token, "firstName", "Erase%20Me").json["meta"]["total"],
        0
    );
    assert_eq!(walk(&token, "/v1/contact", |_| {}), vec![kept]);
    assert_consistent(&channel);
    assert_consistent(&other_channel);
}

#[test]
fn on_whatsapp_a_contact_is_deleted_by_its_phone_in_any_spelling() {
    let (channel, token) = stack().channel(ChannelType::Whatsapp);
    let id = create(&token, &[("phone", json!("+27 82 499 1602"))]);
    assert_eq!(id, "27824991602");
    let reply = delete(&token, "%2B27%2082%20499%201602");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_error(&get(&token, &id), 403, NO_SUCH_CONTACT);
    // The phone is free again: a new contact takes it.
    assert_eq!(create(&token, &[("phone", json!("27824991602"))]), id);
    assert_consistent(&channel);
}

#[test]
fn the_list_walks_the_channel_oldest_first_by_its_links() {
    let (channel, token) = stack().channel(ChannelType::Line);
    let (_, other_token) = stack().channel(ChannelType::Line);
    let theirs = create(&other_token, &[("firstName", json!("Theirs"))]);
    let mut created: Vec<String> = (0..7)
        .map(|i| create(&token, &[("firstName", json!(format!("C{i}")))]))
        .collect();
    assert_eq!(walk(&token, "/v1/contact?per_page=3", |_| {}), created);
    assert_eq!(
        walk(&token, "/v1/contact/", |_| {}),
        created,
        "default page size"
    );

    // Created during a walk: after everything that was there at its start.
    let mut added = Vec::new();
    let seen = walk(&token, "/v1/contact?per_page=2", |page| {
        if page < 3 {
            added.push(create(
                &token,
                &[("firstName", json!(format!("New{page}")))],
            ));
        }
    });
    created.extend(added);
    assert_eq!(seen, created);

    let first = stack().call(Method::GET, "/v1/contact?per_page=1", Some(&token), None);
    assert_eq!(first.json["meta"]["per_page"], 1);
    assert!(first.json["meta"]["path"]
        .as_str()
        .unwrap()
        .ends_with("/api/v1/contact"));
    // A cursor of this channel's list is no good to another channel.
    let cursor = first.json["meta"]["next_cursor"].as_str().unwrap();
    let foreign = stack().call(
        Method::GET,
        &format!("/v1/contact?cursor={cursor}"),
        Some(&other_token),
        None,
    );
    assert_error(
        &foreign,
        403,
        "Query parameter 'cursor' is not a cursor of this channel's list: use links.next or meta.next_cursor as given.",
    );
    assert_eq!(walk(&other_token, "/v1/contact", |_| {}), vec![theirs]);
    for bad in [
        "per_page=0",
        "per_page=101",
        "per_page=x",
        "per_page=1&per_page=2",
    ] {
        let reply = stack().call(
            Method::GET,
            &format!("/v1/contact?{bad}"),
            Some(&token),
            None,
        );
        assert_eq!(reply.status, 403, "{bad}: {}", reply.text);
    }
    assert_consistent(&channel);
}
