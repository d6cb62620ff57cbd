//! The local stack as a test fixture (the `local-stack` crate's, which `make dev` and the
//! bench run too): DynamoDB Local, moto's SQS, the functions under `cargo lambda watch`, the
//! local relay and the local gateway, each on a free loopback port. Everything it starts dies with the test process,
//! even when that one is killed.

use contacts_shared::env::{
    APIGATEWAY_ENDPOINT, CONTACTS_TABLE, DYNAMODB_ENDPOINT, FIELD_CACHE_SECONDS,
    SECRETS_MANAGER_ENDPOINT, USAGE_PLAN_ID, WEBHOOK_RETRY_BASE_SECONDS, WEBHOOK_RETRY_MAX_SECONDS,
    WEBHOOK_SEALING_KEY_SECRET,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use contacts_shared::domain::channel::ChannelRecord;
use contacts_shared::domain::field_defs::{FieldDef, FieldType};
use contacts_shared::domain::field_values::match_key;
use contacts_shared::store::{ContactStore, FindPage, Match, PageSpec};
use contacts_shared::{clock, random, ChannelType, DynamoStore};
use local_stack::{DynamoConfig, Gateway, LocalStack, Logs, StackConfig, Storage};
use serde_json::Value;

pub use local_stack::paths::{repo_root, tool};
pub use local_stack::ports::free_port;
pub use local_stack::{DynamoLocal, Service};
pub use reqwest::blocking::Client;
pub use reqwest::Method;

/// A runtime for the store calls the tests make directly.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Builds every binary of the workspace once per test process (a no-op when they are up
/// to date): the functions `cargo lambda watch` runs, the gateway, the admin tool, and
/// `local-stack`, whose guard ends what a test process started.
pub fn build_binaries() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let built = Command::new(env!("CARGO"))
            .args(["build", "--workspace", "--bins", "--quiet"])
            .current_dir(repo_root())
            .status()
            .expect("cargo build");
        assert!(built.success(), "cargo build --workspace --bins failed");
    });
}

/// Where test logs go: `target/test-logs/`.
pub fn log_dir() -> PathBuf {
    let dir = local_stack::paths::target_dir().join("test-logs");
    std::fs::create_dir_all(&dir).expect("log directory");
    dir
}

/// Where the services a test starts write their output.
pub fn logs() -> Logs {
    Logs::Dir(log_dir())
}

/// A DynamoDB Local of the test's own on a free port; with `data`, kept there across
/// restarts, otherwise in memory.
pub fn dynamo_local(data: Option<PathBuf>) -> DynamoLocal {
    build_binaries();
    DynamoLocal::start(DynamoConfig {
        port: None,
        data,
        logs: logs(),
    })
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// A DynamoDB endpoint for this test process: `DYNAMODB_ENDPOINT` if set, else a DynamoDB
/// Local started once (in memory) on a free port.
pub fn dynamodb_endpoint() -> &'static str {
    static LOCAL: OnceLock<(Option<DynamoLocal>, String)> = OnceLock::new();
    let (_, endpoint) = LOCAL.get_or_init(|| {
        match std::env::var(DYNAMODB_ENDPOINT)
            .ok()
            .filter(|e| !e.is_empty())
        {
            Some(endpoint) => (None, endpoint),
            None => {
                let local = dynamo_local(None);
                let endpoint = local.endpoint();
                (Some(local), endpoint)
            }
        }
    });
    endpoint
}

/// Field writes from `(name, value)` pairs (`None`: clear), checked against `fields`.
pub fn writes(
    fields: &contacts_shared::domain::field_defs::FieldSet,
    pairs: &[(&str, Option<&str>)],
) -> Vec<contacts_shared::domain::field_writes::FieldWrite> {
    use contacts_shared::domain::field_values::InputValue;
    use contacts_shared::domain::field_writes::{resolve_writes, RawFieldWrite};
    let raw: Vec<RawFieldWrite> = pairs
        .iter()
        .map(|(name, value)| RawFieldWrite {
            name: name.to_string(),
            value: value.map_or(InputValue::Null, |v| InputValue::Text(v.to_string())),
        })
        .collect();
    resolve_writes(fields, &raw).expect("valid writes")
}

