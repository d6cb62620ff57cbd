//! Find by custom field: the paginator, followable links, and matching by type.

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::Method;
use serde_json::{json, Value};

use crate::{assert_error, channel_with_fields, create, stack, update};

fn find(token: &str, query: &str) -> contacts_tests::Reply {
    stack().call(
        Method::GET,
        &format!("/v1/contact/by_custom_field?{query}"),
        Some(token),
        None,
    )
}

fn ids(reply: &contacts_tests::Reply) -> Vec<String> {
    reply.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pages_past_the_last_and_links_that_work() {
    let s = stack();
    let (_, token) = s.channel(ChannelType::Telegram);
    let created: Vec<String> = (0..23)
        .map(|i| {
            create(
                &token,
                &[
                    ("lastName", json!("Dar")),
                    ("firstName", json!(format!("n{i}"))),
                ],
            )
        })
        .collect();
    let path = format!("{}/v1/contact/by_custom_field", s.base);

    let first = find(&token, "name=lastName&value=dar");
    assert_eq!(first.status, 200);
    assert_eq!(
        first.json["meta"],
        json!({"current_page": 1, "from": 1, "last_page": 3, "path": path, "per_page": 10, "to": 10, "total": 23})
    );
    let link = |page: u32| format!("{path}?name=lastName&value=dar&page={page}");
    // `next` carries a cursor, so that following it reads one page.
    let next = first.json["links"]["next"].as_str().unwrap().to_string();
    assert!(next.starts_with(&format!("{}&cursor=", link(2))), "{next}");
    assert_eq!(
        first.json["links"],
        json!({"first": link(1), "last": link(3), "prev": null, "next": next})
    );

    // Following `next` visits every match once, in creation order.
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut reply = first;
    loop {
        assert_eq!(reply.status, 200, "{}", reply.text);
        for contact in reply.json["data"].as_array().unwrap() {
            seen.push((
                contact["created_at"].as_i64().unwrap(),
                contact["id"].as_str().unwrap().to_string(),
            ));
        }
        let Value::String(url) = reply.json["links"]["next"].clone() else {
            break;
        };
        reply = contacts_tests::reply(
            s.client
                .get(&url)
                .header("Authorization", format!("Bearer {token}"))
                .send()
                .unwrap(),
        );
    }
    let seen: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
    assert_eq!(
        seen, created,
        "every match exactly once, in the order they were created (within a second too)"
    );

    let last = find(&token, "name=lastName&value=dar&page=3");
    assert_eq!(
        (
            last.json["meta"]["from"].clone(),
            last.json["meta"]["to"].clone()
        ),
        (json!(21), json!(23))
    );
    assert_eq!(last.json["links"]["next"], Value::Null);

    let past = find(&token, "name=lastName&value=dar&page=7");
    assert_eq!(past.json["data"], json!([]));
    assert_eq!(past.json["meta"]["from"], Value::Null);
    assert_eq!(past.json["meta"]["to"], Value::Null);
    assert_eq!(past.json["meta"]["current_page"], 7);

    for junk in ["0", "-2", "abc", "1.5", ""] {
        let reply = find(&token, &format!("name=lastName&value=dar&page={junk}"));
        assert_eq!(reply.json["meta"]["current_page"], 1, "page={junk}");
    }

    let custom = find(&token, "name=lastName&value=dar&per_page=5&page=2");
    assert_eq!(custom.json["meta"]["per_page"], 5);
    assert_eq!(custom.json["meta"]["last_page"], 5);
    assert!(custom.json["links"]["next"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "{path}?name=lastName&value=dar&per_page=5&page=3&cursor="
        )));
    assert_eq!(ids(&custom), seen[5..10].to_vec());
    assert_eq!(
        find(&token, "name=lastName&value=dar&per_page=100").json["data"]
            .as_array()
            .unwrap()
            .len(),
        23
    );
    for bad in ["0", "101", "ten"] {
        let reply = find(&token, &format!("name=lastName&value=dar&per_page={bad}"));
        assert_error(&reply, 403, "per_page must be an integer from 1 to 100.");
    }
}

