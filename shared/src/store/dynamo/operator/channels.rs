//! Channels: created, listed and read; and the plain batch writes operator commands use.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};

use super::super::errors::{build_error, cancelled_at, classify, condition_failed};
use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use crate::domain::channel::{invalid_channel_id, is_valid_channel_id, ChannelRecord};
use crate::domain::workspace::WorkspaceRecord;
use crate::store::StoreError;
use crate::ChannelType;

/// Tries at joining a workspace whose field definitions change meanwhile.
const JOIN_ATTEMPTS: usize = 5;

impl DynamoStore {
    /// Creates a channel, its entry in the channel list and in its workspace, in one
    /// transaction: in `record.workspace`, which must exist and not be being deleted, with
    /// the workspace's field definitions, or, when `None`, in a workspace of its own made
    /// with it (the channel's id and name).
    pub async fn create_channel(&self, record: &ChannelRecord) -> Result<(), StoreError> {
        if !is_valid_channel_id(&record.id) {
            return Err(StoreError::Rejected(invalid_channel_id(&record.id)));
        }
        let workspace = record.workspace.as_deref().unwrap_or(&record.id);
        // A field defined on the workspace meanwhile moves its version: read it again.
        for _ in 0..JOIN_ATTEMPTS {
            let (defs, version) = match &record.workspace {
                Some(workspace) => self.workspace_defs(workspace).await?,
                None => (AttributeValue::M(HashMap::new()), 0),
            };
            let mut channel_item = item::channel_key(&record.id);
            channel_item.insert(item::NAME.into(), item::s(record.name.as_str()));
            channel_item.insert(item::TYPE.into(), item::s(record.kind.as_str()));
            channel_item.insert(item::API_KEY.into(), item::s(record.api_key.as_str()));
            if let Some(id) = &record.api_key_id {
                channel_item.insert(item::API_KEY_ID.into(), item::s(id.as_str()));
            }
            channel_item.insert(item::CREATED_AT.into(), item::n(record.created_at));
            channel_item.insert(item::FIELD_DEFS.into(), defs);
            channel_item.insert(item::WORKSPACE.into(), item::s(workspace));
            let mut actions = vec![
                self.put_action(channel_item, Some("attribute_not_exists(PK)"))?,
                self.put_action(listed_channel_item(record, Some(workspace)), None)?,
                self.put_action(workspace_channel_item(workspace, record), None)?,
            ];
            let in_own = record.workspace.is_none();
            if in_own {
                let own = WorkspaceRecord {
                    id: workspace.to_string(),
                    name: record.name.clone(),
                    created_at: record.created_at,
                };
                actions.extend(self.workspace_puts(&own, None)?);
            } else {
                actions.push(self.workspace_open_check(workspace, version)?);
            }
            let err = match self.transact(actions).await {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let failed = cancelled_at(&err, "ConditionalCheckFailed");
            if failed.contains(&0) {
                return Err(StoreError::Rejected(format!(
                    "channel '{}' already exists",
                    record.id
                )));
            } else if failed.contains(&3) && in_own {
                return Err(StoreError::Rejected(format!(
                    "a workspace '{workspace}' exists: make the channel in it with \
                     --workspace {workspace}, or give the channel another id"
                )));
            } else if !failed.contains(&3) {
                return Err(classify(err));
            }
        }
        Err(StoreError::Failed(format!(
            "workspace '{workspace}' kept changing its fields while the channel was made: \
             try again"
        )))
    }

    /// The workspace's field definitions as a channel item holds them, and their version;
    /// refused when it is missing or being deleted.
    async fn workspace_defs(&self, workspace: &str) -> Result<(AttributeValue, i64), StoreError> {
        let state = self.get(item::workspace_key(workspace)).await?;
        match state {
            Some(found) if !found.contains_key(item::DELETING) => Ok((
                found
                    .get(item::FIELD_DEFS)
                    .cloned()
                    .unwrap_or_else(|| AttributeValue::M(HashMap::new())),
                item::get_n(&found, item::VERSION).unwrap_or(0),
            )),
            _ => Err(StoreError::Rejected(format!(
                "no workspace '{workspace}' (or it is being deleted)"
            ))),
        }
    }

    /// A transaction's put of `item`, on `condition` when given.
    pub(super) fn put_action(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .map_err(build_error)
    }

    /// Lists a channel that exists (made before the channel list was kept): idempotent.
    pub async fn list_channel(&self, record: &ChannelRecord) -> Result<(), StoreError> {
        self.put_items(vec![listed_channel_item(
            record,
            record.workspace.as_deref(),
        )])
        .await
    }

    /// Every channel, by id, from the channel list: a query of its partition, a page at a
    /// time, never a scan (a stack holds at most 10,000 channels with live keys).
    pub async fn channels(&self) -> Result<Vec<ListedChannel>, StoreError> {
        self.listed_channels(keys::CHANNELS_PK, "").await
    }

    /// The channels listed in partition `pk` under sort keys `{prefix}{channel id}`.
    pub(super) async fn listed_channels(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<ListedChannel>, StoreError> {
        let mut channels = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let (page, next) = self.query_page(pk, prefix, start).await?;
            for found in &page {
                let sk = item::get_s(found, keys::SK)?;
                channels.push(ListedChannel {
                    id: sk.strip_prefix(prefix).unwrap_or(sk).to_string(),
                    name: item::get_s(found, item::NAME)?.to_string(),
                    kind: item::get_s(found, item::TYPE)?
                        .parse()
                        .map_err(StoreError::Failed)?,
                    created_at: item::get_n(found, item::CREATED_AT)?,
                    workspace: found
                        .get(item::WORKSPACE)
                        .and_then(|v| v.as_s().ok())
                        .cloned(),
                });
            }
            start = next;
            if start.is_none() {
                return Ok(channels);
            }
        }
    }

    pub async fn channel(&self, id: &str) -> Result<Option<ChannelRecord>, StoreError> {
        let out = self.get(item::channel_key(id)).await?;
        out.map(|i| channel_from_item(id, &i)).transpose()
    }

    /// The channel, or the operator-facing refusal `no channel '{id}'`.
    pub async fn existing_channel(&self, id: &str) -> Result<ChannelRecord, StoreError> {
        self.channel(id)
            .await?
            .ok_or_else(|| StoreError::Rejected(format!("no channel '{id}'")))
    }

    /// Records (or, with `None`, forgets) the id of the channel's API Gateway key.
    pub async fn set_api_key_id(
        &self,
        channel_id: &str,
        key_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel_id)))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#id", item::API_KEY_ID);
        let update = match key_id {
            Some(id) => update
                .update_expression("SET #id = :id")
                .expression_attribute_values(":id", item::s(id)),
            None => update.update_expression("REMOVE #id"),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => {
                Err(StoreError::Rejected(format!("no channel '{channel_id}'")))
            }
            Err(err) => Err(classify(err)),
        }
    }

    /// Deletes items by key, 25 to a batch, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn delete_items(&self, keys_to_delete: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys_to_delete
            .into_iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(build_error)?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await
    }
}

