//! The small HTTP endpoint for Prometheus and Kubernetes probes: `/metrics`, `/healthz`
//! (the process answers) and `/readyz` (it can do its job).
//!
//! Only `GET` of these three paths is served, one request per connection; that is all a
//! scraper or a kubelet sends, and it keeps the program free of a web framework. Every door
//! is bounded: at most [`MAX_CONNECTIONS`] at a time (more wait in the kernel's backlog), a
//! request head of at most [`MAX_REQUEST_BYTES`] that must arrive within [`HEAD_TIME`] (a
//! client that sends one byte a second is cut off), and [`CONNECTION_TIME`] for a connection
//! from accept to the last byte of the answer. An accept error (out of file descriptors, say) is retried after a growing pause, and
//! logged at most once a minute, so the listener never spins.

use dripline_mesh::Backoff;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connections served at once; further ones wait to be accepted.
pub const MAX_CONNECTIONS: usize = 64;
/// The longest request head read (a scraper's is a few hundred bytes).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// The longest a request head may take to arrive (a scraper sends it in one packet).
pub const HEAD_TIME: Duration = Duration::from_secs(2);
/// The longest a connection may take, from accept to the end of the answer.
pub const CONNECTION_TIME: Duration = Duration::from_secs(5);
/// How often an accept error is logged at most.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What a program serves: its metrics and whether it is ready.
pub trait Exposition: Send + Sync + 'static {
    /// The Prometheus text exposition of every metric (see [`crate::text`]).
    fn render(&self) -> String;
    /// `Ok` when the program can do its job; otherwise why not (the body of a 503).
    fn readiness(&self) -> Result<(), String>;
}

/// Bind `address` now (so a taken port is reported at start), and serve in the background.
/// The error says which address could not be bound: `cannot serve metrics on ADDR: why`.
pub async fn serve<E: Exposition>(address: SocketAddr, exposition: Arc<E>) -> std::io::Result<()> {
    let listener = TcpListener::bind(address).await.map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot serve metrics on {address}: {error}"),
        )
    })?;
    tracing::info!(%address, "serving /metrics, /healthz and /readyz");
    tokio::spawn(accept_loop(listener, exposition));
    Ok(())
}

async fn accept_loop<E: Exposition>(listener: TcpListener, metrics: Arc<E>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
    let mut errors = RateLimited::new(ERROR_LOG_INTERVAL);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return; // never closed
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff.reset();
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(CONNECTION_TIME, answer(stream, &*metrics)).await;
                    drop(slot);
                });
            }
            Err(error) => {
                let delay = backoff.next_delay();
                if let Some(suppressed) = errors.allow(Instant::now()) {
                    tracing::warn!(
                        "metrics endpoint: cannot accept a connection ({error}); retrying in \
                         {delay:?}{}",
                        if suppressed > 0 {
                            format!(" ({suppressed} more such errors since the last report)")
                        } else {
                            String::new()
                        }
                    );
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Lets an event be logged at most once per interval, counting the ones left out.
struct RateLimited {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimited {
    fn new(interval: Duration) -> Self {
        RateLimited {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(events left out since the last report)` when this one may be logged.
    fn allow(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Read a request head of at most [`MAX_REQUEST_BYTES`] (up to the blank line; bodies are
/// not expected): `None` when it is longer.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut request = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        if request.len() > MAX_REQUEST_BYTES {
            return Ok(None);
        }
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    Ok(Some(request))
}

async fn answer<E: Exposition>(mut stream: TcpStream, metrics: &E) -> std::io::Result<()> {
    let head = tokio::time::timeout(HEAD_TIME, read_head(&mut stream))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?;
    let (status, content_type, body) = match head? {
        None => (
            "431 Request Header Fields Too Large",
            "text/plain",
            "request too large\n".to_string(),
        ),
        Some(request) => route(&request, metrics),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn route<E: Exposition>(request: &[u8], metrics: &E) -> (&'static str, &'static str, String) {
    let head = String::from_utf8_lossy(request);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
        ("GET", "/healthz") => ("200 OK", "text/plain", "ok\n".to_string()),
        ("GET", "/readyz") => match metrics.readiness() {
            Ok(()) => ("200 OK", "text/plain", "ready\n".to_string()),
            Err(reason) => (
                "503 Service Unavailable",
                "text/plain",
                format!("not ready: {reason}\n"),
            ),
        },
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_logged_once_per_interval_with_a_count_of_the_rest() {
        let mut limit = RateLimited::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(limit.allow(start), Some(0));
        for second in 1..=59 {
            assert_eq!(limit.allow(start + Duration::from_secs(second)), None);
        }
        assert_eq!(limit.allow(start + Duration::from_secs(60)), Some(59));
        assert_eq!(limit.allow(start + Duration::from_secs(61)), None);
    }
}
