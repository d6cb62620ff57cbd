//! The handlers end to end, in process: the API Gateway events of `events/` (as the
//! gateway sends them, authorizer context included), changed where a case needs it, through
//! [`handle`] and [`response::respond`], on the demo channel held in memory.

use lambda_http::http::header::ALLOW;
use lambda_http::{Body, Response};
use serde_json::{json, Value};

use super::*;
use crate::api::functions::Role;
use crate::api::functions::{endpoints, FUNCTIONS};
use crate::demo::{self, DEMO_CHANNEL, DEMO_CONTACT, DEMO_CREATED_AT};
use crate::store::{ContactStore, MemoryStore, Versioned};

type App = ContactService<MemoryStore>;

/// `events/{function}.json`, the event the table of functions names for it.
fn event(function: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(format!("{function}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("an event file")
}

async fn demo_app() -> App {
    ContactService::new(demo::memory_store().await.expect("the demo store"))
}

fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway proxy event")
}

fn status_and_body(response: &Response<Body>) -> (u16, Value) {
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("a JSON body"),
        other => panic!("not a text body: {other:?}"),
    };
    (response.status().as_u16(), body)
}

/// Runs `function`'s handler on `event`: its status and JSON body.
async fn call(app: &App, function: &str, event: &Value) -> (u16, Value) {
    let response = respond_to(app, function, event).await;
    status_and_body(&response)
}

async fn respond_to(app: &App, function: &str, event: &Value) -> Response<Body> {
    let outcome = handle(function, app, &request(event))
        .await
        .unwrap_or_else(|| panic!("{function} is not an endpoint"));
    response::respond(outcome)
}

fn error(message: &str) -> Value {
    json!({"status": "error", "message": message, "data": []})
}

fn with_body(mut event: Value, body: &str) -> Value {
    event["body"] = json!(body);
    event
}

fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    event["headers"][name] = json!(value);
    event["multiValueHeaders"][name] = json!([value]);
    event
}

fn with_contact_id(mut event: Value, id: &str) -> Value {
    event["pathParameters"]["contact_id"] = json!(id);
    event
}

fn with_channel_type(mut event: Value, kind: &str) -> Value {
    event["requestContext"]["authorizer"]["channel_type"] = json!(kind);
    event
}

fn with_query(mut event: Value, pairs: &[(&str, &str)]) -> Value {
    let single: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let multi: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!([v])))
        .collect();
    event["queryStringParameters"] = Value::Object(single);
    event["multiValueQueryStringParameters"] = Value::Object(multi);
    event
}

/// The demo contact as the API shows it, as seeded.
fn demo_contact_json() -> Value {
    json!({
        "id": DEMO_CONTACT,
        "custom_fields": {
            "firstName": "Muhammad Mahin",
            "lastName": "Dar",
            "phone": "123123",
            "customerid": "1"
        },
        "tags": ["Blog Updates"],
        "created_at": DEMO_CREATED_AT
    })
}

async fn demo_contact(app: &App) -> Versioned {
    app.store()
        .get_versioned(DEMO_CHANNEL, DEMO_CONTACT)
        .await
        .unwrap()
        .expect("the demo contact")
}

