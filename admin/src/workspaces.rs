//! `contacts-admin workspace`: a business's channels grouped. A channel made without
//! `--workspace` gets a workspace of its own, with the channel's id and name.

use anyhow::Context;
use clap::Subcommand;
use contacts_shared::domain::workspace::WorkspaceRecord;
use contacts_shared::store::dynamo::Migrated;
use contacts_shared::{clock, random, DynamoStore};
use serde_json::{json, Value};

use crate::{progress, settle, Keys, Outcome};

#[derive(Subcommand)]
pub enum WorkspaceCommand {
    /// Creates a workspace (no channels yet); prints {"workspace_id"}.
    Create {
        #[arg(long)]
        name: String,
        /// Workspace id (default: a random one).
        #[arg(long)]
        id: Option<String>,
    },
    /// Lists every workspace (id, name, created), from the workspace list.
    List,
    /// Shows a workspace and its channels.
    Show {
        #[arg(long)]
        workspace: String,
    },
    /// Deletes a workspace and every channel in it, as `channel delete` deletes one. Final:
    /// no channel joins it from then on, every channel's requests are refused at once, and
    /// their data goes after the settle time (FIELD_CACHE_SECONDS + 10 s), waited once.
    Delete {
        #[arg(long)]
        workspace: String,
    },
}

pub async fn run(store: &DynamoStore, keys: &Keys, command: WorkspaceCommand) -> Outcome {
    match command {
        WorkspaceCommand::Create { name, id } => {
            let id = match id {
                Some(id) => id,
                None => format!("ws{}", &random::base32_id().context("no random id")?[..18]),
            };
            let record = WorkspaceRecord {
                id: id.clone(),
                name,
                created_at: clock::now(),
            };
            store.create_workspace(&record).await?;
            Ok(Some(json!({ "workspace_id": id })))
        }
        WorkspaceCommand::List => {
            let listed =
                store.workspaces().await?.into_iter().map(
                    |w| json!({"workspace_id": w.id, "name": w.name, "created_at": w.created_at}),
                );
            Ok(Some(Value::Array(listed.collect())))
        }
        WorkspaceCommand::Show { workspace } => {
            let state = store.existing_workspace(&workspace).await?;
            let channels = store.workspace_channels(&workspace).await?;
            let channels: Vec<Value> = channels
                .into_iter()
                .map(|c| {
                    json!({"channel_id": c.id, "name": c.name, "type": c.kind.as_str(),
                           "created_at": c.created_at})
                })
                .collect();
            Ok(Some(json!({
                "workspace_id": state.record.id, "name": state.record.name,
                "created_at": state.record.created_at,
                "deleting_since": state.deleting_since, "channels": channels,
            })))
        }
        WorkspaceCommand::Delete { workspace } => {
            let plan = keys.plan()?;
            // The channels' usage-plan keys first, as `channel delete` does: the gateway
            // refuses their calls at once.
            if let Some(plan) = plan {
                for listed in store.workspace_channels(&workspace).await? {
                    if let Some(key_id) = store
                        .channel(&listed.id)
                        .await?
                        .and_then(|record| record.api_key_id)
                    {
                        plan.delete_key(&key_id).await?;
                    }
                }
            }
            eprintln!(
                "deleting workspace {workspace}: its channels' tokens are revoked; waiting up \
                 to {}s for running functions",
                settle().as_secs()
            );
            let spinner = progress::spinner(&format!("deleting workspace {workspace}"));
            let done = store
                .delete_workspace(&workspace, settle(), &mut |at| {
                    spinner.set_message(format!(
                        "{} channel(s), {} contact(s), {} item(s) deleted",
                        at.channels, at.contacts, at.items
                    ));
                })
                .await?;
            spinner.finish_and_clear();
            eprintln!(
                "workspace {workspace} deleted: {} channel(s), {} contact(s) and {} item(s) \
                 in all",
                done.channels, done.contacts, done.items
            );
            Ok(None)
        }
    }
}

/// `contacts-admin migrate`: every listed channel without a workspace into one of its own.
pub async fn migrate(store: &DynamoStore) -> Outcome {
    let channels = store.channels().await?;
    let spinner = progress::spinner("migrating channels into workspaces");
    let (mut migrated, mut already, mut deleting) = (0, 0, 0);
    for (done, channel) in channels.iter().enumerate() {
        match store.migrate_channel(&channel.id).await? {
            Migrated::Into(_) => migrated += 1,
            Migrated::Already(_) => already += 1,
            Migrated::Deleting => deleting += 1,
        }
        spinner.set_message(format!("{} of {} channel(s)", done + 1, channels.len()));
    }
    spinner.finish_and_clear();
    Ok(Some(json!({
        "channels": channels.len(), "migrated": migrated,
        "already_in_a_workspace": already, "being_deleted": deleting,
    })))
}
