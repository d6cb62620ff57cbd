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

/// A channel delete is final: requests already past the gateway (an authorizer answer
/// cached on AWS) are refused once the channel is marked, and when the delete returns
/// nothing of the channel is left, however many creates raced it.
#[test]
fn a_deleted_channel_keeps_nothing_of_requests_already_past_the_gateway() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let (channel, token) = stack().channel(ChannelType::Telegram);
    for n in 0..3 {
        create(&token, &[("firstName", json!(format!("Kept {n}")))]);
    }
    // The create event, for this channel, as API Gateway hands it to the function.
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(contacts_tests::repo_root().join("events/create-contact.json"))
            .unwrap(),
    )
    .unwrap();
    event["requestContext"]["authorizer"]["channel_id"] = json!(channel);
    event["requestContext"]["authorizer"]["channel_type"] = json!("telegram");
    let invoke = || {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/create-contact/invocations",
            stack().invoke_port
        );
        let reply: Value = stack()
            .client
            .post(url)
            .body(event.to_string())
            .send()
            .expect("invoke")
            .json()
            .expect("a proxy response");
        reply["statusCode"].as_u64().unwrap()
    };
    let stop = AtomicBool::new(false);
    let statuses = std::thread::scope(|scope| {
        let racer = scope.spawn(|| {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                statuses.push(invoke());
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            statuses
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        contacts_tests::AdminCli::for_table(stack().store.table()).ok(&[
            "channel",
            "delete",
            "--channel",
            &channel,
        ]);
        stop.store(true, Ordering::SeqCst);
        racer.join().unwrap()
    });
    assert!(
        statuses.contains(&200),
        "creates landed before the delete: {statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&401), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 401].contains(s)),
        "{statuses:?}"
    );
    let client = contacts_tests::raw_client();
    let left = runtime_scan(&client, &channel);
    assert_eq!(left, 0, "items of the deleted channel remain");
    assert_eq!(invoke(), 401);
    assert_eq!(
        stack()
            .call(Method::GET, "/v1/contact", Some(&token), None)
            .status,
        401
    );
}

/// How many items of `channel` the table holds.
fn runtime_scan(client: &aws_sdk_dynamodb::Client, channel: &str) -> usize {
    let own = format!("CH#{channel}");
    let prefix = format!("{own}#");
    contacts_tests::runtime().block_on(async {
        let mut count = 0;
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(stack().store.table())
                .filter_expression("PK = :own OR begins_with(PK, :prefix)")
                .expression_attribute_values(
                    ":own",
                    aws_sdk_dynamodb::types::AttributeValue::S(own.clone()),
                )
                .expression_attribute_values(
                    ":prefix",
                    aws_sdk_dynamodb::types::AttributeValue::S(prefix.clone()),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            count += page.items().len();
            start = page.last_evaluated_key;
            if start.is_none() {
                return count;
            }
        }
    })
}
