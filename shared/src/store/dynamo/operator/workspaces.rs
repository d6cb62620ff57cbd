//! Workspaces: created, listed, read and deleted. A workspace's item and its entry for each
//! of its channels share the partition `WS#{id}`; the workspace list, `WORKSPACES`, names
//! every workspace, so that the operator lists them with a query, never a scan.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

use super::super::errors::{build_error, cancelled_at, cancelled_by, classify};
use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use super::channels::{
    channel_from_item, listed_channel_item, workspace_channel_item, ListedChannel,
};
use super::deletion::Deletion;
use crate::domain::channel::ChannelRecord;
use crate::domain::workspace::{invalid_workspace_id, is_valid_workspace_id, WorkspaceRecord};
use crate::store::StoreError;

/// How a channel's migration into a workspace of its own ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migrated {
    /// Into this workspace, made for it.
    Into(String),
    /// It was in a workspace already (this one): nothing written.
    Already(String),
    /// It is being deleted (or gone): left alone.
    Deleting,
}

/// A workspace as it stands: its record, and whether it is being deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceState {
    pub record: WorkspaceRecord,
    /// Marked for deletion (Unix seconds): no channel joins it any more, and running
    /// `workspace delete` again finishes it.
    pub deleting_since: Option<i64>,
}

/// Where a workspace's deletion stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkspaceDeletion {
    /// Channels deleted, with what they held.
    pub channels: usize,
    pub contacts: usize,
    /// Items deleted, the channels' among them.
    pub items: usize,
}

impl DynamoStore {
    /// Creates a workspace and its entry in the workspace list, in one transaction.
    pub async fn create_workspace(&self, record: &WorkspaceRecord) -> Result<(), StoreError> {
        if !is_valid_workspace_id(&record.id) {
            return Err(StoreError::Rejected(invalid_workspace_id(&record.id)));
        }
        match self.transact(self.workspace_puts(record, None)?).await {
            Ok(_) => Ok(()),
            Err(err) if cancelled_by(&err, &["ConditionalCheckFailed"]) => Err(
                StoreError::Rejected(format!("workspace '{}' already exists", record.id)),
            ),
            Err(err) => Err(classify(err)),
        }
    }

    /// The puts that make a workspace, the workspace's item first (conditional on its
    /// absence), then its entry in the workspace list.
    /// `defs`: its field definitions, as a channel item holds them (`None`: none yet).
    pub(super) fn workspace_puts(
        &self,
        record: &WorkspaceRecord,
        defs: Option<AttributeValue>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut workspace = item::workspace_key(&record.id);
        let mut listed = item::listed_workspace_key(&record.id);
        for entry in [&mut workspace, &mut listed] {
            entry.insert(item::NAME.into(), item::s(record.name.as_str()));
            entry.insert(item::CREATED_AT.into(), item::n(record.created_at));
        }
        workspace.insert(
            item::FIELD_DEFS.into(),
            defs.unwrap_or_else(|| AttributeValue::M(Default::default())),
        );
        Ok(vec![
            self.put_action(workspace, Some("attribute_not_exists(PK)"))?,
            self.put_action(listed, None)?,
        ])
    }

    /// A transaction's check that the workspace exists, is not being deleted and its
    /// field definitions are still at `version`: a channel joins it only then, with them.
    pub(super) fn workspace_open_check(
        &self,
        workspace: &str,
        version: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(item::workspace_key(workspace)))
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(#deleting) AND \
                 (#v = :v OR (attribute_not_exists(#v) AND :v = :zero))",
            )
            .expression_attribute_names("#deleting", item::DELETING)
            .expression_attribute_names("#v", item::VERSION)
            .expression_attribute_values(":v", item::n(version))
            .expression_attribute_values(":zero", item::n(0))
            .build()
            .map(|check| TransactWriteItem::builder().condition_check(check).build())
            .map_err(build_error)
    }

