//! The event source mappings of the local stack: what Lambda does on AWS between the
//! table's stream and the stream function, and between the delivery queue and the delivery
//! function. It reads the stream from DynamoDB Local and the queue from moto, and invokes
//! the same function binaries (under `cargo lambda watch`) with the events Lambda sends,
//! honouring their batch item failures as Lambda does. It listens on its port only once
//! its stream iterators are taken: from then on, no change to the table is missed.

mod batch;
mod errors;
mod lambda_json;
mod queue;
mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use contacts_shared::api::functions::{Role, FUNCTIONS};
use contacts_shared::env::{CONTACTS_TABLE, DEFAULT_TABLE, DYNAMODB_ENDPOINT, SQS_ENDPOINT};
use lambda_invoke::Invoker;
use tokio::net::TcpListener;

/// How long one invocation may take: the functions' own timeout, and room for `cargo
/// lambda watch` to start a function that has not run yet.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(
    version,
    about = "The local stack's event source mappings: the table's stream and the delivery queue"
)]
struct Args {
    /// Listens here once the stream is being read (the stack waits for that).
    #[arg(long)]
    listen: SocketAddr,
    /// The Lambda invoke API of `cargo lambda watch`.
    #[arg(long, env = contacts_shared::env::LAMBDA_ENDPOINT, default_value = "http://127.0.0.1:9000")]
    lambda_endpoint: String,
    /// DynamoDB Local, which serves the table's stream too.
    #[arg(long, env = DYNAMODB_ENDPOINT)]
    dynamodb_endpoint: Option<String>,
    /// The table whose stream is read.
    #[arg(long, env = CONTACTS_TABLE, default_value = DEFAULT_TABLE)]
    table: String,
    /// The SQS endpoint of the delivery queue (moto).
    #[arg(long, env = SQS_ENDPOINT)]
    sqs_endpoint: Option<String>,
    /// The delivery queue.
    #[arg(long)]
    queue_url: String,
}

#[tokio::main]
async fn main() {
    if let Err(why) = run(Args::parse()).await {
        eprintln!("local-relay: {why:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let invoker = Arc::new(Invoker::new(&args.lambda_endpoint, INVOKE_TIMEOUT)?);
    let streams = contacts_shared::aws::sdk_config(args.dynamodb_endpoint.as_deref()).await;
    let stream = stream::StreamMapping::start(
        &streams,
        &args.table,
        invoker.clone(),
        consumer(|role| matches!(role, Role::Stream))?,
    )
    .await?;
    let sqs = contacts_shared::aws::sdk_config(args.sqs_endpoint.as_deref()).await;
    let queue = queue::QueueMapping::start(
        &sqs,
        &args.queue_url,
        invoker,
        consumer(|role| matches!(role, Role::Queue))?,
    )
    .await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "local-relay: {} ({} open shards) -> {}; {} -> {}",
        stream.arn, stream.open_shards, stream.function, args.queue_url, queue.function
    );
    // The port only tells that the relay is up; whoever connects is let go.
    loop {
        tokio::select! {
            accepted = listener.accept() => drop(accepted),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// The function of the table that `role` picks: the stream's or the queue's consumer.
fn consumer(role: impl Fn(&Role) -> bool) -> anyhow::Result<&'static str> {
    FUNCTIONS
        .iter()
        .find(|f| role(&f.role))
        .map(|f| f.name)
        .context("the function table has no consumer for this event source")
}