/// A channel as the channel list holds it: what never changes once it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedChannel {
    pub id: String,
    pub name: String,
    pub kind: ChannelType,
    pub created_at: i64,
    /// Its workspace (in the channel list; `None` there for channels listed before
    /// workspaces and not migrated since).
    pub workspace: Option<String>,
}

/// The workspace's entry for the channel: what the channel list holds, under the workspace.
pub(super) fn workspace_channel_item(workspace: &str, record: &ChannelRecord) -> Item {
    let mut entry = item::workspace_channel_key(workspace, &record.id);
    entry.insert(item::NAME.into(), item::s(record.name.as_str()));
    entry.insert(item::TYPE.into(), item::s(record.kind.as_str()));
    entry.insert(item::CREATED_AT.into(), item::n(record.created_at));
    entry
}

/// The channel's entry in the channel list, naming `workspace` when it is in one.
pub(super) fn listed_channel_item(record: &ChannelRecord, workspace: Option<&str>) -> Item {
    let mut listed = item::listed_channel_key(&record.id);
    listed.insert(item::NAME.into(), item::s(record.name.as_str()));
    listed.insert(item::TYPE.into(), item::s(record.kind.as_str()));
    listed.insert(item::CREATED_AT.into(), item::n(record.created_at));
    if let Some(workspace) = workspace {
        listed.insert(item::WORKSPACE.into(), item::s(workspace));
    }
    listed
}

pub(super) fn channel_from_item(id: &str, found: &Item) -> Result<ChannelRecord, StoreError> {
    Ok(ChannelRecord {
        id: id.to_string(),
        name: item::get_s(found, item::NAME)?.to_string(),
        kind: item::get_s(found, item::TYPE)?
            .parse()
            .map_err(StoreError::Failed)?,
        api_key: item::get_s(found, item::API_KEY)?.to_string(),
        api_key_id: found
            .get(item::API_KEY_ID)
            .and_then(|v| v.as_s().ok())
            .cloned(),
        created_at: item::get_n(found, item::CREATED_AT)?,
        tokens: match found.get(item::TOKENS) {
            Some(AttributeValue::Ss(hashes)) => hashes.len(),
            _ => 0,
        },
        workspace: found
            .get(item::WORKSPACE)
            .and_then(|v| v.as_s().ok())
            .cloned(),
    })
}
