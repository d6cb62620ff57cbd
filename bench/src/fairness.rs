//! A noisy neighbour: channel A imports 20,000 contacts with `contacts-admin contact
//! import` while channel B, one contact created every second, has a webhook. B's delivery
//! latency (from the API's 200 for the create to its `contact.created` at a receiver) before,
//! during and after the import; and how fast the stream function takes records (records
//! handed to it over the time its invocations took, from the local relay's log) beside the
//! import's write rate. A has no webhook of its own: with one, each of its contacts is a
//! delivery through moto's SQS, which this 2-core machine serves at a few hundred a second,
//! and beside thousands of them DynamoDB Local, starved of CPU, answers late enough for
//! 503s; that burst's fairness is tested at 2,000 (`tests/tests/events_lifecycle.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use contacts_shared::demo::DEMO_CHANNEL;
use contacts_shared::domain::channel::ChannelRecord;
use contacts_shared::webhooks::events::Kind;
use contacts_shared::webhooks::seal::SealingKey;
use contacts_shared::webhooks::signature::Secret;
use contacts_shared::webhooks::subscription::Subscription;
use contacts_shared::{clock, ChannelType, DynamoStore};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Request;
use local_stack::receiver::Receiver;
use serde_json::json;

use crate::seed;
use crate::stack::LocalStack;

/// Contacts A imports.
pub const IMPORTED: usize = 20_000;
/// B's creates: one every this long.
const EVERY: Duration = Duration::from_secs(1);
/// B's creates before the import, and how long B goes on after it.
const BEFORE: usize = 10;
const AFTER: Duration = Duration::from_secs(30);
/// Longest a delivery may take before the bench calls it lost.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(600);
/// The channel that imports.
const BULK: &str = "bench-bulk";

/// One run of the scenario.
pub struct Fairness {
    /// B's latencies, by when its create was made: before, during, after the import.
    pub before: Vec<Duration>,
    pub during: Vec<Duration>,
    pub after: Vec<Duration>,
    pub import_took: Duration,
    /// Stream records handed to the stream function during the run, and the time its
    /// invocations took.
    pub dispatched: u64,
    pub dispatching: Duration,
    /// B's creates answered 5xx (and retried) while the import loaded DynamoDB Local.
    pub unavailable: usize,
    /// B's creates given up after their retries (no event awaited).
    pub given_up: usize,
}

