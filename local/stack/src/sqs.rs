//! SQS for the local stack: moto's server (from the project's virtual environment, started
//! by `local/stack/moto_server.py`), with every queue of `template.yaml` made as the
//! template makes it (its visibility timeout, retention and redrive policy), named by its
//! logical id.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, Context};
use aws_sdk_sqs::types::QueueAttributeName;
use local_template::{get_att_target, ref_target, Template};
use serde_yaml_ng::Value;

use crate::paths;
use crate::ports::{free_port, wait_listening};
use crate::supervise::{Logs, Service};

const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct LocalSqs {
    pub port: u16,
    /// Each queue of the template: its logical id and its URL.
    pub queues: BTreeMap<String, String>,
    pub service: Service,
}

impl LocalSqs {
    /// Starts moto's server on a free port and makes the queues of `template` (in its
    /// memory: queued messages do not outlive it).
    pub fn start(logs: &Logs, template: &Path) -> anyhow::Result<Self> {
        let declared = queues_of(template)?;
        let port = free_port()?;
        // moto's server through the stack's launcher, which fixes a lost-message race in
        // moto's SQS (see the script).
        let mut command = Command::new(paths::tool("python")?);
        command
            .arg(paths::repo_root().join("local/stack/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut service = Service::start("moto_server (SQS)", "moto", port, command, logs)?;
        wait_listening(&mut service, port, START_TIMEOUT)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let queues = on_own_runtime(|| create_queues(&endpoint, &declared))?;
        Ok(LocalSqs {
            port,
            queues,
            service,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What each function's environment names by `!Ref` to one of the queues: the
    /// variable and the queue's URL here.
    pub fn function_env(&self, template: &Path) -> anyhow::Result<Vec<(String, String)>> {
        let doc = local_template::load(template)?;
        let template = Template::new(&doc)?;
        let mut env = Vec::new();
        for (_, function) in template.of_type("AWS::Serverless::Function") {
            let variables = function
                .get("Properties")
                .and_then(|p| p.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping);
            for (name, value) in variables.into_iter().flatten() {
                let url = ref_target(value).and_then(|id| self.queues.get(&id));
                if let (Some(name), Some(url)) = (name.as_str(), url) {
                    env.push((name.to_string(), url.clone()));
                }
            }
        }
        env.sort();
        env.dedup();
        Ok(env)
    }
}

/// A queue of the template, as it declares it.
struct Declared {
    id: String,
    attributes: Vec<(QueueAttributeName, String)>,
    /// The queue its redrive policy sends to, and after how many receives.
    redrive: Option<(String, String)>,
}

fn queues_of(path: &Path) -> anyhow::Result<Vec<Declared>> {
    let doc = local_template::load(path)?;
    let template = Template::new(&doc)?;
    let mut declared = Vec::new();
    for (id, queue) in template.of_type("AWS::SQS::Queue") {
        let props = queue.get("Properties").unwrap_or(&Value::Null);
        let mut attributes = Vec::new();
        for (name, attribute) in [
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            (
                "MessageRetentionPeriod",
                QueueAttributeName::MessageRetentionPeriod,
            ),
        ] {
            if let Some(value) = template.number(props, &[name])? {
                attributes.push((attribute, (value as u64).to_string()));
            }
        }
        let redrive = match props.get("RedrivePolicy") {
            Some(policy) => {
                let target = policy
                    .get("deadLetterTargetArn")
                    .and_then(get_att_target)
                    .with_context(|| {
                        format!("{id}: deadLetterTargetArn is not !GetAtt <Queue>.Arn")
                    })?;
                let receives = template
                    .number(policy, &["maxReceiveCount"])?
                    .with_context(|| format!("{id}: a redrive policy without maxReceiveCount"))?;
                Some((target, (receives as u64).to_string()))
            }
            None => None,
        };
        declared.push(Declared {
            id: id.to_string(),
            attributes,
            redrive,
        });
    }
    // Dead-letter queues first: a redrive policy names one by its ARN.
    declared.sort_by_key(|q| q.redrive.is_some());
    Ok(declared)
}

/// Makes the queues; their URLs by logical id.
async fn create_queues(
    endpoint: &str,
    declared: &[Declared],
) -> anyhow::Result<BTreeMap<String, String>> {
    let config = contacts_shared::aws::sdk_config(Some(endpoint)).await;
    let client = aws_sdk_sqs::Client::new(&config);
    let mut urls = BTreeMap::new();
    let mut arns = BTreeMap::new();
    for queue in declared {
        let mut create = client.create_queue().queue_name(&queue.id);
        for (name, value) in &queue.attributes {
            create = create.attributes(name.clone(), value);
        }
        if let Some((target, receives)) = &queue.redrive {
            let arn: &String = arns.get(target).with_context(|| {
                format!("{}: dead-letter queue {target} is not a queue", queue.id)
            })?;
            let policy =
                format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{receives}"}}"#);
            create = create.attributes(QueueAttributeName::RedrivePolicy, policy);
        }
        let url = create
            .send()
            .await
            .map_err(|e| anyhow!("{e:?}"))
            .with_context(|| format!("cannot create queue {}", queue.id))?
            .queue_url()
            .map(str::to_string)
            .with_context(|| format!("queue {} has no URL", queue.id))?;
        let arn = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| anyhow!("{e:?}"))
            .with_context(|| format!("cannot read queue {}", queue.id))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .with_context(|| format!("queue {} has no ARN", queue.id))?;
        arns.insert(queue.id.clone(), arn);
        urls.insert(queue.id.clone(), url);
    }
    Ok(urls)
}

/// Runs `work` to its end on a runtime of its own, on a thread of its own: the stack
/// starts synchronously, and may be started from within its owner's runtime.
pub fn on_own_runtime<F, T>(work: impl FnOnce() -> F + Send) -> anyhow::Result<T>
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
            .map_err(|_| anyhow!("the work panicked"))?
    })
}
