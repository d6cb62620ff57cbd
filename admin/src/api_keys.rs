//! Per-channel API Gateway keys in the stack's usage plan: each channel gets its own
//! token bucket (100 calls a minute) because its key is what the authorizer names.

use anyhow::{anyhow, bail, Context};
use aws_config::BehaviorVersion;
use aws_sdk_apigateway::config::{Credentials, Region};
use aws_sdk_apigateway::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_apigateway::Client;
use contacts_shared::env;

pub struct UsagePlan {
    client: Client,
    plan_id: String,
}

impl UsagePlan {
    /// The usage plan `plan_id`, on AWS or, for tests, on `endpoint`.
    pub async fn connect(endpoint: Option<&str>, plan_id: &str) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
            if std::env::var_os(env::AWS_ACCESS_KEY_ID).is_none() {
                loader = loader
                    .credentials_provider(Credentials::new("local", "local", None, None, "local"));
            }
            if std::env::var_os(env::AWS_REGION).is_none()
                && std::env::var_os(env::AWS_DEFAULT_REGION).is_none()
            {
                loader = loader.region(Region::new("us-east-1"));
            }
        }
        UsagePlan {
            client: Client::new(&loader.load().await),
            plan_id: plan_id.to_string(),
        }
    }

    /// Creates the channel's key with the given value and attaches it to the plan;
    /// returns the key's id.
    pub async fn create_key(&self, channel_id: &str, value: &str) -> anyhow::Result<String> {
        let key = self
            .client
            .create_api_key()
            .name(format!("contacts-channel-{channel_id}"))
            .description(format!(
                "Usage-plan key of Contacts API channel {channel_id}"
            ))
            .value(value)
            .enabled(true)
            .send()
            .await
            .map_err(|e| anyhow!("{}", DisplayErrorContext(e)))
            .context("cannot create the channel's API key")?;
        let id = key
            .id()
            .context("API Gateway returned a key without an id")?
            .to_string();
        let attached = self
            .client
            .create_usage_plan_key()
            .usage_plan_id(&self.plan_id)
            .key_id(&id)
            .key_type("API_KEY")
            .send()
            .await;
        if let Err(err) = attached {
            // Leave nothing behind: a key outside the plan would count against the
            // account's 10,000 keys for nothing.
            let _ = self.delete_key(&id).await;
            bail!(
                "cannot attach the API key to usage plan {}: {}",
                self.plan_id,
                DisplayErrorContext(err)
            );
        }
        Ok(id)
    }

    /// Detaches a key from the plan and deletes it; a key already gone is fine.
    pub async fn delete_key(&self, key_id: &str) -> anyhow::Result<()> {
        let detached = self
            .client
            .delete_usage_plan_key()
            .usage_plan_id(&self.plan_id)
            .key_id(key_id)
            .send()
            .await;
        match detached {
            Ok(_) => {}
            Err(err) if not_found(&err) => {}
            Err(err) => bail!(
                "cannot detach API key {key_id}: {}",
                DisplayErrorContext(err)
            ),
        }
        match self.client.delete_api_key().api_key(key_id).send().await {
            Ok(_) => Ok(()),
            Err(err) if not_found(&err) => Ok(()),
            Err(err) => bail!(
                "cannot delete API key {key_id}: {}",
                DisplayErrorContext(err)
            ),
        }
    }
}

fn not_found<E: ProvideErrorMetadata, R>(err: &aws_sdk_apigateway::error::SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("NotFoundException")
}