pub async fn measure(work: &Path, endpoint: &str, table: &str) -> anyhow::Result<Fairness> {
    let token = seed::table(
        endpoint,
        table,
        contacts_shared::store::dynamo::TableStream::On,
    )
    .await?;
    let store = DynamoStore::connect(Some(endpoint), table).await;
    store
        .create_channel(&ChannelRecord {
            id: BULK.to_string(),
            name: "bulk".to_string(),
            kind: ChannelType::Facebook,
            api_key: format!("key{}", contacts_shared::random::base32_id()?),
            api_key_id: None,
            created_at: clock::now(),
            tokens: 0,
            workspace: None,
        })
        .await?;
    let stack = LocalStack::start(work, endpoint, table)?;
    let quiet = Receiver::start()?;
    subscribe(&stack, &store, DEMO_CHANNEL, &quiet).await?;
    let relay_log = stack.relay_log(work);
    let mut sent: Vec<(String, Instant)> = Vec::new();
    let (mut unavailable, mut given_up) = (0, 0);
    for n in 0..BEFORE {
        let (created, failed) = create(&stack, &token, &format!("before-{n}")).await?;
        given_up += usize::from(created.is_none());
        sent.extend(created);
        unavailable += failed;
        tokio::time::sleep(EVERY / 2).await;
    }
    let log_from = std::fs::metadata(&relay_log).map_or(0, |m| m.len());
    let file = work.join("fairness-import.jsonl");
    let lines: String = (0..IMPORTED)
        .map(|i| format!("{{\"custom_fields\":{{\"firstName\":\"Bulk {i}\"}}}}\n"))
        .collect();
    std::fs::write(&file, lines).with_context(|| file.display().to_string())?;
    let admin = local_stack::paths::sibling_binary("contacts-admin")?;
    eprintln!("fairness: {IMPORTED} contacts imported into another channel, B writing");
    let started = Instant::now();
    let mut import = tokio::process::Command::new(&admin)
        .args(["--endpoint", endpoint, "--table", table])
        .args(["contact", "import", "--channel", BULK, "--file"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| admin.display().to_string())?;
    let mut n = 0;
    let import_took = loop {
        if let Some(status) = import.try_wait()? {
            if !status.success() {
                bail!("the import failed: {status}");
            }
            break started.elapsed();
        }
        let (created, failed) = create(&stack, &token, &format!("during-{n}")).await?;
        given_up += usize::from(created.is_none());
        sent.extend(created);
        unavailable += failed;
        n += 1;
        tokio::time::sleep(EVERY).await;
    };
    let ended = Instant::now();
    while ended.elapsed() < AFTER {
        let (created, failed) = create(&stack, &token, &format!("after-{n}")).await?;
        given_up += usize::from(created.is_none());
        sent.extend(created);
        unavailable += failed;
        n += 1;
        tokio::time::sleep(EVERY).await;
    }
    let mut latencies = Vec::with_capacity(sent.len());
    for (name, at) in &sent {
        let arrived = loop {
            if let Some(found) = quiet
                .received()
                .into_iter()
                .find(|r| r.body.contains(name.as_str()))
            {
                break found.at;
            }
            if at.elapsed() > DELIVERY_TIMEOUT {
                bail!("the event of B's contact {name} never arrived");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        latencies.push((name.clone(), arrived.saturating_duration_since(*at)));
    }
    let phase = |prefix: &str| {
        latencies
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, latency)| *latency)
            .collect::<Vec<_>>()
    };
    let (dispatched, dispatching) = dispatch_work(&relay_log, log_from)?;
    let run = Fairness {
        before: phase("before-"),
        during: phase("during-"),
        after: phase("after-"),
        import_took,
        dispatched,
        dispatching,
        unavailable,
        given_up,
    };
    eprintln!(
        "fairness: {}",
        crate::report::fairness(std::slice::from_ref(&run))
    );
    Ok(run)
}

/// A webhook of `channel` to `receiver`, for every event.
async fn subscribe(
    stack: &LocalStack,
    store: &DynamoStore,
    channel: &str,
    receiver: &Receiver,
) -> anyhow::Result<()> {
    let key = SealingKey::new(stack.sealing_key()).map_err(anyhow::Error::msg)?;
    let id = format!("wh_fair{}{}", channel.len(), clock::now());
    let secret = Secret::generate()?;
    store
        .add_webhook(&Subscription {
            sealed_secret: key
                .seal(&secret, channel, &id)
                .map_err(anyhow::Error::msg)?,
            id,
            channel: channel.to_string(),
            url: receiver.url(),
            events: [Kind::Created].into(),
            fields: Default::default(),
            created_at: clock::now(),
        })
        .await?;
    Ok(())
}

/// Creates a contact of B named `name`, as a client does: a 5xx is retried (after a
/// second, up to three times) and counted. The name and when the API answered (`None`:
/// given up after the retries, so no event is awaited), and the 5xx.
async fn create(
    stack: &LocalStack,
    token: &str,
    name: &str,
) -> anyhow::Result<(Option<(String, Instant)>, usize)> {
    let body = json!({"custom_fields": [{"name": "firstName", "value": name}]});
    let mut unavailable = 0;
    loop {
        let request = Request::post("/api/v1/contact")
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        let (status, answer) = stack.call(request).await?;
        match status {
            200 => return Ok((Some((name.to_string(), Instant::now())), unavailable)),
            500.. if unavailable < 3 => {
                unavailable += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            500.. => return Ok((None, unavailable + 1)),
            _ => bail!(
                "creating {name}: {status} {}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
}

/// From the relay's log after byte `from`: the stream records handed to the stream
/// function, and the time its invocations took (`N records of shard S: ok (T ms)`).
fn dispatch_work(log: &Path, from: u64) -> anyhow::Result<(u64, Duration)> {
    let text = std::fs::read(log).with_context(|| log.display().to_string())?;
    let text = String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned();
    let (mut records, mut millis) = (0u64, 0u64);
    for line in text.lines().filter(|l| l.contains("webhook-dispatch:")) {
        let count = line
            .split("webhook-dispatch: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok());
        let took = line
            .rsplit_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(" ms)"))
            .and_then(|ms| ms.parse::<u64>().ok());
        if let (Some(count), Some(took)) = (count, took) {
            records += count;
            millis += took;
        }
    }
    Ok((records, Duration::from_millis(millis)))
}