    /// Every workspace, from the workspace list: a query of its partition, a page at a time.
    pub async fn workspaces(&self) -> Result<Vec<WorkspaceRecord>, StoreError> {
        let mut workspaces = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let (page, next) = self.query_page(keys::WORKSPACES_PK, "", start).await?;
            for found in &page {
                workspaces.push(workspace_from_item(item::get_s(found, keys::SK)?, found)?);
            }
            start = next;
            if start.is_none() {
                return Ok(workspaces);
            }
        }
    }

    pub async fn workspace(&self, id: &str) -> Result<Option<WorkspaceState>, StoreError> {
        let Some(found) = self.get(item::workspace_key(id)).await? else {
            return Ok(None);
        };
        Ok(Some(WorkspaceState {
            record: workspace_from_item(id, &found)?,
            deleting_since: item::get_n(&found, item::DELETING).ok(),
        }))
    }

    /// The workspace, or the operator-facing refusal `no workspace '{id}'`.
    pub async fn existing_workspace(&self, id: &str) -> Result<WorkspaceState, StoreError> {
        self.workspace(id)
            .await?
            .ok_or_else(|| StoreError::Rejected(format!("no workspace '{id}'")))
    }

    /// The workspace's channels, from its own partition.
    pub async fn workspace_channels(&self, id: &str) -> Result<Vec<ListedChannel>, StoreError> {
        let mut channels = self
            .listed_channels(&keys::workspace_pk(id), keys::WORKSPACE_CHANNEL_SK_PREFIX)
            .await?;
        for channel in &mut channels {
            channel.workspace = Some(id.to_string());
        }
        Ok(channels)
    }

    /// Deletes a workspace and every channel in it, as `channel delete` deletes a channel.
    /// Final: the workspace is marked first, so that no channel joins it from then on;
    /// then every channel of it is stopped (tokens, API key and webhooks gone, marked as
    /// being deleted) before any is emptied, so the settle time is waited once, not once
    /// per channel. The workspace's item goes last but for its list entry: run again, a
    /// deletion that stopped part-way is finished.
    pub async fn delete_workspace(
        &self,
        id: &str,
        settle: Duration,
        progress: &mut dyn FnMut(&WorkspaceDeletion),
    ) -> Result<WorkspaceDeletion, StoreError> {
        let mut done = WorkspaceDeletion::default();
        if self
            .mark_deleting_item(item::workspace_key(id))
            .await?
            .is_some()
        {
            let channels = self.workspace_channels(id).await?;
            // Stopped, not yet counted: each channel's deletion counts what it deletes.
            for channel in &channels {
                if self.get(item::channel_key(&channel.id)).await?.is_some() {
                    self.stop_channel(&channel.id).await?;
                }
            }
            for channel in &channels {
                if self.get(item::channel_key(&channel.id)).await?.is_some() {
                    let before = done;
                    let deleted = self
                        .delete_channel(&channel.id, settle, &mut |at: &Deletion| {
                            progress(&WorkspaceDeletion {
                                contacts: before.contacts + at.contacts,
                                items: before.items + at.items,
                                ..before
                            })
                        })
                        .await?;
                    done.contacts += deleted.contacts;
                    done.items += deleted.items;
                    done.channels += 1;
                }
            }
        } else if self.get(item::listed_workspace_key(id)).await?.is_none() {
            return Err(StoreError::Rejected(format!("no workspace '{id}'")));
        }
        // What is left in its partition (entries of channels deleted meanwhile), its item
        // among them; then its list entry, so that one stopped part-way stays listed.
        let left = self.keys_in(&keys::workspace_pk(id), None).await?;
        done.items += left.len() + 1;
        self.delete_items(left).await?;
        self.delete_items(vec![item::listed_workspace_key(id)])
            .await?;
        progress(&done);
        Ok(done)
    }

    /// Puts a channel made before workspaces into a workspace of its own, as `channel
    /// create` without `--workspace` would have made it: the channel's id and name (a
    /// random id when a workspace has the channel's). One transaction, conditional on the
    /// channel having no workspace and not being deleted, so it is idempotent, safe beside
    /// the API (which never writes a channel's workspace), and never makes two.
    pub async fn migrate_channel(&self, channel_id: &str) -> Result<Migrated, StoreError> {
        let mut workspace = channel_id.to_string();
        loop {
            let Some(found) = self.get(item::channel_key(channel_id)).await? else {
                return Ok(Migrated::Deleting);
            };
            let record = channel_from_item(channel_id, &found)?;
            if let Some(already) = record.workspace {
                return Ok(Migrated::Already(already));
            }
            let own = WorkspaceRecord {
                id: workspace.clone(),
                name: record.name.clone(),
                created_at: crate::clock::now(),
            };
            // The workspace's definitions are the channel's, as they stand: the update
            // is conditional on them not changing meanwhile.
            let defs = found.get(item::FIELD_DEFS).cloned();
            let mut actions = vec![self.join_workspace(&record, &workspace, defs.as_ref())?];
            actions.push(self.put_action(workspace_channel_item(&workspace, &record), None)?);
            actions.extend(self.workspace_puts(&own, defs)?);
            // Last, so that the positions above name the conditions that failed.
            actions.push(self.put_action(listed_channel_item(&record, Some(&workspace)), None)?);
            match self.transact(actions).await {
                Ok(_) => return Ok(Migrated::Into(workspace)),
                Err(err) => {
                    let failed = cancelled_at(&err, "ConditionalCheckFailed");
                    if failed.contains(&0) {
                        // It joined one meanwhile, or is being deleted: read it again.
                        if self
                            .channel(channel_id)
                            .await?
                            .is_some_and(|c| c.workspace.is_none())
                        {
                            return Ok(Migrated::Deleting);
                        }
                    } else if failed.contains(&2) {
                        // A workspace has the channel's id: one of its own, at random.
                        workspace = format!(
                            "ws{}",
                            &crate::random::base32_id()
                                .map_err(|e| StoreError::Failed(e.to_string()))?[..18]
                        );
                    } else {
                        return Err(classify(err));
                    }
                }
            }
        }
    }

    /// A transaction's update naming the channel's workspace, if it has none, is not
    /// being deleted, and its field definitions are still `defs`.
    fn join_workspace(
        &self,
        record: &ChannelRecord,
        workspace: &str,
        defs: Option<&AttributeValue>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(&record.id)))
            .update_expression("SET #workspace = :workspace")
            .expression_attribute_names("#workspace", item::WORKSPACE)
            .expression_attribute_names("#deleting", item::DELETING)
            .expression_attribute_names("#defs", item::FIELD_DEFS)
            .expression_attribute_values(":workspace", item::s(workspace));
        let unchanged = match defs {
            Some(_) => "#defs = :defs",
            None => "attribute_not_exists(#defs)",
        };
        let update = match defs {
            Some(defs) => update.expression_attribute_values(":defs", defs.clone()),
            None => update,
        };
        update
            .condition_expression(format!(
                "attribute_exists(PK) AND attribute_not_exists(#workspace) AND \
                 attribute_not_exists(#deleting) AND {unchanged}"
            ))
            .build()
            .map(|update| TransactWriteItem::builder().update(update).build())
            .map_err(build_error)
    }
}

fn workspace_from_item(id: &str, found: &Item) -> Result<WorkspaceRecord, StoreError> {
    Ok(WorkspaceRecord {
        id: id.to_string(),
        name: item::get_s(found, item::NAME)?.to_string(),
        created_at: item::get_n(found, item::CREATED_AT)?,
    })
}
