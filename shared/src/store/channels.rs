//! Operator-side storage: the table, channels, tokens and field definitions.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, DeleteRequest, KeySchemaElement,
    KeyType, Put, ScalarAttributeType, TableStatus, TimeToLiveSpecification, TransactWriteItem,
    Update, WriteRequest,
};

use super::error::{build_error, classify, condition_failed};
use super::item::{self, Item};
use super::{keys, DynamoStore, StoreError};
use crate::channel::{Channel, ChannelType};
use crate::fields::{is_built_in, is_valid_name, FieldDef, FieldSet};
use crate::token;

/// A channel as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: String,
    pub name: String,
    pub kind: ChannelType,
    /// The usage-plan API key value the authorizer hands to API Gateway.
    pub api_key: String,
    /// The key's id in API Gateway, while it exists there (deployed stacks only).
    pub api_key_id: Option<String>,
    pub created_at: i64,
    /// Number of live tokens.
    pub tokens: usize,
}

/// What a valid token grants: its channel, and the API key that meters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub channel: Channel,
    pub api_key: String,
}

impl DynamoStore {
    /// Creates the table if it does not exist and waits until it is active.
    /// Returns whether it was created now.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let key = |name: &str, key_type| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(build_error)
        };
        let result = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(keys::PK)?)
            .attribute_definitions(attribute(keys::SK)?)
            .key_schema(key(keys::PK, KeyType::Hash)?)
            .key_schema(key(keys::SK, KeyType::Range)?)
            .send()
            .await;
        let created = match result {
            Ok(_) => true,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                false
            }
            Err(err) => return Err(classify(err)),
        };
        for _ in 0..120 {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(classify)?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                if created {
                    self.enable_ttl().await?;
                }
                return Ok(created);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {} did not become active",
            self.table
        )))
    }

    /// Lets DynamoDB delete idempotency records once they expire (as template.yaml does).
    async fn enable_ttl(&self) -> Result<(), StoreError> {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(item::EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(build_error)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub async fn create_channel(&self, record: &ChannelRecord) -> Result<(), StoreError> {
        if !crate::channel::is_valid_channel_id(&record.id) {
            return Err(StoreError::Rejected(format!(
                "channel id '{}' must be 1 to 64 letters, digits, '_' or '-'",
                record.id
            )));
        }
        let mut channel_item = item::channel_key(&record.id);
        channel_item.insert(item::NAME.into(), item::s(record.name.as_str()));
        channel_item.insert(item::TYPE.into(), item::s(record.kind.as_str()));
        channel_item.insert(item::API_KEY.into(), item::s(record.api_key.as_str()));
        if let Some(id) = &record.api_key_id {
            channel_item.insert(item::API_KEY_ID.into(), item::s(id.as_str()));
        }
        channel_item.insert(item::CREATED_AT.into(), item::n(record.created_at));
        channel_item.insert(item::FIELD_DEFS.into(), AttributeValue::M(HashMap::new()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(channel_item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Err(StoreError::Rejected(format!(
                "channel '{}' already exists",
                record.id
            ))),
            Err(err) => Err(classify(err)),
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

    /// Deletes a channel and everything it owns: its tokens, its contacts and their index
    /// entries, its field definitions. Returns how many contacts were deleted.
    pub async fn delete_channel(&self, channel_id: &str) -> Result<usize, StoreError> {
        let found = self
            .get(item::channel_key(channel_id))
            .await?
            .ok_or_else(|| StoreError::Rejected(format!("no channel '{channel_id}'")))?;
        let fields = item::field_set_from_item(Some(&found));
        let mut doomed: Vec<Item> = match found.get(item::TOKENS) {
            Some(AttributeValue::Ss(hashes)) => hashes.iter().map(|h| item::token_key(h)).collect(),
            _ => Vec::new(),
        };
        // Tokens first: once they are gone nobody can write to the channel again.
        self.delete_items(std::mem::take(&mut doomed)).await?;
        let mut contacts = 0;
        let mut start: Option<Item> = None;
        let (pk, contact_prefix) = (keys::channel_pk(channel_id), keys::contact_sk(""));
        loop {
            let (page, next) = self.query_page(&pk, &contact_prefix, start).await?;
            for stored in &page {
                let contact = item::contact_from_item(stored)?;
                for (name, value) in &contact.fields {
                    if let Some(def) = fields.get(name) {
                        let key = crate::values::match_key(def.field_type, value);
                        doomed.push(item::index_item(
                            channel_id,
                            name,
                            &key,
                            contact.created_at,
                            &contact.id,
                        ));
                    }
                }
                doomed.push(item::contact_key(channel_id, &contact.id));
                contacts += 1;
            }
            self.delete_items(std::mem::take(&mut doomed)).await?;
            start = next;
            if start.is_none() {
                break;
            }
        }
        self.delete_items(vec![item::channel_key(channel_id)])
            .await?;
        Ok(contacts)
    }

    /// Deletes items by key, 25 to a batch, retrying what DynamoDB leaves unprocessed.
    async fn delete_items(&self, keys_to_delete: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys_to_delete.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map_err(build_error)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, StoreError>>()?;
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(classify)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(StoreError::Unavailable(
                        "BatchWriteItem left items unprocessed".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
        }
        Ok(())
    }

    /// Issues a new token for the channel; only its hash is stored.
    pub async fn issue_token(&self, channel_id: &str) -> Result<String, StoreError> {
        let channel = self.existing_channel(channel_id).await?;
        let token = token::generate().map_err(|e| StoreError::Failed(e.to_string()))?;
        let hash = token::hash(&token);
        let mut token_item = item::token_key(&hash);
        token_item.insert(item::CHANNEL_ID.into(), item::s(channel.id.as_str()));
        token_item.insert(item::CHANNEL_TYPE.into(), item::s(channel.kind.as_str()));
        token_item.insert(item::API_KEY.into(), item::s(channel.api_key.as_str()));
        token_item.insert(item::CREATED_AT.into(), item::n(crate::clock::now()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(token_item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        let put = TransactWriteItem::builder().put(put).build();
        self.change_token(put, &channel.id, "ADD", hash).await?;
        Ok(token)
    }

    /// Revokes a token; returns the id of the channel it belonged to.
    pub async fn revoke_token(&self, token: &str) -> Result<String, StoreError> {
        let hash = token::hash(token);
        let grant = self
            .token_grant_by_hash(&hash)
            .await?
            .ok_or_else(|| StoreError::Rejected("no such token (already revoked?)".into()))?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(item::token_key(&hash)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build_error)?;
        let delete = TransactWriteItem::builder().delete(delete).build();
        self.change_token(delete, &grant.channel.id, "DELETE", hash)
            .await?;
        Ok(grant.channel.id)
    }

    /// Writes a token item and the matching change of its channel's token set (`ADD` or
    /// `DELETE` the hash) in one transaction, so the channel's count never drifts.
    async fn change_token(
        &self,
        token_action: TransactWriteItem,
        channel_id: &str,
        set_operation: &str,
        hash: String,
    ) -> Result<(), StoreError> {
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel_id)))
            .update_expression(format!("{set_operation} #tokens :hash"))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#tokens", item::TOKENS)
            .expression_attribute_values(":hash", AttributeValue::Ss(vec![hash]))
            .build()
            .map_err(build_error)?;
        self.client
            .transact_write_items()
            .transact_items(token_action)
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// What a presented token grants, if it is live. One strongly consistent read, so a
    /// revocation takes effect at once (apart from the gateway's authorizer cache).
    pub async fn token_grant(&self, token: &str) -> Result<Option<TokenGrant>, StoreError> {
        self.token_grant_by_hash(&token::hash(token)).await
    }

    async fn token_grant_by_hash(&self, hash: &str) -> Result<Option<TokenGrant>, StoreError> {
        let out = self.get(item::token_key(hash)).await?;
        let Some(found) = out else {
            return Ok(None);
        };
        let kind = item::get_s(&found, item::CHANNEL_TYPE)?
            .parse()
            .map_err(StoreError::Failed)?;
        Ok(Some(TokenGrant {
            channel: Channel {
                id: item::get_s(&found, item::CHANNEL_ID)?.to_string(),
                kind,
            },
            api_key: item::get_s(&found, item::API_KEY)?.to_string(),
        }))
    }

    /// Defines a custom field. Redefining a field with the same type replaces its list
    /// values; changing the type of a defined field is refused, because stored values
    /// and their index entries were made for the old type.
    pub async fn define_field(
        &self,
        channel_id: &str,
        name: &str,
        def: &FieldDef,
    ) -> Result<(), StoreError> {
        if !is_valid_name(name) {
            return Err(StoreError::Rejected(format!(
                "field name '{name}' must be 1 to 50 letters, digits, '_', '-' or '.'"
            )));
        }
        if is_built_in(name) {
            return Err(StoreError::Rejected(format!(
                "'{name}' is a built-in field"
            )));
        }
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
                self.existing_channel(channel_id).await?;
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

    /// The channel's field set (built-ins and custom definitions).
    pub async fn fields(&self, channel_id: &str) -> Result<FieldSet, StoreError> {
        let channel = self.get(item::channel_key(channel_id)).await?;
        match channel {
            Some(found) => Ok(item::field_set_from_item(Some(&found))),
            None => Err(StoreError::Rejected(format!("no channel '{channel_id}'"))),
        }
    }
}

fn channel_from_item(id: &str, found: &Item) -> Result<ChannelRecord, StoreError> {
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
    })
}
