//! What the gateway decides before any function runs: identities that are ambiguous.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use contacts_shared::ChannelType;
use contacts_tests::{envelope, Method, Stack};
use serde_json::Value;

use crate::{assert_error, stack};

/// A call that gets past the authorizer and the usage plan (the contact does not exist).
const PASSES: (u16, &str) = (403, "There is no such contact.");

fn get_someone(s: &Stack, token: &str) -> contacts_tests::Reply {
    s.call(Method::GET, "/v1/contact/someone", Some(token), None)
}

/// `GET path` with these `Authorization` header lines, sent as raw HTTP so that each is a
/// header of its own; returns (status, body as JSON).
fn get_with_authorizations(s: &Stack, path: &str, authorizations: &[&str]) -> (u16, Value) {
    let host = s
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/api");
    let mut request = format!("GET /api{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for value in authorizations {
        request.push_str(&format!("Authorization: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(host).expect("connect to the gateway");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn two_authorization_headers_are_refused_in_either_order_cached_or_not() {
    let s = stack();
    let (_, token) = s.channel(ChannelType::Facebook);
    let real = format!("Bearer {token}");
    let orders = [
        ["Bearer garbage", real.as_str()],
        [real.as_str(), "Bearer garbage"],
        [real.as_str(), real.as_str()],
    ];
    // First with nothing cached for the token, then with its authorization cached.
    for round in 0..3 {
        if round > 0 {
            assert_error(&get_someone(s, &token), PASSES.0, PASSES.1);
        }
        for order in &orders {
            let (status, body) = get_with_authorizations(s, "/v1/contact/someone", order);
            assert_eq!(
                (status, body),
                (401, envelope("API Token is invalid.")),
                "round {round}, Authorization {order:?}"
            );
        }
    }
    // The raw requests are what the test means: one header alone gets through.
    let (status, body) = get_with_authorizations(s, "/v1/contact/someone", &[&real]);
    assert_eq!((status, body), (PASSES.0, envelope(PASSES.1)));
}
