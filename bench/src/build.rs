//! Builds what the bench measures, as what is deployed is built: each function on its own
//! (features resolve per package, so a build of several at once would be another binary,
//! and `cargo lambda watch` would relink each on its first call), for this machine and,
//! for the package sizes, for arm64 with `cargo lambda build` (which `sam build` runs); and
//! the release local gateway, local relay and `local-stack` for the pass through the local
//! stack, and the release admin tool, whose import is measured.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use contacts_shared::api::functions::{Role, FUNCTIONS};

use crate::function::Function;
use crate::Settings;

pub fn binaries(root: &Path, functions: &[&Function], settings: &Settings) -> anyhow::Result<()> {
    for function in functions {
        cargo(root, &["build", "--release", "--bin", function.name])?;
    }
    // The webhook functions run in the passes through the local stack (every write there
    // is a stream record), and the noisy neighbour's creates go through the authorizer and
    // create-contact: built first, so that no build happens while they are timed.
    let through_stack = FUNCTIONS.iter().filter(|f| {
        let webhooks = matches!(f.role, Role::Stream | Role::Queue);
        let creates = matches!(f.name, "authorizer" | "create-contact");
        (webhooks && settings.runs("stack")) || (settings.runs("fairness") && (webhooks || creates))
    });
    for function in through_stack.filter(|f| !functions.iter().any(|m| m.name == f.name)) {
        cargo(root, &["build", "--release", "--bin", function.name])?;
    }
    cargo(
        root,
        &[
            "build",
            "--release",
            "-p",
            "local-gateway",
            "-p",
            "local-relay",
            "-p",
            "local-stack",
            "-p",
            "contacts-admin",
        ],
    )?;
    if settings.runs("package") {
        let cargo_lambda = local_stack::paths::tool("cargo-lambda")?;
        for function in functions {
            let status = Command::new(&cargo_lambda)
                .args([
                    "lambda",
                    "build",
                    "--release",
                    "--arm64",
                    "--bin",
                    function.name,
                ])
                .env("PATH", local_stack::paths::path_with_tools())
                .current_dir(root)
                .status()
                .context("cannot run cargo lambda")?;
            if !status.success() {
                bail!("cargo lambda build {} failed: {status}", function.name);
            }
        }
    }
    Ok(())
}

fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo {} failed: {status}", args.join(" "));
    }
    Ok(())
}
