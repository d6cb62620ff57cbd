//! The table's stream → the stream function, as Lambda's DynamoDB event source mapping
//! does it: each shard read in order by a task of its own (a child shard only once its
//! parent is read to its end), batches of up to `WEBHOOK_STREAM_BATCH` records, and a
//! failed batch retried from its first failed record until it succeeds: records are
//! never skipped, and a shard that waits holds up no other.

mod event;
mod repair;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{Record, Shard, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use contacts_shared::limits::WEBHOOK_STREAM_BATCH;
use lambda_invoke::Invoker;

use crate::batch;
use crate::errors::error_text;

/// How often an idle shard is read, and new shards are looked for.
const IDLE_POLL: Duration = Duration::from_millis(250);
const DISCOVERY_POLL: Duration = Duration::from_secs(1);

pub struct StreamMapping {
    pub arn: String,
    pub function: &'static str,
    pub open_shards: usize,
}

/// What the shard tasks share.
struct Reader {
    client: Client,
    arn: String,
    region: String,
    invoker: Arc<Invoker>,
    function: &'static str,
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
        function: &'static str,
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
                    .interceptor(repair::EmptyMaps)
                    .build(),
            ),
            arn: arn.clone(),
            region,
            invoker,
            function,
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
        Ok(StreamMapping {
            arn,
            function,
            open_shards,
        })
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

    /// Reads `shard` to its end (after its `parent`'s), from `iterator` or else its start.
    async fn read(
        self: Arc<Self>,
        shard: String,
        parent: Option<String>,
        iterator: Option<String>,
    ) {
        while parent.as_deref().is_some_and(|p| self.waits_for(p)) {
            tokio::time::sleep(IDLE_POLL).await;
        }
        let mut iterator = iterator;
        // The last record handed to the function, to go on after should the iterator expire.
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
                .limit(WEBHOOK_STREAM_BATCH as i32)
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
                self.deliver(&shard, records).await;
                last = newest
                    .dynamodb()
                    .and_then(|c| c.sequence_number())
                    .map(str::to_string);
            }
            match out.next_shard_iterator() {
                Some(next) => iterator = Some(next.to_string()),
                None => {
                    // Closed and read: its children may start.
                    self.finish(&shard);
                    return;
                }
            }
            if records.is_empty() {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    /// Invokes the function with `records` until every one is processed: after a failed
    /// invocation, again with all of them; after reported failures, from the first.
    async fn deliver(&self, shard: &str, records: &[Record]) {
        let mut pending = records;
        let mut attempt = 0;
        loop {
            let ids: Vec<&str> = pending
                .iter()
                .map(|r| {
                    r.dynamodb()
                        .and_then(|c| c.sequence_number())
                        .unwrap_or_default()
                })
                .collect();
            let started = Instant::now();
            let event = event::stream_event(pending, &self.arn, &self.region);
            let outcome = batch::invoke(&self.invoker, self.function, event, &ids).await;
            let took = started.elapsed().as_millis();
            let first_failed = match outcome {
                Ok(failed) if failed.is_empty() => {
                    eprintln!(
                        "local-relay: {}: {} records of shard {shard}: ok ({took} ms)",
                        self.function,
                        pending.len()
                    );
                    return;
                }
                Ok(failed) => {
                    eprintln!(
                        "local-relay: {}: {} records of shard {shard}: {} failed ({took} ms)",
                        self.function,
                        pending.len(),
                        failed.len()
                    );
                    failed[0]
                }
                Err(why) => {
                    eprintln!(
                        "local-relay: {}: {} records of shard {shard}: failed: {why:#} ({took} ms)",
                        self.function,
                        pending.len()
                    );
                    0
                }
            };
            pending = &pending[first_failed..];
            attempt += 1;
            let pause = batch::retry_pause(attempt);
            eprintln!(
                "local-relay: retrying from sequence number {} in {pause:?}",
                ids[first_failed]
            );
            tokio::time::sleep(pause).await;
        }
    }
}