/// A raw DynamoDB client of the tests' DynamoDB Local: what a test uses to leave the table
/// as a writer that died half-way would.
pub fn raw_client() -> aws_sdk_dynamodb::Client {
    runtime().block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(dynamodb_endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "local",
            ))
            .load()
            .await;
        aws_sdk_dynamodb::Client::new(&config)
    })
}

/// An item's key.
pub fn item_key(
    pk: String,
    sk: String,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use contacts_shared::store::dynamo::keys;
    [
        (keys::PK.to_string(), AttributeValue::S(pk)),
        (keys::SK.to_string(), AttributeValue::S(sk)),
    ]
    .into()
}

/// A page of the contacts whose `field` (of `field_type`) matches `value`, read from
/// `store` directly.
pub fn find_page(
    store: &DynamoStore,
    channel: &str,
    (field, field_type, value): (&str, FieldType, &str),
    page: u64,
    per_page: u32,
) -> FindPage {
    let key = match_key(field_type, value);
    let matching = Match {
        field,
        field_type,
        key: &key,
    };
    let spec = PageSpec {
        page,
        per_page,
        after: None,
    };
    runtime()
        .block_on(store.find(channel, &matching, &spec))
        .expect("find")
}

/// How many contacts' `field` (of `field_type`) matches `value`, read from `store`.
pub fn matches(store: &DynamoStore, channel: &str, field: (&str, FieldType, &str)) -> u64 {
    find_page(store, channel, field, 1, 1).total
}

/// Asserts that `contacts-admin check` finds `channel` consistent (every index entry and
/// count exact, nothing pending): how every test that writes ends.
#[track_caller]
pub fn assert_consistent(store: &DynamoStore, channel: &str) {
    let report = runtime()
        .block_on(store.check_channel(channel))
        .expect("check");
    assert!(report.is_consistent(), "check of {channel}: {report:?}");
}

/// A fresh table on the test DynamoDB, with a name of its own.
pub fn fresh_store() -> DynamoStore {
    fresh_store_on(dynamodb_endpoint())
}

/// A fresh table on `endpoint`.
pub fn fresh_store_on(endpoint: &str) -> DynamoStore {
    let table = format!("t{}", &random::base32_id().expect("random")[..12]);
    runtime().block_on(async {
        let store = DynamoStore::connect(Some(endpoint), &table).await;
        store.create_table().await.expect("create table");
        store
    })
}

/// A channel on `store` and its first token.
pub fn create_channel(
    store: &DynamoStore,
    kind: ChannelType,
    id: Option<&str>,
) -> (String, String) {
    let id = id
        .map(str::to_string)
        .unwrap_or_else(|| format!("ch{}", &random::base32_id().expect("random")[..18]));
    runtime().block_on(async {
        let record = ChannelRecord {
            id: id.clone(),
            name: format!("test {kind}"),
            kind,
            api_key: format!("key{}", random::base32_id().expect("random")),
            api_key_id: None,
            created_at: clock::now(),
            tokens: 0,
            workspace: None,
        };
        store.create_channel(&record).await.expect("create channel");
        let token = store.issue_token(&id).await.expect("issue token");
        (id, token)
    })
}

/// Makes `channel` of `table` look as channels made before workspaces do: no workspace
/// named on its item or its channel list entry, no workspace of its own.
pub fn as_before_workspaces(table: &str, channel: &str) {
    use contacts_shared::store::dynamo::keys;
    let client = raw_client();
    runtime().block_on(async {
        for (pk, sk) in [
            (keys::channel_pk(channel), keys::CHANNEL_SK.to_string()),
            (keys::CHANNELS_PK.to_string(), channel.to_string()),
        ] {
            client
                .update_item()
                .table_name(table)
                .set_key(Some(item_key(pk, sk)))
                .update_expression("REMOVE workspace")
                .send()
                .await
                .expect("no workspace named");
        }
        for (pk, sk) in [
            (keys::workspace_pk(channel), keys::WORKSPACE_SK.to_string()),
            (
                keys::workspace_pk(channel),
                keys::workspace_channel_sk(channel),
            ),
            (keys::WORKSPACES_PK.to_string(), channel.to_string()),
        ] {
            client
                .delete_item()
                .table_name(table)
                .set_key(Some(item_key(pk, sk)))
                .send()
                .await
                .expect("its workspace gone");
        }
    });
}

