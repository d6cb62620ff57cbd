//! Faults: DynamoDB stopped in the middle of a stream of requests and started again, and
//! DynamoDB throttling. Requests fail fast with 503 while storage is away, succeed again
//! once it is back (same functions, no restart), and nothing acknowledged is lost.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contacts_shared::limits::FUNCTION_TIMEOUT_SECONDS;
use contacts_shared::store::{ContactStore, StoreError};
use contacts_shared::{ApiError, ChannelType, DynamoStore};
use contacts_tests::{
    assert_consistent, create_channel, dynamo_local, envelope, runtime, Method, Reply, Stack,
};
use serde_json::json;

/// The functions' timeout in template.yaml: no request may hang past it.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(FUNCTION_TIMEOUT_SECONDS);

fn create(stack: &Stack, token: &str, n: usize) -> (Reply, Duration) {
    let body = json!({"custom_fields": [{"name": "lastName", "value": format!("stream-{n}")}]})
        .to_string();
    let started = Instant::now();
    let reply = stack.call(Method::POST, "/v1/contact", Some(token), Some(&body));
    (reply, started.elapsed())
}

#[test]
fn storage_down_then_back_loses_nothing_acknowledged() {
    let data = std::env::temp_dir().join(format!("ddb-faults-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let mut dynamo = dynamo_local(Some(data.clone()));
    let stack = Stack::start_on(&dynamo.endpoint());
    let (channel, token) = create_channel(&stack.store, ChannelType::Facebook, None);

    let mut acknowledged = Vec::new();
    let mut n = 0;
    let send = |stack: &Stack, n: &mut usize| {
        *n += 1;
        create(stack, &token, *n)
    };
    // Storage up: every create is acknowledged.
    for _ in 0..10 {
        let (reply, _) = send(&stack, &mut n);
        assert_eq!(reply.status, 200, "{}", reply.text);
        acknowledged.push(reply.json["data"]["id"].as_str().unwrap().to_string());
    }

    // Storage down: every request gets the 503 envelope, well inside the function timeout.
    dynamo.stop();
    for _ in 0..5 {
        let (reply, took) = send(&stack, &mut n);
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.json, envelope("Service temporarily unavailable."));
        assert!(took < FUNCTION_TIMEOUT, "a request hung for {took:?}");
    }
    let get = stack.call(
        Method::GET,
        &format!("/v1/contact/{}", acknowledged[0]),
        Some(&token),
        None,
    );
    assert_eq!(
        (get.status, get.json.clone()),
        (503, envelope("Service temporarily unavailable."))
    );

    // Storage back: the same functions succeed again (the first calls may still meet
    // connections that died with the old process).
    dynamo.restart().expect("DynamoDB Local starts again");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (reply, _) = send(&stack, &mut n);
        if reply.status == 200 {
            acknowledged.push(reply.json["data"]["id"].as_str().unwrap().to_string());
            break;
        }
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert!(
            Instant::now() < deadline,
            "requests did not succeed again after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for _ in 0..5 {
        let (reply, _) = send(&stack, &mut n);
        assert_eq!(reply.status, 200, "{}", reply.text);
        acknowledged.push(reply.json["data"]["id"].as_str().unwrap().to_string());
    }

    // Nothing acknowledged with 200 is missing.
    for id in &acknowledged {
        let found = runtime()
            .block_on(stack.store.get_contact(&channel, id))
            .unwrap();
        assert!(found.is_some(), "contact {id} was acknowledged but is gone");
    }
    assert_consistent(&stack.store, &channel);
    dynamo.stop();
    let _ = std::fs::remove_dir_all(&data);
}

/// A DynamoDB endpoint that answers every call with `code`, as a throttled table does.
fn refusing_endpoint(code: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let payload = format!(
                        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"Rate of requests exceeds the allowed throughput."}}"#
                    );
                    let response = format!(
                        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: fault\r\nContent-Length: {}\r\n\r\n{payload}",
                        payload.len()
                    );
                    if stream.write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, calls)
}

#[test]
fn throttling_is_retried_then_reported_as_503() {
    for code in [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    ] {
        let (endpoint, calls) = refusing_endpoint(code);
        let store = runtime().block_on(DynamoStore::connect(Some(&endpoint), "contacts"));
        let started = Instant::now();
        let err = runtime()
            .block_on(store.get_contact("ch", "c"))
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{code}: {err:?}");
        assert!(
            calls.load(Ordering::SeqCst) >= 3,
            "{code}: retried ({} calls)",
            calls.load(Ordering::SeqCst)
        );
        assert!(
            started.elapsed() < FUNCTION_TIMEOUT,
            "{code}: bounded backoff"
        );
        let api: ApiError = err.into();
        assert_eq!(
            (api.status(), api.message()),
            (503, "Service temporarily unavailable."),
            "{code}"
        );
    }
}