#[tokio::test]
async fn every_endpoint_event_is_answered_as_the_contract_says() {
    let names: Vec<&str> = endpoints().map(|(f, _, _)| f.name).collect();
    for name in names {
        let app = demo_app().await;
        let (status, body) = call(&app, name, &event(name)).await;
        assert_eq!(status, 200, "{name}: {body}");
        let store = app.store();
        if name == "delete-contact" {
            assert_eq!(
                body,
                json!({"status": "success", "message": "Contact deleted successfully.", "data": []})
            );
            assert_eq!(store.contact_count(DEMO_CHANNEL), 0);
            assert!(store.index_entries(DEMO_CHANNEL).is_empty());
            let (status, again) = call(&app, name, &event(name)).await;
            assert_eq!((status, again), (403, error("There is no such contact.")));
            continue;
        }
        let contact = demo_contact(&app).await;
        match name {
            "create-contact" => {
                let id = body["data"]["id"].as_str().expect("an id").to_string();
                assert_eq!(body, json!({"data": {"id": id}}));
                assert_eq!(id.len(), 26);
                let created = store.get_contact(DEMO_CHANNEL, &id).await.unwrap().unwrap();
                assert_eq!(
                    created.to_json()["custom_fields"],
                    json!({"phone": "03244077087", "firstName": "Muhammad Mahin", "lastName": "Dar"})
                );
                assert_eq!(store.contact_count(DEMO_CHANNEL), 2);
            }
            "get-contact" => assert_eq!(body, json!({"data": demo_contact_json()})),
            "update-contact" => {
                assert_eq!(body, json!({"data": {"id": DEMO_CONTACT}}));
                // The event sets the values the contact has: nothing is written.
                assert_eq!(contact.version, 1);
                assert_eq!(contact.contact.to_json(), demo_contact_json());
            }
            "find-contacts" => {
                let link = "http://127.0.0.1:3000/api/v1/contact/by_custom_field?name=firstName&value=Muhammad%20Mahin&page=1";
                assert_eq!(
                    body,
                    json!({
                        "data": [demo_contact_json()],
                        "links": {"first": link, "last": link, "prev": null, "next": null},
                        "meta": {
                            "current_page": 1,
                            "from": 1,
                            "last_page": 1,
                            "path": "http://127.0.0.1:3000/api/v1/contact/by_custom_field",
                            "per_page": 10,
                            "to": 1,
                            "total": 1
                        }
                    })
                );
            }
            "add-tags" => {
                assert_eq!(
                    body,
                    json!({"status": "success", "message": "Contact Tags have been added successfully.", "data": []})
                );
                assert_eq!(
                    contact.contact.to_json()["tags"],
                    json!(["Blog Updates", "Platform Updates"])
                );
            }
            "remove-tags" => {
                assert_eq!(
                    body,
                    json!({"status": "success", "message": "Contact Tags deleted successfully.", "data": []})
                );
                assert!(contact.contact.tags.is_empty());
            }
            "list-contacts" => assert_eq!(
                body,
                json!({
                    "data": [demo_contact_json()],
                    "links": {"next": null},
                    "meta": {
                        "path": "http://127.0.0.1:3000/api/v1/contact",
                        "per_page": 2,
                        "next_cursor": null
                    }
                })
            ),
            "upsert-contact" => {
                // No contact holds the event's value: it is created, then found.
                let id = body["data"]["id"].as_str().expect("an id").to_string();
                assert_eq!(body, json!({"data": {"id": id, "created": true}}));
                let created = store.get_contact(DEMO_CHANNEL, &id).await.unwrap().unwrap();
                assert_eq!(
                    created.to_json()["custom_fields"],
                    json!({"externalId": "crm-1001", "lastName": "Dar", "vip": "TRUE"})
                );
                let (status, again) = call(&app, name, &event(name)).await;
                assert_eq!(status, 200);
                assert_eq!(again, json!({"data": {"id": id, "created": false}}));
                assert_eq!(store.contact_count(DEMO_CHANNEL), 2);
            }
            other => panic!("an endpoint without a case here: {other}"),
        }
        if !["create-contact", "upsert-contact"].contains(&name) {
            assert_eq!(store.contact_count(DEMO_CHANNEL), 1, "{name}");
        }
    }
}