pub fn define_field(
    store: &DynamoStore,
    channel: &str,
    name: &str,
    kind: FieldType,
    values: &[&str],
) {
    let def = FieldDef::checked(kind, values.iter().map(|v| v.to_string()).collect())
        .expect("field definition");
    runtime()
        .block_on(store.define_field(channel, name, &def))
        .expect("define field");
}

/// The whole local stack: functions under `cargo lambda watch` and the gateway in front.
pub struct Stack {
    pub store: DynamoStore,
    /// `http://127.0.0.1:{port}/api`
    pub base: String,
    /// Port of the Lambda invoke API (`cargo lambda invoke --invoke-port`).
    pub invoke_port: u16,
    pub client: Client,
    /// Where the functions (under `cargo lambda watch`), the relay, moto and the gateway log.
    pub logs: Vec<PathBuf>,
    /// The current webhook sealing key, which the admin tool needs to add webhooks.
    pub sealing_key: String,
    /// The Secrets Manager secret (on moto, at `secrets_endpoint`) the functions read the
    /// keys from: what `webhook rotate-key` rotates.
    pub sealing_key_secret: String,
    pub secrets_endpoint: String,
    /// The DynamoDB the stack's table is on.
    pub dynamodb_endpoint: String,
    local: LocalStack,
    extra_gateways: Mutex<Vec<Gateway>>,
}

/// Holds the tests of a binary to one at a time while it lives: for tests that each load
/// the stack on their own, and whose figures are their own.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The field cache's lifetime in the tests' functions and admin tool: short, so that a
/// field made unique or a channel deleted settles in seconds (the settle time is this
/// plus the function timeout, as on AWS).
pub const TEST_FIELD_CACHE_SECONDS: &str = "1";

/// A failed webhook delivery is tried again after 1, 2, 4 s, then every 5 s (17 tries over
/// about a minute) in the tests' functions: the contract's retries, in seconds rather than
/// hours.
pub const TEST_WEBHOOK_RETRY_BASE_SECONDS: &str = "1";
pub const TEST_WEBHOOK_RETRY_MAX_SECONDS: &str = "5";

