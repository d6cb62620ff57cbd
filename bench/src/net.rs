//! Loopback ports for the services the bench starts.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::process::Child;

pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Waits until `process` (`what`) listens on `port`; fails if it exits first.
pub async fn wait_listening(
    port: u16,
    process: &mut Child,
    what: &str,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Ok(Some(status)) = process.try_wait() {
            return Err(format!("{what} exited before listening: {status}"));
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not listen within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
