//! Where the sealing keys come from, for the delivery function and the admin tool. On AWS
//! a Secrets Manager secret: its `AWSCURRENT` version seals, and opens with its
//! `AWSPREVIOUS` version what a rotation has not re-sealed yet. The functions read both at
//! start, keep them a few minutes, and read again at once when a secret names a key they
//! do not know: a rotation reaches them with no redeploy. Locally the same, against the
//! secret the local stack keeps in moto. A key given as it is (`WEBHOOK_SEALING_KEY`) is
//! the only key, and never rotates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use tokio::sync::Mutex;

use super::seal::{SealingKey, SealingKeys};
use super::signature::Secret;
use crate::env;

/// How long the keys read are trusted before being read again.
const KEEP: Duration = Duration::from_secs(300);
/// The shortest time between two reads forced by a key not known.
const RECHECK: Duration = Duration::from_secs(10);

/// The version stages of a secret: the key that seals, and the one before it.
pub const CURRENT: &str = "AWSCURRENT";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// A Secrets Manager secret holding the sealing key.
#[derive(Debug, Clone)]
pub struct KeySecret {
    pub client: Client,
    /// Its ARN or name.
    pub id: String,
}

impl KeySecret {
    /// The secret `id`, on `endpoint` when given (moto's, locally).
    pub async fn connect(id: &str, endpoint: Option<&str>) -> Self {
        let config = crate::aws::sdk_config(endpoint).await;
        KeySecret {
            client: Client::new(&config),
            id: id.to_string(),
        }
    }

    /// The text of its version at `stage`, if it has one.
    pub async fn version(&self, stage: &str) -> Result<Option<String>, String> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .version_stage(stage)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.secret_string().map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!(
                "cannot read the sealing key {} ({stage}): {}",
                self.id,
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )),
        }
    }

    /// Its current key and the one before it, if any.
    pub async fn keys(&self) -> Result<SealingKeys, String> {
        let current = self
            .version(CURRENT)
            .await?
            .ok_or_else(|| format!("the sealing key {} has no current version", self.id))?;
        let previous = self.version(PREVIOUS).await?;
        let older = previous
            .filter(|p| *p != current)
            .map(|p| SealingKey::new(&p))
            .transpose()?;
        Ok(SealingKeys::new(SealingKey::new(&current)?, older))
    }

    /// Makes `text` the current key: the current one becomes the previous one.
    pub async fn put(&self, text: &str) -> Result<(), String> {
        self.client
            .put_secret_value()
            .secret_id(&self.id)
            .secret_string(text)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "cannot store a new sealing key in {}: {}",
                    self.id,
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                )
            })
    }
}

/// Where a process's keys come from.
#[derive(Debug)]
pub enum KeySource {
    Secret(KeySecret),
    /// A key given as it is: the only one.
    Fixed(String),
}

impl KeySource {
    /// `WEBHOOK_SEALING_KEY_SECRET` (on `SECRETS_MANAGER_ENDPOINT` when set), else
    /// `WEBHOOK_SEALING_KEY`.
    pub async fn from_env() -> Result<Self, String> {
        if let Some(id) = env::get(env::WEBHOOK_SEALING_KEY_SECRET) {
            let endpoint = env::get(env::SECRETS_MANAGER_ENDPOINT);
            return Ok(KeySource::Secret(
                KeySecret::connect(&id, endpoint.as_deref()).await,
            ));
        }
        env::get(env::WEBHOOK_SEALING_KEY)
            .map(KeySource::Fixed)
            .ok_or_else(|| {
                format!(
                    "neither {} nor {} is set: webhook secrets cannot be sealed or opened",
                    env::WEBHOOK_SEALING_KEY_SECRET,
                    env::WEBHOOK_SEALING_KEY
                )
            })
    }

    pub async fn keys(&self) -> Result<SealingKeys, String> {
        match self {
            KeySource::Secret(secret) => secret.keys().await,
            KeySource::Fixed(text) => Ok(SealingKeys::new(SealingKey::new(text)?, [])),
        }
    }
}

/// A process's keys, read from their source and kept a while.
pub struct KeyRing {
    source: KeySource,
    kept: Mutex<Option<(Instant, Arc<SealingKeys>)>>,
}

impl KeyRing {
    pub fn new(source: KeySource) -> Self {
        KeyRing {
            source,
            kept: Mutex::new(None),
        }
    }

    /// The keys, read again when kept longer than [`KEEP`], or (`fresh`) than [`RECHECK`].
    pub async fn keys(&self, fresh: bool) -> Result<Arc<SealingKeys>, String> {
        let mut kept = self.kept.lock().await;
        let trusted = if fresh { RECHECK } else { KEEP };
        if let Some((at, keys)) = kept.as_ref() {
            if at.elapsed() < trusted {
                return Ok(keys.clone());
            }
        }
        let keys = Arc::new(self.source.keys().await?);
        *kept = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    /// The secret `sealed` holds; a key it names that is not known is looked for again.
    pub async fn open(&self, sealed: &str, channel: &str, webhook: &str) -> Result<Secret, String> {
        let keys = self.keys(false).await?;
        if keys.knows(sealed) {
            return keys.open(sealed, channel, webhook);
        }
        self.keys(true).await?.open(sealed, channel, webhook)
    }
}
