//! The whole table's check: what deleted channels left behind (items under a channel's
//! keys, `CH#{id}` and `CH#{id}#...`, whose channel item is gone, as a write that was in
//! flight while its channel was deleted can leave) and channels missing from the channel
//! list (made before it was kept). Found by scanning the whole table (an operator's
//! tool), repaired by `contacts-admin check --repair`.

use std::collections::{BTreeMap, BTreeSet};

use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use crate::store::StoreError;

/// What a survey of the whole table found beyond single channels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// Channels that no longer exist but still have items, each with how many.
    pub gone_channels: BTreeMap<String, usize>,
    /// Channels that exist but are missing from the channel list (made before it was
    /// kept), so `channel list` does not show them.
    pub unlisted_channels: Vec<String>,
}

impl TableReport {
    pub fn is_consistent(&self) -> bool {
        self.gone_channels.is_empty() && self.unlisted_channels.is_empty()
    }
}

/// Every channel item and every item under a channel's keys, from one scan.
struct Survey {
    /// The keys of the items of channels whose channel item is gone, by channel.
    gone: BTreeMap<String, Vec<Item>>,
    existing: BTreeSet<String>,
}

impl DynamoStore {
    /// Surveys the whole table (a scan): what deleted channels left, and channels missing
    /// from the channel list.
    pub async fn check_table(&self) -> Result<TableReport, StoreError> {
        let survey = self.survey().await?;
        self.report(&survey).await
    }

    /// Deletes every item the channels that no longer exist left, and lists the channels
    /// missing from the channel list, from one scan; what it found before it did. A
    /// channel whose item is back by then is left alone.
    pub async fn repair_table(&self) -> Result<TableReport, StoreError> {
        let survey = self.survey().await?;
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
        Ok(found)
    }

    async fn report(&self, survey: &Survey) -> Result<TableReport, StoreError> {
        let listed: BTreeSet<String> = self.channels().await?.into_iter().map(|c| c.id).collect();
        Ok(TableReport {
            gone_channels: survey
                .gone
                .iter()
                .map(|(channel, keys)| (channel.clone(), keys.len()))
                .collect(),
            unlisted_channels: survey.existing.difference(&listed).cloned().collect(),
        })
    }

    async fn survey(&self) -> Result<Survey, StoreError> {
        let mut by_channel: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        let mut existing: BTreeSet<String> = BTreeSet::new();
        for key in self
            .scan_prefix(keys::CHANNEL_PK_PREFIX, Some("PK, SK"))
            .await?
        {
            let pk = item::get_s(&key, keys::PK)?;
            let Some(channel) = keys::channel_of_pk(pk) else {
                continue;
            };
            let channel = channel.to_string();
            if pk == keys::channel_pk(&channel) && item::get_s(&key, keys::SK)? == keys::CHANNEL_SK
            {
                existing.insert(channel.clone());
            }
            by_channel.entry(channel).or_default().push(key);
        }
        by_channel.retain(|channel, _| !existing.contains(channel));
        Ok(Survey {
            gone: by_channel,
            existing,
        })
    }
}
