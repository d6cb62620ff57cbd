//! Batch writes of whole items, for the operator's commands and the stream function's
//! replay marks: neither is on an endpoint's path.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use super::errors::{build_error, classify};
use super::item::Item;
use super::{DynamoStore, CAPACITY};
use crate::backoff::backoff;
use crate::limits::MAX_WRITE_ATTEMPTS;
use crate::store::StoreError;

impl DynamoStore {
    /// Puts whole items, 25 to a batch, retrying what DynamoDB leaves unprocessed (the
    /// plainest way to write: the bench measures DynamoDB's ceiling with it).
    pub async fn put_items(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(build_error)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await
    }

    /// Writes `requests`, 25 to a `BatchWriteItem`: what DynamoDB leaves unprocessed, and a
    /// request that fails for a while (throttled, timed out: an operator command beside a
    /// busy API), are tried again with a growing pause before the command gives up.
    pub(crate) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut requests = chunk.to_vec();
            for attempt in 0..=MAX_WRITE_ATTEMPTS {
                let sent = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests.clone())
                    .return_consumed_capacity(CAPACITY)
                    .send()
                    .await
                    .map_err(classify);
                requests = match sent {
                    Ok(out) => out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(&self.table))
                        .unwrap_or_default(),
                    Err(StoreError::Unavailable(why)) if attempt < MAX_WRITE_ATTEMPTS => {
                        tracing::warn!(why = %why, attempt, "a batch write retried");
                        requests
                    }
                    Err(err) => return Err(err),
                };
                if requests.is_empty() {
                    break;
                }
                if attempt == MAX_WRITE_ATTEMPTS {
                    return Err(StoreError::Unavailable(
                        "BatchWriteItem left items unprocessed".into(),
                    ));
                }
                backoff(attempt).await;
            }
        }
        Ok(())
    }
}
