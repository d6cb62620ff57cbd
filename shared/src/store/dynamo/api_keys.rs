//! Usage-plan API keys as the local stack keeps them: one item per key, written with the
//! channel's tokens by the operator's storage. On AWS the keys live in API Gateway's
//! usage plan instead, and this item is never read.

use super::item;
use super::DynamoStore;
use crate::store::StoreError;

impl DynamoStore {
    /// Whether the API key `value` exists. One strongly consistent read: the local gateway
    /// asks it on every call that needs a key, as API Gateway checks its usage plan, so a
    /// deleted channel's tokens stop working at once even while their authorizer answer
    /// is cached.
    pub async fn api_key_exists(&self, value: &str) -> Result<bool, StoreError> {
        Ok(self.get(item::api_key_key(value)).await?.is_some())
    }
}
