//! The event source mappings of the local stack: what Lambda does on AWS between the
//! table's stream and the stream function, and between the delivery queue and the delivery
//! function. It reads the stream from DynamoDB Local and the queue from moto, and invokes
//! the same function binaries (under `cargo lambda watch`) with the events Lambda sends,
//! honouring their batch item failures as Lambda does. It listens on its port only once
//! its stream iterators are taken: from then on, no change to the table is missed.

mod batch;
mod errors;
mod lambda_json;
mod mappings;
mod queue;
mod stream;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use contacts_shared::env::{CONTACTS_TABLE, DEFAULT_TABLE, DYNAMODB_ENDPOINT, SQS_ENDPOINT};
use lambda_invoke::Invoker;
use mappings::Source;
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
    /// The SQS endpoint of the template's queues (moto).
    #[arg(long, env = SQS_ENDPOINT)]
    sqs_endpoint: Option<String>,
    /// The template whose event source mappings it runs.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
    /// A queue of the template and its URL, `LogicalId=URL`: every queue its mappings read
    /// or report to.
    #[arg(long = "queue", value_parser = queue_arg)]
    queues: Vec<(String, String)>,
}

fn queue_arg(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(id, url)| (id.to_string(), url.to_string()))
        .ok_or_else(|| format!("{text}: not LogicalId=URL"))
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
    let sqs = contacts_shared::aws::sdk_config(args.sqs_endpoint.as_deref()).await;
    let queues: HashMap<String, String> = args.queues.iter().cloned().collect();
    let url = |id: &str| {
        queues
            .get(id)
            .cloned()
            .with_context(|| format!("no URL for the template's queue {id} (--queue {id}=URL)"))
    };
    let mut described = Vec::new();
    for mapping in mappings::read(&args.template)? {
        let function = mapping.function.clone();
        match mapping.source.clone() {
            Source::Stream => {
                let failures = match &mapping.on_failure {
                    Some(id) => Some(stream::FailureQueue {
                        client: aws_sdk_sqs::Client::new(&sqs),
                        url: url(id)?,
                    }),
                    None => None,
                };
                let stream = stream::StreamMapping::start(
                    &streams,
                    &args.table,
                    invoker.clone(),
                    mapping,
                    failures,
                )
                .await?;
                described.push(format!(
                    "{} ({} open shards) -> {function}",
                    stream.arn, stream.open_shards
                ));
            }
            Source::Queue(id) => {
                queue::QueueMapping::start(&sqs, &url(&id)?, invoker.clone(), mapping).await?;
                described.push(format!("{id} -> {function}"));
            }
        }
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("local-relay: {}", described.join("; "));
    // The port only tells that the relay is up; whoever connects is let go.
    loop {
        tokio::select! {
            accepted = listener.accept() => drop(accepted),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
