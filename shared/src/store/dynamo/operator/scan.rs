//! The one way the product reads a whole table: a scan, for the operator's repair tools
//! only (`contacts-admin check`), never for a request or a routine command. A page at a
//! time, small pages, at a pace the operator sets, so that the API beside it keeps
//! answering (DynamoDB Local serves a table's requests one at a time; on AWS a burst of
//! reads would take the table's capacity from the API's).

use std::time::{Duration, Instant};

use super::super::errors::classify;
use super::super::item::{self, Item};
use super::super::{DynamoStore, CAPACITY};
use crate::backoff::backoff;
use crate::limits::MAX_WRITE_ATTEMPTS;
use crate::store::StoreError;

/// Items one page of the scan reads.
const SCAN_PAGE: i32 = 200;

/// How fast a scan reads, and what it says as it goes.
pub struct Pace<'a> {
    /// Read units a second, at most (on average since the start).
    pub max_read_units_per_second: f64,
    /// Hears, after each page, the items read and the read units spent so far.
    pub progress: &'a mut dyn FnMut(u64, f64),
}

impl DynamoStore {
    /// Every item whose partition key starts with `prefix`, its `attributes` only, to
    /// `visit`, page by page at `pace`.
    pub(super) async fn scan_paced(
        &self,
        prefix: &str,
        attributes: &[&str],
        pace: &mut Pace<'_>,
        visit: &mut dyn FnMut(Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let (mut read, mut units) = (0u64, 0.0f64);
        let mut start: Option<Item> = None;
        loop {
            let (page, next, spent) = self.scan_page(prefix, attributes, start).await?;
            read += page.len() as u64;
            units += spent;
            for found in page {
                visit(found)?;
            }
            (pace.progress)(read, units);
            start = next;
            if start.is_none() {
                return Ok(());
            }
            // Never ahead of the pace: the units spent so far take this long at it.
            let due = Duration::from_secs_f64(units / pace.max_read_units_per_second.max(1.0));
            tokio::time::sleep(due.saturating_sub(started.elapsed())).await;
        }
    }

    /// One page: its items, where the next starts, and the read units it took.
    async fn scan_page(
        &self,
        prefix: &str,
        attributes: &[&str],
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>, f64), StoreError> {
        let names = attributes
            .iter()
            .enumerate()
            .map(|(i, name)| (format!("#a{i}"), name.to_string()));
        let projection: Vec<String> = names.clone().map(|(alias, _)| alias).collect();
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(PK, :prefix)")
                .expression_attribute_values(":prefix", item::s(prefix))
                .projection_expression(projection.join(", "))
                .set_expression_attribute_names(Some(names.clone().collect()))
                .limit(SCAN_PAGE)
                .consistent_read(true)
                .return_consumed_capacity(CAPACITY)
                .set_exclusive_start_key(start.clone())
                .send()
                .await;
            match result {
                Ok(page) => {
                    let units = page
                        .consumed_capacity()
                        .and_then(|c| c.capacity_units())
                        .unwrap_or(0.0);
                    let items = page.items().to_vec();
                    return Ok((items, page.last_evaluated_key, units));
                }
                Err(err) if attempt < MAX_WRITE_ATTEMPTS => {
                    tracing::warn!(err = %classify(err), "scan retried");
                    backoff(attempt).await;
                    attempt += 1;
                }
                Err(err) => return Err(classify(err)),
            }
        }
    }
}
