//! `openapi.yaml` and `template.yaml` describe the same API: every route a function serves
//! (every `Api` event but the `ANY` routes of the 405 responder) is an operation of the
//! document and the other way round, and every operation documents the contract's error
//! envelope for each status it can produce (and the `Allow` header of 405, the
//! `Retry-After` of 429).

use std::collections::BTreeSet;

use contacts_shared::ApiError;
use contacts_tests::repo_root;
use serde_yaml_ng::Value;

/// The methods an OpenAPI path item may hold operations for.
const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn load(file: &str) -> Value {
    let path = repo_root().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Tagged(t) => scalar(&t.value),
        _ => None,
    }
}

/// `(METHOD, path)` of every `Api` event in the template, but `ANY`.
fn template_routes(template: &Value) -> BTreeSet<(String, String)> {
    let resources = template
        .get("Resources")
        .and_then(Value::as_mapping)
        .expect("template.yaml has Resources");
    let mut routes = BTreeSet::new();
    for (name, resource) in resources {
        let events = resource
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Value::as_mapping);
        for (event_name, event) in events.into_iter().flatten() {
            if event.get("Type").and_then(scalar).as_deref() != Some("Api") {
                continue;
            }
            let props = event.get("Properties");
            let field = |key: &str| {
                props
                    .and_then(|p| p.get(key))
                    .and_then(scalar)
                    .unwrap_or_else(|| panic!("{name:?}.{event_name:?} has no {key}"))
            };
            let method = field("Method").to_ascii_uppercase();
            if method != "ANY" {
                routes.insert((method, field("Path")));
            }
        }
    }
    routes
}

/// `(METHOD, path)` of every operation in the OpenAPI document.
fn openapi_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc
        .get("paths")
        .and_then(Value::as_mapping)
        .expect("openapi.yaml has paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("a path is a string");
        for method in HTTP_METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_ascii_uppercase(), path.to_string()));
            }
        }
    }
    operations
}

/// What one side has that the other lacks, as lines a person can act on.
fn differences(
    template: &BTreeSet<(String, String)>,
    openapi: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (method, path) in template.difference(openapi) {
        problems.push(format!(
            "{method} {path} is a route in template.yaml but not an operation in openapi.yaml"
        ));
    }
    for (method, path) in openapi.difference(template) {
        problems.push(format!(
            "{method} {path} is an operation in openapi.yaml but no route in template.yaml"
        ));
    }
    problems
}

/// Follows `$ref`s (`#/...` JSON pointers into `doc`) until a value is not a reference.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let pointer = reference
            .strip_prefix("#/")
            .unwrap_or_else(|| panic!("only local references are used: {reference}"));
        value = pointer.split('/').fold(doc, |v, key| {
            let key = key.replace("~1", "/").replace("~0", "~");
            v.get(key.as_str())
                .unwrap_or_else(|| panic!("{reference} does not resolve"))
        });
    }
    panic!("a $ref cycle in openapi.yaml");
}

/// Whether `schema` is the error envelope: the `Error` schema, or an `allOf` holding it.
fn is_error_envelope(doc: &Value, schema: &Value) -> bool {
    if schema.get("$ref").and_then(Value::as_str) == Some("#/components/schemas/Error") {
        return true;
    }
    let schema = resolve(doc, schema);
    let envelope = schema
        .get("required")
        .and_then(Value::as_sequence)
        .is_some_and(|r| {
            ["status", "message", "data"]
                .iter()
                .all(|k| r.iter().any(|v| v.as_str() == Some(k)))
        })
        && schema
            .get("properties")
            .and_then(|p| p.get("status"))
            .and_then(|s| s.get("const"))
            .and_then(Value::as_str)
            == Some("error");
    envelope
        || schema
            .get("allOf")
            .and_then(Value::as_sequence)
            .is_some_and(|parts| parts.iter().any(|part| is_error_envelope(doc, part)))
}

/// The `message` const a response schema pins, if any.
fn pinned_message(doc: &Value, schema: &Value) -> Option<String> {
    let schema = resolve(doc, schema);
    let own = schema
        .get("properties")
        .and_then(|p| p.get("message"))
        .and_then(|m| m.get("const"))
        .and_then(Value::as_str)
        .map(str::to_string);
    own.or_else(|| {
        schema
            .get("allOf")
            .and_then(Value::as_sequence)?
            .iter()
            .find_map(|part| pinned_message(doc, part))
    })
}

