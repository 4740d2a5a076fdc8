//! Raw AMQP floods against a running dl-serve, shared by the `hostile_*` tests and the
//! `hostile-flood` program `bench/hostile.sh` runs: hand-made requests published as fast as the
//! broker takes them, ping round trips, the process's resident memory.
//!
//! Included with `#[path = "flood.rs"] mod flood;`.
#![allow(dead_code)]

use dripline_mesh::fields::to_amqp_properties;
use dripline_mesh::{MeshConnection, RequestClient, RequestOutcome};
use dripline_protocol::{encode, LockoutKey, Message, Operation, WireChunk, WireProperties};
use lapin::options::BasicPublishOptions;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A channel publishing raw messages on the requests exchange (no confirms: as fast as the
/// broker takes them).
pub struct Raw {
    /// The channel.
    pub channel: lapin::Channel,
    exchange: String,
}

impl Raw {
    /// A raw publisher on `connection`'s requests exchange.
    pub async fn open(connection: &MeshConnection) -> Raw {
        let exchange = connection.settings().requests_exchange.clone();
        Raw::on(connection, &exchange).await
    }

    /// A raw publisher on `connection`'s `exchange`.
    pub async fn on(connection: &MeshConnection, exchange: &str) -> Raw {
        let channel = connection.channel().await.expect("a channel");
        connection.declare_exchanges(&channel).await.unwrap();
        Raw {
            channel,
            exchange: exchange.to_string(),
        }
    }

    /// Publish `body` with `properties` under `routing_key`; the broker's refusal as text.
    pub async fn send(
        &self,
        routing_key: &str,
        properties: &WireProperties,
        body: &[u8],
    ) -> Result<(), String> {
        // The client library cannot express a routing key over 255 bytes (an AMQP short
        // string): refused here, as the broker would.
        let routing_key =
            lapin::types::ShortString::try_new(routing_key).map_err(|e| format!("{e:?}"))?;
        self.channel
            .basic_publish(
                self.exchange.as_str().into(),
                routing_key,
                BasicPublishOptions::default(),
                body,
                to_amqp_properties(properties),
            )
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Publish a whole chunk as it is.
    pub async fn chunk(&self, chunk: &WireChunk) {
        self.send(&chunk.routing_key, &chunk.properties, &chunk.body)
            .await
            .expect("publish");
    }
}

/// A request to `target` as dl-get / dl-set would send it, with `reply_to`.
pub fn request(
    connection: &MeshConnection,
    target: &str,
    operation: Operation,
    payload: Value,
    reply_to: &str,
) -> Message {
    let mut message = Message::request(
        target,
        operation,
        "",
        payload,
        LockoutKey::parse(""),
        connection.sender_info().clone(),
        dripline_mesh::timestamp_now(),
    );
    message.reply_to = reply_to.to_string();
    message
}

/// The one chunk of a small request.
pub fn one_chunk(message: &Message) -> WireChunk {
    encode(message, usize::MAX).remove(0)
}

/// Publish `count` get requests to `target`, each with a body of about `body_bytes` (a
/// padding value the endpoint ignores) and replies going to `reply_to` (a name nobody binds:
/// the broker drops them). Returns how long publishing took.
pub async fn burst(
    raw: &Raw,
    connection: &MeshConnection,
    target: &str,
    count: usize,
    body_bytes: usize,
    reply_to: &str,
) -> Duration {
    let padding = "x".repeat(body_bytes);
    let mut chunk = one_chunk(&request(
        connection,
        target,
        Operation::Get,
        json!({ "padding": padding }),
        reply_to,
    ));
    let start = Instant::now();
    for index in 0..count {
        chunk.properties.correlation_id = Some(format!("burst-{index}"));
        chunk.properties.message_id = Some(format!("burst-{index}/0/1"));
        raw.chunk(&chunk).await;
    }
    start.elapsed()
}

/// Publish chunk 0 of `count` two-chunk messages whose chunk 1 never comes, each chunk
/// `chunk_bytes` long: a chunk bomb.
pub async fn chunk_bomb(
    raw: &Raw,
    connection: &MeshConnection,
    target: &str,
    count: usize,
    chunk_bytes: usize,
    reply_to: &str,
) -> Duration {
    let mut chunk = one_chunk(&request(
        connection,
        target,
        Operation::Get,
        json!({}),
        reply_to,
    ));
    chunk.body = vec![b' '; chunk_bytes];
    let start = Instant::now();
    for index in 0..count {
        chunk.properties.correlation_id = Some(format!("bomb-{index}"));
        chunk.properties.message_id = Some(format!("bomb-{index}/0/2"));
        raw.chunk(&chunk).await;
    }
    start.elapsed()
}

/// The round trip of one `ping` to `service`, or `None` when no reply came within `limit`.
pub async fn ping(
    connection: &MeshConnection,
    client: &RequestClient,
    service: &str,
    limit: Duration,
) -> Option<Duration> {
    let message = request(connection, service, Operation::Cmd, json!({}), "");
    let mut message = message;
    message.specifier = "ping".into();
    let start = Instant::now();
    match client.request(message, limit).await {
        Ok(RequestOutcome::Reply(_)) => Some(start.elapsed()),
        _ => None,
    }
}

/// Run `work` (e.g. a burst) while pinging `service` every `every`, and go on pinging until a
/// round trip is shorter than `settled` (the backlog ahead of the pings has drained) or
/// `limit` passes. Returns `work`'s output and every round trip (no reply within `limit`
/// counts as `limit`).
pub async fn pings_while<F: std::future::Future>(
    connection: &MeshConnection,
    client: &RequestClient,
    service: &str,
    every: Duration,
    settled: Duration,
    limit: Duration,
    work: F,
) -> (F::Output, Vec<Duration>) {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let start = Instant::now();
    let mut round_trips = Vec::new();
    let mut pings = FuturesUnordered::new();
    let mut ticker = tokio::time::interval(every);
    let mut output = None;
    let mut drained = false;
    tokio::pin!(work);
    while !(output.is_some() && (drained || start.elapsed() >= limit)) {
        tokio::select! {
            done = &mut work, if output.is_none() => output = Some(done),
            _ = ticker.tick() => {
                let after_work = output.is_some();
                let ping = ping(connection, client, service, limit);
                pings.push(async move { (after_work, ping.await.unwrap_or(limit)) });
            }
            Some((after_work, round_trip)) = pings.next() => {
                drained |= after_work && round_trip < settled;
                round_trips.push(round_trip);
            }
        }
    }
    while let Some((_, round_trip)) = pings.next().await {
        round_trips.push(round_trip);
    }
    (output.expect("work done"), round_trips)
}

/// A field of /proc/PID/status in kB (VmRSS: resident now; VmHWM: the peak).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Median and maximum of some durations, in milliseconds.
pub fn median_max_ms(durations: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let median = if ms.is_empty() { 0.0 } else { ms[ms.len() / 2] };
    (median, ms.last().copied().unwrap_or(0.0))
}
