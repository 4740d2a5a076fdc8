//! Wiring: arguments or stdin lines → alerts → publisher, with confirms awaited in a window.

use crate::Args;
use dripline_cli::exit_status::{DATA_ERROR, SUCCESS, UNAVAILABLE, USAGE};
use dripline_cli::failures::mesh_failure;
use dripline_cli::{jsonl, report, ExitFailure, Input};
use dripline_mesh::{BrokerSettings, Exchange, MeshConnection, MeshError, Publisher};
use dripline_protocol::message::new_id;
use dripline_protocol::timestamp::{format_timestamp, parse_timestamp};
use dripline_protocol::{Message, MessageRecord, SenderInfo};
use futures_util::stream::{FuturesOrdered, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

/// Alerts published whose confirms are still awaited, at most: enough to keep the broker busy
/// while confirms travel back, few enough to bound memory and what a lost connection leaves
/// in doubt.
pub const IN_FLIGHT: usize = 4096;

/// Lines handed from the reader thread to the publisher at a time, at most.
const BATCH: usize = 256;

/// One alert from the command line: routing key and payload.
type SingleAlert = (String, Value);

/// Publish what the arguments or stdin lines ask for; returns the exit status.
pub async fn run(args: Args) -> anyhow::Result<u8> {
    let input = choose_input(&args)?;
    let settings = args.broker.one_shot_settings()?;
    publish(&args, &settings, input).await
}

fn choose_input(args: &Args) -> Result<Input<SingleAlert>, ExitFailure> {
    if args.replay && args.routing_key.as_deref().is_some_and(|key| key != "-") {
        return Err(ExitFailure::new(
            USAGE,
            "--replay plays JSON lines from stdin: give no ROUTING_KEY (or '-')",
        ));
    }
    if args.routing_key.as_deref() == Some("-") && args.payload.is_some() {
        return Err(ExitFailure::new(
            USAGE,
            "with '-' (alerts from stdin) give no PAYLOAD_JSON",
        ));
    }
    Input::choose(
        args.routing_key.as_deref(),
        "no ROUTING_KEY given (name one with a PAYLOAD_JSON)",
        |routing_key| {
            let payload = args
                .payload
                .as_deref()
                .ok_or("no PAYLOAD_JSON given (e.g. '{\"value_raw\": 1.5}')")?;
            let payload = serde_json::from_str(payload).map_err(|e| {
                format!(
                    "PAYLOAD_JSON '{payload}' is not JSON ({e}); quote a string: '\"{payload}\"'"
                )
            })?;
            check_routing_key(routing_key)?;
            Ok((routing_key.to_string(), payload))
        },
    )
}

fn check_routing_key(routing_key: &str) -> Result<(), String> {
    if routing_key.is_empty() {
        return Err("the routing key is empty".into());
    }
    if routing_key.len() > 255 {
        return Err(format!(
            "the routing key is {} bytes long, AMQP allows at most 255",
            routing_key.len()
        ));
    }
    Ok(())
}

async fn publish(
    args: &Args,
    settings: &BrokerSettings,
    input: Input<SingleAlert>,
) -> anyhow::Result<u8> {
    let connection = MeshConnection::connect(settings, "unknown")
        .await
        .map_err(mesh_failure)?;
    let publisher = Publisher::open(&connection)
        .await
        .map_err(mesh_failure)?
        .persistent(!args.transient);
    let sender = connection.sender_info().clone();
    let status = match input {
        Input::Arguments((routing_key, payload)) => {
            let message = Message::alert(
                &routing_key,
                payload,
                sender,
                dripline_mesh::timestamp_now(),
            );
            publisher
                .publish(Exchange::Alerts, &message, false)
                .await
                .map_err(|error| not_published(&routing_key, error))?;
            SUCCESS
        }
        Input::StdinLines => publish_lines(args, &publisher, sender).await?,
    };
    connection.close().await;
    Ok(status)
}

fn not_published(routing_key: &str, error: MeshError) -> anyhow::Error {
    ExitFailure::new(
        UNAVAILABLE,
        format!("alert '{routing_key}' not published: {error}"),
    )
    .into()
}

/// One stdin line: an alert to send, or why not.
type Line = Result<Alert, String>;

/// What a good line asks for.
struct Alert {
    line_no: usize,
    routing_key: String,
    payload: Value,
    /// The line's own timestamp (normalised), if it gave one.
    timestamp: Option<String>,
    /// The same, in µs since the epoch (for --replay's schedule).
    micros: Option<i64>,
}

/// `--replay`: when each alert is due, and how late they went.
struct Schedule {
    speed: f64,
    /// The first alert's timestamp (µs) and when it went.
    start: Option<(i64, Instant)>,
    replayed: u64,
    max_behind: Duration,
    total_behind: Duration,
}

impl Schedule {
    fn new(speed: f64) -> Self {
        Schedule {
            speed,
            start: None,
            replayed: 0,
            max_behind: Duration::ZERO,
            total_behind: Duration::ZERO,
        }
    }

    /// Wait until the alert recorded at `micros` is due; note how late it is then.
    async fn wait_for(&mut self, micros: i64) {
        let (first, start) = *self.start.get_or_insert((micros, Instant::now()));
        let offset = (micros - first).max(0) as f64 / 1e6 / self.speed;
        let due = start + Duration::from_secs_f64(offset.min(1e9));
        tokio::time::sleep_until(due.into()).await;
        let behind = Instant::now().saturating_duration_since(due);
        self.replayed += 1;
        self.max_behind = self.max_behind.max(behind);
        self.total_behind += behind;
    }

    /// The summary line for stdout, and a warning when it ran more than a second behind.
    fn report(&self) -> String {
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        let mean = if self.replayed == 0 {
            Duration::ZERO
        } else {
            self.total_behind / self.replayed as u32
        };
        let seconds = self
            .start
            .map_or(0.0, |(_, start)| start.elapsed().as_secs_f64());
        if self.max_behind > Duration::from_secs(1) {
            report::warning(format_args!(
                "replay ran up to {:.3} s behind schedule (at --speed {}x)",
                self.max_behind.as_secs_f64(),
                self.speed
            ));
        }
        serde_json::json!({
            "replayed": self.replayed,
            "seconds": (seconds * 1e3).round() / 1e3,
            "speed": self.speed,
            "max_behind_ms": ms(self.max_behind),
            "mean_behind_ms": ms(mean),
        })
        .to_string()
    }
}

/// Counts for the summary and the exit status.
#[derive(Default)]
struct Tally {
    confirmed: u64,
    unconfirmed: u64,
    bad_lines: u64,
}

async fn publish_lines(
    args: &Args,
    publisher: &Publisher,
    sender: SenderInfo,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    // Lines are read and parsed on their own thread, in parallel with publishing.
    let mut batches = jsonl::read_batches(std::io::stdin(), "stdin", BATCH, |line| {
        line.into_object("stdin")
            .map_err(|error| error.to_string())
            .and_then(alert_of)
    });

    // One message, its fields replaced for each alert: the sender_info is never copied.
    let mut message = Message::alert("", Value::Null, sender, String::new());
    let mut tally = Tally::default();
    let mut in_flight = FuturesOrdered::new();
    let mut sent = 0u64;
    let mut lost: Option<MeshError> = None;
    let mut schedule = args.replay.then(|| Schedule::new(args.speed));
    'reading: while let Some(batch) = batches.recv().await {
        for line in batch {
            let alert = match line {
                Ok(alert) => alert,
                Err(problem) => {
                    report::error(problem);
                    tally.bad_lines += 1;
                    continue;
                }
            };
            if let Some(rate) = args.rate {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            if let Some(schedule) = &mut schedule {
                let Some(micros) = alert.micros else {
                    report::error(format_args!(
                        "stdin line {}: no \"timestamp\": --replay needs one on every line",
                        alert.line_no
                    ));
                    tally.bad_lines += 1;
                    continue;
                };
                schedule.wait_for(micros).await;
            }
            let line_no = alert.line_no;
            message.routing_key = alert.routing_key;
            message.payload = alert.payload;
            message.timestamp = match (alert.timestamp, args.retime) {
                (Some(recorded), None) => recorded,
                _ => dripline_mesh::timestamp_now(),
            };
            message.correlation_id = new_id();
            message.message_id = new_id();
            let pending = match publisher.start_publish(Exchange::Alerts, &message, false) {
                Ok(pending) => pending,
                Err(error @ MeshError::NameTooLong(_)) => {
                    report::error(format_args!("stdin line {line_no}: {error}"));
                    tally.bad_lines += 1;
                    continue;
                }
                Err(error) => {
                    report::error(format_args!("stdin line {line_no}: not published: {error}"));
                    tally.unconfirmed += 1;
                    lost = Some(error);
                    break 'reading;
                }
            };
            sent += 1;
            in_flight.push_back(confirm(line_no, pending.confirmed()));
            if in_flight.len() >= IN_FLIGHT {
                // Drain to half rather than by one: the next alerts then go out in a burst
                // that keeps lapin's I/O thread busy, instead of a wake-up of each thread per
                // alert.
                while in_flight.len() > IN_FLIGHT / 2 {
                    if let Some(confirmed) = in_flight.next().await {
                        tally.count(confirmed);
                    }
                }
            }
        }
    }
    while let Some(confirmed) = in_flight.next().await {
        tally.count(confirmed);
    }
    drop(batches);
    if let Some(schedule) = &schedule {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", schedule.report())?;
        stdout.flush()?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    tracing::info!(
        "{} alerts confirmed, {} not confirmed, {} bad lines, in {elapsed:.3} s ({:.0} alerts/s)",
        tally.confirmed,
        tally.unconfirmed,
        tally.bad_lines,
        tally.confirmed as f64 / elapsed.max(1e-9)
    );
    if let Some(error) = lost {
        return Err(ExitFailure::new(
            UNAVAILABLE,
            format!(
                "stopped after {} confirmed alerts: {error}",
                tally.confirmed
            ),
        )
        .into());
    }
    Ok(if tally.unconfirmed > 0 {
        UNAVAILABLE
    } else if tally.bad_lines > 0 {
        DATA_ERROR
    } else {
        SUCCESS
    })
}

/// The outcome of one alert's confirm, with its line number.
async fn confirm<T>(
    line_no: usize,
    confirmed: impl Future<Output = Result<T, MeshError>>,
) -> (usize, Result<T, MeshError>) {
    (line_no, confirmed.await)
}

impl Tally {
    fn count<T>(&mut self, (line_no, confirmed): (usize, Result<T, MeshError>)) {
        match confirmed {
            Ok(_) => self.confirmed += 1,
            Err(error) => {
                report::error(format_args!("stdin line {line_no}: not confirmed: {error}"));
                self.unconfirmed += 1;
            }
        }
    }
}

/// The alert a JSON line asks for.
fn alert_of(line: jsonl::JsonLine) -> Line {
    let line_no = line.line;
    let record = MessageRecord::deserialize(Value::Object(line.object))
        .map_err(|e| format!("stdin line {line_no}: not an alert: {e}"))?;
    check_routing_key(&record.routing_key).map_err(|e| format!("stdin line {line_no}: {e}"))?;
    let time = match record.timestamp.as_deref() {
        Some(text) => Some(
            parse_timestamp(text).map_err(|e| format!("stdin line {line_no}: timestamp {e}"))?,
        ),
        None => None,
    };
    Ok(Alert {
        line_no,
        routing_key: record.routing_key,
        payload: record.payload,
        timestamp: time.map(format_timestamp),
        micros: time.map(|t| t.timestamp_micros()),
    })
}
