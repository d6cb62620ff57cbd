//! The deployment package of a function: its arm64 `bootstrap` as
//! `cargo lambda build --release --arm64` leaves it in `target/lambda/{name}/`, zipped the
//! way SAM zips it (deflate, default level).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

/// ELF `e_machine` of AArch64.
const EM_AARCH64: u16 = 183;

pub struct Package {
    pub bootstrap: u64,
    pub zipped: u64,
}

/// Zips `target/lambda/{name}/bootstrap` into `work/{name}.zip`; both sizes in bytes.
pub fn measure(target: &Path, name: &str, work: &Path) -> anyhow::Result<Package> {
    let bootstrap = target.join("lambda").join(name).join("bootstrap");
    let binary = std::fs::read(&bootstrap).with_context(|| {
        format!(
            "{} (build it with `cargo lambda build --release --arm64`)",
            bootstrap.display()
        )
    })?;
    let machine = binary.get(18..20).map(|b| u16::from_le_bytes([b[0], b[1]]));
    if !binary.starts_with(b"\x7fELF") || machine != Some(EM_AARCH64) {
        bail!("{} is not an arm64 binary", bootstrap.display());
    }
    let zip = work.join(format!("{name}.zip"));
    let _ = std::fs::remove_file(&zip);
    // -X: no extra attributes, -j: `bootstrap` at the root of the archive.
    let zipped = Command::new("zip")
        .args(["-q", "-X", "-j"])
        .arg(&zip)
        .arg(&bootstrap)
        .status()
        .context("cannot run `zip` (install it, e.g. `apt-get install zip`)")?;
    if !zipped.success() {
        bail!("zip {} failed: {zipped}", bootstrap.display());
    }
    let zipped = std::fs::metadata(&zip).with_context(|| zip.display().to_string())?;
    Ok(Package {
        bootstrap: binary.len() as u64,
        zipped: zipped.len(),
    })
}
