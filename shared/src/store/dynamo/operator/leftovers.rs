//! What deleted channels left behind: items under a channel's keys (`CH#{id}` and
//! `CH#{id}#...`) whose channel item is gone, as a write that was in flight while its
//! channel was deleted can leave. Found by scanning the whole table (an operator's tool),
//! removed by `contacts-admin check --repair`.

use std::collections::{BTreeMap, BTreeSet};

use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use crate::store::StoreError;

impl DynamoStore {
    /// The channels that no longer exist but still have items, each with how many.
    pub async fn gone_channels(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        Ok(self
            .gone_channel_keys()
            .await?
            .into_iter()
            .map(|(channel, keys)| (channel, keys.len()))
            .collect())
    }

    /// Deletes every item the channels that no longer exist left, from one scan; what it
    /// deleted, per channel. A channel whose item is back by then is left alone.
    pub async fn remove_gone_channels(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        let mut removed = BTreeMap::new();
        for (channel, doomed) in self.gone_channel_keys().await? {
            if self.get(item::channel_key(&channel)).await?.is_some() {
                continue;
            }
            removed.insert(channel, doomed.len());
            self.delete_items(doomed).await?;
        }
        Ok(removed)
    }

    /// The keys of every item under a channel's keys whose channel item is gone, by
    /// channel.
    async fn gone_channel_keys(&self) -> Result<BTreeMap<String, Vec<Item>>, StoreError> {
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
        Ok(by_channel)
    }
}
