//! `local-stack`: the product on this machine (`make dev`). Starts DynamoDB Local (data
//! kept across restarts), moto's SQS (the webhook delivery queue), the functions under
//! `cargo lambda watch` (rebuilt as you edit), the local relay (the table's stream and
//! the queue to the webhook functions) and the local gateway; creates the table and the
//! demo channel; prints a token, a request that works and how to add a webhook, then only
//! the services' warnings and errors (everything they say is in the log folder). Says
//! where it runs in `.local/stack.json`, so that `contacts-admin` finds it. Ctrl-C,
//! SIGTERM or SIGHUP stop it all in order; if this process is killed outright, its guard
//! kills what it started.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use contacts_shared::dev_stack::{self, DevStack};
use contacts_shared::env::{self, CONTACTS_TABLE as TABLE_ENV, DEFAULT_TABLE};
use contacts_shared::DynamoStore;
use local_stack::supervise::{self, Logs};
use local_stack::{ports, sealing, seed, DynamoConfig, LocalStack, StackConfig, Storage};

#[derive(Parser)]
#[command(version, about = "The Contacts API on this machine: make dev")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    dev: Dev,
}

#[derive(Subcommand)]
enum Command {
    /// Kills what its parent started once the parent is gone (internal).
    #[command(hide = true)]
    Guard,
}

#[derive(clap::Args)]
struct Dev {
    /// DynamoDB Local's port.
    #[arg(long, env = env::DYNAMODB_PORT, default_value_t = 8000)]
    dynamodb_port: u16,
    /// Port of the functions' Lambda invoke API (cargo lambda watch).
    #[arg(long, env = env::LAMBDA_PORT, default_value_t = 9000)]
    lambda_port: u16,
    /// The API's port: http://127.0.0.1:{port}/api/v1/...
    #[arg(long, env = env::GATEWAY_PORT, default_value_t = 3000)]
    gateway_port: u16,
    #[arg(long, env = TABLE_ENV, default_value = DEFAULT_TABLE)]
    table: String,
    /// Where DynamoDB Local keeps its data.
    #[arg(long, env = env::DATA_DIR, default_value = ".local/dynamodb")]
    data_dir: PathBuf,
    /// Where every service's output goes, a file each (`{service}-{port}.log`).
    #[arg(long, env = env::LOG_DIR, default_value = ".local/logs")]
    log_dir: PathBuf,
    /// Where the stack says where it runs, for `contacts-admin` (removed when it stops).
    #[arg(long, env = env::STACK_FILE, default_value = dev_stack::FILE)]
    stack_file: PathBuf,
    /// The demo channel made (once) and given a fresh token.
    #[arg(long, env = env::DEMO_CHANNEL, default_value = seed::DEMO_CHANNEL)]
    demo_channel: String,
    /// Where the webhook sealing key is kept (made the first time), so that the webhooks
    /// in the data still open after a restart.
    #[arg(
        long,
        env = env::WEBHOOK_SEALING_KEY_FILE,
        default_value = ".local/webhook-sealing-key"
    )]
    sealing_key_file: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Guard) = cli.command {
        supervise::guard_main();
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start a tokio runtime")),
    };
    let mut stack = match runtime.block_on(start(&cli.dev)) {
        Ok(stack) => stack,
        Err(why) => return fail(&why),
    };
    let outcome = runtime.block_on(serve(&mut stack));
    say("stopping the local stack");
    DevStack::remove(&cli.dev.stack_file, std::process::id());
    stack.stop();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => fail(&why),
    }
}

