//! Deleting a channel costs what the channel holds, whatever the table holds beside it:
//! the same channel deleted from a table of 100,000 other contacts reads and writes what it
//! does from a table of none (the units DynamoDB reports, not the time). The API keeps
//! answering, without a 5xx, while it runs and while the whole table is checked; nothing of
//! the channel is left; and a deletion killed half way is finished by running it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use contacts_shared::store::dynamo::capacity::{metered, Units};
use contacts_shared::store::dynamo::{item, keys, Deletion, Pace, TableReport};
use contacts_shared::store::{ContactStore, NewContact};
use contacts_shared::ChannelType;
use contacts_tests::{raw_client, runtime, unthrottled_template, writes, Method, Stack};
use serde_json::json;

/// Contacts of other channels in the large table.
const CROWD: usize = 100_000;
/// Contacts of the channel deleted.
const DOOMED: usize = 10;

fn stack() -> &'static Stack {
    Stack::own()
}

fn alone() -> std::sync::MutexGuard<'static, ()> {
    contacts_tests::one_at_a_time()
}

/// A channel as users fill one: custom fields, one of them unique, 10 contacts created
/// with idempotency keys, tags, a find walked by page numbers (its page marks) and a
/// webhook. Its id and token.
fn filled_channel(s: &Stack, name: &str) -> (String, String) {
    let (channel, token) = s.channel(ChannelType::Facebook);
    let admin = s.admin();
    let define = |field: &str, kind: &str, more: &[&str]| {
        let mut args = vec![
            "field",
            "define",
            "--channel",
            &channel,
            "--name",
            field,
            "--type",
            kind,
        ];
        args.extend(more);
        admin.ok(&args);
    };
    define("tier", "list", &["--values", "Gold,Silver"]);
    define("crmId", "text", &["--unique"]);
    for i in 0..DOOMED {
        let body = json!({"custom_fields": [
            {"name": "firstName", "value": format!("{name} {i}")},
            {"name": "tier", "value": "Gold"},
            {"name": "crmId", "value": format!("{name}-{i}")},
            {"name": "email", "value": format!("{name}{i}@example.com")},
        ]})
        .to_string();
        let created = s
            .client
            .post(format!("{}/v1/contact", s.base))
            .header("Authorization", format!("Bearer {token}"))
            .header("Idempotency-Key", format!("{name}-create-{i}"))
            .body(body)
            .send()
            .unwrap();
        assert_eq!(created.status().as_u16(), 200);
        let id = created.json::<serde_json::Value>().unwrap()["data"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let tagged = s.call(
            Method::POST,
            &format!("/v1/contact/{id}/tags"),
            Some(&token),
            Some(r#"{"tags":["vip","newsletter"]}"#),
        );
        assert_eq!(tagged.status, 200, "{}", tagged.text);
    }
    for page in 1..=3 {
        let found = s.call(
            Method::GET,
            &format!("/v1/contact/by_custom_field?name=tier&value=Gold&per_page=3&page={page}"),
            Some(&token),
            None,
        );
        assert_eq!(found.status, 200, "{}", found.text);
    }
    admin.ok(&[
        "webhook",
        "add",
        "--channel",
        &channel,
        "--url",
        "http://127.0.0.1:9/hook",
    ]);
    admin.assert_consistent(&channel);
    (channel, token)
}

/// Deletes `channel` in this process, as the admin tool does: what it did, and the units
/// DynamoDB reported for it.
fn delete_metered(s: &Stack, channel: &str) -> (Deletion, Units) {
    let (deleted, units) = runtime().block_on(metered(s.store.delete_channel(
        channel,
        Duration::ZERO,
        &mut |_| {},
    )));
    (deleted.expect("the deletion"), units)
}

/// Another channel's contacts, put as plainly as DynamoDB takes them, four batches at a
/// time: mass for the table, nothing the deletion may touch.
fn seed_crowd(s: &Stack) -> String {
    let (crowd, _) = s.channel(ChannelType::Telegram);
    let tags = Default::default();
    let items: Vec<item::Item> = (0..CROWD)
        .map(|i| {
            let fields = [("firstName".to_string(), format!("Crowd {i}"))].into();
            item::contact_item(
                &crowd,
                &format!("crowd-{i:06}"),
                1_700_000_000,
                0,
                &fields,
                &tags,
            )
        })
        .collect();
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for chunk in items.chunks(CROWD / 4) {
            let (store, chunk) = (s.store.clone(), chunk.to_vec());
            tasks.push(tokio::spawn(async move { store.put_items(chunk).await }));
        }
        for task in tasks {
            task.await.unwrap().expect("the crowd");
        }
    });
    crowd
}

