//! The local stack, in one piece of code for `make dev`, the tests and the bench: Amazon's
//! DynamoDB Local, moto's SQS with the webhook delivery queue, the functions under `cargo
//! lambda watch`, the local relay that feeds the webhook functions the table's stream and
//! the queue (as Lambda's event source mappings do), and the local gateway in front of the
//! API's functions. Every process it starts dies with the process that started it, however
//! that one ends: Ctrl-C, SIGTERM, SIGHUP or SIGKILL (see [`supervise`]).

pub mod dynamodb;
pub mod functions;
pub mod gateway;
pub mod paths;
pub mod ports;
mod procs;
pub mod receiver;
pub mod relay;
pub mod sealing;
pub mod seed;
pub mod sqs;
pub mod supervise;

use std::path::PathBuf;

use contacts_shared::env::{
    self, CONTACTS_TABLE as TABLE_ENV, DYNAMODB_ENDPOINT as ENDPOINT_ENV, SQS_ENDPOINT,
};

pub use dynamodb::{DynamoConfig, DynamoLocal};
pub use functions::{Functions, FunctionsConfig};
pub use gateway::{Gateway, GatewayConfig};
pub use relay::{Relay, RelayConfig};
pub use sqs::LocalSqs;
pub use supervise::{Logs, Service};

/// The DynamoDB the functions use.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A DynamoDB Local of the stack's own.
    Start(DynamoConfig),
    /// One that runs already (a test's, or AWS's when `None`).
    Endpoint(Option<String>),
}

#[derive(Debug, Clone)]
pub struct StackConfig {
    pub storage: Storage,
    pub table: String,
    /// Port of the functions' invoke API; `None`: a free one.
    pub lambda_port: Option<u16>,
    /// Port of the gateway; `None`: a free one.
    pub gateway_port: Option<u16>,
    /// Release builds of the functions and the gateway (`make bench`).
    pub release: bool,
    /// Rebuild a function when its code changes (`make dev`).
    pub reload: bool,
    /// More environment for the functions.
    pub function_env: Vec<(String, String)>,
    /// More `local-gateway` arguments.
    pub gateway_args: Vec<String>,
    /// The keys sealing webhook secrets, the current one first (`make dev`'s kept ones);
    /// none: a fresh one.
    pub sealing_keys: Vec<String>,
    /// Where the functions', the relay's, moto's and the gateway's output goes.
    pub logs: Logs,
}

/// The running stack; dropping it stops it, in the order of its fields (each before what
/// it uses): the gateway, the relay, the functions, SQS, DynamoDB Local.
pub struct LocalStack {
    pub gateway: Gateway,
    pub relay: Relay,
    pub functions: Functions,
    pub sqs: LocalSqs,
    pub dynamodb: Option<DynamoLocal>,
    /// The DynamoDB endpoint the functions use (`None`: AWS).
    pub endpoint: Option<String>,
    pub table: String,
    /// The current sealing key: what the admin tool seals new webhooks' secrets with.
    pub sealing_key: String,
    /// The Secrets Manager secret (on moto's SQS endpoint) the keys are read from.
    pub sealing_key_secret: String,
}

