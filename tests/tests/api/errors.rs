//! Every row of the contract's error table that the gateway or a function produces.

use contacts_shared::ChannelType;
use contacts_tests::{runtime, Method};
use serde_json::json;

use crate::{assert_consistent, assert_error, create, stack};

const INVALID_TOKEN: &str = "API Token is invalid.";

#[test]
fn tokens_missing_malformed_unknown_or_revoked_get_401() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Facebook);
    let url = format!("{}/v1/contact/anything", s.base);
    let with_header = |value: &str| {
        contacts_tests::reply(
            s.client
                .get(&url)
                .header("Authorization", value)
                .send()
                .unwrap(),
        )
    };
    assert_error(
        &contacts_tests::reply(s.client.get(&url).send().unwrap()),
        401,
        INVALID_TOKEN,
    );
    for value in [
        "",
        "Basic dXNlcjpwYXNz",
        &format!("Token {token}"),
        &token,
        "Bearer",
        "Bearer ct_unknown",
    ] {
        assert_error(&with_header(value), 401, INVALID_TOKEN);
    }
    // The scheme word is case-insensitive.
    assert_eq!(with_header(&format!("bearer {token}")).status, 403);
    assert_eq!(with_header(&format!("BEARER {token}")).status, 403);

    // A revoked token (never used before, so no authorizer cache holds it).
    let second = runtime().block_on(s.store.issue_token(&channel)).unwrap();
    runtime().block_on(s.store.revoke_token(&second)).unwrap();
    assert_error(
        &with_header(&format!("Bearer {second}")),
        401,
        INVALID_TOKEN,
    );
    // The channel's other token still works.
    assert_eq!(with_header(&format!("Bearer {token}")).status, 403);
}

#[test]
fn unknown_routes_get_404() {
    let s = stack();
    let (_, token) = s.channel(ChannelType::Facebook);
    for path in [
        "/v1/nothing",
        "/v2/contact",
        "/v1/contact/a/b/c",
        "/v1/contact/a/tags/x",
        "/",
        "/v1",
    ] {
        assert_error(
            &s.call(Method::GET, path, Some(&token), None),
            404,
            "404 Not Found.",
        );
    }
    let outside = contacts_tests::reply(
        s.client
            .get(s.base.replace("/api", "/v1/contact/x"))
            .send()
            .unwrap(),
    );
    assert_error(&outside, 404, "404 Not Found.");
}

#[test]
fn wrong_methods_get_405_with_allow_before_authentication() {
    let s = stack();
    let cases = [
        (Method::PATCH, "/v1/contact", "POST, GET"),
        (Method::DELETE, "/v1/contact/", "POST, GET"),
        (Method::PATCH, "/v1/contact/123", "GET, PUT, DELETE"),
        (Method::POST, "/v1/contact/123", "GET, PUT, DELETE"),
        (Method::POST, "/v1/contact/by_custom_field", "GET, PUT"),
        (Method::GET, "/v1/contact/123/tags", "POST, DELETE"),
        (Method::OPTIONS, "/v1/contact/123/tags", "POST, DELETE"),
    ];
    for (method, path, allow) in cases {
        // No token at all: 405 comes before authentication.
        let reply = s.call(method.clone(), path, None, None);
        assert_error(&reply, 405, "405 Method Not Allowed.");
        assert_eq!(
            reply.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
}

#[test]
fn malformed_bodies_get_403_naming_the_problem() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Gmail);
    let id = create(&token, &[("firstName", json!("B"))]);
    let contact = format!("/v1/contact/{id}");
    let tags = format!("/v1/contact/{id}/tags");
    let cases: [(&str, &str, &str); 8] = [
        (
            "/v1/contact",
            "{",
            "Request body is not valid JSON: EOF while parsing an object at line 1 column 1.",
        ),
        (
            "/v1/contact",
            "",
            "Request body is required: send a JSON object.",
        ),
        ("/v1/contact", "[1]", "Request body must be a JSON object."),
        (
            "/v1/contact",
            r#"{"custom_fields":"x"}"#,
            r#"'custom_fields' must be an array of {"name": ..., "value": ...} objects."#,
        ),
        (
            "/v1/contact",
            r#"{"custom_fields":[]}"#,
            "At least one custom field is required.",
        ),
        (
            &contact,
            r#"{"fields":[]}"#,
            r#"'custom_fields' is required: an array of {"name": ..., "value": ...} objects."#,
        ),
        (
            &tags,
            r#"{"tags":"x"}"#,
            "'tags' must be an array of strings.",
        ),
        (&tags, r#"{"tags":[""]}"#, "tags[0] must not be empty."),
    ];
    for (path, body, message) in cases {
        let method = if path == contact {
            Method::PUT
        } else {
            Method::POST
        };
        assert_error(
            &s.call(method, path, Some(&token), Some(body)),
            403,
            message,
        );
    }
    let huge = format!(
        r#"{{"custom_fields":[{{"name":"firstName","value":"{}"}}]}}"#,
        "x".repeat(70_000)
    );
    assert_error(
        &s.call(Method::POST, "/v1/contact", Some(&token), Some(&huge)),
        403,
        "Request body is too large (maximum 65536 bytes).",
    );
    assert_consistent(&channel);
}

#[test]
fn bodies_are_json_whatever_the_content_type_says() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Custom);
    let body = r#"{"custom_fields":[{"name":"firstName","value":"NoType"}]}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = s
            .client
            .post(format!("{}/v1/contact", s.base))
            .header("Authorization", format!("Bearer {token}"));
        if let Some(t) = content_type {
            request = request.header("Content-Type", t);
        }
        let reply = contacts_tests::reply(request.body(body).send().unwrap());
        assert_eq!(reply.status, 200, "{content_type:?}: {}", reply.text);
    }
    assert_consistent(&channel);
}