/// The channel whose contact `busy` the load calls, and a gateway without the usage
/// plan's throttle in front of the stack (its template in a folder named for `test`): the
/// gateway's base URL and the channel's token.
fn busy_channel(s: &Stack, test: &str) -> (String, String) {
    let (busy, token) = s.channel(ChannelType::Facebook);
    let fields = runtime().block_on(s.store.fields(&busy)).unwrap();
    let tags = Default::default();
    let w = writes(&fields, &[("firstName", Some("Busy"))]);
    let busy_contact = NewContact {
        id: "busy",
        created_at: 1_700_000_000,
        created_micros: 0,
        writes: &w,
        tags: &tags,
    };
    assert!(runtime()
        .block_on(s.store.insert_contact(&busy, &busy_contact))
        .unwrap());
    let dir = contacts_tests::log_dir().join(format!("{test}-{}", std::process::id()));
    (s.extra_gateway(&unthrottled_template(&dir), &[]), token)
}

/// Calls of another channel's contact, two at a time, through a gateway without the
/// 100-a-minute throttle, until stopped: each call's status and latency.
struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<(u16, Duration)>>>,
}

impl Load {
    /// Starts the calls, once a few have warmed the functions they go through.
    fn start(base: &str, token: &str, id: &str) -> Load {
        let client = reqwest::blocking::Client::new();
        for _ in 0..3 {
            let warm = client
                .get(format!("{base}/v1/contact/{id}"))
                .header("Authorization", format!("Bearer {token}"))
                .send()
                .unwrap();
            assert_eq!(warm.status().as_u16(), 200);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..2)
            .map(|_| {
                let (stop, url) = (stop.clone(), format!("{base}/v1/contact/{id}"));
                let bearer = format!("Bearer {token}");
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(30))
                        .build()
                        .unwrap();
                    let mut calls = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        let status = client
                            .get(&url)
                            .header("Authorization", &bearer)
                            .send()
                            .map_or(599, |r| r.status().as_u16());
                        calls.push((status, started.elapsed()));
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    calls
                })
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops it: how many calls, how many 5xx, and p50, p99 and max latency.
    fn stop(self) -> (usize, usize, Duration, Duration, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let mut calls: Vec<(u16, Duration)> = self
            .workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        calls.sort_by_key(|(_, latency)| *latency);
        let at = |q: f64| calls[((calls.len() - 1) as f64 * q) as usize].1;
        let failed = calls.iter().filter(|(status, _)| *status >= 500).count();
        (calls.len(), failed, at(0.5), at(0.99), at(1.0))
    }
}

fn report_load(what: &str, load: Load) {
    let (calls, failed, p50, p99, max) = load.stop();
    eprintln!(
        "API beside {what}: {calls} calls, {failed} 5xx, p50 {p50:?}, p99 {p99:?}, max {max:?}"
    );
    assert!(calls > 0, "the load ran");
    assert_eq!(failed, 0, "no 5xx beside {what}");
}

fn check_table(s: &Stack) -> TableReport {
    let mut read = 0;
    let mut progress = |items: u64, _| read = items;
    let report = runtime()
        .block_on(s.store.check_table(&mut Pace {
            max_read_units_per_second: 200.0,
            progress: &mut progress,
        }))
        .expect("the whole table's check");
    assert!(
        read as usize >= CROWD,
        "the check read the whole table ({read})"
    );
    report
}

#[test]
fn a_channel_deletion_costs_what_the_channel_holds_whatever_the_table_holds() {
    let _alone = alone();
    let s = stack();
    let (unthrottled, busy_token) = busy_channel(s, "deletion");

    // The same channel, deleted from a table of a few items, then from one of 100,000
    // other contacts.
    let (small, _) = filled_channel(s, "small");
    let (alone, alone_units) = delete_metered(s, &small);
    seed_crowd(s);
    let (large, large_token) = filled_channel(s, "large");
    let load = Load::start(&unthrottled, &busy_token, "busy");
    let (beside, beside_units) = delete_metered(s, &large);
    report_load("a channel's deletion", load);
    eprintln!(
        "deleting a channel of {DOOMED} contacts: {alone:?} with {alone_units:?} alone; \
         {beside:?} with {beside_units:?} beside {CROWD} contacts"
    );
    assert_eq!(alone.contacts, DOOMED);
    // The same channel, but for the count shards its writes happened to pick (a value
    // held by several contacts is counted over up to COUNT_SHARDS items).
    let shards = f64::from(keys::COUNT_SHARDS);
    assert_eq!(beside.contacts, alone.contacts);
    assert!(
        beside.items.abs_diff(alone.items) as f64 <= shards,
        "{beside:?} against {alone:?}"
    );
    // What the channel holds costs the same whatever the table holds: never a read of it.
    assert!(
        beside_units.read <= alone_units.read + shards
            && beside_units.write <= alone_units.write + shards,
        "{beside_units:?} against {alone_units:?}"
    );
    assert!(alone_units.read > 0.0 && alone_units.write >= alone.items as f64);
    assert!(beside_units.read < 1_000.0, "no scan: {beside_units:?}");

    // Nothing of it is left, and the API beside the whole table's check still answers.
    let load = Load::start(&unthrottled, &busy_token, "busy");
    let report = check_table(s);
    report_load("the whole table's check", load);
    assert_eq!(
        report,
        TableReport::default(),
        "nothing of a deleted channel is left"
    );
    let refused = s.call(Method::GET, "/v1/contact/x", Some(&large_token), None);
    assert_eq!(refused.status, 401, "its tokens are gone");
}

