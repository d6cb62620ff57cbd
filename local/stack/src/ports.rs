//! Loopback ports of the local stack.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::supervise::Service;

/// A port nothing listens on now.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Whether something accepts connections on the loopback `port`.
pub fn listening(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// Waits until `service` listens on `port`; fails if it exits first or `timeout` passes.
pub fn wait_listening(service: &mut Service, port: u16, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while !listening(port) {
        if let Some(status) = service.exited() {
            return Err(format!(
                "{} exited before listening on port {port}: {status}",
                service.name()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} did not listen on port {port} within {timeout:?}",
                service.name()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
