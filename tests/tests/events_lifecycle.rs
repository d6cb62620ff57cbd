//! Change events beside a bulk import, and across the sealing key's life: a quiet
//! channel's event is not queued behind another channel's burst; a key rotation under a
//! steady stream of deliveries fails none and is finished by running it again after an
//! interruption; a stack re-created on a retained table, given the earlier stack's key,
//! delivers to the subscriptions it holds, and given another key, `check` reports them;
//! a replay turns the stream failure queue's batches back into the same events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use contacts_shared::env;
use contacts_shared::webhooks::keyring::KeySecret;
use contacts_shared::webhooks::replay;
use contacts_shared::webhooks::seal::key_id;
use contacts_shared::ChannelType;
use contacts_tests::{dynamodb_endpoint, runtime, Method, Stack};
use local_stack::receiver::Receiver;
use serde_json::{json, Value};

/// Long enough for anything the stack does; a test never waits for it unless it fails.
const PATIENCE: Duration = Duration::from_secs(180);

fn stack() -> &'static Stack {
    Stack::own()
}

fn alone() -> std::sync::MutexGuard<'static, ()> {
    contacts_tests::one_at_a_time()
}

fn subscribe(s: &Stack, channel: &str, receiver: &Receiver) -> String {
    let added = s.admin().ok(&[
        "webhook",
        "add",
        "--channel",
        channel,
        "--url",
        &receiver.url(),
        "--events",
        "contact.created",
    ]);
    added["webhook_id"].as_str().expect("an id").to_string()
}