#[test]
fn a_deletion_killed_half_way_is_finished_by_running_it_again() {
    let _alone = alone();
    let s = stack();
    let (channel, token) = s.channel(ChannelType::Whatsapp);
    let fields = runtime().block_on(s.store.fields(&channel)).unwrap();
    let tags = Default::default();
    let lines: Vec<(String, Vec<_>)> = (0..1_000)
        .map(|i| {
            let phone = format!("2782{i:07}");
            (phone.clone(), writes(&fields, &[("phone", Some(&phone))]))
        })
        .collect();
    let contacts: Vec<NewContact> = lines
        .iter()
        .map(|(id, w)| NewContact {
            id,
            created_at: 1_700_000_000,
            created_micros: 0,
            writes: w,
            tags: &tags,
        })
        .collect();
    let inserted = runtime().block_on(s.store.insert_many(&channel, &contacts));
    assert!(inserted
        .iter()
        .all(|i| *i == contacts_shared::store::dynamo::Inserted::Done));
    let client = raw_client();
    let remaining = || {
        runtime().block_on(async {
            client
                .query()
                .table_name(s.store.table())
                .key_condition_expression("PK = :pk AND begins_with(SK, :c)")
                .expression_attribute_values(":pk", item::s(keys::channel_pk(&channel)))
                .expression_attribute_values(":c", item::s(keys::contact_sk("")))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .count() as usize
        })
    };

    let admin = s.admin();
    let mut first = admin
        .command(&["channel", "delete", "--channel", &channel])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed outright once it has deleted some contacts (after the settle time).
    let deadline = Instant::now() + Duration::from_secs(120);
    while remaining() == lines.len() {
        assert!(Instant::now() < deadline, "the deletion never started");
        assert!(
            first.try_wait().unwrap().is_none(),
            "it ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let left = remaining();
    assert!(
        left > 0 && left < lines.len(),
        "killed half way: {left} left"
    );
    let refused = s.call(Method::GET, "/v1/contact/x", Some(&token), None);
    assert_eq!(refused.status, 401, "its tokens stay revoked");

    let out = admin.run(&["channel", "delete", "--channel", &channel]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // What was left when it was killed, less a batch its DynamoDB may still have been
    // applying then.
    let finished: usize = said
        .split("deleted: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("says how many contacts it deleted: {said}"));
    assert!(
        finished > 0 && finished <= left,
        "{finished} of {left}: {said}"
    );
    assert!(runtime()
        .block_on(s.store.channel(&channel))
        .unwrap()
        .is_none());
    assert_eq!(remaining(), 0);
    let report = runtime()
        .block_on(s.store.check_table(&mut Pace {
            max_read_units_per_second: 10_000.0,
            progress: &mut |_, _| {},
        }))
        .unwrap();
    assert!(
        !report.gone_channels.contains_key(&channel),
        "nothing of it is left: {report:?}"
    );
    assert!(admin
        .fails(&["channel", "delete", "--channel", &channel])
        .contains("no channel"));
}

#[test]
fn the_api_keeps_answering_beside_an_import_and_an_export() {
    let _alone = alone();
    let s = stack();
    let (unthrottled, busy_token) = busy_channel(s, "import");
    let (channel, _) = s.channel(ChannelType::Facebook);
    let lines: String = (0..5_000)
        .map(|i| {
            json!({"custom_fields": {"firstName": format!("Imported {i}"), "email": format!("i{i}@example.com")}, "tags": ["imported"]})
                .to_string()
                + "\n"
        })
        .collect();
    let admin = s.admin();

    let load = Load::start(&unthrottled, &busy_token, "busy");
    let imported = admin.run_with_stdin(
        &["contact", "import", "--channel", &channel, "--file", "-"],
        &lines,
    );
    report_load("an import of 5,000 contacts", load);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );

    let load = Load::start(&unthrottled, &busy_token, "busy");
    let exported = admin.run(&["contact", "export", "--channel", &channel]);
    report_load("an export of 5,000 contacts", load);
    assert!(exported.status.success());
    assert_eq!(
        exported.stdout.iter().filter(|b| **b == b'\n').count(),
        5_000
    );
    admin.assert_consistent(&channel);
}
