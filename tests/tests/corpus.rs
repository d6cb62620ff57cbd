//! A corpus of hostile and broken requests, sent as raw HTTP so that nothing on the way
//! tidies them up. Each must get the contract's envelope with a 4xx and a message that
//! names the problem, must not leak internals, and must leave the stored data exactly as
//! it was.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::store::{ContactStore, NewContact};
use contacts_shared::ChannelType;
use contacts_tests::{create_channel, define_field, log_dir, runtime, unthrottled_template, Stack};
use serde_json::{json, Value};

/// Whose credentials a case sends.
#[derive(Clone)]
enum Auth {
    /// The Facebook channel's token.
    Channel,
    /// The Viber channel's token.
    Viber,
    /// These Authorization header values instead (`DUPLICATE` stands for a live token).
    Headers(Vec<String>),
}

/// One request of the corpus and what it must get.
#[derive(Clone)]
struct Case {
    what: String,
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    auth: Auth,
    status: u16,
    /// A piece of the message that names the problem.
    message: String,
}

fn case(
    what: impl Into<String>,
    method: &'static str,
    path: impl Into<String>,
    body: impl Into<Vec<u8>>,
    status: u16,
    message: &str,
) -> Case {
    Case {
        what: what.into(),
        method,
        path: path.into(),
        headers: Vec::new(),
        body: body.into(),
        auth: Auth::Channel,
        status,
        message: message.to_string(),
    }
}

