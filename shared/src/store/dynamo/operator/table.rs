//! The table itself: created with its keys, its TTL attribute and its stream (new and old
//! images, which the webhook function consumes), as template.yaml declares it.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus, TimeToLiveSpecification,
};

use super::super::errors::{build_error, classify};
use super::super::{item, keys, DynamoStore};
use crate::store::StoreError;

impl DynamoStore {
    /// Creates the table if it does not exist, gives it its stream if it has none (a table
    /// made by an earlier version), and waits until it is active.
    /// Returns whether it was created now.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        self.create_table_with(TableStream::On).await
    }

    /// The table as [`create_table`](Self::create_table) makes it, with or without its
    /// stream. Without is for the bench's tables that no webhook reads: DynamoDB Local
    /// keeps every stream record in its database for a day, and its writes slow down as
    /// they pile up (on AWS a stream costs writes nothing).
    pub async fn create_table_with(&self, stream: TableStream) -> Result<bool, StoreError> {
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
            .set_stream_specification(match stream {
                TableStream::On => Some(stream_specification()?),
                TableStream::Off => None,
            })
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
            let table = out.table();
            if table.and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                let streaming = table
                    .and_then(|t| t.stream_specification())
                    .is_some_and(|s| s.stream_enabled());
                if streaming || stream == TableStream::Off {
                    if created {
                        self.enable_ttl().await?;
                    }
                    return Ok(created);
                }
                // Active again once the stream is on: the loop waits for that.
                self.enable_stream().await?;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {} did not become active",
            self.table
        )))
    }

    async fn enable_stream(&self) -> Result<(), StoreError> {
        self.client
            .update_table()
            .table_name(&self.table)
            .stream_specification(stream_specification()?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
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
}

/// Whether a table has its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableStream {
    On,
    Off,
}

/// The table's stream: both images of every change, from which the change events are made.
fn stream_specification() -> Result<StreamSpecification, StoreError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(build_error)
}