async fn start(dev: &Dev) -> anyhow::Result<LocalStack> {
    for (port, variable) in [
        (dev.dynamodb_port, env::DYNAMODB_PORT),
        (dev.lambda_port, env::LAMBDA_PORT),
        (dev.gateway_port, env::GATEWAY_PORT),
    ] {
        if ports::listening(port) {
            bail!("port {port} is in use: stop what uses it, or choose another with {variable}");
        }
    }
    say(&format!(
        "DynamoDB Local on 127.0.0.1:{} (data in {}, every service's log in {})",
        dev.dynamodb_port,
        dev.data_dir.display(),
        dev.log_dir.display()
    ));
    std::fs::create_dir_all(&dev.data_dir).with_context(|| dev.data_dir.display().to_string())?;
    let logs = Logs::Quiet(dev.log_dir.clone());
    let dynamodb = local_stack::DynamoLocal::start(DynamoConfig {
        port: Some(dev.dynamodb_port),
        data: Some(dev.data_dir.clone()),
        logs: logs.clone(),
    })?;
    let store = DynamoStore::connect(Some(&dynamodb.endpoint()), &dev.table).await;
    store.create_table().await?;
    let token = seed::demo(&store, &dev.demo_channel)
        .await
        .context("demo channel")?;
    let sealing_keys = sealing::kept_keys(&dev.sealing_key_file)?;
    say(&format!(
        "moto's SQS, functions under cargo lambda watch on 127.0.0.1:{}, local relay, \
         local gateway on 127.0.0.1:{}",
        dev.lambda_port, dev.gateway_port
    ));
    let mut stack = LocalStack::start(StackConfig {
        storage: Storage::Endpoint(Some(dynamodb.endpoint())),
        table: dev.table.clone(),
        lambda_port: Some(dev.lambda_port),
        gateway_port: Some(dev.gateway_port),
        release: false,
        reload: true,
        function_env: Vec::new(),
        gateway_args: Vec::new(),
        sealing_keys,
        logs,
    })?;
    DevStack {
        pid: std::process::id(),
        dynamodb_endpoint: dynamodb.endpoint(),
        table: dev.table.clone(),
        sealing_key_file: absolute(&dev.sealing_key_file)?,
        sealing_key_secret: stack.sealing_key_secret.clone(),
        secrets_endpoint: stack.sqs.endpoint(),
        queues: stack.sqs.queues.clone(),
        sqs_endpoint: stack.sqs.endpoint(),
        api_url: stack.gateway.base_url(),
    }
    .write(&dev.stack_file)
    .with_context(|| format!("cannot write {}", dev.stack_file.display()))?;
    stack.dynamodb = Some(dynamodb);
    print_welcome(dev, &token);
    Ok(stack)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| path.display().to_string())
}

/// Runs until a signal asks to stop (Ok) or a service dies (Err).
async fn serve(stack: &mut LocalStack) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind| signal(kind).context("cannot handle signals");
    let mut interrupt = listen(SignalKind::interrupt())?;
    let mut terminate = listen(SignalKind::terminate())?;
    let mut hangup = listen(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if let Some(why) = stack.exited() {
                    bail!(why);
                }
            }
        }
    }
}

fn print_welcome(dev: &Dev, token: &str) {
    let port = dev.gateway_port;
    println!(
        "
  The Contacts API is up at http://127.0.0.1:{port}/api/v1/...
  Demo channel: {channel} (facebook, in a workspace of its own; custom fields customerid, vip,
                tier; contact {contact})
  Token:        {token}

  curl -X POST http://127.0.0.1:{port}/api/v1/contact/ \\
    -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\
    -d '{{\"custom_fields\":[{{\"name\":\"phone\",\"value\":\"03244077087\"}},{{\"name\":\"firstName\",\"value\":\"Muhammad Mahin\"}}]}}'

  The operator's tool finds this stack by itself (from this folder, in any shell):

  cargo run -q -p contacts-admin -- channel list
  cargo run -q -p contacts-admin -- webhook add --channel {channel} --url http://127.0.0.1:9999/hook

  Logs: {logs}/ (warnings and errors show here too). Ctrl-C stops everything.
",
        channel = dev.demo_channel,
        contact = seed::DEMO_CONTACT,
        logs = dev.log_dir.display(),
    );
}

fn say(text: &str) {
    eprintln!("\x1b[1m==> {text}\x1b[0m");
}

fn fail(why: &anyhow::Error) -> ExitCode {
    eprintln!("local-stack: {why:#}");
    ExitCode::FAILURE
}
