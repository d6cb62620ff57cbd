//! `make dev` as a user runs it, ended every way a user ends it: Ctrl-C, SIGTERM (then
//! SIGKILL if it lingers), the terminal closing (SIGHUP), and SIGKILL of its whole process
//! group. Each time, no process of the stack may be left and every port must be free
//! within 5 s. And as a user reads it: the banner, then nothing per request; and
//! `contacts-admin` run in a fresh shell finds the stack by itself.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use contacts_shared::dev_stack::{self, DevStack};
use contacts_shared::env;
use contacts_tests::{admin_binary, build_binaries, free_port, log_dir, repo_root};
use local_stack::ports::listening;
use local_stack::receiver::Receiver;

/// How long the stack may take to come up (the binaries are built already).
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// What the issue allows for everything to be gone.
const GONE_WITHIN: Duration = Duration::from_secs(5);
/// The banner's last line.
const BANNER_END: &str = "Ctrl-C stops everything.";

struct Dev {
    make: Child,
    ports: [u16; 3],
    /// In the environment of every process `make dev` starts, and of none other.
    mark: String,
    /// Its folder (relative to the repository, as `.local` is): its data, its services'
    /// logs and its stack file (`.local/stack.json` in it).
    home: PathBuf,
    /// What `make dev` printed.
    log: PathBuf,
}

