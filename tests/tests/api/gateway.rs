//! What the gateway decides before any function runs: the usage plan's API key, checked on
//! every call whatever the authorizer cache holds, and identities that are ambiguous.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use contacts_shared::store::dynamo::keys;
use contacts_shared::ChannelType;
use contacts_tests::{envelope, runtime, Method, Stack};
use serde_json::{json, Value};

use crate::{assert_error, fields_body, stack};

/// A call that gets past the authorizer and the usage plan (the contact does not exist).
const PASSES: (u16, &str) = (403, "There is no such contact.");
const REFUSED: (u16, &str) = (401, "API Token is invalid.");

fn get_someone(s: &Stack, token: &str) -> contacts_tests::Reply {
    s.call(Method::GET, "/v1/contact/someone", Some(token), None)
}

/// How many items the channel's partition holds (its contacts, and the channel item).
fn items_of_channel(s: &Stack, channel: &str) -> usize {
    runtime().block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(contacts_tests::dynamodb_endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "local",
            ))
            .load()
            .await;
        let out = aws_sdk_dynamodb::Client::new(&config)
            .query()
            .table_name(s.store.table())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(keys::channel_pk(channel)),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("query the channel's partition");
        out.items().len()
    })
}

#[test]
fn a_deleted_channels_token_is_refused_at_once_though_its_authorization_is_cached() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Facebook);
    // Used twice: the second call is answered from the gateway's authorizer cache.
    for _ in 0..2 {
        assert_error(&get_someone(s, &token), PASSES.0, PASSES.1);
    }

    runtime()
        .block_on(
            s.store
                .delete_channel(&channel, std::time::Duration::ZERO, &mut |_| {}),
        )
        .expect("delete the channel");
    let create = s.call(
        Method::POST,
        "/v1/contact",
        Some(&token),
        Some(&fields_body(&[("firstName", json!("Ghost"))])),
    );
    assert_error(&create, REFUSED.0, REFUSED.1);
    assert_eq!(create.json, envelope("API Token is invalid."));
    assert_eq!(items_of_channel(s, &channel), 0, "the create wrote nothing");
    assert_error(&get_someone(s, &token), REFUSED.0, REFUSED.1);
}

#[test]
fn the_admin_tools_channel_delete_stops_its_tokens_at_once() {
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Whatsapp);
    assert_error(&get_someone(s, &token), PASSES.0, PASSES.1);
    contacts_tests::AdminCli::for_table(s.store.table()).ok(&[
        "channel",
        "delete",
        "--channel",
        &channel,
    ]);
    assert_error(&get_someone(s, &token), REFUSED.0, REFUSED.1);
}

#[test]
fn revoking_a_channels_last_token_takes_its_key_and_a_new_token_brings_it_back() {
    let s = stack();
    let (channel, first) = s.channel(ChannelType::Facebook);
    let second = runtime().block_on(s.store.issue_token(&channel)).unwrap();
    for token in [&first, &second] {
        assert_error(&get_someone(s, token), PASSES.0, PASSES.1);
    }
    // One of two revoked: the key stays, and the other token works on.
    runtime().block_on(s.store.revoke_token(&first)).unwrap();
    assert_error(&get_someone(s, &second), PASSES.0, PASSES.1);
    // The last one: its key goes with it, and its cached authorization is no good.
    runtime().block_on(s.store.revoke_token(&second)).unwrap();
    assert_error(&get_someone(s, &second), REFUSED.0, REFUSED.1);
    let third = runtime().block_on(s.store.issue_token(&channel)).unwrap();
    assert_error(&get_someone(s, &third), PASSES.0, PASSES.1);
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

/// SAM's transform makes a stage named "Stage" beside `StageName` when the API sets no
/// `OpenApiVersion` (the template test shows the template sets it). The local gateway reads
/// the template as SAM does: on such a template it serves that stage too, where no usage
/// plan holds any key, so only the responder's open routes answer; on the product's own
/// template there is no such stage.
#[test]
fn the_stage_sam_makes_without_open_api_version_takes_no_token() {
    let s = stack();
    let (_, token) = s.channel(ChannelType::Facebook);
    let dir = contacts_tests::log_dir().join(format!("no-openapi-version-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let product =
        std::fs::read_to_string(contacts_tests::repo_root().join("template.yaml")).unwrap();
    let setting = "      OpenApiVersion: \"3.0.1\"\n";
    assert!(product.contains(setting));
    let template = dir.join("template.yaml");
    std::fs::write(&template, product.replace(setting, "")).unwrap();
    let without = s.extra_gateway(&template, &[]);
    let root = without.strip_suffix("/api").expect("a base URL under /api");
    let client = reqwest::blocking::Client::new();
    let get = |url: String| {
        let reply = client
            .get(url)
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json::<Value>().unwrap())
    };
    assert_eq!(get(format!("{without}/v1/contact/someone")).0, PASSES.0);
    assert_eq!(
        get(format!("{root}/Stage/v1/contact/someone")),
        (REFUSED.0, envelope(REFUSED.1))
    );
    let open = client
        .patch(format!("{root}/Stage/v1/contact"))
        .send()
        .unwrap();
    assert_eq!(open.status().as_u16(), 405, "the responder answers there");

    let product_root = s.base.strip_suffix("/api").expect("a base URL under /api");
    let (status, body) = get(format!("{product_root}/Stage/v1/contact/someone"));
    assert_eq!((status, body), (404, envelope("404 Not Found.")));
    let _ = std::fs::remove_dir_all(dir);
}
