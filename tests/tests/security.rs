//! Security: tokens never reach logs at any level, a revoked token is refused once the
//! authorizer cache expires, and responses never carry internals. (That another
//! channel's token sees nothing is in api/isolation.rs.)

use std::time::Duration;

use contacts_shared::env::{AWS_LAMBDA_LOG_LEVEL, RUST_LOG};
use contacts_shared::ChannelType;
use contacts_tests::{
    assert_consistent, create_channel, dynamodb_endpoint, envelope, runtime, Method, Reply, Stack,
};

/// The authorizer cache TTL of this test's gateway (the template says 300 s).
const TTL_SECONDS: u64 = 2;

#[test]
fn tokens_stay_out_of_logs_and_revoked_tokens_die_with_the_cache() {
    // Every function at TRACE, the most any operator could set.
    let stack = Stack::start_with(
        dynamodb_endpoint(),
        &[(AWS_LAMBDA_LOG_LEVEL, "trace"), (RUST_LOG, "trace")],
        &["--authorizer-ttl", &TTL_SECONDS.to_string()],
    );
    let (channel, token) = create_channel(&stack.store, ChannelType::Facebook, None);
    let second = runtime()
        .block_on(stack.store.issue_token(&channel))
        .unwrap();
    let unknown = "ct_ThisTokenWasNeverIssuedButLooksLikeOne0000000";
    let mut replies: Vec<Reply> = Vec::new();
    // Every endpoint, successes and failures, with each token.
    let created = stack.call(
        Method::POST,
        "/v1/contact",
        Some(&token),
        Some(r#"{"custom_fields":[{"name":"firstName","value":"Secret"}]}"#),
    );
    let id = created.json["data"]["id"].as_str().unwrap().to_string();
    replies.push(created);
    let mut call = |method: Method, path: &str, token: &str, body: Option<&str>| {
        let reply = stack.call(method, path, Some(token), body);
        let status = reply.status;
        replies.push(reply);
        status
    };

    assert_eq!(
        call(Method::GET, &format!("/v1/contact/{id}"), &token, None),
        200
    );
    assert_eq!(
        call(
            Method::PUT,
            &format!("/v1/contact/{id}"),
            &token,
            Some(r#"{"custom_fields":[{"name":"lastName","value":"Kept"}]}"#)
        ),
        200
    );
    assert_eq!(
        call(
            Method::POST,
            &format!("/v1/contact/{id}/tags"),
            &token,
            Some(r#"{"tags":["a"]}"#)
        ),
        200
    );
    assert_eq!(
        call(
            Method::DELETE,
            &format!("/v1/contact/{id}/tags"),
            &token,
            Some(r#"{"tags":["a"]}"#)
        ),
        200
    );
    assert_eq!(
        call(
            Method::GET,
            "/v1/contact/by_custom_field?name=firstName&value=Secret",
            &token,
            None
        ),
        200
    );
    assert_eq!(
        call(Method::POST, "/v1/contact", &token, Some("{broken")),
        403
    );
    assert_eq!(call(Method::GET, "/v1/contact/nobody", &token, None), 403);
    assert_eq!(call(Method::GET, "/v1/contact/nobody", unknown, None), 401);

    // Revocation: the gateway's cached answer outlives it for the TTL, then it is refused.
    assert_eq!(call(Method::GET, "/v1/contact/nobody", &second, None), 403);
    runtime()
        .block_on(stack.store.revoke_token(&second))
        .unwrap();
    assert_eq!(
        call(Method::GET, "/v1/contact/nobody", &second, None),
        403,
        "cached within the TTL, as on AWS"
    );
    std::thread::sleep(Duration::from_secs(TTL_SECONDS) + Duration::from_millis(500));
    let refused = stack.call(Method::GET, "/v1/contact/nobody", Some(&second), None);
    assert_eq!(
        (refused.status, refused.json.clone()),
        (401, envelope("API Token is invalid."))
    );
    assert_eq!(
        call(Method::GET, "/v1/contact/nobody", &token, None),
        403,
        "the channel's other token lives on"
    );

    // Responses never carry internals.
    let tokens = [token.as_str(), second.as_str()];
    let leaks = contacts_tests::INTERNALS.iter().copied().chain(tokens);
    for reply in &replies {
        for leak in leaks.clone() {
            assert!(
                !reply.text.contains(leak),
                "a response carries {leak:?}: {}",
                reply.text
            );
        }
        assert!(
            reply.json.is_object(),
            "every response is JSON: {}",
            reply.text
        );
    }

    // Logs: plenty was written at TRACE, and no token is in it.
    std::thread::sleep(Duration::from_millis(500));
    let logs: String = stack
        .logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(
        logs.lines().filter(|l| l.contains("TRACE")).count() > 10,
        "TRACE logging was on: {} bytes of logs",
        logs.len()
    );
    assert!(logs.contains(&id), "the logs saw the requests");
    for secret in [token.as_str(), second.as_str(), unknown] {
        assert!(!logs.contains(secret), "a token reached the logs");
        // Not even its random part, in case something trimmed the prefix.
        assert!(!logs.contains(&secret[3..]), "a token reached the logs");
    }
    assert_consistent(&stack.store, &channel);
}
