//! The small HTTP endpoint for Prometheus and Kubernetes probes: `/metrics`, `/healthz`
//! (the process answers) and `/readyz` (it can do its job).
//!
//! Only `GET` of these three paths is served, one request per connection; that is all a
//! scraper or a kubelet sends, and it keeps the program free of a web framework.

use crate::metrics::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What `/readyz` checks.
#[derive(Clone, Copy)]
pub struct ReadinessRule {
    /// Whether the broker connection counts (not with `--stdin`).
    pub needs_broker: bool,
    /// How long alerts may wait with nothing committed.
    pub stall: Duration,
}

/// Bind `address` now (so a taken port is reported at start), and serve in the background.
pub async fn serve(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    rule: ReadinessRule,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(address).await?;
    tracing::info!(%address, "serving /metrics, /healthz and /readyz");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), answer(stream, &metrics, rule))
                        .await;
            });
        }
    });
    Ok(())
}

async fn answer(
    mut stream: TcpStream,
    metrics: &Metrics,
    rule: ReadinessRule,
) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    // Read the request head (up to the blank line); bodies are not expected.
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&request);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
        ("GET", "/healthz") => ("200 OK", "text/plain", "ok\n".to_string()),
        ("GET", "/readyz") => match metrics.readiness(rule.needs_broker, rule.stall) {
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
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