#[tokio::test]
async fn an_update_event_writes_what_changes() {
    let app = demo_app().await;
    let changed = with_body(
        event("update-contact"),
        r#"{"custom_fields":[{"name":"lastName","value":null},{"name":"tier","value":"silver"},{"name":"vip","value":true}]}"#,
    );
    let (status, body) = call(&app, "update-contact", &changed).await;
    assert_eq!((status, body), (200, json!({"data": {"id": DEMO_CONTACT}})));
    let contact = demo_contact(&app).await;
    assert_eq!(contact.version, 2);
    assert_eq!(
        contact.contact.to_json()["custom_fields"],
        json!({"firstName": "Muhammad Mahin", "phone": "123123", "customerid": "1", "tier": "Silver", "vip": "TRUE"})
    );
    let find = with_query(
        event("find-contacts"),
        &[("name", "vip"), ("value", "true")],
    );
    let (status, body) = call(&app, "find-contacts", &find).await;
    assert_eq!((status, &body["meta"]["total"]), (200, &json!(1)));
    let find = with_query(
        event("find-contacts"),
        &[("name", "lastName"), ("value", "Dar")],
    );
    let (_, body) = call(&app, "find-contacts", &find).await;
    assert_eq!(
        body["meta"]["total"],
        json!(0),
        "a cleared field leaves the index"
    );
}