/// The error statuses an operation on `path` can produce, by the contract's error table,
/// with the message the contract fixes for it (`None`: a message naming the problem).
fn error_statuses() -> Vec<(String, Option<String>)> {
    let fixed = |error: ApiError| {
        (
            error.status().to_string(),
            Some(error.message().to_string()),
        )
    };
    vec![
        fixed(ApiError::Unauthorized),
        // Many messages: each names the problem (or the contact that is not there).
        (ApiError::invalid("").status().to_string(), None),
        fixed(ApiError::MethodNotAllowed(Vec::new())),
        fixed(ApiError::TooManyRequests),
        fixed(ApiError::Internal),
        fixed(ApiError::Unavailable),
    ]
}

/// What is wrong with the responses and security of `method path`.
fn operation_problems(doc: &Value, method: &str, path: &str) -> Vec<String> {
    let operation = &doc["paths"][path][method.to_ascii_lowercase().as_str()];
    let label = format!("{method} {path}");
    let mut problems = Vec::new();

    let bearer = operation
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_sequence)
        .is_some_and(|requirements| {
            !requirements.is_empty()
                && requirements.iter().all(|requirement| {
                    requirement.as_mapping().is_some_and(|names| {
                        !names.is_empty()
                            && names.keys().all(|name| {
                                let scheme = name.as_str().and_then(|n| {
                                    doc.get("components")?.get("securitySchemes")?.get(n)
                                });
                                scheme.is_some_and(|s| {
                                    let s = resolve(doc, s);
                                    s.get("type").and_then(Value::as_str) == Some("http")
                                        && s.get("scheme")
                                            .and_then(Value::as_str)
                                            .is_some_and(|v| v.eq_ignore_ascii_case("bearer"))
                                })
                            })
                    })
                })
        });
    if !bearer {
        problems.push(format!("{label}: security is not HTTP bearer"));
    }

    let Some(responses) = operation.get("responses") else {
        problems.push(format!("{label}: no responses"));
        return problems;
    };
    let json_schema = |status: &str| {
        let response = resolve(doc, responses.get(status)?);
        response
            .get("content")?
            .get("application/json")?
            .get("schema")
            .map(|schema| (response, schema))
    };
    if json_schema("200").is_none() {
        problems.push(format!("{label}: no application/json 200 response"));
    }
    for (status, message) in error_statuses() {
        let Some((response, schema)) = json_schema(&status) else {
            problems.push(format!(
                "{label}: {status} is not documented with an application/json body"
            ));
            continue;
        };
        if !is_error_envelope(doc, schema) {
            problems.push(format!("{label}: {status} is not the error envelope"));
        }
        if let Some(message) = message {
            let pinned = pinned_message(doc, schema);
            if pinned.as_deref() != Some(message.as_str()) {
                problems.push(format!(
                    "{label}: {status} should pin the message {message:?}, has {pinned:?}"
                ));
            }
        }
        for &(header_name, schema_type) in required_headers(&status) {
            let header = response.get("headers").and_then(|h| {
                h.as_mapping()?
                    .iter()
                    .find(|(name, _)| {
                        name.as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(header_name))
                    })
                    .map(|(_, header)| resolve(doc, header))
            });
            let required = header
                .and_then(|h| h.get("required"))
                .and_then(Value::as_bool);
            let schema = header
                .and_then(|h| h.get("schema"))
                .map(|s| resolve(doc, s));
            let typed = schema.and_then(|s| s.get("type")).and_then(Value::as_str);
            if required != Some(true) || typed != Some(schema_type) {
                problems.push(format!(
                    "{label}: {status} must document a required {header_name} header of type \
                     {schema_type}"
                ));
            }
            // Whole seconds, at least one: never "retry at once".
            let minimum = schema
                .and_then(|s| s.get("minimum"))
                .and_then(Value::as_u64);
            if header_name == "Retry-After" && minimum.is_none_or(|m| m < 1) {
                problems.push(format!(
                    "{label}: {status}'s Retry-After must be at least 1"
                ));
            }
        }
    }
    problems
}

