//! What deleted channels left behind: items under a channel's keys (`CH#{id}` and
//! `CH#{id}#...`) whose channel item is gone, as a write that was in flight while its
//! channel was deleted can leave. Found by scanning the whole table (an operator's tool),
//! removed by `contacts-admin check --repair`.

use std::collections::{BTreeMap, BTreeSet};

use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use crate::store::StoreError;

/// The prefix every channel's keys start with.
const CHANNEL_PREFIX: &str = "CH#";

impl DynamoStore {
    /// The channels that no longer exist but still have items, each with how many.
    pub async fn gone_channels(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        let mut items: BTreeMap<String, usize> = BTreeMap::new();
        let mut existing: BTreeSet<String> = BTreeSet::new();
        for key in self.channel_keys().await? {
            let pk = item::get_s(&key, keys::PK)?;
            let Some(channel) = channel_of(pk) else {
                continue;
            };
            if pk == keys::channel_pk(channel) && item::get_s(&key, keys::SK)? == keys::CHANNEL_SK {
                existing.insert(channel.to_string());
            }
            *items.entry(channel.to_string()).or_default() += 1;
        }
        items.retain(|channel, _| !existing.contains(channel));
        Ok(items)
    }

    /// Deletes every item a gone channel left; how many. Refused for a channel that exists
    /// (`channel delete` is how a channel goes).
    pub async fn remove_gone_channel(&self, channel: &str) -> Result<usize, StoreError> {
        if self.get(item::channel_key(channel)).await?.is_some() {
            return Err(StoreError::Rejected(format!(
                "channel '{channel}' exists: delete it with `channel delete`"
            )));
        }
        let own = keys::channel_pk(channel);
        let beside = format!("{own}#");
        let doomed: Vec<Item> = self
            .channel_keys()
            .await?
            .into_iter()
            .filter(|key| {
                item::get_s(key, keys::PK).is_ok_and(|pk| pk == own || pk.starts_with(&beside))
            })
            .collect();
        let removed = doomed.len();
        self.delete_items(doomed).await?;
        Ok(removed)
    }

    /// The keys of every item under a channel's keys.
    async fn channel_keys(&self) -> Result<Vec<Item>, StoreError> {
        self.scan_prefix(CHANNEL_PREFIX, Some("PK, SK")).await
    }
}

/// The channel id a key of a channel's item names (channel ids hold no `#`).
fn channel_of(pk: &str) -> Option<&str> {
    let rest = pk.strip_prefix(CHANNEL_PREFIX)?;
    Some(rest.split('#').next().unwrap_or(rest)).filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_channel() {
        assert_eq!(channel_of("CH#abc"), Some("abc"));
        assert_eq!(channel_of("CH#abc#F#firstName#=ann"), Some("abc"));
        assert_eq!(channel_of("CH#abc#ALL"), Some("abc"));
        assert_eq!(channel_of("TOKEN#x"), None);
        assert_eq!(channel_of("CH#"), None);
    }
}