impl Dev {
    /// `make dev` in a process group of its own, on free ports, with its data in a
    /// folder of its own; returns once the API answers.
    fn start(name: &str) -> Dev {
        build_binaries();
        let ports = [free_port(), free_port(), free_port()].map(|p| p.expect("a free port"));
        let mark = format!("{name}-{}", std::process::id());
        // Relative, as the defaults are: make dev runs in the repository.
        let home = PathBuf::from(format!("target/dev-{mark}"));
        let log = log_dir().join(format!("make-dev-{mark}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let make = Command::new("make")
            .arg("dev")
            .current_dir(repo_root())
            .env(env::DYNAMODB_PORT, ports[0].to_string())
            .env(env::LAMBDA_PORT, ports[1].to_string())
            .env(env::GATEWAY_PORT, ports[2].to_string())
            .env(env::DATA_DIR, home.join("data"))
            .env(env::LOG_DIR, home.join("logs"))
            .env(env::STACK_FILE, home.join(dev_stack::FILE))
            .env("DEV_TEST_MARK", &mark)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("make dev");
        let mut dev = Dev {
            make,
            ports,
            mark,
            home,
            log,
        };
        dev.wait_until_serving();
        dev
    }

    fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = format!("http://127.0.0.1:{}/api/v1/contact/x", self.ports[2]);
        loop {
            if let Ok(Some(status)) = self.make.try_wait() {
                panic!("make dev exited ({status}); see {}", self.log.display());
            }
            // Serving, and the banner printed.
            if let Ok(reply) = reqwest::blocking::get(&url) {
                assert_eq!(reply.status().as_u16(), 401, "no token: refused");
                if self.output().contains(BANNER_END) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "make dev did not serve within {START_TIMEOUT:?}; see {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What `make dev` printed so far.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Signals `make dev`'s whole process group, as a terminal or `kill -- -PGID` does.
    fn signal(&self, signal: i32) {
        let group = -(self.make.id() as i32);
        // SAFETY: kill(2) has no memory-safety preconditions.
        let sent = unsafe { libc::kill(group, signal) };
        assert_eq!(sent, 0, "kill({group}, {signal}) failed");
    }

    /// Processes of this `make dev` still alive (zombies are dead), by command line.
    fn survivors(&self) -> Vec<String> {
        let needle = format!("DEV_TEST_MARK={}", self.mark);
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let path = entry.path();
            let Ok(environ) = std::fs::read(path.join("environ")) else {
                continue;
            };
            let marked = environ
                .split(|&b| b == 0)
                .any(|var| var == needle.as_bytes());
            let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']));
            if marked && !zombie {
                let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
                found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        found
    }

    /// Everything gone and every port free within [`GONE_WITHIN`] of `since`.
    fn assert_gone(mut self, since: Instant) {
        loop {
            let survivors = self.survivors();
            let busy: Vec<u16> = self.ports.into_iter().filter(|p| listening(*p)).collect();
            if survivors.is_empty() && busy.is_empty() {
                break;
            }
            assert!(
                since.elapsed() < GONE_WITHIN,
                "after {:?}: still running {survivors:#?}, ports in use {busy:?}; see {}",
                since.elapsed(),
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.make.wait();
        let _ = std::fs::remove_dir_all(repo_root().join(&self.home));
    }
}

#[test]
fn sigkill_of_the_process_group_leaves_nothing() {
    let dev = Dev::start("kill");
    assert!(dev.survivors().len() >= 4, "{:#?}", dev.survivors());
    dev.signal(libc::SIGKILL);
    dev.assert_gone(Instant::now());
}

#[test]
fn sigterm_then_sigkill_leaves_nothing() {
    let dev = Dev::start("term");
    dev.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_secs(3));
    dev.signal(libc::SIGKILL);
    dev.assert_gone(Instant::now());
}

#[test]
fn sigterm_alone_stops_everything() {
    let dev = Dev::start("term-only");
    let since = Instant::now();
    dev.signal(libc::SIGTERM);
    dev.assert_gone(since);
}

#[test]
fn a_closed_terminal_or_ctrl_c_stops_everything() {
    for (name, signal) in [("hup", libc::SIGHUP), ("int", libc::SIGINT)] {
        let dev = Dev::start(name);
        let since = Instant::now();
        dev.signal(signal);
        dev.assert_gone(since);
    }
}

#[test]
fn after_the_banner_nothing_per_request_and_the_admin_finds_the_stack() {
    let dev = Dev::start("quiet");
    let banner = dev.output();
    let token = banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("Token:"))
        .expect("the banner gives a token")
        .trim()
        .to_string();
    let api = format!("http://127.0.0.1:{}/api/v1", dev.ports[2]);
    let client = reqwest::blocking::Client::new();
    let bearer = format!("Bearer {token}");
    for _ in 0..3 {
        let created = client
            .post(format!("{api}/contact"))
            .header("Authorization", &bearer)
            .body(r#"{"custom_fields":[{"name":"firstName","value":"Ann"}]}"#)
            .send()
            .unwrap();
        assert_eq!(created.status().as_u16(), 200);
        let missing = client
            .get(format!("{api}/contact/nobody"))
            .header("Authorization", &bearer)
            .send()
            .unwrap();
        assert_eq!(missing.status().as_u16(), 403);
        let refused = client.get(format!("{api}/contact/nobody")).send().unwrap();
        assert_eq!(refused.status().as_u16(), 401);
        let wrong = client.patch(format!("{api}/contact")).send().unwrap();
        assert_eq!(wrong.status().as_u16(), 405);
    }

    // A fresh shell in the folder of the stack file: no variable, no flag.
    let stack_file = repo_root().join(&dev.home).join(dev_stack::FILE);
    let stack = DevStack::read(&stack_file).expect("make dev says where it runs");
    assert_eq!(
        stack.dynamodb_endpoint,
        format!("http://127.0.0.1:{}", dev.ports[0])
    );
    let admin = |args: &[&str]| {
        let out = Command::new(admin_binary())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .current_dir(repo_root().join(&dev.home))
            .output()
            .expect("contacts-admin");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("the local stack (make dev)"), "{stderr}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let channels = admin(&["channel", "list"]);
    assert!(
        channels
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["channel_id"] == "demo"),
        "{channels}"
    );
    // A receiver that answers: the calls above may still be on their way through the
    // stream, and their deliveries to a dead URL would rightly be warned of.
    let receiver = Receiver::start().expect("a receiver");
    let added = admin(&[
        "webhook",
        "add",
        "--channel",
        "demo",
        "--url",
        &receiver.url(),
    ]);
    assert!(added["webhook_id"].as_str().unwrap().starts_with("wh_"));
    assert!(added["secret"].as_str().unwrap().starts_with("whsec_"));

    // Whatever the calls made the services say reached the log folder, not the terminal.
    std::thread::sleep(Duration::from_secs(2));
    let after = dev.output();
    assert_eq!(
        after.strip_prefix(banner.as_str()),
        Some(""),
        "make dev printed more after its banner"
    );
    let gateway_log = repo_root()
        .join(&dev.home)
        .join(format!("logs/gateway-{}.log", dev.ports[2]));
    let logged = std::fs::read_to_string(&gateway_log).expect("the gateway's log");
    assert!(logged.contains("POST /api/v1/contact -> 200"), "{logged}");

    let since = Instant::now();
    dev.signal(libc::SIGINT);
    while stack_file.exists() {
        assert!(
            since.elapsed() < GONE_WITHIN,
            "the stack file outlived the stack"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    dev.assert_gone(since);
}
