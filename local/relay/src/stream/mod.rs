//! The table's stream → the stream function, as Lambda's DynamoDB event source mapping
//! does it, with the mapping's settings from the template: each shard read in order by a
//! task of its own (a child shard only once its parent is read to its end), the records
//! its filters let through split by partition key over `ParallelizationFactor` lanes (a
//! key's records keep their order, one key's burst does not hold up the others' lanes),
//! each lane invoking the function with batches of up to `BatchSize` records gathered for
//! at most the batching window. A failed batch is retried from its first failed record
//! (in halves, with `BisectBatchOnFunctionError`, when the invocation itself fails); after
//! `MaximumRetryAttempts` its records are reported to the on-failure destination, as
//! Lambda reports them, and the lane goes on.

mod event;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, Shard, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use lambda_invoke::Invoker;
use tokio::sync::mpsc;

use crate::batch;
use crate::errors::error_text;
use crate::mappings::Mapping;

/// Records one `GetRecords` returns at most (DynamoDB Streams' own limit).
const READ_LIMIT: i32 = 1_000;

/// How often an idle shard is read, and new shards are looked for.
const IDLE_POLL: Duration = Duration::from_millis(250);
const DISCOVERY_POLL: Duration = Duration::from_secs(1);

pub struct StreamMapping {
    pub arn: String,
    pub open_shards: usize,
}

/// Where failed batches are reported: a queue of the local SQS.
pub struct FailureQueue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
}

/// What the shard tasks share.
struct Reader {
    client: Client,
    arn: String,
    region: String,
    invoker: Arc<Invoker>,
    mapping: Mapping,
    failures: Option<FailureQueue>,
    /// Every shard seen, and those read to their end.
    known: Mutex<HashSet<String>>,
    finished: Mutex<HashSet<String>>,
}

impl StreamMapping {
    /// Finds the table's stream and takes an iterator at the tip of each open shard (as a
    /// mapping created now starts at LATEST); returns once they are all taken, with the
    /// shards being read and new ones looked for in the background.
    pub async fn start(
        config: &SdkConfig,
        table: &str,
        invoker: Arc<Invoker>,
        mapping: Mapping,
        failures: Option<FailureQueue>,
    ) -> anyhow::Result<Self> {
        let arn = aws_sdk_dynamodb::Client::new(config)
            .describe_table()
            .table_name(table)
            .send()
            .await
            .with_context(|| format!("cannot describe table {table}"))?
            .table()
            .and_then(|t| t.latest_stream_arn())
            .map(str::to_string)
            .with_context(|| format!("table {table} has no stream"))?;
        let region = config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string());
        let reader = Arc::new(Reader {
            client: Client::from_conf(
                aws_sdk_dynamodbstreams::config::Builder::from(config)
                    .interceptor(contacts_shared::webhooks::stream_repair::EmptyMaps)
                    .build(),
            ),
            arn: arn.clone(),
            region,
            invoker,
            mapping,
            failures,
            known: Mutex::new(HashSet::new()),
            finished: Mutex::new(HashSet::new()),
        });
        let shards = reader.shards().await?;
        let mut open_shards = 0;
        for shard in shards {
            let id = shard.shard_id().unwrap_or_default().to_string();
            reader
                .known
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone());
            if is_closed(&shard) {
                // Its records were written before this mapping existed.
                reader.finish(&id);
                continue;
            }
            let iterator = reader
                .iterator(&id, ShardIteratorType::Latest, None)
                .await?;
            open_shards += 1;
            tokio::spawn(reader.clone().read(id, None, Some(iterator)));
        }
        tokio::spawn(reader.discover());
        Ok(StreamMapping { arn, open_shards })
    }
}

fn is_closed(shard: &Shard) -> bool {
    shard
        .sequence_number_range()
        .and_then(|range| range.ending_sequence_number())
        .is_some()
}