#[tokio::test]
async fn without_the_authorizers_channel_every_endpoint_is_401_and_writes_nothing() {
    type Breakage = fn(&mut Value);
    let breakages: [(&str, Breakage); 5] = [
        ("no authorizer", |e| {
            e["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }),
        ("no channel id", |e| {
            e["requestContext"]["authorizer"]
                .as_object_mut()
                .unwrap()
                .remove("channel_id");
        }),
        ("no channel type", |e| {
            e["requestContext"]["authorizer"]
                .as_object_mut()
                .unwrap()
                .remove("channel_type");
        }),
        ("unknown channel type", |e| {
            e["requestContext"]["authorizer"]["channel_type"] = json!("myspace")
        }),
        ("invalid channel id", |e| {
            e["requestContext"]["authorizer"]["channel_id"] = json!("de#mo")
        }),
    ];
    let app = demo_app().await;
    let before = demo_contact(&app).await;
    for (function, _, _) in endpoints() {
        let name = function.name;
        for (what, breakage) in &breakages {
            let mut broken = event(name);
            breakage(&mut broken);
            let (status, body) = call(&app, name, &broken).await;
            assert_eq!(
                (status, body),
                (401, error("API Token is invalid.")),
                "{name}: {what}"
            );
        }
    }
    assert_eq!(app.store().contact_count(DEMO_CHANNEL), 1);
    assert_eq!(demo_contact(&app).await, before);
}

#[tokio::test]
async fn bad_requests_are_403_naming_the_problem_and_write_nothing() {
    let thirty_one: Vec<Value> = (0..31)
        .map(|i| json!({"name": "firstName", "value": i}))
        .collect();
    let thirty_one = json!({ "custom_fields": thirty_one }).to_string();
    let eleven =
        json!({ "tags": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>() }).to_string();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "create-contact",
            with_body(event("create-contact"), ""),
            "Request body is required: send a JSON object.",
        ),
        (
            "create-contact",
            with_body(event("create-contact"), "[]"),
            "Request body must be a JSON object.",
        ),
        (
            "create-contact",
            with_body(event("create-contact"), "{}"),
            r#"'custom_fields' is required: an array of {"name": ..., "value": ...} objects."#,
        ),
        (
            "create-contact",
            with_body(event("create-contact"), r#"{"custom_fields":[]}"#),
            "At least one custom field is required.",
        ),
        (
            "create-contact",
            with_body(event("create-contact"), &thirty_one),
            "Maximum 30 custom fields can be set per request.",
        ),
        (
            "create-contact",
            with_body(
                event("create-contact"),
                r#"{"custom_fields":[{"name":"firstName","value":"a"},{"name":"firstName","value":"b"}]}"#,
            ),
            "Custom field 'firstName' is given more than once.",
        ),
        (
            "create-contact",
            with_header(event("create-contact"), "Idempotency-Key", "has space"),
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        ),
        (
            "update-contact",
            with_body(
                event("update-contact"),
                r#"{"custom_fields":[{"name":"customerid","value":"abc"}]}"#,
            ),
            "Invalid value for custom field 'customerid': expected a number, such as 42 or -5.5.",
        ),
        (
            "update-contact",
            with_body(
                event("update-contact"),
                r#"{"custom_fields":[{"name":"tier","value":"Platinum"}]}"#,
            ),
            "Invalid value for custom field 'tier': expected one of: Gold, Silver, Bronze.",
        ),
        (
            "update-contact",
            with_body(
                event("update-contact"),
                r#"{"custom_fields":[{"name":"nope","value":"x"}]}"#,
            ),
            "Custom field 'nope' does not exist.",
        ),
        (
            "update-contact",
            with_body(
                event("update-contact"),
                r#"{"custom_fields":[{"name":"firstName"}]}"#,
            ),
            "Custom field 'firstName' has no value (send null to clear it).",
        ),
        (
            "add-tags",
            with_body(event("add-tags"), r#"{"tags":[]}"#),
            "At least one tag is required.",
        ),
        (
            "add-tags",
            with_body(event("add-tags"), &eleven),
            "Maximum 10 tags can be set per request.",
        ),
        (
            "remove-tags",
            with_body(event("remove-tags"), r#"{"tags":[5]}"#),
            "tags[0] must be a string.",
        ),
        (
            "find-contacts",
            with_query(event("find-contacts"), &[("name", "firstName")]),
            "Query parameter 'value' is required.",
        ),
        (
            "find-contacts",
            with_query(
                event("find-contacts"),
                &[("name", "firstName"), ("value", "x"), ("per_page", "101")],
            ),
            "per_page must be an integer from 1 to 100.",
        ),
        (
            "find-contacts",
            with_query(event("find-contacts"), &[("name", "nope"), ("value", "x")]),
            "Custom field 'nope' does not exist.",
        ),
        (
            "find-contacts",
            with_query(
                event("find-contacts"),
                &[("name", "vip"), ("value", "maybe")],
            ),
            "Invalid value for custom field 'vip': expected TRUE or FALSE.",
        ),
        (
            "get-contact",
            with_contact_id(event("get-contact"), &"x".repeat(129)),
            "Contact id must be 1 to 128 characters with no control characters.",
        ),
    ];
    let app = demo_app().await;
    let before = demo_contact(&app).await;
    for (name, event, message) in &cases {
        let (status, body) = call(&app, name, event).await;
        assert_eq!((status, body), (403, error(message)), "{name}: {message}");
    }
    let (status, body) = call(
        &app,
        "create-contact",
        &with_body(event("create-contact"), "{"),
    )
    .await;
    assert_eq!(status, 403);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Request body is not valid JSON: "),
        "{message}"
    );
    assert_eq!(app.store().contact_count(DEMO_CHANNEL), 1);
    assert_eq!(demo_contact(&app).await, before);
}

#[tokio::test]
async fn a_contact_the_channel_does_not_have_is_403_no_such_contact() {
    let app = demo_app().await;
    let before = demo_contact(&app).await;
    // Another channel's contact is as unknown as one that does not exist.
    let other = MemoryStore::clone(app.store());
    other.add_channel("other").unwrap();
    let none = std::collections::BTreeSet::new();
    let theirs = crate::store::NewContact {
        id: "theirs",
        created_at: 1,
        created_micros: 0,
        writes: &[],
        tags: &none,
    };
    assert!(other.insert_contact("other", &theirs).await.unwrap());
    for id in ["nobody", "theirs"] {
        for name in [
            "get-contact",
            "update-contact",
            "add-tags",
            "remove-tags",
            "delete-contact",
        ] {
            let (status, body) = call(&app, name, &with_contact_id(event(name), id)).await;
            assert_eq!(
                (status, body),
                (403, error("There is no such contact.")),
                "{name} {id}"
            );
        }
        assert!(
            app.store()
                .get_contact(DEMO_CHANNEL, id)
                .await
                .unwrap()
                .is_none(),
            "no upsert"
        );
    }
    assert_eq!(demo_contact(&app).await, before);
    let untouched = other.get_contact("other", "theirs").await.unwrap().unwrap();
    assert!(untouched.tags.is_empty() && untouched.fields.is_empty());
}

#[tokio::test]
async fn a_create_with_an_idempotency_key_is_answered_once() {
    let app = demo_app().await;
    let keyed = with_header(event("create-contact"), "Idempotency-Key", "order-1042");
    let (status, first) = call(&app, "create-contact", &keyed).await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&app, "create-contact", &keyed).await,
        (200, first.clone())
    );
    assert_eq!(app.store().contact_count(DEMO_CHANNEL), 2);
    // The same fields, another body byte for byte: a different request.
    let respaced = with_body(
        keyed.clone(),
        &keyed["body"].as_str().unwrap().replace(", ", ","),
    );
    assert_eq!(
        call(&app, "create-contact", &respaced).await,
        (
            403,
            error("Idempotency-Key 'order-1042' was already used with a different request body.")
        )
    );
    assert_eq!(app.store().contact_count(DEMO_CHANNEL), 2);
    // Without the key, the same request creates another contact.
    let (status, other) = call(&app, "create-contact", &event("create-contact")).await;
    assert_eq!(status, 200);
    assert_ne!(other, first);
    assert_eq!(app.store().contact_count(DEMO_CHANNEL), 3);
}

#[tokio::test]
async fn on_whatsapp_and_sms_channels_the_phone_is_the_id() {
    for kind in ["whatsapp", "sms"] {
        let app = demo_app().await;
        let create = with_channel_type(event("create-contact"), kind);
        assert_eq!(
            call(&app, "create-contact", &create).await,
            (200, json!({"data": {"id": "03244077087"}})),
            "{kind}"
        );
        assert_eq!(
            call(&app, "create-contact", &create).await,
            (403, error("Contact '03244077087' already exists.")),
            "{kind}"
        );
        let no_phone = with_body(
            create.clone(),
            r#"{"custom_fields":[{"name":"firstName","value":"Ann"}]}"#,
        );
        let article = if kind == "sms" { "an" } else { "a" };
        assert_eq!(
            call(&app, "create-contact", &no_phone).await,
            (
                403,
                error(&format!(
                    "A contact on {article} {kind} channel needs a phone."
                ))
            ),
        );
        assert_eq!(app.store().contact_count(DEMO_CHANNEL), 2);
        // A path names it by its phone number in any spelling.
        let get = with_contact_id(
            with_channel_type(event("get-contact"), kind),
            "%2B0324%20407-7087",
        );
        let (status, body) = call(&app, "get-contact", &get).await;
        assert_eq!((status, &body["data"]["id"]), (200, &json!("03244077087")));
        // Ids that are not phone numbers are taken as they are.
        let get = with_channel_type(event("get-contact"), kind);
        assert_eq!(call(&app, "get-contact", &get).await.0, 200);
    }
}

#[tokio::test]
async fn on_viber_channels_the_path_holds_the_id_in_base64() {
    let app = demo_app().await;
    let viber = |id: &str| with_contact_id(with_channel_type(event("get-contact"), "viber"), id);
    for encoded in ["MTc3NjAyNTM3MjQ4MDkxMA==", "MTc3NjAyNTM3MjQ4MDkxMA"] {
        assert_eq!(
            call(&app, "get-contact", &viber(encoded)).await,
            (200, json!({"data": demo_contact_json()}))
        );
    }
    assert_eq!(
        call(&app, "get-contact", &viber("not base64!")).await,
        (
            403,
            error("On a Viber channel the contact id must be Base64-encoded.")
        )
    );
    assert_eq!(
        call(&app, "get-contact", &viber(DEMO_CONTACT)).await.0,
        403,
        "the plain id is not Base64 of it"
    );
}

#[tokio::test]
async fn find_pages_through_the_handler() {
    let app = demo_app().await;
    // Eleven more contacts with the demo contact's first name, created now (most of them
    // within one second).
    let mut created = vec![DEMO_CONTACT.to_string()];
    for _ in 0..11 {
        let (status, body) = call(&app, "create-contact", &event("create-contact")).await;
        assert_eq!(status, 200);
        created.push(body["data"]["id"].as_str().unwrap().to_string());
    }
    let matching = crate::store::Match {
        field: "firstName",
        field_type: crate::domain::field_defs::FieldType::Text,
        key: "muhammad mahin",
    };
    let spec = crate::store::PageSpec {
        page: 1,
        per_page: 100,
        after: None,
    };
    let all = app
        .store()
        .find(DEMO_CHANNEL, &matching, &spec)
        .await
        .unwrap();
    assert_eq!(all.total, 12);
    let everyone: Vec<String> = all.contacts.into_iter().map(|c| c.id).collect();
    assert_eq!(everyone, created, "in creation order, to the microsecond");

    let page = |n: &str| {
        with_query(
            event("find-contacts"),
            &[
                ("name", "firstName"),
                ("value", "muhammad MAHIN "),
                ("per_page", "5"),
                ("page", n),
            ],
        )
    };
    let (status, body) = call(&app, "find-contacts", &page("2")).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = everyone[5..10].iter().map(String::as_str).collect();
    assert_eq!(ids, expected);
    let link = |n: u32| {
        format!("http://127.0.0.1:3000/api/v1/contact/by_custom_field?name=firstName&value=muhammad%20MAHIN%20&per_page=5&page={n}")
    };
    // The next link carries a cursor: following it reads from where this page ended.
    let next = body["links"]["next"].as_str().unwrap().to_string();
    let cursor = next
        .strip_prefix(&format!("{}&cursor=", link(3)))
        .expect("next is page 3 with a cursor");
    assert_eq!(
        body["links"],
        json!({"first": link(1), "last": link(3), "prev": link(1), "next": next})
    );
    let followed = with_query(
        event("find-contacts"),
        &[
            ("name", "firstName"),
            ("value", "muhammad MAHIN "),
            ("per_page", "5"),
            ("page", "3"),
            ("cursor", cursor),
        ],
    );
    let (status, by_link) = call(&app, "find-contacts", &followed).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = by_link["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![everyone[10].as_str(), everyone[11].as_str()]);
    // A cursor of another find is refused.
    let foreign = with_query(
        event("find-contacts"),
        &[("name", "lastName"), ("value", "Dar"), ("cursor", cursor)],
    );
    let (status, refused) = call(&app, "find-contacts", &foreign).await;
    assert_eq!(
        (status, refused["message"].as_str().unwrap()),
        (
            403,
            "Query parameter 'cursor' is not a cursor of this find: follow the links as given."
        )
    );
    assert_eq!(
        body["meta"],
        json!({
            "current_page": 2, "from": 6, "last_page": 3,
            "path": "http://127.0.0.1:3000/api/v1/contact/by_custom_field",
            "per_page": 5, "to": 10, "total": 12
        })
    );
    let (_, body) = call(&app, "find-contacts", &page("3")).await;
    assert_eq!(
        (&body["meta"]["from"], &body["meta"]["to"]),
        (&json!(11), &json!(12))
    );
    assert_eq!(body["links"]["next"], Value::Null);
    let (status, body) = call(&app, "find-contacts", &page("4")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]));
    assert_eq!(
        (&body["meta"]["from"], &body["meta"]["to"]),
        (&Value::Null, &Value::Null)
    );
    let (_, body) = call(&app, "find-contacts", &page("zero")).await;
    assert_eq!(
        body["meta"]["current_page"],
        json!(1),
        "a page that is not a number is 1"
    );
}

