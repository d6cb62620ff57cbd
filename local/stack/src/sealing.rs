//! The key that seals webhook secrets in the table (`WEBHOOK_SEALING_KEY`): the functions
//! open with it what the admin tool sealed with it, so both must be given the same one.

use anyhow::Context;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use contacts_shared::random;

/// A new key: 32 random bytes in base64 (URL-safe, unpadded: nothing a shell or
/// `cargo lambda watch --env-var` would read otherwise).
pub fn fresh_key() -> anyhow::Result<String> {
    let bytes = random::bytes::<32>()?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The key kept in `path`, made there (readable by its owner only) the first time: the
/// webhooks of `make dev` outlive its restarts, as its data does.
pub fn kept_key(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(key) => return Ok(key.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| path.display().to_string()),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    let key = fresh_key()?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| writeln!(file, "{key}"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_kept_key_is_made_once_for_its_owner_only() {
        let dir = std::env::temp_dir().join(format!("sealing-{}", fresh_key().unwrap()));
        let path = dir.join("key");
        let key = kept_key(&path).unwrap();
        assert_eq!(key.len(), 43);
        assert_eq!(kept_key(&path).unwrap(), key);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_ne!(fresh_key().unwrap(), key);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
