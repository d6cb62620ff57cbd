//! Which table the tool works on: the endpoint given (DynamoDB Local), AWS when asked
//! with `--aws`, otherwise the local stack `make dev` runs, when one runs (it says so in
//! `.local/stack.json`), and AWS with the usual credentials when none does.

use anyhow::{anyhow, Context};
use contacts_shared::dev_stack::DevStack;
use contacts_shared::env;

/// Where the table is, and the sealing key that goes with it.
pub struct Target {
    /// DynamoDB Local's endpoint; `None`: AWS.
    pub endpoint: Option<String>,
    pub table: String,
    /// The key sealing webhook secrets: `WEBHOOK_SEALING_KEY`, else the local stack's.
    sealing_key: Option<String>,
    /// What the local stack's key file could not give (said when a key is needed).
    sealing_key_problem: Option<String>,
}

impl Target {
    /// From the command line (`endpoint` and `table` as given, flag or variable).
    pub fn resolve(endpoint: Option<String>, table: Option<String>, aws: bool) -> Self {
        let from_env = env::get(env::WEBHOOK_SEALING_KEY);
        let local = match (&endpoint, aws) {
            (None, false) => running_dev_stack(),
            _ => None,
        };
        let Some(stack) = local else {
            return Target {
                endpoint,
                table: table.unwrap_or_else(|| env::DEFAULT_TABLE.to_string()),
                sealing_key: from_env,
                sealing_key_problem: None,
            };
        };
        eprintln!(
            "contacts-admin: the local stack (make dev): DynamoDB Local at {}, table {} \
             (--aws for AWS)",
            stack.dynamodb_endpoint, stack.table
        );
        let (key, problem) = match (from_env, stack.sealing_key()) {
            (Some(key), _) => (Some(key), None),
            (None, Ok(key)) => (Some(key), None),
            (None, Err(why)) => (None, Some(why)),
        };
        Target {
            endpoint: Some(stack.dynamodb_endpoint),
            table: table.unwrap_or(stack.table),
            sealing_key: key,
            sealing_key_problem: problem,
        }
    }

    /// The key sealing webhook secrets, or what to do to give one.
    pub fn sealing_key(&self) -> anyhow::Result<&str> {
        if let Some(key) = &self.sealing_key {
            return Ok(key);
        }
        let why = match &self.sealing_key_problem {
            Some(problem) => format!("the local stack's sealing key cannot be read ({problem})"),
            None => format!("{} is not set", env::WEBHOOK_SEALING_KEY),
        };
        Err(anyhow!(why)).context(format!(
            "webhook secrets are sealed with the stack's key: set {} (on AWS, the \
             WebhookSealingKeyArn secret's value; locally make dev's .local/webhook-sealing-key)",
            env::WEBHOOK_SEALING_KEY
        ))
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
