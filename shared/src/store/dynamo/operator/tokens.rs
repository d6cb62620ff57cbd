//! Channel tokens: issued and revoked with the channel's count of live tokens in the same
//! transaction, stored only as their hash.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::super::errors::{build_error, classify};
use super::super::item;
use super::super::DynamoStore;
use crate::domain::token;
use crate::store::StoreError;

impl DynamoStore {
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
}
