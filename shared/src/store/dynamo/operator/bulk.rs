//! Bulk inserts, for `contacts-admin contact import` and the bench: many contacts to a
//! transaction, each still all-or-nothing with its index entries and counts, and no
//! contact put over one that exists. A transaction holds as many contacts as fit in its
//! 100 actions; counts of one value are summed into one action per transaction.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use futures::stream::{self, StreamExt};

use super::super::errors::{cancelled_by, classify};
use super::super::index::{self, IndexOp};
use super::super::DynamoStore;
use crate::backoff::backoff;
use crate::domain::contact::Contact;
use crate::limits::{MAX_TRANSACTION_ACTIONS, MAX_WRITE_ATTEMPTS};
use crate::store::{ContactStore, NewContact, StoreError};

/// Transactions of one call in flight at once.
const CONCURRENCY: usize = 8;

/// How the insert of one contact ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    Done,
    /// A contact with its id exists.
    IdTaken,
    Failed(String),
}

/// One contact ready to go: its stored form and its index changes.
struct Ready {
    contact: Contact,
    entries: Vec<IndexOp>,
    counts: BTreeMap<String, i64>,
}

impl DynamoStore {
    /// Inserts `contacts` into `channel`; how each insert ended, in order.
    pub async fn insert_many(&self, channel: &str, contacts: &[NewContact<'_>]) -> Vec<Inserted> {
        let ready: Vec<Ready> = contacts.iter().map(|c| prepare(channel, c)).collect();
        let mut outcomes = vec![Inserted::Done; contacts.len()];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let mut alone: Vec<usize> = Vec::new();
        for (i, one) in ready.iter().enumerate() {
            // Unique values are claimed by the single insert, which says whose they are.
            let claims = contacts[i]
                .writes
                .iter()
                .any(|w| w.def.claims() && w.value.is_some());
            if claims || cost(&ready, &[], Some(one)) > MAX_TRANSACTION_ACTIONS {
                alone.push(i);
                continue;
            }
            if cost(&ready, &current, Some(one)) > MAX_TRANSACTION_ACTIONS {
                groups.push(std::mem::take(&mut current));
            }
            current.push(i);
        }
        if !current.is_empty() {
            groups.push(current);
        }
        // Too large for a transaction with others: the single insert spreads it over more.
        for i in alone {
            outcomes[i] = match self.insert_contact(channel, &contacts[i]).await {
                Ok(true) => Inserted::Done,
                Ok(false) => Inserted::IdTaken,
                Err(err) => Inserted::Failed(err.to_string()),
            };
        }
        let results: Vec<Vec<(usize, Inserted)>> = stream::iter(groups)
            .map(|group| self.insert_group(channel, &ready, group))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (i, outcome) in results.into_iter().flatten() {
            outcomes[i] = outcome;
        }
        outcomes
    }

    /// One group in one transaction; contacts whose id is taken are dropped from it and
    /// the rest tried again.
    async fn insert_group(
        &self,
        channel: &str,
        ready: &[Ready],
        mut group: Vec<usize>,
    ) -> Vec<(usize, Inserted)> {
        let mut outcomes = Vec::new();
        let mut attempt = 0;
        while !group.is_empty() {
            let actions = match self.group_actions(channel, ready, &group) {
                Ok(actions) => actions,
                Err(err) => {
                    let why = err.to_string();
                    outcomes.extend(group.iter().map(|i| (*i, Inserted::Failed(why.clone()))));
                    return outcomes;
                }
            };
            match self.transact(actions).await {
                Ok(_) => {
                    outcomes.extend(group.iter().map(|i| (*i, Inserted::Done)));
                    return outcomes;
                }
                Err(err) => {
                    // The contacts' puts come first, one each, in the group's order.
                    let taken: Vec<usize> = taken_puts(&err)
                        .into_iter()
                        .filter_map(|at| group.get(at).copied())
                        .collect();
                    if !taken.is_empty() {
                        outcomes.extend(taken.iter().map(|i| (*i, Inserted::IdTaken)));
                        group.retain(|i| !taken.contains(i));
                    } else if cancelled_by(&err, &["TransactionConflict"])
                        && attempt < MAX_WRITE_ATTEMPTS
                    {
                        backoff(attempt).await;
                        attempt += 1;
                    } else {
                        let why = classify(err).to_string();
                        outcomes.extend(group.iter().map(|i| (*i, Inserted::Failed(why.clone()))));
                        return outcomes;
                    }
                }
            }
        }
        outcomes
    }

    /// The contacts' puts (first, in order), their entries, and one count update per value.
    fn group_actions(
        &self,
        channel: &str,
        ready: &[Ready],
        group: &[usize],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut actions = Vec::new();
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for &i in group {
            actions.push(self.insert_action(channel, &ready[i].contact, &[], None)?);
        }
        for &i in group {
            actions.extend(self.index_actions(&ready[i].entries)?);
            for (pk, delta) in &ready[i].counts {
                *counts.entry(pk).or_default() += delta;
            }
        }
        let counts: Vec<IndexOp> = counts
            .into_iter()
            .map(|(pk, delta)| IndexOp::Count(pk.to_string(), delta))
            .collect();
        actions.extend(self.index_actions(&counts)?);
        Ok(actions)
    }
}

fn prepare(channel: &str, new: &NewContact<'_>) -> Ready {
    let (contact, changes) = index::for_new(channel, new);
    let mut entries = Vec::new();
    let mut counts = BTreeMap::new();
    for op in changes.into_ops() {
        match op {
            IndexOp::Count(pk, delta) => {
                counts.insert(pk, delta);
            }
            entry => entries.push(entry),
        }
    }
    Ready {
        contact,
        entries,
        counts,
    }
}

/// Actions of a transaction of `group` and `one`: a put and the entries of each contact,
/// and one count update per value among them.
fn cost(ready: &[Ready], group: &[usize], one: Option<&Ready>) -> usize {
    let members = group.iter().map(|&i| &ready[i]).chain(one);
    let mut values = std::collections::BTreeSet::new();
    let mut actions = 0;
    for member in members {
        actions += 1 + member.entries.len();
        values.extend(member.counts.keys());
    }
    actions + values.len()
}

/// Which of a cancelled transaction's actions failed their condition (the puts of
/// contacts whose id is taken).
fn taken_puts(err: &SdkError<TransactWriteItemsError, HttpResponse>) -> Vec<usize> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(at, _)| at)
            .collect(),
        _ => Vec::new(),
    }
}