#[tokio::test]
async fn the_list_pages_by_cursor_oldest_first_and_forgets_deleted_contacts() {
    let app = demo_app().await;
    let mut created = vec![DEMO_CONTACT.to_string()];
    for _ in 0..6 {
        let (status, body) = call(&app, "create-contact", &event("create-contact")).await;
        assert_eq!(status, 200);
        created.push(body["data"]["id"].as_str().unwrap().to_string());
    }
    let gone = created.remove(3);
    let (status, _) = call(
        &app,
        "delete-contact",
        &with_contact_id(event("delete-contact"), &gone),
    )
    .await;
    assert_eq!(status, 200);
    let mut listed = Vec::new();
    let mut query = vec![("per_page".to_string(), "2".to_string())];
    loop {
        let pairs: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, body) = call(
            &app,
            "list-contacts",
            &with_query(event("list-contacts"), &pairs),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"].as_array().unwrap().len() <= 2);
        listed.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
        let Some(cursor) = body["meta"]["next_cursor"].as_str() else {
            assert_eq!(body["links"]["next"], Value::Null);
            break;
        };
        let next = body["links"]["next"].as_str().unwrap();
        assert!(
            next.starts_with("http://127.0.0.1:3000/api/v1/contact?per_page=2&cursor="),
            "{next}"
        );
        query = vec![
            ("per_page".to_string(), "2".to_string()),
            ("cursor".to_string(), cursor.to_string()),
        ];
    }
    assert_eq!(
        listed, created,
        "every contact once, oldest first, the deleted one gone"
    );

    // Another channel's cursor, a made-up one, a bad page size: 403 naming the problem.
    let theirs = crate::domain::cursor::encode_list("other", "000000000001.000000#x");
    for (key, value, message) in [
        ("cursor", theirs.as_str(), "Query parameter 'cursor' is not a cursor of this channel's list: use links.next or meta.next_cursor as given."),
        ("cursor", "nonsense", "Query parameter 'cursor' is not a cursor of this channel's list: use links.next or meta.next_cursor as given."),
        ("per_page", "0", "per_page must be an integer from 1 to 100."),
        ("per_page", "101", "per_page must be an integer from 1 to 100."),
    ] {
        let (status, body) = call(&app, "list-contacts", &with_query(event("list-contacts"), &[(key, value)])).await;
        assert_eq!((status, body), (403, error(message)), "{key}={value}");
    }
}

