//! Where things are: the repository, the build, and the tools `scripts/setup.sh`
//! installs into the project's virtual environment.

use anyhow::Context;

use std::path::{Path, PathBuf};

/// The repository's root: this crate is `local/stack/` in it.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, or `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// The project's virtual environment's `bin/`, where every Python tool is.
pub fn venv_bin() -> PathBuf {
    repo_root().join(".local/venv/bin")
}

/// A tool of the virtual environment (`cargo-lambda`, `moto_server`, `python`, ...), or
/// what to run to install it.
pub fn tool(name: &str) -> anyhow::Result<PathBuf> {
    let path = venv_bin().join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(anyhow::anyhow!(
            "{} is missing: run scripts/setup.sh (make dev and make test run it)",
            path.display()
        ))
    }
}

/// `PATH` with the virtual environment first, for tools that look for others there
/// (`cargo lambda` for zig, `sam build` for `cargo lambda`).
pub fn path_with_tools() -> std::ffi::OsString {
    let mut paths = vec![venv_bin()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap_or_default()
}

/// A binary of this workspace built in the same profile as the running program (the
/// tests' and `target/debug/local-stack`'s, or the bench's release one).
pub fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    // target/<profile>/<program>, or target/<profile>/deps/<test> for tests.
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{name} is not built beside {}: run `cargo build --workspace --bins`",
                exe.display()
            )
        })
}

/// The `local-stack` binary, which also serves as every owner's guard.
pub fn local_stack_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("LOCAL_STACK_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("cannot find this program")?;
    if exe.file_name().is_some_and(|n| n == "local-stack") {
        return Ok(exe);
    }
    sibling_binary("local-stack")
}