/// The headers (name, schema type) the contract requires on responses of `status`.
fn required_headers(status: &str) -> &'static [(&'static str, &'static str)] {
    match status {
        "405" => &[("Allow", "string")],
        "429" => &[("Retry-After", "integer")],
        _ => &[],
    }
}

#[test]
fn every_route_of_the_template_is_an_operation_of_the_document_and_back() {
    let template = template_routes(&load("template.yaml"));
    let openapi = openapi_operations(&load("openapi.yaml"));
    assert!(
        template.len() >= 8,
        "template.yaml should route the eight operations of the contract: {template:?}"
    );
    let problems = differences(&template, &openapi);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_route_in_one_file_only_is_reported() {
    let mut template = load("template.yaml");
    let openapi = openapi_operations(&load("openapi.yaml"));
    let extra: Value = serde_yaml_ng::from_str(
        "Type: Api\nProperties:\n  Path: /v1/contact/{contact_id}\n  Method: patch\n",
    )
    .unwrap();
    let events = template["Resources"]["GetContactFunction"]["Properties"]["Events"]
        .as_mapping_mut()
        .expect("GetContactFunction has events");
    events.insert(Value::from("Patch"), extra);
    assert_eq!(
        differences(&template_routes(&template), &openapi),
        vec![
            "PATCH /v1/contact/{contact_id} is a route in template.yaml but not an operation \
             in openapi.yaml"
        ]
    );

    let template = template_routes(&load("template.yaml"));
    let mut document = load("openapi.yaml");
    let item = document["paths"]["/v1/contact"]
        .as_mapping_mut()
        .expect("/v1/contact is a path item");
    item.insert(Value::from("patch"), Value::Mapping(Default::default()));
    assert_eq!(
        differences(&template, &openapi_operations(&document)),
        vec!["PATCH /v1/contact is an operation in openapi.yaml but no route in template.yaml"]
    );
}

#[test]
fn every_operation_documents_bearer_auth_and_the_error_envelope_of_each_status() {
    let doc = load("openapi.yaml");
    let operations = openapi_operations(&doc);
    assert!(!operations.is_empty());
    let problems: Vec<String> = operations
        .iter()
        .flat_map(|(method, path)| operation_problems(&doc, method, path))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_missing_error_status_is_reported() {
    let mut doc = load("openapi.yaml");
    doc["paths"]["/v1/contact/{contact_id}"]["get"]["responses"]
        .as_mapping_mut()
        .expect("responses")
        .remove("403");
    assert_eq!(
        operation_problems(&doc, "GET", "/v1/contact/{contact_id}"),
        vec!["GET /v1/contact/{contact_id}: 403 is not documented with an application/json body"]
    );
}

#[test]
fn a_429_without_retry_after_is_reported() {
    let mut doc = load("openapi.yaml");
    doc["components"]["responses"]["TooManyRequests"]
        .as_mapping_mut()
        .expect("the TooManyRequests response")
        .remove("headers");
    let problems = operation_problems(&doc, "GET", "/v1/contact/{contact_id}");
    assert_eq!(
        problems,
        vec![
            "GET /v1/contact/{contact_id}: 429 must document a required Retry-After header of \
             type integer",
            "GET /v1/contact/{contact_id}: 429's Retry-After must be at least 1",
        ]
    );
}

#[test]
fn the_document_is_openapi_3_1_with_the_contracts_servers() {
    let doc = load("openapi.yaml");
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    assert!(version.starts_with("3.1."), "openapi: {version}");
    let servers: Vec<&str> = doc["servers"]
        .as_sequence()
        .expect("servers")
        .iter()
        .filter_map(|s| s.get("url").and_then(Value::as_str))
        .collect();
    assert_eq!(
        servers,
        vec!["http://127.0.0.1:3000/api", "https://{host}/api"]
    );
    let create = &doc["paths"]["/v1/contact"]["post"];
    let idempotency = create["parameters"]
        .as_sequence()
        .expect("POST /v1/contact has parameters")
        .iter()
        .map(|p| resolve(&doc, p))
        .find(|p| p.get("name").and_then(Value::as_str) == Some("Idempotency-Key"))
        .expect("POST /v1/contact documents Idempotency-Key");
    assert_eq!(idempotency["in"].as_str(), Some("header"));
    assert_eq!(idempotency["required"].as_bool(), Some(false));
    assert_eq!(idempotency["schema"]["maxLength"].as_u64(), Some(255));
}