impl Reader {
    /// Every shard of the stream, oldest first.
    async fn shards(&self) -> anyhow::Result<Vec<Shard>> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_stream()
                .stream_arn(&self.arn)
                .set_exclusive_start_shard_id(after.take())
                .send()
                .await
                .context("cannot describe the stream")?;
            let description = out.stream_description();
            shards.extend(description.map(|d| d.shards().to_vec()).unwrap_or_default());
            after = description
                .and_then(|d| d.last_evaluated_shard_id())
                .map(str::to_string);
            if after.is_none() {
                return Ok(shards);
            }
        }
    }

    async fn iterator(
        &self,
        shard: &str,
        kind: ShardIteratorType,
        sequence: Option<&str>,
    ) -> anyhow::Result<String> {
        self.client
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence.map(str::to_string))
            .send()
            .await
            .with_context(|| format!("cannot get an iterator of shard {shard}"))?
            .shard_iterator()
            .map(str::to_string)
            .with_context(|| format!("shard {shard} gave no iterator"))
    }

    fn finish(&self, shard: &str) {
        self.finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(shard.to_string());
    }

    /// Whether `parent` (if this mapping knows it) still has records to be read first.
    fn waits_for(&self, parent: &str) -> bool {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        known.contains(parent) && !finished.contains(parent)
    }

    /// Looks for shards that appear (the stream splits and rolls them over), and reads
    /// each from its start.
    async fn discover(self: Arc<Self>) {
        loop {
            tokio::time::sleep(DISCOVERY_POLL).await;
            let shards = match self.shards().await {
                Ok(shards) => shards,
                Err(why) => {
                    eprintln!("local-relay: {why:#}");
                    continue;
                }
            };
            for shard in shards {
                let id = shard.shard_id().unwrap_or_default().to_string();
                let new = self
                    .known
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.clone());
                if new {
                    let parent = shard.parent_shard_id().map(str::to_string);
                    tokio::spawn(self.clone().read(id, parent, None));
                }
            }
        }
    }

    /// Reads `shard` to its end (after its `parent`'s), from `iterator` or else its start,
    /// handing what its filters let through to its lanes.
    async fn read(
        self: Arc<Self>,
        shard: String,
        parent: Option<String>,
        iterator: Option<String>,
    ) {
        while parent.as_deref().is_some_and(|p| self.waits_for(p)) {
            tokio::time::sleep(IDLE_POLL).await;
        }
        let lanes: Vec<(mpsc::Sender<Vec<Record>>, tokio::task::JoinHandle<()>)> =
            (0..self.mapping.parallelization)
                .map(|_| {
                    // Bounded: a slow function holds the reading back rather than memory filling.
                    let (send, receive) = mpsc::channel(4);
                    let lane = tokio::spawn(self.clone().lane(shard.clone(), receive));
                    (send, lane)
                })
                .collect();
        let mut iterator = iterator;
        // The last record read, to go on after should the iterator expire.
        let mut last: Option<String> = None;
        let mut failures = 0;
        loop {
            let current = match iterator.take() {
                Some(current) => current,
                None => {
                    let (kind, after) = match &last {
                        Some(sequence) => (
                            ShardIteratorType::AfterSequenceNumber,
                            Some(sequence.as_str()),
                        ),
                        None => (ShardIteratorType::TrimHorizon, None),
                    };
                    match self.iterator(&shard, kind, after).await {
                        Ok(fresh) => fresh,
                        Err(why) => {
                            failures += 1;
                            eprintln!("local-relay: {why:#}");
                            tokio::time::sleep(batch::retry_pause(failures)).await;
                            continue;
                        }
                    }
                }
            };
            let out = match self
                .client
                .get_records()
                .shard_iterator(&current)
                .limit(READ_LIMIT)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let expired = e
                        .as_service_error()
                        .is_some_and(|e| e.is_expired_iterator_exception());
                    if !expired {
                        failures += 1;
                        eprintln!("local-relay: reading shard {shard}: {}", error_text(&e));
                        tokio::time::sleep(batch::retry_pause(failures)).await;
                        iterator = Some(current);
                    }
                    continue;
                }
            };
            failures = 0;
            let records = out.records();
            if let Some(newest) = records.last() {
                last = newest
                    .dynamodb()
                    .and_then(|c| c.sequence_number())
                    .map(str::to_string);
            }
            let mut split: Vec<Vec<Record>> = vec![Vec::new(); lanes.len()];
            for record in records.iter().filter(|r| self.passes(r)) {
                split[lane_of(record, lanes.len())].push(record.clone());
            }
            for ((send, _), records) in lanes.iter().zip(split) {
                if !records.is_empty() {
                    let _ = send.send(records).await;
                }
            }
            match out.next_shard_iterator() {
                Some(next) => iterator = Some(next.to_string()),
                None => break,
            }
            if records.is_empty() {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
        // Closed and read: once its lanes are done, its children may start.
        for (send, lane) in lanes {
            drop(send);
            let _ = lane.await;
        }
        self.finish(&shard);
    }

    /// Whether the mapping's filters let `record` through (on its key attributes).
    fn passes(&self, record: &Record) -> bool {
        let keys = record.dynamodb().and_then(|c| c.keys());
        self.mapping
            .passes(|attribute| match keys?.get(attribute)? {
                AttributeValue::S(text) => Some(text.clone()),
                _ => None,
            })
    }

    /// One lane of a shard: batches of what it is handed, up to the batch size, gathered
    /// for at most the batching window, each processed before the next.
    async fn lane(self: Arc<Self>, shard: String, mut handed: mpsc::Receiver<Vec<Record>>) {
        let size = self.mapping.batch_size.max(1);
        let mut waiting: VecDeque<Record> = VecDeque::new();
        loop {
            if waiting.is_empty() {
                match handed.recv().await {
                    Some(records) => waiting.extend(records),
                    None => return,
                }
            }
            let deadline = Instant::now() + self.mapping.window;
            while waiting.len() < size {
                match handed.try_recv() {
                    Ok(records) => waiting.extend(records),
                    Err(mpsc::error::TryRecvError::Empty) if Instant::now() < deadline => {
                        match tokio::time::timeout_at(deadline.into(), handed.recv()).await {
                            Ok(Some(records)) => waiting.extend(records),
                            _ => break,
                        }
                    }
                    Err(_) => break,
                }
            }
            let take = waiting.len().min(size);
            let batch: Vec<Record> = waiting.drain(..take).collect();
            self.deliver(&shard, batch).await;
        }
    }

    /// Invokes the function with `records` until every one is processed or given up on:
    /// after reported failures, again from the first; after a failed invocation, again
    /// with all (in halves, with bisection); after the mapping's retries, the rest are
    /// reported to its on-failure destination.
    async fn deliver(&self, shard: &str, records: Vec<Record>) {
        let function = self.mapping.function.as_str();
        let mut batches = VecDeque::from([records]);
        while let Some(mut pending) = batches.pop_front() {
            let mut attempt = 0;
            loop {
                let ids: Vec<&str> = pending.iter().map(sequence_of).collect();
                let started = Instant::now();
                let event = event::stream_event(&pending, &self.arn, &self.region);
                let outcome = batch::invoke(&self.invoker, function, event, &ids).await;
                let took = started.elapsed().as_millis();
                let count = pending.len();
                let first_failed = match outcome {
                    Ok(failed) if failed.is_empty() => {
                        eprintln!(
                            "local-relay: {function}: {count} records of shard {shard}: ok ({took} ms)"
                        );
                        break;
                    }
                    Ok(failed) => {
                        eprintln!(
                            "local-relay: {function}: {count} records of shard {shard}: {} failed ({took} ms)",
                            failed.len()
                        );
                        failed[0]
                    }
                    Err(why) => {
                        eprintln!(
                            "local-relay: {function}: {count} records of shard {shard}: failed: {why:#} ({took} ms)"
                        );
                        if self.mapping.bisect && count > 1 {
                            let second = pending.split_off(count / 2);
                            batches.push_front(second);
                            batches.push_front(pending);
                            break;
                        }
                        0
                    }
                };
                pending.drain(..first_failed);
                attempt += 1;
                if self.mapping.max_retries.is_some_and(|most| attempt > most) {
                    self.report_failure(shard, &pending, attempt).await;
                    break;
                }
                let pause = batch::retry_pause(attempt);
                eprintln!(
                    "local-relay: retrying from sequence number {} in {pause:?}",
                    sequence_of(&pending[0])
                );
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Reports `records`, given up on after `attempts` invocations, to the mapping's
    /// on-failure destination as Lambda does: the shard and the sequence-number range,
    /// not the changes (they stay readable in the stream while it keeps them).
    async fn report_failure(&self, shard: &str, records: &[Record], attempts: u32) {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return;
        };
        let arrival = |record: &Record| {
            record
                .dynamodb()
                .and_then(|c| c.approximate_creation_date_time())
                .and_then(|at| chrono::DateTime::from_timestamp(at.secs(), at.subsec_nanos()))
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        };
        let message = serde_json::json!({
            "requestContext": {
                "requestId": format!("{shard}-{}", sequence_of(first)),
                "functionArn": format!(
                    "arn:aws:lambda:{}:000000000000:function:{}",
                    self.region, self.mapping.function
                ),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": sequence_of(first),
                "endSequenceNumber": sequence_of(last),
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": records.len(),
                "streamArn": self.arn,
            },
        });
        let Some(failures) = &self.failures else {
            eprintln!("local-relay: given up on {message} (no on-failure destination)");
            return;
        };
        for attempt in 1.. {
            let sent = failures
                .client
                .send_message()
                .queue_url(&failures.url)
                .message_body(message.to_string())
                .send()
                .await;
            match sent {
                Ok(_) => {
                    eprintln!(
                        "local-relay: {} records of shard {shard} from {} reported to the on-failure destination",
                        records.len(),
                        sequence_of(first)
                    );
                    return;
                }
                Err(e) => {
                    eprintln!("local-relay: reporting a failed batch: {}", error_text(&e));
                    tokio::time::sleep(batch::retry_pause(attempt)).await;
                }
            }
        }
    }
}

fn sequence_of(record: &Record) -> &str {
    record
        .dynamodb()
        .and_then(|c| c.sequence_number())
        .unwrap_or_default()
}

/// The lane of a record: its partition key's hash (FNV-1a), as Lambda spreads a shard's
/// keys over its parallel batches.
fn lane_of(record: &Record, lanes: usize) -> usize {
    let key = record
        .dynamodb()
        .and_then(|c| c.keys())
        .and_then(|k| k.get("PK"))
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str);
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % lanes.max(1) as u64) as usize
}
