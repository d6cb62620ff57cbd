//! The whole table's check: what deleted channels left behind (items under a channel's
//! keys, `CH#{id}` and `CH#{id}#...`, whose channel item is gone, as a write that was in
//! flight while its channel was deleted can leave) and channels missing from the channel
//! list (made before it was kept); channels made before workspaces and not migrated; and
//! workspaces whose deletion stopped part-way. Found by scanning the whole table, at a pace the
//! operator sets ([`scan`](super::scan)). Repaired by `contacts-admin check --repair`. Items past their TTL (`expires_at`) are DynamoDB's to remove, not leftovers.

use std::collections::{BTreeMap, BTreeSet};

use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use super::scan::Pace;
use crate::store::StoreError;

/// What a survey of the whole table found beyond single channels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// Channels that no longer exist but still have items, each with how many.
    pub gone_channels: BTreeMap<String, usize>,
    /// Channels that exist but are missing from the channel list (made before it was
    /// kept), so `channel list` does not show them.
    pub unlisted_channels: Vec<String>,
    /// Channels in no workspace (made before workspaces, not migrated yet).
    pub unmigrated_channels: Vec<String>,
    /// Listed workspaces whose deletion stopped part-way: marked, or with no item left.
    pub unfinished_workspaces: Vec<String>,
    /// Channels whose custom field definitions differ from their workspace's (a definition
    /// that stopped part-way).
    pub drifted_channels: Vec<String>,
}

impl TableReport {
    pub fn is_consistent(&self) -> bool {
        self.gone_channels.is_empty()
            && self.unlisted_channels.is_empty()
            && self.unmigrated_channels.is_empty()
            && self.unfinished_workspaces.is_empty()
            && self.drifted_channels.is_empty()
    }
}

/// Every channel item and every item under a channel's keys, from one scan.
struct Survey {
    /// The keys of the items of channels whose channel item is gone, by channel.
    gone: BTreeMap<String, Vec<Item>>,
    existing: BTreeSet<String>,
    /// Existing channels in no workspace, not being deleted.
    unmigrated: Vec<String>,
}

impl DynamoStore {
    /// Surveys the whole table (a scan): what deleted channels left, and channels missing
    /// from the channel list.
    pub async fn check_table(&self, pace: &mut Pace<'_>) -> Result<TableReport, StoreError> {
        let survey = self.survey(pace).await?;
        self.report(&survey).await
    }

    /// Deletes every item the channels that no longer exist left, lists the channels
    /// missing from the channel list, migrates those in no workspace, aligns field
    /// definitions with their workspace's and finishes the workspace deletions that stopped
    /// (waiting out `settle` for their channels), from one
    /// scan; what it found before it did. A channel whose item is back by then is left
    /// alone.
    pub async fn repair_table(
        &self,
        pace: &mut Pace<'_>,
        settle: std::time::Duration,
    ) -> Result<TableReport, StoreError> {
        let survey = self.survey(pace).await?;
        let found = self.report(&survey).await?;
        for (channel, doomed) in survey.gone {
            if self.get(item::channel_key(&channel)).await?.is_none() {
                self.delete_items(doomed).await?;
            }
        }
        for channel in &found.unlisted_channels {
            if let Some(record) = self.channel(channel).await? {
                self.list_channel(&record).await?;
            }
        }
        for channel in &found.unmigrated_channels {
            self.migrate_channel(channel).await?;
        }
        for workspace in &found.unfinished_workspaces {
            self.delete_workspace(workspace, settle, &mut |_| {})
                .await?;
        }
        for channel in &found.drifted_channels {
            self.align_fields(channel).await?;
        }
        Ok(found)
    }

    async fn report(&self, survey: &Survey) -> Result<TableReport, StoreError> {
        let listed: BTreeSet<String> = self.channels().await?.into_iter().map(|c| c.id).collect();
        let (mut unfinished_workspaces, mut drifted_channels) = (Vec::new(), Vec::new());
        for workspace in self.workspaces().await? {
            match self.get(item::workspace_key(&workspace.id)).await? {
                Some(found) if !found.contains_key(item::DELETING) => {
                    let own = item::field_set_from_item(Some(&found));
                    drifted_channels.extend(self.drifted_channels(&workspace.id, &own).await?);
                }
                _ => unfinished_workspaces.push(workspace.id),
            }
        }
        Ok(TableReport {
            unmigrated_channels: survey.unmigrated.clone(),
            unfinished_workspaces,
            drifted_channels,
            gone_channels: survey
                .gone
                .iter()
                .map(|(channel, keys)| (channel.clone(), keys.len()))
                .collect(),
            unlisted_channels: survey.existing.difference(&listed).cloned().collect(),
        })
    }

    async fn survey(&self, pace: &mut Pace<'_>) -> Result<Survey, StoreError> {
        let mut by_channel: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        let mut existing: BTreeSet<String> = BTreeSet::new();
        let mut unmigrated = Vec::new();
        let now = crate::clock::now();
        let projection = [
            "PK",
            "SK",
            item::EXPIRES_AT,
            item::WORKSPACE,
            item::DELETING,
        ];
        let mut visit = |found: Item| -> Result<(), StoreError> {
            let pk = item::get_s(&found, keys::PK)?;
            let Some(channel) = keys::channel_of_pk(pk) else {
                return Ok(());
            };
            if item::get_n(&found, item::EXPIRES_AT).is_ok_and(|at| at <= now) {
                return Ok(());
            }
            let channel = channel.to_string();
            let sk = item::get_s(&found, keys::SK)?;
            if pk == keys::channel_pk(&channel) && sk == keys::CHANNEL_SK {
                existing.insert(channel.clone());
                if !found.contains_key(item::WORKSPACE) && !found.contains_key(item::DELETING) {
                    unmigrated.push(channel.clone());
                }
            }
            let key = item::key(pk.to_string(), sk.to_string());
            by_channel.entry(channel).or_default().push(key);
            Ok(())
        };
        self.scan_paced(keys::CHANNEL_PK_PREFIX, &projection, pace, &mut visit)
            .await?;
        by_channel.retain(|channel, _| !existing.contains(channel));
        Ok(Survey {
            gone: by_channel,
            existing,
            unmigrated,
        })
    }
}