#[test]
fn refusals_are_405_with_allow_for_known_paths_and_404_otherwise() {
    let allow = |response: &Response<Body>| {
        response
            .headers()
            .get(ALLOW)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let responder = event("responder");
    let response = response::error_response(&refusal(&request(&responder)));
    assert_eq!(
        status_and_body(&response),
        (405, error("405 Method Not Allowed."))
    );
    assert_eq!(allow(&response).as_deref(), Some("GET, PUT, DELETE"));
    for (resource, methods) in [
        ("/v1/contact", Some("POST, GET")),
        ("/v1/contact/{contact_id}/tags", Some("POST, DELETE")),
        ("/v1/contact/by_custom_field", Some("GET, PUT")),
        ("/v2/contact", None),
        ("/{proxy+}", None),
    ] {
        let mut e = responder.clone();
        e["resource"] = json!(resource);
        e["requestContext"]["resourcePath"] = json!(resource);
        let response = response::error_response(&refusal(&request(&e)));
        match methods {
            Some(methods) => {
                assert_eq!(response.status().as_u16(), 405, "{resource}");
                assert_eq!(allow(&response).as_deref(), Some(methods), "{resource}");
            }
            None => {
                assert_eq!(
                    status_and_body(&response),
                    (404, error("404 Not Found.")),
                    "{resource}"
                );
                assert_eq!(allow(&response), None);
            }
        }
    }
}

#[tokio::test]
async fn only_endpoints_have_a_handler() {
    let app = demo_app().await;
    let any = request(&event("get-contact"));
    for function in FUNCTIONS {
        let handled = handle(function.name, &app, &any).await.is_some();
        let endpoint = matches!(function.role, Role::Endpoint { .. });
        assert_eq!(handled, endpoint, "{}", function.name);
    }
    assert!(handle("nope", &app, &any).await.is_none());
}
