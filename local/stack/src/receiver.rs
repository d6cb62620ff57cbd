//! A webhook receiver on a loopback port, for the tests and the bench: it records every
//! POST (headers, body, when it arrived) and answers 200. Taken down, it stops listening
//! (senders meet a refused connection, as with a receiver that is down) until brought
//! back on the same port.

use anyhow::Context;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names in lowercase.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    down: AtomicBool,
    stop: AtomicBool,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    pub fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("receiver")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let state = Arc::clone(&shared);
        thread::spawn(move || serve(listener, port, &state));
        Ok(Receiver { port, shared })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Down: the port refuses connections. Up: it listens again.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Waits until `done` holds for what has arrived, or `timeout` passes; what arrived.
    pub fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let until = Instant::now() + timeout;
        loop {
            let received = self.received();
            if done(&received) || Instant::now() > until {
                return received;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve(listener: TcpListener, port: u16, shared: &Arc<Shared>) {
    let mut listener = Some(listener);
    while !shared.stop.load(Ordering::SeqCst) {
        let down = shared.down.load(Ordering::SeqCst);
        if down {
            listener = None;
        } else if listener.is_none() {
            listener = TcpListener::bind(("127.0.0.1", port)).ok();
        }
        let Some(open) = &listener else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        if open.set_nonblocking(true).is_err() {
            return;
        }
        match open.accept() {
            Ok((stream, _)) => {
                let state = Arc::clone(shared);
                thread::spawn(move || {
                    if let Some(received) = read_request(stream) {
                        lock(&state.received).push(received);
                    }
                });
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Reads one request, answers 200, and returns it.
fn read_request(stream: TcpStream) -> Option<Received> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_lowercase(), value.trim().to_string());
    }
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let at = Instant::now();
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(Received {
        headers,
        body: String::from_utf8(body).ok()?,
        at,
    })
}
