//! Custom field definitions: a workspace's, kept on its item and copied onto each of its
//! channels' items, where v1 reads them (so no v1 call reads the workspace).

use super::super::errors::{applied, classify, condition_failed};
use super::super::item;
use super::super::DynamoStore;
use super::unique::check_can_be_unique;
use crate::domain::field_defs::{
    invalid_field_name, is_built_in, is_valid_name, FieldDef, FieldSet, Uniqueness,
};
use crate::store::StoreError;

impl DynamoStore {
    /// Defines a custom field in the channel's workspace, on every channel of it (on the
    /// channel alone when it is in none: made before workspaces, not migrated). Redefining
    /// a field with the same type replaces its list values; changing the type of a defined
    /// field is refused, because stored values and their index entries were made for the
    /// old type.
    pub async fn define_field(
        &self,
        channel_id: &str,
        name: &str,
        def: &FieldDef,
    ) -> Result<(), StoreError> {
        match self.existing_channel(channel_id).await?.workspace {
            Some(workspace) => self
                .define_workspace_field(&workspace, name, def)
                .await
                .map(|_| ()),
            None => self.define_channel_field(channel_id, name, def).await,
        }
    }

    /// Defines a custom field on the channel's item alone (its copy of its workspace's).
    async fn define_channel_field(
        &self,
        channel_id: &str,
        name: &str,
        def: &FieldDef,
    ) -> Result<(), StoreError> {
        check_custom_name(name)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel_id)))
            .update_expression("SET #defs.#name = :def")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(#defs.#name) OR #defs.#name.#type = :type)",
            )
            .expression_attribute_names("#defs", item::FIELD_DEFS)
            .expression_attribute_names("#name", name)
            .expression_attribute_names("#type", item::TYPE)
            .expression_attribute_values(":def", item::field_def_value(def))
            .expression_attribute_values(":type", item::s(def.field_type.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => {
                let current = self.fields(channel_id).await?;
                let was = current
                    .get(name)
                    .map(|d| d.field_type.to_string())
                    .unwrap_or_default();
                Err(StoreError::Rejected(format!(
                    "field '{name}' is already defined as {was}; its type cannot change"
                )))
            }
            Err(err) => Err(classify(err)),
        }
    }

    /// Defines a new custom field as unique at once on the channel: no contact can hold a
    /// value of a field that did not exist, and a function that does not know a name loads
    /// the definitions again, so no write can miss its claims. Then defines it (not
    /// unique: uniqueness is the channel's) on the rest of its workspace. `false`, with
    /// nothing changed, if the field exists on the channel (then
    /// [`make_unique`](DynamoStore::make_unique) does it).
    pub async fn define_unique_field(
        &self,
        channel_id: &str,
        name: &str,
        def: &FieldDef,
    ) -> Result<bool, StoreError> {
        if !is_valid_name(name) {
            return Err(StoreError::Rejected(invalid_field_name(name)));
        }
        let (fields, workspace) = self.fields_and_workspace(channel_id).await?;
        if fields.contains(name) {
            return Ok(false);
        }
        check_can_be_unique(name, def, fields.unique().len())?;
        // Channels made before unique fields existed have no map to set a name in.
        self.set_uniqueness_map(channel_id).await?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel_id)))
            .update_expression("SET #defs.#name = :def, #unique.#name = :on")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#defs.#name)")
            .expression_attribute_names("#defs", item::FIELD_DEFS)
            .expression_attribute_names("#unique", item::UNIQUE)
            .expression_attribute_names("#name", name)
            .expression_attribute_values(":def", item::field_def_value(def))
            .expression_attribute_values(":on", item::s(Uniqueness::On.as_str()))
            .send()
            .await;
        if !applied(result)? {
            return Ok(false);
        }
        if let Some(workspace) = workspace {
            let shared = FieldDef {
                unique: None,
                ..def.clone()
            };
            self.define_workspace_field(&workspace, name, &shared)
                .await?;
        }
        Ok(true)
    }

    /// Defines a custom field in a workspace, as [`define_field`](Self::define_field) does
    /// on a channel: on the workspace's item first (which refuses a type change, and moves
    /// the definitions' version, so that a channel joining meanwhile tries again with
    /// them), then on each of its channels. Run again after a failure part-way, it
    /// finishes. How many channels have it.
    pub async fn define_workspace_field(
        &self,
        workspace: &str,
        name: &str,
        def: &FieldDef,
    ) -> Result<usize, StoreError> {
        check_custom_name(name)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::workspace_key(workspace)))
            .update_expression("SET #defs.#name = :def ADD #v :one")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(#deleting) AND \
                 (attribute_not_exists(#defs.#name) OR #defs.#name.#type = :type)",
            )
            .expression_attribute_names("#defs", item::FIELD_DEFS)
            .expression_attribute_names("#name", name)
            .expression_attribute_names("#type", item::TYPE)
            .expression_attribute_names("#v", item::VERSION)
            .expression_attribute_names("#deleting", item::DELETING)
            .expression_attribute_values(":def", item::field_def_value(def))
            .expression_attribute_values(":type", item::s(def.field_type.as_str()))
            .expression_attribute_values(":one", item::n(1))
            .send()
            .await;
        if let Err(err) = result {
            if !condition_failed(&err) {
                return Err(classify(err));
            }
            let state = self.existing_workspace(workspace).await?;
            if state.deleting_since.is_some() {
                return Err(StoreError::Rejected(format!(
                    "workspace '{workspace}' is being deleted"
                )));
            }
            let was = self
                .workspace_fields(workspace)
                .await?
                .get(name)
                .map(|d| d.field_type.to_string())
                .unwrap_or_default();
            return Err(StoreError::Rejected(format!(
                "field '{name}' is already defined as {was}; its type cannot change"
            )));
        }
        let channels = self.workspace_channels(workspace).await?;
        let mut defined = 0;
        for channel in &channels {
            match self.define_channel_field(&channel.id, name, def).await {
                Ok(()) => defined += 1,
                // Deleted meanwhile: nothing to define it on.
                Err(_) if self.channel(&channel.id).await?.is_none() => {}
                Err(err) => return Err(err),
            }
        }
        Ok(defined)
    }

    /// The workspace's channels whose custom field definitions differ from `own`, the
    /// workspace's.
    pub(super) async fn drifted_channels(
        &self,
        workspace: &str,
        own: &FieldSet,
    ) -> Result<Vec<String>, StoreError> {
        let mut drifted = Vec::new();
        for channel in self.workspace_channels(workspace).await? {
            if let Some(found) = self.get(item::channel_key(&channel.id)).await? {
                if item::field_set_from_item(Some(&found)).custom() != own.custom() {
                    drifted.push(channel.id);
                }
            }
        }
        Ok(drifted)
    }

    /// Makes a channel's custom field definitions its workspace's again after a definition
    /// stopped part-way: one only the channel has goes to the workspace (and its other
    /// channels), then every one of the workspace's to the channel. A field defined with two
    /// types is refused, as a type change is.
    pub(super) async fn align_fields(&self, channel_id: &str) -> Result<(), StoreError> {
        let (channel, Some(workspace)) = self.fields_and_workspace(channel_id).await? else {
            return Ok(());
        };
        let own = self.workspace_fields(&workspace).await?;
        for (name, def) in channel.custom() {
            if !own.custom().contains_key(name) {
                self.define_workspace_field(&workspace, name, def).await?;
            }
        }
        for (name, def) in self.workspace_fields(&workspace).await?.custom() {
            if channel.custom().get(name) != Some(def) {
                self.define_channel_field(channel_id, name, def).await?;
            }
        }
        Ok(())
    }

    /// A workspace's custom field definitions (with the built-ins).
    pub async fn workspace_fields(&self, workspace: &str) -> Result<FieldSet, StoreError> {
        match self.get(item::workspace_key(workspace)).await? {
            Some(found) => Ok(item::field_set_from_item(Some(&found))),
            None => Err(StoreError::Rejected(format!("no workspace '{workspace}'"))),
        }
    }

    /// The channel's field set (built-ins and custom definitions).
    pub async fn fields(&self, channel_id: &str) -> Result<FieldSet, StoreError> {
        Ok(self.fields_and_workspace(channel_id).await?.0)
    }

    /// The channel's field set and its workspace, from one read of its item.
    async fn fields_and_workspace(
        &self,
        channel_id: &str,
    ) -> Result<(FieldSet, Option<String>), StoreError> {
        let channel = self.get(item::channel_key(channel_id)).await?;
        match channel {
            Some(found) => Ok((
                item::field_set_from_item(Some(&found)),
                found
                    .get(item::WORKSPACE)
                    .and_then(|v| v.as_s().ok())
                    .cloned(),
            )),
            None => Err(StoreError::Rejected(format!("no channel '{channel_id}'"))),
        }
    }
}

/// Refuses a name no custom field can have: not a field name, or a built-in's.
fn check_custom_name(name: &str) -> Result<(), StoreError> {
    if !is_valid_name(name) {
        return Err(StoreError::Rejected(invalid_field_name(name)));
    }
    if is_built_in(name) {
        return Err(StoreError::Rejected(format!(
            "'{name}' is a built-in field"
        )));
    }
    Ok(())
}