impl LocalStack {
    pub fn start(config: StackConfig) -> anyhow::Result<Self> {
        let dynamodb = match &config.storage {
            Storage::Start(dynamo) => Some(DynamoLocal::start(dynamo.clone())?),
            Storage::Endpoint(_) => None,
        };
        let endpoint = match (&dynamodb, &config.storage) {
            (Some(local), _) => Some(local.endpoint()),
            (None, Storage::Endpoint(endpoint)) => endpoint.clone(),
            (None, Storage::Start(_)) => None,
        };
        let template = paths::repo_root().join("template.yaml");
        let sqs = LocalSqs::start(&config.logs, &template)?;
        let sealing_keys = match config.sealing_keys.is_empty() {
            true => vec![sealing::fresh_key()?],
            false => config.sealing_keys.clone(),
        };
        // moto serves Secrets Manager too, where the functions read the keys as on AWS.
        let secrets = sqs.endpoint();
        let sealing_key_secret = sqs::on_own_runtime(|| sealing::secret(&secrets, &sealing_keys))?;
        let mut env = vec![
            (TABLE_ENV.to_string(), config.table.clone()),
            (SQS_ENDPOINT.to_string(), sqs.endpoint()),
            (env::SECRETS_MANAGER_ENDPOINT.to_string(), sqs.endpoint()),
            (
                env::WEBHOOK_SEALING_KEY_SECRET.to_string(),
                sealing_key_secret.clone(),
            ),
            (
                env::METRICS_NAMESPACE.to_string(),
                contacts_shared::metrics::NAMESPACE.to_string(),
            ),
        ];
        if let Some(endpoint) = &endpoint {
            env.push((ENDPOINT_ENV.to_string(), endpoint.clone()));
        }
        // The queues' URLs, as the template hands them to its functions.
        env.extend(sqs.function_env(&template)?);
        env.extend(config.function_env.iter().cloned());
        let functions = Functions::start(&FunctionsConfig {
            port: config.lambda_port,
            release: config.release,
            reload: config.reload,
            env,
            logs: config.logs.clone(),
        })?;
        // Ready once it reads the stream: before the gateway takes a request.
        let relay = Relay::start(&RelayConfig {
            lambda_port: functions.port,
            dynamodb_endpoint: endpoint.clone(),
            table: config.table.clone(),
            sqs_endpoint: sqs.endpoint(),
            queues: sqs.queues.clone(),
            template: template.clone(),
            logs: config.logs.clone(),
        })?;
        let gateway_args = config.gateway_args.clone();
        let gateway = Gateway::start(&GatewayConfig {
            port: config.gateway_port,
            lambda_port: functions.port,
            dynamodb_endpoint: endpoint.clone(),
            table: config.table.clone(),
            template: None,
            args: gateway_args,
            logs: config.logs.clone(),
        })?;
        Ok(LocalStack {
            gateway,
            relay,
            functions,
            sqs,
            dynamodb,
            endpoint,
            table: config.table,
            sealing_key: sealing_keys[0].clone(),
            sealing_key_secret,
        })
    }

    /// Another gateway in front of the same functions (and the same table's API keys), from
    /// `template` with more `local-gateway` arguments.
    pub fn extra_gateway(
        &self,
        template: Option<PathBuf>,
        args: &[&str],
        logs: &Logs,
    ) -> anyhow::Result<Gateway> {
        Gateway::start(&GatewayConfig {
            port: None,
            lambda_port: self.functions.port,
            dynamodb_endpoint: self.endpoint.clone(),
            table: self.table.clone(),
            template,
            args: args.iter().map(|a| a.to_string()).collect(),
            logs: logs.clone(),
        })
    }

    /// The first service found to have exited, and how.
    pub fn exited(&mut self) -> Option<String> {
        let mut services = vec![
            &mut self.gateway.service,
            &mut self.relay.service,
            &mut self.functions.service,
            &mut self.sqs.service,
        ];
        if let Some(service) = self.dynamodb.as_mut().and_then(DynamoLocal::service) {
            services.push(service);
        }
        services.into_iter().find_map(|s| {
            let status = s.exited()?;
            Some(format!("{} exited: {status}", s.name()))
        })
    }

    /// Stops the gateway, the relay, the functions, SQS, then DynamoDB Local.
    pub fn stop(&mut self) {
        self.gateway.service.stop(supervise::STOP_GRACE);
        self.relay.service.stop(supervise::STOP_GRACE);
        self.functions.service.stop(supervise::STOP_GRACE);
        self.sqs.service.stop(supervise::STOP_GRACE);
        if let Some(dynamodb) = &mut self.dynamodb {
            dynamodb.stop();
        }
    }
}
