//! The API Gateway of the local stack: what `sam local start-api` would be without
//! Docker. It reads the REST API from `template.yaml` (routes, the REQUEST authorizer and
//! its cache TTL, the usage plan's throttle, the gateway responses), and for each request
//! gives it a request id (`x-amzn-RequestId` on the response, `requestContext.requestId` in
//! the events, as API Gateway), runs the authorizer, checks the API key it names (in the
//! local stack's table, where the usage plan's keys live), applies the per-key throttle,
//! builds the REST proxy event and invokes the function through `cargo lambda watch`.

mod authorizer;
mod proxy;
mod responses;
mod routing;
mod server;
mod template;
mod throttle;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use contacts_shared::env::{CONTACTS_TABLE, DEFAULT_TABLE, DYNAMODB_ENDPOINT};
use contacts_shared::DynamoStore;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    version,
    about = "API Gateway for the local stack, configured from template.yaml"
)]
struct Args {
    /// The SAM template to read the API from.
    #[arg(long, env = "GATEWAY_TEMPLATE", default_value = "template.yaml")]
    template: PathBuf,
    /// Address to serve the API on.
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// The Lambda invoke API of `cargo lambda watch`.
    #[arg(long, env = contacts_shared::env::LAMBDA_ENDPOINT, default_value = "http://127.0.0.1:9000")]
    lambda_endpoint: String,
    /// The DynamoDB holding the usage plan's API keys (DynamoDB Local); without it, AWS's.
    #[arg(long, env = DYNAMODB_ENDPOINT)]
    dynamodb_endpoint: Option<String>,
    /// The table holding the usage plan's API keys.
    #[arg(long, env = CONTACTS_TABLE, default_value = DEFAULT_TABLE)]
    table: String,
    /// Seconds an authorizer result is cached (default: the template's ReauthorizeEvery).
    #[arg(long, env = "AUTHORIZER_TTL")]
    authorizer_ttl: Option<u64>,
    /// Seconds to wait for a function (API Gateway's limit is 29).
    #[arg(long, env = "INTEGRATION_TIMEOUT", default_value_t = 29)]
    integration_timeout: u64,
    /// Do not log requests.
    #[arg(long)]
    quiet: bool,
    /// Ignore the usage plan's throttle: for load runs (`make bench`), never for `make dev`.
    #[arg(long)]
    no_throttle: bool,
}

#[tokio::main]
async fn main() {
    if let Err(why) = run(Args::parse()).await {
        eprintln!("local-gateway: {why:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut api = template::ApiModel::load(&args.template)?;
    if args.no_throttle {
        api.throttle = None;
    }
    let invoker = lambda_invoke::Invoker::new(
        &args.lambda_endpoint,
        Duration::from_secs(args.integration_timeout),
    )?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let listen = listener.local_addr()?;
    let routes = api.routes.len();
    let ttl = args.authorizer_ttl.map(Duration::from_secs);
    let keys = DynamoStore::connect(args.dynamodb_endpoint.as_deref(), &args.table).await;
    let gateway = Arc::new(server::Gateway::new(
        api, invoker, keys, listen, ttl, args.quiet,
    ));
    let stages: Vec<String> = gateway
        .api
        .stages
        .iter()
        .map(|stage| format!("http://{listen}/{}/", stage.name))
        .collect();
    eprintln!(
        "local-gateway: {routes} routes from {} on {}",
        args.template.display(),
        stages.join(" and ")
    );
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("local-gateway: accept failed: {e}");
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(gateway.handle(request, peer).await) }
            });
            // Broken client connections are the client's business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
