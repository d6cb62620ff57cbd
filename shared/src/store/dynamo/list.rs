//! A channel's list: a Query of its list entries (creation order) from where the last
//! page ended, and a BatchGetItem of their contacts. One page of reads at any depth.

use super::{keys, DynamoStore};
use crate::store::{ListPage, StoreError};

impl DynamoStore {
    pub(super) async fn list_page(
        &self,
        channel: &str,
        after: Option<&str>,
        per_page: u32,
    ) -> Result<ListPage, StoreError> {
        let pk = keys::list_pk(channel);
        let entries = self
            .entries(&pk, after.unwrap_or(keys::ENTRIES_AFTER), per_page)
            .await?;
        let ids: Vec<&str> = entries
            .keys
            .iter()
            .filter_map(|sk| keys::id_from_index_sk(sk))
            .collect();
        Ok(ListPage {
            contacts: self.batch_get(channel, &ids).await?,
            next: entries.keys.last().filter(|_| entries.more).cloned(),
        })
    }
}