/// Sends raw bytes to the gateway and returns (status, body).
fn send(host: &str, case: &Case, authorization: &[String]) -> (u16, String) {
    let mut request = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
        case.method, case.path
    )
    .into_bytes();
    for value in authorization {
        request.extend(format!("Authorization: {value}\r\n").into_bytes());
    }
    for (name, value) in &case.headers {
        request.extend(format!("{name}: {value}\r\n").into_bytes());
    }
    request.extend(format!("Content-Length: {}\r\n\r\n", case.body.len()).into_bytes());
    request.extend(&case.body);
    let mut stream = TcpStream::connect(host).expect("connect to the gateway");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(&request).expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn corpus(contact: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let create = "/api/v1/contact".to_string();
    let update = format!("/api/v1/contact/{contact}");
    let tags = format!("/api/v1/contact/{contact}/tags");
    let field_writers = [("POST", create.clone()), ("PUT", update.clone())];
    let tag_writers = [("POST", tags.clone()), ("DELETE", tags.clone())];
    let all_writers: Vec<(&str, String)> = field_writers
        .iter()
        .chain(tag_writers.iter())
        .cloned()
        .collect();

    // Malformed and truncated JSON, cut at every third byte.
    let fields = r#"{"custom_fields":[{"name":"firstName","value":"Changed"}]}"#;
    let tag_body = r#"{"tags":["changed"]}"#;
    for (method, path) in &all_writers {
        let body = if path.ends_with("/tags") {
            tag_body
        } else {
            fields
        };
        for cut in (1..body.len()).step_by(3) {
            cases.push(case(
                format!("{method} truncated at {cut}"),
                method,
                path.clone(),
                &body.as_bytes()[..cut],
                403,
                "not valid JSON",
            ));
        }
    }
    for (method, path) in &field_writers {
        for junk in [
            "{",
            "}",
            "{]",
            "nul",
            "{'custom_fields':[]}",
            "{\"custom_fields\":[],}",
            "\u{feff}{}",
        ] {
            cases.push(case(
                format!("{method} malformed {junk:?}"),
                method,
                path.clone(),
                junk,
                403,
                "not valid JSON",
            ));
        }
    }

    // Wrong types at every position.
    let wrong = ["1", "\"x\"", "{}", "null", "true", "[]"];
    for (method, path) in &field_writers {
        for w in wrong.iter().filter(|w| **w != "[]") {
            cases.push(case(
                format!("{method} custom_fields={w}"),
                method,
                path.clone(),
                format!(r#"{{"custom_fields":{w}}}"#),
                403,
                "'custom_fields' must be",
            ));
        }
        for w in wrong.iter().filter(|w| **w != "{}") {
            cases.push(case(
                format!("{method} entry={w}"),
                method,
                path.clone(),
                format!(r#"{{"custom_fields":[{w}]}}"#),
                403,
                "custom_fields[0] must be an object",
            ));
        }
        for w in wrong.iter().filter(|w| **w != "\"x\"") {
            cases.push(case(
                format!("{method} name={w}"),
                method,
                path.clone(),
                format!(r#"{{"custom_fields":[{{"name":{w},"value":"v"}}]}}"#),
                403,
                "custom_fields[0].name must be a string",
            ));
        }
        for w in ["[]", "{}", "[1]", r#"{"a":1}"#] {
            cases.push(case(
                format!("{method} value={w}"),
                method,
                path.clone(),
                format!(r#"{{"custom_fields":[{{"name":"firstName","value":{w}}}]}}"#),
                403,
                "must be a string, number, boolean or null",
            ));
        }
    }
    for (method, path) in &all_writers {
        for w in ["[]", "1", "\"x\"", "null", "true"] {
            cases.push(case(
                format!("{method} top-level {w}"),
                method,
                path.clone(),
                w,
                403,
                "must be a JSON object",
            ));
        }
    }
    for (method, path) in &tag_writers {
        for w in wrong.iter().filter(|w| **w != "[]") {
            cases.push(case(
                format!("{method} tags={w}"),
                method,
                path.clone(),
                format!(r#"{{"tags":{w}}}"#),
                403,
                "'tags' must be an array of strings",
            ));
        }
        for w in wrong.iter().filter(|w| **w != "\"x\"") {
            cases.push(case(
                format!("{method} tag={w}"),
                method,
                path.clone(),
                format!(r#"{{"tags":[{w}]}}"#),
                403,
                "tags[0] must be a string",
            ));
        }
    }

    // Huge and deeply nested bodies, invalid UTF-8, NUL bytes.
    for (method, path) in &all_writers {
        let huge = format!(
            r#"{{"custom_fields":[{{"name":"firstName","value":"{}"}}]}}"#,
            "x".repeat(65_536)
        );
        cases.push(case(
            format!("{method} 64 KiB + 1"),
            method,
            path.clone(),
            huge,
            403,
            "too large",
        ));
        // Deep nesting is parsed without recursion: the message names the real problem.
        let (key, message) = if path.ends_with("/tags") {
            ("tags", "tags[0] must be a string")
        } else {
            ("custom_fields", "custom_fields[0] must be an object")
        };
        for depth in [300, 32_000] {
            let deep = format!(
                r#"{{"{key}":[{}{}]}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            cases.push(case(
                format!("{method} nested {depth} deep"),
                method,
                path.clone(),
                deep,
                403,
                message,
            ));
        }
        cases.push(case(
            format!("{method} invalid UTF-8"),
            method,
            path.clone(),
            b"\xff\xfe{}".to_vec(),
            403,
            "not valid JSON",
        ));
        let mut broken = br#"{"custom_fields":[{"name":"firstName","value":""#.to_vec();
        broken.extend(b"\xc3\x28\"}]}");
        cases.push(case(
            format!("{method} invalid UTF-8 in a string"),
            method,
            path.clone(),
            broken,
            403,
            "not valid JSON",
        ));
        cases.push(case(
            format!("{method} raw NUL in a string"),
            method,
            path.clone(),
            b"{\"tags\":[\"a\x00b\"]}".to_vec(),
            403,
            "not valid JSON",
        ));
    }
    cases.push(case(
        "11 MB body",
        "POST",
        create.clone(),
        vec![b' '; 11 * 1024 * 1024],
        403,
        "Request Too Long",
    ));
    for (method, path) in &field_writers {
        cases.push(case(
            format!("{method} NUL in a value"),
            method,
            path.clone(),
            r#"{"custom_fields":[{"name":"firstName","value":"a\u0000b"}]}"#,
            403,
            "control character",
        ));
        cases.push(case(
            format!("{method} escape sequence in a value"),
            method,
            path.clone(),
            r#"{"custom_fields":[{"name":"firstName","value":"\u001b[2J"}]}"#,
            403,
            "control character",
        ));
        cases.push(case(
            format!("{method} NUL in a name"),
            method,
            path.clone(),
            r#"{"custom_fields":[{"name":"first\u0000Name","value":"x"}]}"#,
            403,
            "does not exist",
        ));
        cases.push(case(
            format!("{method} header injection in a value"),
            method,
            path.clone(),
            r#"{"custom_fields":[{"name":"firstName","value":"x\u000bSet-Cookie: a=b"}]}"#,
            403,
            "control character",
        ));
    }
    for (method, path) in &tag_writers {
        cases.push(case(
            format!("{method} NUL in a tag"),
            method,
            path.clone(),
            r#"{"tags":["a\u0000b"]}"#,
            403,
            "control characters",
        ));
        cases.push(case(
            format!("{method} header injection in a tag"),
            method,
            path.clone(),
            r#"{"tags":["x\r\nSet-Cookie: a=b"]}"#,
            403,
            "control characters",
        ));
    }
    cases.push(case(
        "NUL in a find value",
        "GET",
        "/api/v1/contact/by_custom_field?name=firstName&value=a%00b",
        "",
        403,
        "control character",
    ));

    // Every limit, one past it.
    let many = |n: usize| {
        let entries: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("n{i}"), "value": "v"}))
            .collect();
        json!({ "custom_fields": entries }).to_string()
    };
    let many_tags =
        |n: usize| json!({"tags": (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>()}).to_string();
    for (method, path) in &field_writers {
        cases.push(case(
            format!("{method} 31 fields"),
            method,
            path.clone(),
            many(31),
            403,
            "Maximum 30 custom fields",
        ));
        cases.push(case(
            format!("{method} 0 fields"),
            method,
            path.clone(),
            many(0),
            403,
            "At least one custom field",
        ));
        let long = json!({"custom_fields": [{"name": "firstName", "value": "x".repeat(1001)}]})
            .to_string();
        cases.push(case(
            format!("{method} 1,001-character value"),
            method,
            path.clone(),
            long,
            403,
            "too long",
        ));
        let name = json!({"custom_fields": [{"name": "n".repeat(51), "value": "x"}]}).to_string();
        cases.push(case(
            format!("{method} 51-character name"),
            method,
            path.clone(),
            name,
            403,
            "does not exist",
        ));
        let twice = r#"{"custom_fields":[{"name":"firstName","value":"a"},{"name":"firstName","value":"b"}]}"#;
        cases.push(case(
            format!("{method} a field twice"),
            method,
            path.clone(),
            twice,
            403,
            "more than once",
        ));
        cases.push(case(
            format!("{method} a value that is not its type"),
            method,
            path.clone(),
            r#"{"custom_fields":[{"name":"score","value":"1e"}]}"#,
            403,
            "expected a number",
        ));
    }
    for (method, path) in &tag_writers {
        cases.push(case(
            format!("{method} 11 tags"),
            method,
            path.clone(),
            many_tags(11),
            403,
            "Maximum 10 tags",
        ));
        cases.push(case(
            format!("{method} 0 tags"),
            method,
            path.clone(),
            many_tags(0),
            403,
            "At least one tag",
        ));
        let long = json!({"tags": ["t".repeat(256)]}).to_string();
        cases.push(case(
            format!("{method} 256-character tag"),
            method,
            path.clone(),
            long,
            403,
            "longer than 255",
        ));
    }
    for per_page in ["0", "101", "-1", "1e2"] {
        cases.push(case(
            format!("per_page={per_page}"),
            "GET",
            format!(
                "/api/v1/contact/by_custom_field?name=firstName&value=Keep&per_page={per_page}"
            ),
            "",
            403,
            "per_page",
        ));
    }
    for n in [129, 1000, 5000] {
        let id = "i".repeat(n);
        cases.push(case(
            format!("GET {n}-character id"),
            "GET",
            format!("/api/v1/contact/{id}"),
            "",
            403,
            "1 to 128 characters",
        ));
        cases.push(case(
            format!("PUT {n}-character id"),
            "PUT",
            format!("/api/v1/contact/{id}"),
            fields,
            403,
            "1 to 128 characters",
        ));
        cases.push(case(
            format!("POST tags of a {n}-character id"),
            "POST",
            format!("/api/v1/contact/{id}/tags"),
            tag_body,
            403,
            "1 to 128 characters",
        ));
    }

    // Odd path encodings and dot segments.
    for (path, status, message) in [
        ("/api/v1/contact/../contact/x", 404, "404 Not Found."),
        ("/api/v1/contact/x/../../contact", 404, "404 Not Found."),
        ("/api/./v1/contact/x", 404, "404 Not Found."),
        ("/api/v1//contact", 404, "404 Not Found."),
        ("/api//v1/contact/x", 404, "404 Not Found."),
        ("/api/v1/contact/x/tags/../../..", 404, "404 Not Found."),
        ("/api/v1/contact/%2e%2e", 403, "There is no such contact."),
        (
            "/api/v1/contact/%2e%2e%2f%2e%2e",
            403,
            "There is no such contact.",
        ),
        ("/api/v1/contact/%ZZ", 403, "There is no such contact."),
        ("/api/v1/contact/%FF%FE", 403, "not valid UTF-8"),
        ("/api/v1/contact/%00", 403, "no control characters"),
        (
            "/api/v1/contact/a%0d%0aSet-Cookie:%20x",
            403,
            "no control characters",
        ),
        ("/API/v1/contact/x", 404, "404 Not Found."),
        ("/api/V1/contact/x", 404, "404 Not Found."),
    ] {
        cases.push(case(
            format!("GET {path}"),
            "GET",
            path,
            "",
            status,
            message,
        ));
    }
    let viber_ids = [
        ("not-base64!".to_string(), "must be Base64"),
        ("a%2Bb-c".to_string(), "must be Base64"),
        ("%2F%2F%2F%2F".to_string(), "does not decode to UTF-8"),
        (
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0xfd]),
            "does not decode to UTF-8",
        ),
        (
            URL_SAFE_NO_PAD.encode("v".repeat(200)),
            "1 to 128 characters",
        ),
    ];
    for (path_id, message) in viber_ids {
        let mut c = case(
            format!("Viber id {path_id}"),
            "GET",
            format!("/api/v1/contact/{path_id}"),
            "",
            403,
            message,
        );
        c.auth = Auth::Viber;
        cases.push(c);
    }

    // Queries: duplicates and missing parameters.
    for (query, message) in [
        (
            "name=firstName&name=lastName&value=Keep",
            "'name' is given more than once",
        ),
        (
            "name=firstName&value=Keep&value=x",
            "'value' is given more than once",
        ),
        (
            "name=firstName&value=Keep&page=1&page=2",
            "'page' is given more than once",
        ),
        (
            "name=firstName&value=Keep&per_page=5&per_page=6",
            "'per_page' is given more than once",
        ),
        ("value=Keep", "'name' is required"),
        ("name=firstName", "'value' is required"),
        ("name=firstName&value=%20%20", "'value' is required"),
        ("name=nope&value=x", "does not exist"),
        ("name=score&value=abc", "expected a number"),
    ] {
        cases.push(case(
            format!("find ?{query}"),
            "GET",
            format!("/api/v1/contact/by_custom_field?{query}"),
            "",
            403,
            message,
        ));
    }

    // Header tricks: bad idempotency keys, a hostile Host.
    for key in ["a\tb", "with space", &"k".repeat(256)] {
        let mut c = case(
            format!("Idempotency-Key {key:?}"),
            "POST",
            create.clone(),
            fields,
            403,
            "Idempotency-Key must be",
        );
        c.headers.push(("Idempotency-Key".into(), key.to_string()));
        cases.push(c);
    }
    let mut forwarded = case(
        "forged X-Forwarded-* headers",
        "GET",
        "/api/v1/contact/by_custom_field?name=a&name=b&value=x",
        "",
        403,
        "'name' is given more than once",
    );
    forwarded
        .headers
        .push(("X-Forwarded-Host".into(), "evil.example".into()));
    forwarded
        .headers
        .push(("X-Forwarded-Proto".into(), "gopher".into()));
    cases.push(forwarded);

    // Wrong and duplicate Authorization headers.
    for values in [
        vec![],
        vec!["".to_string()],
        vec!["Basic dXNlcjpwYXNz".into()],
        vec!["Bearer".into()],
        vec!["Bearer    ".into()],
        vec!["Token ct_x".into()],
        vec!["Bearer a b".into()],
        vec!["Bearer ct_nope".into()],
        vec!["Bearer ct_nope\tX-Admin: 1".into()],
        vec!["DUPLICATE".into(), "DUPLICATE".into()],
        vec!["DUPLICATE".into(), "Bearer ct_nope".into()],
    ] {
        let mut c = case(
            format!("Authorization {values:?}"),
            "GET",
            format!("/api/v1/contact/{contact}"),
            "",
            401,
            "API Token is invalid.",
        );
        c.auth = Auth::Headers(values);
        cases.push(c);
    }
    cases
}

#[test]
fn hostile_requests_get_named_4xx_envelopes_and_change_nothing() {
    let stack = Stack::shared();
    let base = stack.extra_gateway(
        &unthrottled_template(&log_dir().join(format!("corpus-{}", std::process::id()))),
        &[],
    );
    let host = base
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_string();
    let (channel, token) = create_channel(&stack.store, ChannelType::Facebook, None);
    define_field(&stack.store, &channel, "score", FieldType::Number, &[]);
    let (viber, viber_token) = create_channel(&stack.store, ChannelType::Viber, None);
    // A third token of the channel, used only in duplicate-header cases: the gateway's
    // authorizer cache (keyed on every value of the identity header) never saw it alone.
    let duplicate_token = runtime()
        .block_on(stack.store.issue_token(&channel))
        .unwrap();

    // The data the corpus must not change.
    let contact = contacts_tests::runtime().block_on(async {
        let fields = stack.store.field_set(&channel).await.unwrap();
        let raw = [("firstName", "Keep"), ("phone", "555 1234"), ("score", "7")].map(|(n, v)| {
            contacts_shared::domain::field_writes::RawFieldWrite {
                name: n.into(),
                value: contacts_shared::domain::field_values::InputValue::Text(v.into()),
            }
        });
        let writes = contacts_shared::domain::field_writes::resolve_writes(&fields, &raw).unwrap();
        let tags = ["kept".to_string()].into();
        let new = NewContact {
            id: "corpus-contact",
            created_at: 1_575_618_542,
            created_micros: 0,
            writes: &writes,
            tags: &tags,
        };
        assert!(stack.store.insert_contact(&channel, &new).await.unwrap());
        let no_tags = Default::default();
        let viber_contact = NewContact {
            id: "01234567890A=",
            created_at: 1,
            created_micros: 0,
            writes: &[],
            tags: &no_tags,
        };
        assert!(stack
            .store
            .insert_contact(&viber, &viber_contact)
            .await
            .unwrap());
        "corpus-contact".to_string()
    });
    let snapshot = || {
        runtime().block_on(async {
            let report = stack.store.check_channel(&channel).await.unwrap();
            let contact = stack
                .store
                .get_contact(&channel, "corpus-contact")
                .await
                .unwrap();
            let viber_report = stack.store.check_channel(&viber).await.unwrap();
            (report, contact, viber_report)
        })
    };
    let before = snapshot();
    assert!(before.0.is_consistent() && before.0.contacts == 1);

    let cases = corpus(&contact);
    let leaks = contacts_tests::INTERNALS;
    let mut failures = Vec::new();
    for c in &cases {
        let authorization: Vec<String> = match &c.auth {
            Auth::Channel => vec![format!("Bearer {token}")],
            Auth::Viber => vec![format!("Bearer {viber_token}")],
            Auth::Headers(values) => values
                .iter()
                .map(|v| {
                    if v == "DUPLICATE" {
                        format!("Bearer {duplicate_token}")
                    } else {
                        v.clone()
                    }
                })
                .collect(),
        };
        let (status, body) = send(&host, c, &authorization);
        check(c, status, &body, &leaks, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        cases.len() >= 200,
        "the corpus has only {} cases",
        cases.len()
    );
    assert_eq!(snapshot(), before, "the corpus changed stored data");
    println!(
        "{} hostile requests, each a named 4xx envelope; stored data unchanged",
        cases.len()
    );
}

fn check(c: &Case, status: u16, body: &str, leaks: &[&str], failures: &mut Vec<String>) {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = json["message"].as_str().unwrap_or_default();
    let envelope = json["status"] == "error" && json["data"] == json!([]) && !message.is_empty();
    let leaked = leaks.iter().find(|l| body.contains(**l));
    if status != c.status || !envelope || !message.contains(&c.message) || leaked.is_some() {
        let shown: String = body.chars().take(200).collect();
        failures.push(format!(
            "{}: expected {} ~ {:?}, got {status} {shown}",
            c.what, c.status, c.message
        ));
    }
}
