//! Each function links only what it uses: an endpoint (every function of the table but
//! the stream and queue consumers), built on its own as `sam build` builds it, carries none
//! of what only the webhook functions need (contacts-shared's `webhooks` feature: an HTTP
//! client, SQS, the stream images' conversion). The webhook functions do carry them, so a
//! crate renamed or a feature wired differently fails here rather than passing unseen.
//! No function links the streams SDK: only the local relay reads the stream.
//!
//! `cargo tree --offline` per function, from the lock file: no network, no build.

use std::collections::BTreeSet;
use std::process::Command;

use contacts_shared::api::functions::{Role, FUNCTIONS};
use contacts_tests::repo_root;

/// What contacts-shared's `webhooks` feature links, and the endpoints must not.
const WEBHOOK_ONLY: &[&str] = &["reqwest", "aws-sdk-sqs", "serde_dynamo"];

/// What no function links.
const NEVER: &[&str] = &["aws-sdk-dynamodbstreams"];

/// The crates `name` links (normal dependencies, its own features only).
fn linked(name: &str) -> BTreeSet<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args(["tree", "--offline", "--edges", "normal", "--prefix", "none"])
        .args(["--package", name])
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn endpoints_link_no_webhook_crate_and_webhook_functions_do() {
    // One cargo tree per function, all at once: each resolves its own features.
    let trees: Vec<_> = std::thread::scope(|scope| {
        let running: Vec<_> = FUNCTIONS
            .iter()
            .map(|function| (function, scope.spawn(|| linked(function.name))))
            .collect();
        running
            .into_iter()
            .map(|(function, tree)| (function, tree.join().expect("cargo tree thread")))
            .collect()
    });
    let mut wrong = Vec::new();
    for (function, tree) in &trees {
        assert!(
            tree.contains(function.name),
            "cargo tree -p {} does not list the function itself",
            function.name
        );
        let webhooks = matches!(function.role, Role::Stream | Role::Queue);
        for krate in WEBHOOK_ONLY {
            if tree.contains(*krate) != webhooks {
                let verb = if webhooks { "lacks" } else { "links" };
                wrong.push(format!("{} {verb} {krate}", function.name));
            }
        }
        for krate in NEVER.iter().filter(|krate| tree.contains(**krate)) {
            wrong.push(format!("{} links {krate}", function.name));
        }
    }
    assert!(
        trees
            .iter()
            .any(|(function, _)| matches!(function.role, Role::Stream | Role::Queue)),
        "no webhook function in the table to hold the others against"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
