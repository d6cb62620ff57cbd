//! Loopback ports of the local stack.

use anyhow::Context;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::supervise::Service;

/// A port nothing listens on now.
pub fn free_port() -> anyhow::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .context("no free loopback port")
}

/// Whether something accepts connections on the loopback `port`.
pub fn listening(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// Waits until `service` listens on `port`; fails if it exits first or `timeout` passes.
pub fn wait_listening(service: &mut Service, port: u16, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !listening(port) {
        if let Some(status) = service.exited() {
            anyhow::bail!(
                "{} exited before listening on port {port}: {status}",
                service.name()
            );
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "{} did not listen on port {port} within {timeout:?}",
                service.name()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
