//! Channel tokens: issued and revoked with the channel's count of live tokens in the same
//! transaction, stored only as their hash. A channel with a live token has a live API key
//! item (the local stack's usage plan), and loses it with its last token.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::super::errors::{build_error, cancelled_by, classify};
use super::super::item;
use super::super::DynamoStore;
use crate::domain::token;
use crate::store::StoreError;

impl DynamoStore {
    /// Issues a new token for the channel; only its hash is stored. The channel's API key
    /// is put in the same transaction (idempotently), so the token never exists without it.
    pub async fn issue_token(&self, channel_id: &str) -> Result<String, StoreError> {
        let channel = self.existing_channel(channel_id).await?;
        let token = token::generate().map_err(|e| StoreError::Failed(e.to_string()))?;
        let hash = token::hash(&token);
        let mut token_item = item::token_key(&hash);
        token_item.insert(item::CHANNEL_ID.into(), item::s(channel.id.as_str()));
        token_item.insert(item::CHANNEL_TYPE.into(), item::s(channel.kind.as_str()));
        token_item.insert(item::API_KEY.into(), item::s(channel.api_key.as_str()));
        token_item.insert(item::CREATED_AT.into(), item::n(crate::clock::now()));
        let put_token = Put::builder()
            .table_name(&self.table)
            .set_item(Some(token_item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        let put_key = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item::api_key_item(&channel.api_key, &channel.id)))
            .build()
            .map_err(build_error)?;
        let writes = [put_token, put_key].map(|put| TransactWriteItem::builder().put(put).build());
        self.change_token(writes.into(), &channel.id, "ADD", hash)
            .await?;
        Ok(token)
    }

    /// Revokes a token, and the channel's API key with its last token; returns the id of
    /// the channel it belonged to.
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
        self.change_token(vec![delete], &grant.channel.id, "DELETE", hash)
            .await?;
        self.delete_api_key_if_unused(&grant.channel.id, &grant.api_key)
            .await?;
        Ok(grant.channel.id)
    }

    /// Writes token items and the matching change of their channel's token set (`ADD` or
    /// `DELETE` the hash) in one transaction, so the channel's count never drifts.
    async fn change_token(
        &self,
        mut writes: Vec<TransactWriteItem>,
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
        writes.push(TransactWriteItem::builder().update(count).build());
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Deletes the channel's API key once it has no live token (DynamoDB removes a set
    /// emptied by `DELETE`). Checked and deleted in one transaction: a token issued
    /// meanwhile either stops the delete or puts the key back after it.
    async fn delete_api_key_if_unused(
        &self,
        channel_id: &str,
        api_key: &str,
    ) -> Result<(), StoreError> {
        let no_tokens = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel_id)))
            .condition_expression("attribute_not_exists(#tokens)")
            .expression_attribute_names("#tokens", item::TOKENS)
            .build()
            .map_err(build_error)?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(item::api_key_key(api_key)))
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(no_tokens)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The channel still has a live token, which needs the key.
            Err(err) if cancelled_by(&err, &["ConditionalCheckFailed"]) => Ok(()),
            Err(err) => Err(classify(err)),
        }
    }
}
