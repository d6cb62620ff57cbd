//! Which table the tool works on: the endpoint given (DynamoDB Local), AWS when asked
//! with `--aws`, otherwise the local stack `make dev` runs, when one runs (it says so in
//! `.local/stack.json`), and AWS with the usual credentials when none does.

use std::path::PathBuf;

use anyhow::bail;
use contacts_shared::dev_stack::DevStack;
use contacts_shared::env;
use contacts_shared::webhooks::keyring::{KeySecret, KeySource};

/// Where the table is, and where the keys sealing its webhook secrets are.
pub struct Target {
    /// DynamoDB Local's endpoint; `None`: AWS.
    pub endpoint: Option<String>,
    pub table: String,
    /// The secret holding the sealing keys, and the endpoint serving it (`None`: AWS's).
    key_secret: Option<(String, Option<String>)>,
    /// The local stack's file keeping its keys, which a rotation writes too.
    pub key_file: Option<PathBuf>,
    /// The local stack's queues (logical id → URL) and its SQS endpoint.
    local_queues: Option<(std::collections::BTreeMap<String, String>, String)>,
}

impl Target {
    /// From the command line (`endpoint`, `table` and `key_secret` as given, flag or
    /// variable).
    pub fn resolve(
        endpoint: Option<String>,
        table: Option<String>,
        key_secret: Option<String>,
        aws: bool,
    ) -> Self {
        let local = match (&endpoint, aws) {
            (None, false) => running_dev_stack(),
            _ => None,
        };
        let given = key_secret
            .filter(|id| !id.is_empty())
            .map(|id| (id, env::get(env::SECRETS_MANAGER_ENDPOINT)));
        let Some(stack) = local else {
            return Target {
                endpoint,
                table: table.unwrap_or_else(|| env::DEFAULT_TABLE.to_string()),
                key_secret: given,
                key_file: None,
                local_queues: None,
            };
        };
        eprintln!(
            "contacts-admin: the local stack (make dev): DynamoDB Local at {}, table {} \
             (--aws for AWS)",
            stack.dynamodb_endpoint, stack.table
        );
        Target {
            endpoint: Some(stack.dynamodb_endpoint),
            table: table.unwrap_or(stack.table),
            key_secret: given.or(Some((
                stack.sealing_key_secret,
                Some(stack.secrets_endpoint),
            ))),
            key_file: Some(stack.sealing_key_file),
            local_queues: Some((stack.queues, stack.sqs_endpoint)),
        }
    }

    /// The URL of the stack's queue `id` (its logical id in the template): the local
    /// stack's, or the variable `variable` (from the stack's outputs) against AWS; and the
    /// SQS endpoint to reach it on (`None`: AWS's).
    pub fn queue(&self, id: &str, variable: &str) -> anyhow::Result<(String, Option<String>)> {
        if let Some(url) = env::get(variable) {
            return Ok((url, env::get(env::SQS_ENDPOINT)));
        }
        match &self.local_queues {
            Some((queues, endpoint)) => match queues.get(id) {
                Some(url) => Ok((url.clone(), Some(endpoint.clone()))),
                None => bail!("the local stack has no queue {id}"),
            },
            None => bail!("set {variable} to the stack's {id} URL (its outputs name it)"),
        }
    }

    /// Where the sealing keys are: `WEBHOOK_SEALING_KEY` as it is, else the secret.
    pub async fn key_source(&self) -> anyhow::Result<KeySource> {
        if let Some(text) = env::get(env::WEBHOOK_SEALING_KEY) {
            return Ok(KeySource::Fixed(text));
        }
        Ok(KeySource::Secret(self.key_secret().await?))
    }

    /// The secret holding the sealing keys, or what to do to name it.
    pub async fn key_secret(&self) -> anyhow::Result<KeySecret> {
        match &self.key_secret {
            Some((id, endpoint)) => Ok(KeySecret::connect(id, endpoint.as_deref()).await),
            None => bail!(
                "webhook secrets are sealed with the stack's keys: give their secret with \
                 --sealing-key-secret (or {}; on AWS the stack's WebhookSealingKeyArn \
                 output), or a key with {}",
                env::WEBHOOK_SEALING_KEY_SECRET,
                env::WEBHOOK_SEALING_KEY
            ),
        }
    }
}

/// The local stack `make dev` runs, if its file is found and it answers; a stale file
/// (the stack was killed outright) is said and passed over.
fn running_dev_stack() -> Option<DevStack> {
    let (path, stack) = DevStack::find()?;
    match stack {
        Ok(stack) if stack.is_running() => Some(stack),
        Ok(_) => {
            eprintln!(
                "contacts-admin: {} names a local stack that no longer runs: using AWS",
                path.display()
            );
            None
        }
        Err(why) => {
            eprintln!("contacts-admin: {why}: using AWS");
            None
        }
    }
}
