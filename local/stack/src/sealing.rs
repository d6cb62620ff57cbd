//! The keys that seal webhook secrets in the table. As on AWS they live in a Secrets
//! Manager secret (moto's, here), which the delivery function and the admin tool read: its
//! current version seals, the previous one still opens. `make dev` keeps them in a file too
//! (the current key, then the previous one), since moto keeps nothing across restarts.

use std::path::Path;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use contacts_shared::random;

/// A new key: 32 random bytes in base64 (URL-safe, unpadded: nothing a shell or
/// `cargo lambda watch --env-var` would read otherwise).
pub fn fresh_key() -> anyhow::Result<String> {
    let bytes = random::bytes::<32>()?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The keys kept in `path`, the current one first, made there (readable by its owner
/// only) the first time: the webhooks of `make dev` outlive its restarts, as its data does.
pub fn kept_keys(path: &Path) -> anyhow::Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let keys: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            if keys.is_empty() {
                anyhow::bail!("{} holds no key", path.display());
            }
            return Ok(keys);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| path.display().to_string()),
    }
    let key = fresh_key()?;
    contacts_shared::dev_stack::keep_keys(path, std::slice::from_ref(&key), true)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(vec![key])
}

/// The secret the stack's functions read the keys from, made on moto's `endpoint` with
/// `keys` (the current one first, then the previous: its versions, oldest put first); its
/// ARN.
pub async fn secret(endpoint: &str, keys: &[String]) -> anyhow::Result<String> {
    let config = contacts_shared::aws::sdk_config(Some(endpoint)).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let mut versions = keys.iter().take(2).rev();
    let oldest = versions.next().context("no sealing key")?;
    let arn = client
        .create_secret()
        .name(SECRET_NAME)
        .secret_string(oldest)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
        .context("cannot make the sealing key's secret")?
        .arn()
        .context("the sealing key's secret has no ARN")?
        .to_string();
    for newer in versions {
        client
            .put_secret_value()
            .secret_id(&arn)
            .secret_string(newer)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e))
            })
            .context("cannot store the current sealing key")?;
    }
    Ok(arn)
}

/// The secret's name, as the template names its resource.
pub const SECRET_NAME: &str = "WebhookSealingKey";

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn kept_keys_are_made_once_for_their_owner_only() {
        let dir = std::env::temp_dir().join(format!("sealing-{}", fresh_key().unwrap()));
        let path = dir.join("key");
        let keys = kept_keys(&path).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].len(), 43);
        assert_eq!(kept_keys(&path).unwrap(), keys);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_ne!(fresh_key().unwrap(), keys[0]);
        // A rotation keeps the new key first and the one before it.
        let rotated = vec![fresh_key().unwrap(), keys[0].clone()];
        contacts_shared::dev_stack::keep_keys(&path, &rotated, false).unwrap();
        assert_eq!(kept_keys(&path).unwrap(), rotated);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
