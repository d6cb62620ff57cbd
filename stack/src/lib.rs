//! The local stack, in one piece of code for `make dev`, the tests and the bench: Amazon's
//! DynamoDB Local, the functions under `cargo lambda watch`, and the local gateway in
//! front of them. Every process it starts dies with the process that started it, however
//! that one ends: Ctrl-C, SIGTERM, SIGHUP or SIGKILL (see [`supervise`]).

pub mod dynamodb;
pub mod functions;
pub mod gateway;
pub mod paths;
pub mod ports;
mod procs;
pub mod seed;
pub mod supervise;

use std::path::PathBuf;

use contacts_shared::env::{CONTACTS_TABLE as TABLE_ENV, DYNAMODB_ENDPOINT as ENDPOINT_ENV};

pub use dynamodb::{DynamoConfig, DynamoLocal};
pub use functions::{Functions, FunctionsConfig};
pub use gateway::{Gateway, GatewayConfig};
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
    /// Where the functions' and the gateway's output goes.
    pub logs: Logs,
}

/// The running stack; dropping it stops it.
pub struct LocalStack {
    /// Started after `gateway` and `functions` in the struct so that it is dropped last.
    pub gateway: Gateway,
    pub functions: Functions,
    pub dynamodb: Option<DynamoLocal>,
    /// The DynamoDB endpoint the functions use (`None`: AWS).
    pub endpoint: Option<String>,
    pub table: String,
}

impl LocalStack {
    pub fn start(config: StackConfig) -> Result<Self, String> {
        let dynamodb = match &config.storage {
            Storage::Start(dynamo) => Some(DynamoLocal::start(dynamo.clone())?),
            Storage::Endpoint(_) => None,
        };
        let endpoint = match (&dynamodb, &config.storage) {
            (Some(local), _) => Some(local.endpoint()),
            (None, Storage::Endpoint(endpoint)) => endpoint.clone(),
            (None, Storage::Start(_)) => None,
        };
        let mut env = vec![(TABLE_ENV.to_string(), config.table.clone())];
        if let Some(endpoint) = &endpoint {
            env.push((ENDPOINT_ENV.to_string(), endpoint.clone()));
        }
        env.extend(config.function_env.iter().cloned());
        let functions = Functions::start(&FunctionsConfig {
            port: config.lambda_port,
            release: config.release,
            reload: config.reload,
            env,
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
            functions,
            dynamodb,
            endpoint,
            table: config.table,
        })
    }

    /// Another gateway in front of the same functions (and the same table's API keys), from
    /// `template` with more `local-gateway` arguments.
    pub fn extra_gateway(
        &self,
        template: Option<PathBuf>,
        args: &[&str],
        logs: &Logs,
    ) -> Result<Gateway, String> {
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
        let mut services = vec![&mut self.gateway.service, &mut self.functions.service];
        if let Some(service) = self.dynamodb.as_mut().and_then(DynamoLocal::service) {
            services.push(service);
        }
        services.into_iter().find_map(|s| {
            let status = s.exited()?;
            Some(format!("{} exited: {status}", s.name()))
        })
    }

    /// Stops the gateway, then the functions, then DynamoDB Local.
    pub fn stop(&mut self) {
        self.gateway.service.stop(supervise::STOP_GRACE);
        self.functions.service.stop(supervise::STOP_GRACE);
        if let Some(dynamodb) = &mut self.dynamodb {
            dynamodb.stop();
        }
    }
}
