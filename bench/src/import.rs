//! How fast `contacts-admin contact import` imports 20,000 contacts (a boolean set on
//! each, as an operator's member list), and the ceiling it is measured against: the
//! fastest DynamoDB Local here takes the same number of items, as plain puts, 25 to a
//! `BatchWriteItem`, 16 at once.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use contacts_shared::store::dynamo::{item, TableStream};
use contacts_shared::DynamoStore;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::seed;

pub const CONTACTS: usize = 20_000;
/// Items a contact of the import is written as: itself, its index entry and its list
/// entry (the value's count adds one action per transaction of many contacts).
pub const ITEMS_PER_CONTACT: usize = 3;

pub struct Import {
    pub took: Duration,
    /// Whether `contacts-admin check` finds the channel consistent afterwards.
    pub consistent: bool,
    /// The same number of items as plain batched puts.
    pub ceiling: Duration,
}

pub async fn measure(endpoint: &str, work: &Path) -> anyhow::Result<Import> {
    let table = "bench-import";
    seed::table(endpoint, table, TableStream::Off).await?;
    let file = work.join("import.jsonl");
    let lines = "{\"custom_fields\":{\"vip\":true}}\n".repeat(CONTACTS);
    std::fs::write(&file, lines).with_context(|| file.display().to_string())?;
    let admin = local_stack::paths::sibling_binary("contacts-admin")?;
    eprintln!("import: {CONTACTS} contacts through contacts-admin");
    let started = Instant::now();
    let out = std::process::Command::new(&admin)
        .args(["--endpoint", endpoint, "--table", table])
        .args([
            "contact",
            "import",
            "--channel",
            seed::DEMO_CHANNEL,
            "--file",
        ])
        .arg(&file)
        .output()
        .with_context(|| admin.display().to_string())?;
    let took = started.elapsed();
    let summary = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !summary.contains(&format!("\"imported\":{CONTACTS}")) {
        bail!(
            "contact import: {summary} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = DynamoStore::connect(Some(endpoint), table).await;
    let report = store
        .check_channel(seed::DEMO_CHANNEL)
        .await
        .context("check")?;
    eprintln!(
        "import: the ceiling, {} plain items",
        CONTACTS * ITEMS_PER_CONTACT
    );
    let ceiling = ceiling(endpoint, CONTACTS * ITEMS_PER_CONTACT).await?;
    Ok(Import {
        took,
        consistent: report.is_consistent(),
        ceiling,
    })
}

/// How long DynamoDB Local takes `items` items of a contact's size written the simplest
/// way there is.
async fn ceiling(endpoint: &str, items: usize) -> anyhow::Result<Duration> {
    let store = DynamoStore::connect(Some(endpoint), "bench-ceiling").await;
    store.create_table_with(TableStream::Off).await?;
    let all: Vec<item::Item> = (0..items)
        .map(|i| {
            let mut one = item::key(format!("CH#ceiling#{}", i % 64), format!("C#{i:08}"));
            one.insert(
                "f".into(),
                item::s("vip=TRUE, as a contact of the import holds"),
            );
            one.insert("created_at".into(), item::n(1_575_618_542));
            one
        })
        .collect();
    let started = Instant::now();
    stream::iter(all.chunks(250).map(|chunk| store.put_items(chunk.to_vec())))
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    Ok(started.elapsed())
}