/// Creates a contact named `name` on the token's channel; when the API answered.
fn create(s: &Stack, token: &str, name: &str) -> Instant {
    let reply = s.call(
        Method::POST,
        "/v1/contact",
        Some(token),
        Some(&json!({"custom_fields": [{"name": "firstName", "value": name}]}).to_string()),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    Instant::now()
}

/// When the event of the contact named `name` arrived at `receiver`.
fn arrival(receiver: &Receiver, name: &str) -> Instant {
    let received = receiver.wait_until(PATIENCE, |r| r.iter().any(|r| r.body.contains(name)));
    received
        .iter()
        .find(|r| r.body.contains(name))
        .unwrap_or_else(|| panic!("the event of {name} never arrived"))
        .at
}

#[test]
fn a_quiet_channels_event_is_not_queued_behind_another_channels_burst() {
    let _alone = alone();
    let s = stack();
    let (loud, _) = s.channel(ChannelType::Facebook);
    let (quiet, quiet_token) = s.channel(ChannelType::Facebook);
    let (loud_receiver, quiet_receiver) = (Receiver::start().unwrap(), Receiver::start().unwrap());
    subscribe(s, &loud, &loud_receiver);
    subscribe(s, &quiet, &quiet_receiver);
    const BURST: usize = 2_000;
    let lines: String = (0..BURST)
        .map(|i| json!({"custom_fields": {"firstName": format!("Loud {i}")}}).to_string() + "\n")
        .collect();
    let imported = s.admin().run_with_stdin(
        &["contact", "import", "--channel", &loud, "--file", "-"],
        &lines,
    );
    assert!(imported.status.success());
    // The burst is under way: its first deliveries arrive.
    loud_receiver.wait_until(PATIENCE, |r| !r.is_empty());
    let written = create(s, &quiet_token, "Quiet one");
    let quiet_at = arrival(&quiet_receiver, "Quiet one");
    let all_loud = loud_receiver.wait_until(PATIENCE, |r| r.len() >= BURST);
    assert!(
        all_loud.len() >= BURST,
        "{} of the burst arrived",
        all_loud.len()
    );
    let last_loud = all_loud.iter().map(|r| r.at).max().unwrap();
    let waited = quiet_at.saturating_duration_since(written);
    eprintln!(
        "the quiet channel's event: {waited:?} after its write; the burst's last: {:?} after it",
        last_loud.saturating_duration_since(written)
    );
    assert!(
        quiet_at < last_loud,
        "the quiet channel's event came after the whole burst ({waited:?})"
    );
    // The bound, with slack for a loaded machine: the stream's polling, one batch of the
    // stream function, the queue's polling, the delivery (see docs/webhooks.md).
    assert!(waited < Duration::from_secs(20), "{waited:?}");
}

#[test]
fn a_key_rotation_under_deliveries_fails_none_and_finishes_when_run_again() {
    let _alone = alone();
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Facebook);
    let receiver = Receiver::start().unwrap();
    let webhook = subscribe(s, &channel, &receiver);
    let secret = runtime().block_on(KeySecret::connect(
        &s.sealing_key_secret,
        Some(&s.secrets_endpoint),
    ));
    let sealed = || {
        runtime()
            .block_on(s.store.webhook(&channel, &webhook))
            .unwrap()
            .unwrap()
            .sealed_secret
    };
    let first = key_id(&sealed()).unwrap().to_string();

    // Contacts created all along, five a second.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, token) = (stop.clone(), token.clone());
        std::thread::spawn(move || {
            let mut names = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let name = format!("During {}", names.len());
                create(stack(), &token, &name);
                names.push(name);
                std::thread::sleep(Duration::from_millis(200));
            }
            names
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    let rotated = s.admin().ok(&["webhook", "rotate-key"]);
    let second = rotated["key"].as_str().unwrap().to_string();
    assert_ne!(second, first, "{rotated}");
    assert_eq!(rotated["unopenable"], json!([]), "{rotated}");
    assert!(rotated["resealed"].as_u64().unwrap() >= 1, "{rotated}");
    assert_eq!(key_id(&sealed()), Some(second.as_str()));

    // Interrupted after the new key was made current, before any secret was re-sealed:
    // run again, it re-seals with that key rather than making another.
    let third_key = format!("{}-{}", s.sealing_key, "interrupted-rotation");
    runtime().block_on(secret.put(&third_key)).unwrap();
    let third = runtime()
        .block_on(secret.keys())
        .unwrap()
        .current()
        .id()
        .to_string();
    assert_eq!(
        key_id(&sealed()),
        Some(second.as_str()),
        "not re-sealed yet"
    );
    std::thread::sleep(Duration::from_secs(3));
    let finished = s.admin().ok(&["webhook", "rotate-key"]);
    assert_eq!(finished["key"], json!(third), "{finished}");
    assert_eq!(key_id(&sealed()), Some(third.as_str()));
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let names = writer.join().unwrap();

    for name in &names {
        arrival(&receiver, name);
    }
    let log = s.log_once("functions", |_| true);
    assert!(
        !log.contains("delivery failed"),
        "a delivery failed during the rotation"
    );
    let report = s.admin().ok(&["check", "--channel", &channel]);
    assert_eq!(report["unopenable_webhooks"], json!([]), "{report}");
    assert_eq!(report["consistent"], true, "{report}");
}

#[test]
fn a_stack_re_created_on_its_table_delivers_with_the_old_key_and_check_reports_another() {
    let _alone = alone();
    let endpoint = dynamodb_endpoint();
    let table = contacts_tests::fresh_store_on(endpoint);
    let receiver = Receiver::start().unwrap();
    let (channel, token, key) = {
        let first = Stack::start_keeping(table.clone(), endpoint, &[], &[], &[]);
        let (channel, token) = first.channel(ChannelType::Telegram);
        subscribe(&first, &channel, &receiver);
        create(&first, &token, "Before");
        arrival(&receiver, "Before");
        (channel, token, first.sealing_key.clone())
    };

    // Given the earlier stack's key (as SealingKeySecretArn gives it on AWS).
    {
        let again = Stack::start_keeping(
            table.clone(),
            endpoint,
            &[],
            &[],
            std::slice::from_ref(&key),
        );
        create(&again, &token, "After");
        arrival(&receiver, "After");
        let report = again.admin().ok(&["check", "--channel", &channel]);
        assert_eq!(report["unopenable_webhooks"], json!([]), "{report}");
    }

    // Given another key: nothing opens the stored secret, and check says so.
    let other = Stack::start_keeping(table, endpoint, &[], &[], &[]);
    assert_ne!(other.sealing_key, key);
    let out = other.admin().run(&["check", "--channel", &channel]);
    assert!(
        !out.status.success(),
        "an unopenable secret fails the check"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["unopenable_webhooks"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("remove those webhooks"));
}

/// The stream's record of the creation of the contact named `name` of `channel`: the
/// stream, its shard and the record's sequence number.
fn creation_record(s: &Stack, channel: &str, name: &str) -> (String, String, String) {
    let tables = contacts_tests::raw_client();
    runtime().block_on(async {
        let arn = tables
            .describe_table()
            .table_name(s.store.table())
            .send()
            .await
            .unwrap()
            .table()
            .and_then(|t| t.latest_stream_arn())
            .unwrap()
            .to_string();
        let streams = replay::stream_client(Some(&s.dynamodb_endpoint)).await;
        let shards = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .unwrap()
            .stream_description()
            .unwrap()
            .shards()
            .to_vec();
        for shard in shards {
            let shard = shard.shard_id().unwrap().to_string();
            let mut iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(&shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator()
                .map(str::to_string);
            while let Some(current) = iterator.take() {
                let out = streams
                    .get_records()
                    .shard_iterator(current)
                    .send()
                    .await
                    .unwrap();
                for record in out.records() {
                    let change = replay::change_of(record).unwrap();
                    let pk = change.keys.get("PK").and_then(|v| v.as_s().ok());
                    let named = change
                        .new
                        .get("f")
                        .and_then(|f| f.as_m().ok())
                        .and_then(|f| f.get("firstName"))
                        .and_then(|v| v.as_s().ok());
                    if change.old.is_empty()
                        && pk.is_some_and(|pk| *pk == format!("CH#{channel}"))
                        && named.is_some_and(|n| n == name)
                    {
                        return (arn, shard, change.sequence_number.unwrap());
                    }
                }
                if out.records().is_empty() {
                    break;
                }
                iterator = out.next_shard_iterator().map(str::to_string);
            }
        }
        panic!("no stream record of {name}");
    })
}

fn failure_record(arn: &str, shard: &str, start: &str, end: &str) -> String {
    json!({
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "DDBStreamBatchInfo": {
            "shardId": shard, "startSequenceNumber": start, "endSequenceNumber": end,
            "batchSize": 1, "streamArn": arn
        }
    })
    .to_string()
}

#[test]
fn a_replay_turns_the_failure_queue_back_into_the_same_events() {
    let _alone = alone();
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Facebook);
    let receiver = Receiver::start().unwrap();
    subscribe(s, &channel, &receiver);
    create(s, &token, "Replayed");
    arrival(&receiver, "Replayed");
    let (arn, shard, sequence) = creation_record(s, &channel, "Replayed");
    // A contact whose change the stream function marked when it failed, in a range the
    // stream no longer holds.
    create(s, &token, "Snapshotted");
    arrival(&receiver, "Snapshotted");
    let snapshotted = receiver
        .received()
        .iter()
        .find(|r| r.body.contains("Snapshotted"))
        .unwrap()
        .json()["contact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Snapshots are `contact.updated` events: a subscription that wants them.
    s.admin().ok(&[
        "webhook",
        "add",
        "--channel",
        &channel,
        "--url",
        &receiver.url(),
        "--events",
        "contact.updated",
    ]);
    let gone = "shardId-00000000000000000000-gone";
    runtime()
        .block_on(s.store.mark_for_replay(&[(
            "000000000000000000015".to_string(),
            channel.clone(),
            snapshotted.clone(),
        )]))
        .unwrap();

    // The failure queue filled on purpose: that record's batch, a batch of a shard the
    // stream no longer holds with a marked change, and one without.
    let failures = s.queue_url("StreamFailureQueue");
    let sqs = runtime().block_on(async {
        aws_sdk_sqs::Client::new(&contacts_shared::aws::sdk_config(Some(&s.secrets_endpoint)).await)
    });
    for body in [
        failure_record(&arn, &shard, &sequence, &sequence),
        failure_record(&arn, gone, "000000000000000000010", "000000000000000000020"),
        failure_record(&arn, gone, "000000000000000000001", "000000000000000000002"),
    ] {
        runtime()
            .block_on(
                sqs.send_message()
                    .queue_url(&failures)
                    .message_body(body)
                    .send(),
            )
            .unwrap();
    }

    let mut admin = s.admin();
    admin.env.extend([
        (env::STREAM_FAILURE_QUEUE_URL.to_string(), failures.clone()),
        (
            env::WEBHOOK_QUEUE_URL.to_string(),
            s.queue_url("WebhookQueue"),
        ),
        (
            env::WEBHOOK_BULK_QUEUE_URL.to_string(),
            s.queue_url("WebhookBulkQueue"),
        ),
        (env::SQS_ENDPOINT.to_string(), s.secrets_endpoint.clone()),
    ]);
    let out = admin.run(&["webhook", "replay", "--from-failures"]);
    assert!(!out.status.success(), "a batch was left");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["replayed_batches"], 2, "{summary}");
    assert_eq!(summary["snapshots"], 1, "{summary}");
    assert_eq!(summary["left"].as_array().unwrap().len(), 1, "{summary}");
    let left_shard = summary["left"][0]["shard"].as_str().unwrap_or_default();
    assert!(left_shard.ends_with("gone"), "{summary}");

    // The same event again, with the same id: a receiver drops the repeat.
    let received = receiver.wait_until(PATIENCE, |r| {
        r.iter().filter(|r| r.body.contains("Replayed")).count() >= 2
    });
    let ids: Vec<String> = received
        .iter()
        .filter(|r| r.body.contains("Replayed"))
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "delivered, then replayed");
    assert_eq!(ids[0], ids[1]);
    // The marked contact as it is now, marked as a snapshot.
    let received = receiver.wait_until(PATIENCE, |r| {
        r.iter().any(|r| r.json()["snapshot"] == json!(true))
    });
    let snapshot = received
        .iter()
        .map(|r| r.json())
        .find(|e| e["snapshot"] == json!(true))
        .expect("a snapshot");
    assert_eq!(snapshot["type"], "contact.updated");
    assert_eq!(snapshot["contact"]["id"], json!(snapshotted));
    assert_eq!(
        snapshot["contact"]["custom_fields"]["firstName"],
        "Snapshotted"
    );
    assert_eq!(snapshot["changes"], json!({}));

    // Only what was replayed left the queue.
    let left = runtime()
        .block_on(
            sqs.receive_message()
                .queue_url(&failures)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send(),
        )
        .unwrap();
    assert_eq!(left.messages().len(), 1);
    let body = left.messages()[0].body().unwrap();
    assert!(
        body.contains(gone) && body.contains("000000000000000000001"),
        "{body}"
    );
}