#[test]
fn query_parameters_are_checked() {
    let s = stack();
    let (_, token) = s.channel(ChannelType::Line);
    assert_error(
        &find(&token, "value=x"),
        403,
        "Query parameter 'name' is required.",
    );
    assert_error(
        &find(&token, "name=firstName"),
        403,
        "Query parameter 'value' is required.",
    );
    assert_error(
        &find(&token, "name=firstName&value="),
        403,
        "Query parameter 'value' is required.",
    );
    assert_error(
        &find(&token, "name=nope&value=x"),
        403,
        "Custom field 'nope' does not exist.",
    );
    assert_error(
        &find(&token, "name=firstName&name=lastName&value=x"),
        403,
        "Query parameter 'name' is given more than once.",
    );
    let reply = s.call(
        Method::GET,
        "/v1/contact/by_custom_field/",
        Some(&token),
        None,
    );
    assert_error(&reply, 403, "Query parameter 'name' is required.");
}

#[test]
fn matching_follows_the_field_type() {
    let (_, token) = channel_with_fields(
        ChannelType::Gmail,
        &[
            ("vip", FieldType::Boolean, &[]),
            ("visit", FieldType::Date, &[]),
            ("tier", FieldType::List, &["Gold", "Silver"]),
        ],
    );
    let id = create(
        &token,
        &[
            ("firstName", json!("Muhammad Mahin")),
            ("phone", json!("923244077087")),
            ("email", json!("Muhammad@Respond.io")),
            ("timezone", json!("5")),
            ("vip", json!(true)),
            ("visit", json!("2024-05-01")),
            ("tier", json!("Gold")),
            ("profilePic", json!("https://cdn.example.com/Pic.png")),
        ],
    );
    let other = create(
        &token,
        &[
            ("firstName", json!("Someone Else")),
            ("timezone", json!(-3)),
        ],
    );
    let matches = [
        "name=firstName&value=Muhammad%20Mahin",
        "name=firstName&value=%20muhammad%20MAHIN%20",
        "name=phone&value=%2B92%20324-4077087",
        "name=email&value=muhammad%40respond.io",
        "name=timezone&value=5.0",
        "name=timezone&value=05",
        "name=vip&value=TRUE",
        "name=vip&value=true",
        "name=visit&value=2024-05-01",
        "name=tier&value=gold",
        "name=profilePic&value=https%3A%2F%2Fcdn.example.com%2Fpic.png",
    ];
    for query in matches {
        let reply = find(&token, query);
        assert_eq!(ids(&reply), vec![id.clone()], "{query}: {}", reply.text);
    }
    for query in [
        "name=firstName&value=Muhammad",
        "name=timezone&value=5.01",
        "name=vip&value=FALSE",
        "name=tier&value=Silver",
    ] {
        assert_eq!(find(&token, query).json["meta"]["total"], 0, "{query}");
    }
    assert_eq!(ids(&find(&token, "name=timezone&value=-3")), vec![other]);
    assert_error(
        &find(&token, "name=vip&value=yes"),
        403,
        "Invalid value for custom field 'vip': expected TRUE or FALSE.",
    );
    assert_error(
        &find(&token, "name=timezone&value=abc"),
        403,
        "Invalid value for custom field 'timezone': expected a number, such as 42 or -5.5.",
    );
    assert_error(
        &find(&token, "name=visit&value=2024-5-1"),
        403,
        "Invalid value for custom field 'visit': expected a date in the form YYYY-MM-DD.",
    );

    // After an update the old value no longer matches and the new one does.
    let body = crate::fields_body(&[("firstName", json!("Renamed"))]);
    assert_eq!(update(&token, &id, &body).status, 200);
    assert_eq!(
        find(&token, "name=firstName&value=Muhammad%20Mahin").json["meta"]["total"],
        0
    );
    assert_eq!(ids(&find(&token, "name=firstName&value=renamed")), vec![id]);
}