/// A response, its body parsed as JSON (`Value::Null` if it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Stack {
    /// The stack of this test process, started on first use.
    pub fn shared() -> &'static Stack {
        static STACK: OnceLock<Stack> = OnceLock::new();
        STACK.get_or_init(|| Stack::start_on(dynamodb_endpoint()))
    }

    /// A stack of this test binary's own, on its DynamoDB Local, started on first use:
    /// for tests whose load or figures must not be another binary's.
    pub fn own() -> &'static Stack {
        static STACK: OnceLock<Stack> = OnceLock::new();
        STACK.get_or_init(|| Stack::start_on(dynamodb_endpoint()))
    }

    /// A stack of its own on `endpoint` (a DynamoDB Local the test controls).
    pub fn start_on(endpoint: &str) -> Stack {
        Stack::start_with(endpoint, &[], &[])
    }

    /// A stack of its own on `endpoint`, with extra environment for the functions and
    /// extra arguments for the gateway.
    pub fn start_with(
        endpoint: &str,
        function_env: &[(&str, &str)],
        gateway_args: &[&str],
    ) -> Stack {
        Stack::start_keeping(
            fresh_store_on(endpoint),
            endpoint,
            function_env,
            gateway_args,
            &[],
        )
    }

    /// A stack of its own on `store`'s table (on `endpoint`), whose sealing keys are
    /// `sealing_keys` (the current one first; none: a fresh one), as a stack re-created
    /// with a retained table is given the earlier one's.
    pub fn start_keeping(
        store: DynamoStore,
        endpoint: &str,
        function_env: &[(&str, &str)],
        gateway_args: &[&str],
        sealing_keys: &[String],
    ) -> Stack {
        build_binaries();
        let local = LocalStack::start(StackConfig {
            storage: Storage::Endpoint(Some(endpoint.to_string())),
            table: store.table().to_string(),
            lambda_port: None,
            gateway_port: None,
            release: false,
            reload: false,
            function_env: [
                (FIELD_CACHE_SECONDS, TEST_FIELD_CACHE_SECONDS),
                (WEBHOOK_RETRY_BASE_SECONDS, TEST_WEBHOOK_RETRY_BASE_SECONDS),
                (WEBHOOK_RETRY_MAX_SECONDS, TEST_WEBHOOK_RETRY_MAX_SECONDS),
            ]
            .iter()
            .chain(function_env)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            gateway_args: gateway_args.iter().map(|a| a.to_string()).collect(),
            sealing_keys: sealing_keys.to_vec(),
            logs: logs(),
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
        let client = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let logs = [
            logs().file("functions", local.functions.port),
            logs().file("relay", local.relay.port),
            logs().file("moto", local.sqs.port),
            logs().file("gateway", local.gateway.port),
        ];
        Stack {
            store,
            base: local.gateway.base_url(),
            invoke_port: local.functions.port,
            client,
            logs: logs.into_iter().flatten().collect(),
            sealing_key: local.sealing_key.clone(),
            sealing_key_secret: local.sealing_key_secret.clone(),
            secrets_endpoint: local.sqs.endpoint(),
            dynamodb_endpoint: endpoint.to_string(),
            local,
            extra_gateways: Mutex::new(Vec::new()),
        }
    }

    /// Another gateway in front of the same functions, from `template` with extra
    /// `local-gateway` arguments; its base URL.
    pub fn extra_gateway(&self, template: &Path, args: &[&str]) -> String {
        let gateway = self
            .local
            .extra_gateway(Some(template.to_path_buf()), args, &logs())
            .unwrap_or_else(|e| panic!("{e:#}"));
        let base = gateway.base_url();
        self.extra_gateways
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(gateway);
        base
    }

    /// The admin tool on this stack's table, with its sealing key: what adds webhooks
    /// whose secrets the stack's functions open.
    pub fn admin(&self) -> AdminCli {
        let mut admin = AdminCli::for_table(self.store.table());
        admin.env.extend([
            (
                DYNAMODB_ENDPOINT.to_string(),
                self.dynamodb_endpoint.clone(),
            ),
            // As an operator names the stack's secret (its WebhookSealingKeyArn output).
            (
                WEBHOOK_SEALING_KEY_SECRET.to_string(),
                self.sealing_key_secret.clone(),
            ),
            (
                SECRETS_MANAGER_ENDPOINT.to_string(),
                self.secrets_endpoint.clone(),
            ),
        ]);
        admin
    }

    /// The URL of the stack's queue `id` (its logical id in the template), on moto's SQS
    /// at `secrets_endpoint`.
    pub fn queue_url(&self, id: &str) -> String {
        self.local
            .sqs
            .queues
            .get(id)
            .cloned()
            .unwrap_or_else(|| panic!("the stack has no queue {id}"))
    }

    /// The log of the stack's `service` (`functions`, `relay`, `moto`, `gateway`), once a
    /// line for which `wanted` holds is in it (or after 10 s, whatever is there): the
    /// functions write after they answer, so a test reads behind them.
    pub fn log_once(&self, service: &str, wanted: impl Fn(&str) -> bool) -> String {
        let prefix = format!("{service}-");
        let path = self
            .logs
            .iter()
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .unwrap_or_else(|| panic!("no log of {service}"));
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(path).unwrap_or_default();
            if log.lines().any(&wanted) || Instant::now() > until {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn channel(&self, kind: ChannelType) -> (String, String) {
        create_channel(&self.store, kind, None)
    }

    /// Sends `method path` (below `/api`) with an optional bearer token and raw body.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        reply(request.send().expect("request"))
    }
}

/// `template.yaml` with the usage plan's throttle raised out of reach, written to `dir`:
/// for tests that send far more than 100 calls a minute on one channel.
pub fn unthrottled_template(dir: &Path) -> PathBuf {
    let template =
        std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let mut replaced = [0; 2];
    let lines: Vec<String> = template
        .lines()
        .map(|line| {
            let indent = &line[..line.len() - line.trim_start().len()];
            for (i, key) in ["BurstLimit:", "RateLimit:"].iter().enumerate() {
                if line.trim_start().starts_with(key) {
                    replaced[i] += 1;
                    return format!("{indent}{key} 1000000");
                }
            }
            line.to_string()
        })
        .collect();
    assert_eq!(
        replaced,
        [1, 1],
        "template.yaml should have one usage-plan throttle (BurstLimit and RateLimit)"
    );
    std::fs::create_dir_all(dir).expect("template directory");
    let path = dir.join("template.yaml");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write the unthrottled template");
    path
}

pub fn reply(response: reqwest::blocking::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().expect("response body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// Words that would betray internals in a response: panics, SDK and storage names, AWS
/// request details, Rust source locations. No response may contain any of them.
pub const INTERNALS: [&str; 10] = [
    "panicked",
    "backtrace",
    "aws_sdk",
    "dynamodb",
    "Dispatch",
    "Exception",
    "RequestId",
    "smithy",
    "hyper",
    ".rs:",
];

/// The contract's error envelope.
pub fn envelope(message: &str) -> Value {
    serde_json::json!({"status": "error", "message": message, "data": []})
}

/// The debug build of `contacts-admin`.
pub fn admin_binary() -> PathBuf {
    local_stack::paths::target_dir().join("debug/contacts-admin")
}

/// The `contacts-admin` binary, run as an operator would, against the test DynamoDB and a
/// table of its own; `env` adds variables (API Gateway endpoint, usage plan).
pub struct AdminCli {
    pub table: String,
    pub env: Vec<(String, String)>,
}

impl AdminCli {
    /// The tool on an existing table.
    pub fn for_table(table: &str) -> Self {
        let mut admin = AdminCli::new(&[]);
        admin.table = table.to_string();
        admin
    }

    /// Builds the binary (a no-op when it is up to date) and picks a fresh table name.
    pub fn new(env: &[(&str, &str)]) -> Self {
        build_binaries();
        let table = format!("admin{}", &random::base32_id().expect("random")[..10]);
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AdminCli { table, env }
    }

    /// The command for `args`, with the table and environment, to run as the caller likes.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(admin_binary());
        command
            .args(args)
            .env(DYNAMODB_ENDPOINT, dynamodb_endpoint())
            .env(CONTACTS_TABLE, &self.table)
            .env(FIELD_CACHE_SECONDS, TEST_FIELD_CACHE_SECONDS)
            .env_remove(USAGE_PLAN_ID)
            .env_remove(APIGATEWAY_ENDPOINT)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().expect("contacts-admin")
    }

    /// Runs a command with `input` on its standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("contacts-admin");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_string();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().expect("contacts-admin");
        writer.join().expect("writer").expect("write stdin");
        out
    }

    /// Runs a command that must succeed; its stdout as JSON (`Null` if none).
    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Runs a command that must fail; its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Asserts `contacts-admin check --channel` finds the channel consistent.
    #[track_caller]
    pub fn assert_consistent(&self, channel: &str) {
        let report = self.ok(&["check", "--channel", channel]);
        assert_eq!(report["consistent"], true, "{report}");
    }

    /// A store on the same table, to check what the commands did.
    pub fn store(&self) -> DynamoStore {
        runtime().block_on(DynamoStore::connect(Some(dynamodb_endpoint()), &self.table))
    }
}
