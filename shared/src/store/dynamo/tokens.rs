//! What a presented token grants: the authorizer's one read.

use super::item;
use super::DynamoStore;
use crate::domain::channel::{Channel, TokenGrant};
use crate::domain::token;
use crate::store::StoreError;

impl DynamoStore {
    /// What a presented token grants, if it is live. One strongly consistent read, so a
    /// revocation takes effect at once (apart from the gateway's authorizer cache).
    pub async fn token_grant(&self, token: &str) -> Result<Option<TokenGrant>, StoreError> {
        self.token_grant_by_hash(&token::hash(token)).await
    }

    pub(crate) async fn token_grant_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<TokenGrant>, StoreError> {
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
}
