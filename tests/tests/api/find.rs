//! Find by custom field: the paginator, followable links, and matching by type.

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::Method;
use serde_json::{json, Value};

use crate::{assert_consistent, assert_error, channel_with_fields, create, stack, update};

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
    let (channel, token) = s.channel(ChannelType::Telegram);
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
    assert_consistent(&channel);
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
    let (channel, token) = channel_with_fields(
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
    assert_consistent(&channel);
}

/// A GET of an absolute URL (a link), with the token.
fn follow(token: &str, url: &str) -> contacts_tests::Reply {
    contacts_tests::reply(
        stack()
            .client
            .get(url)
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .unwrap(),
    )
}

/// Walks by links and by page numbers while contacts come and go: a link walk returns
/// every contact that matches for the whole walk exactly once, and the newcomers at the
/// end; a page-number walk returns, page by page, the offset pages of the matches as they
/// are at the time of each call (what offset pagination means).
#[test]
fn walks_while_contacts_change() {
    let (channel, token) = channel_with_fields(
        ChannelType::Facebook,
        &[("member", FieldType::Boolean, &[])],
    );
    let mut members: Vec<String> = (0..25)
        .map(|i| {
            create(
                &token,
                &[
                    ("member", json!(true)),
                    ("firstName", json!(format!("m{i}"))),
                ],
            )
        })
        .collect();
    let leave = |id: &str| {
        let body = crate::fields_body(&[("member", json!(false))]);
        assert_eq!(update(&token, id, &body).status, 200);
    };

    // By links, 5 a page.
    let mut seen = Vec::new();
    let mut reply = find(&token, "name=member&value=true&per_page=5");
    let mut newcomers = Vec::new();
    for page in 1.. {
        assert_eq!(reply.status, 200, "{}", reply.text);
        seen.extend(ids(&reply));
        if page == 2 {
            // One seen already leaves, one not reached yet leaves, two join.
            leave(&members[1]);
            leave(&members[20]);
            for i in 0..2 {
                newcomers.push(create(
                    &token,
                    &[
                        ("member", json!(true)),
                        ("firstName", json!(format!("new{i}"))),
                    ],
                ));
            }
        }
        let Value::String(next) = reply.json["links"]["next"].clone() else {
            break;
        };
        assert!(next.contains("&cursor="), "{next}");
        reply = follow(&token, &next);
    }
    let stayed: Vec<String> = members
        .iter()
        .filter(|id| *id != &members[20])
        .cloned()
        .collect();
    let mut expected = stayed.clone();
    expected.extend(newcomers.iter().cloned());
    assert_eq!(seen, expected, "once each, in order, newcomers last");
    let (gone1, gone20) = (members[1].clone(), members[20].clone());
    members.retain(|id| *id != gone1 && *id != gone20);
    members.extend(newcomers);

    // By page numbers, 5 a page, building the URLs as v1 sync scripts do.
    let mut current = members.clone();
    let mut walked = Vec::new();
    for page in 1.. {
        let reply = find(
            &token,
            &format!("name=member&value=true&per_page=5&page={page}"),
        );
        let got = ids(&reply);
        let start = ((page - 1) * 5).min(current.len());
        assert_eq!(
            got,
            current[start..(start + 5).min(current.len())].to_vec(),
            "page {page}"
        );
        assert_eq!(reply.json["meta"]["total"], current.len());
        if got.is_empty() {
            break;
        }
        walked.extend(got);
        if page == 3 {
            leave(&current[0]);
            current.remove(0);
        }
    }
    assert!(walked.len() >= current.len());
    assert_consistent(&channel);
}

/// What the original matched: `+` read as a space in text (clients send spaces so),
/// literal where it means itself; a page it cannot parse is page 1; one word however it
/// is composed.
#[test]
fn plus_signs_huge_pages_and_composed_letters() {
    let (channel, token) =
        channel_with_fields(ChannelType::Telegram, &[("note", FieldType::Text, &[])]);
    let mahin = create(
        &token,
        &[
            ("note", json!("Muhammad Mahin")),
            ("email", json!("user+tag@example.com")),
        ],
    );
    let plus = create(&token, &[("note", json!("1+1=2"))]);
    let cafe = create(&token, &[("firstName", json!("Cafe\u{301}"))]);

    // Python requests, URLSearchParams and http_build_query send a space as `+`.
    assert_eq!(
        ids(&find(&token, "name=note&value=Muhammad+Mahin")),
        vec![mahin.clone()]
    );
    assert_eq!(
        ids(&find(&token, "name=note&value=Muhammad%20Mahin")),
        vec![mahin.clone()]
    );
    // A literal `+`, sent as %2B: in an email it is itself...
    assert_eq!(
        ids(&find(&token, "name=email&value=user%2Btag%40example.com")),
        vec![mahin.clone()]
    );
    assert_eq!(
        ids(&find(&token, "name=email&value=user+tag@example.com")),
        vec![mahin]
    );
    // ... and in text it is found when the spaced reading finds nothing.
    assert_eq!(ids(&find(&token, "name=note&value=1%2B1%3D2")), vec![plus]);

    let huge = find(
        &token,
        "name=note&value=Muhammad+Mahin&page=99999999999999999999",
    );
    assert_eq!(huge.json["meta"]["current_page"], 1);
    assert_eq!(huge.json["data"].as_array().unwrap().len(), 1);

    // Composed and decomposed: one match, one tag.
    assert_eq!(
        ids(&find(&token, "name=firstName&value=Caf%C3%A9")),
        vec![cafe.clone()]
    );
    assert_eq!(
        ids(&find(&token, "name=firstName&value=CAFE%CC%81")),
        vec![cafe.clone()]
    );
    for tag in ["Caf\u{e9}", "Cafe\u{301}"] {
        let body = json!({"tags": [tag]}).to_string();
        let reply = stack().call(
            Method::POST,
            &format!("/v1/contact/{cafe}/tags"),
            Some(&token),
            Some(&body),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let got = crate::get(&token, &cafe);
    assert_eq!(got.json["data"]["tags"], json!(["Caf\u{e9}"]));
    assert_consistent(&channel);
}
