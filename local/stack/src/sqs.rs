//! SQS for the local stack: moto's server (from the project's virtual environment), with
//! the webhook delivery queue and its dead-letter queue made as template.yaml makes them.

use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, Context};
use aws_sdk_sqs::types::QueueAttributeName;
use contacts_shared::limits::{WEBHOOK_MAX_ATTEMPTS, WEBHOOK_VISIBILITY_SECONDS};

use crate::paths;
use crate::ports::{free_port, wait_listening};
use crate::supervise::{Logs, Service};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const QUEUE: &str = "webhook-deliveries";
const DEAD_LETTERS: &str = "webhook-deliveries-dlq";
/// How long both queues keep a message: SQS's longest, 14 days.
const RETENTION_SECONDS: u64 = 14 * 24 * 60 * 60;

pub struct LocalSqs {
    pub port: u16,
    /// The delivery queue.
    pub queue_url: String,
    pub service: Service,
}

impl LocalSqs {
    /// Starts moto's server on a free port and makes the queues (in its memory: queued
    /// deliveries do not outlive it).
    pub fn start(logs: &Logs) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(paths::tool("moto_server")?);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut service = Service::start("moto_server (SQS)", "moto", port, command, logs)?;
        wait_listening(&mut service, port, START_TIMEOUT)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let queue_url = on_own_runtime(|| create_queues(&endpoint))?;
        Ok(LocalSqs {
            port,
            queue_url,
            service,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The dead-letter queue, then the delivery queue that sends there what it received
/// `WEBHOOK_MAX_ATTEMPTS` times; the delivery queue's URL.
async fn create_queues(endpoint: &str) -> anyhow::Result<String> {
    let config = contacts_shared::aws::sdk_config(Some(endpoint)).await;
    let client = aws_sdk_sqs::Client::new(&config);
    let retention = RETENTION_SECONDS.to_string();
    let dead_letters = client
        .create_queue()
        .queue_name(DEAD_LETTERS)
        .attributes(QueueAttributeName::MessageRetentionPeriod, &retention)
        .send()
        .await
        .map_err(|e| anyhow!("{e:?}"))
        .context("cannot create the dead-letter queue")?;
    let dead_letters_arn = client
        .get_queue_attributes()
        .set_queue_url(dead_letters.queue_url().map(str::to_string))
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| anyhow!("{e:?}"))
        .context("cannot read the dead-letter queue")?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .context("the dead-letter queue has no ARN")?;
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"{dead_letters_arn}","maxReceiveCount":"{WEBHOOK_MAX_ATTEMPTS}"}}"#
    );
    client
        .create_queue()
        .queue_name(QUEUE)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            WEBHOOK_VISIBILITY_SECONDS.to_string(),
        )
        .attributes(QueueAttributeName::MessageRetentionPeriod, &retention)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .map_err(|e| anyhow!("{e:?}"))
        .context("cannot create the delivery queue")?
        .queue_url()
        .map(str::to_string)
        .context("the delivery queue has no URL")
}

/// Runs `work` to its end on a runtime of its own, on a thread of its own: the stack
/// starts synchronously, and may be started from within its owner's runtime.
fn on_own_runtime<F, T>(work: impl FnOnce() -> F + Send) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start a tokio runtime")?
                    .block_on(work())
            })
            .join()
            .map_err(|_| anyhow!("making the queues panicked"))?
    })
}
