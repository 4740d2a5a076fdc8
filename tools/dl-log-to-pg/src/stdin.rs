//! `--stdin`: alerts as JSON lines (what dl-listen prints, or dl-alert's input), batched and
//! written like alerts from the broker. Lines that can't be stored are named on stderr.
//!
//! A line without a `message_id` gets one derived from its routing key, timestamp and payload
//! ([`line_key`]), so that loading the same file twice stores each alert once. A line that is
//! not UTF-8 or longer than [`MAX_LINE_BYTES`] is refused by number and the input goes on. A
//! stop signal ends the input where it is: the batch in hand is committed (or, while the
//! database is unreachable, rolled back), and the outcome says where to resume.

use crate::alert::{classify, AlertParts};
use crate::batch::{sleep_until_deadline, Batch};
use crate::database::{Database, Stopping};
use crate::metrics::Metrics;
use dripline_cli::jsonl::{self, parse_object, InputLine, LineError};
use dripline_protocol::timestamp::format_timestamp;
use dripline_protocol::MessageRecord;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

/// The longest line read (bytes, without its newline); a longer line is refused and skipped.
/// Far above any sensor reading, small enough that one line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The namespace of the ids [`line_key`] makes: UUID v5 of
/// `https://github.com/driplineorg/dripline#dl-log-to-pg-stdin-line` in the URL namespace.
pub const LINE_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x028c_edf2_c1fd_5cb2_8f4e_2241_46f1_5d71);

/// One line read: the record, or why the line is unusable.
type Line = (usize, Result<MessageRecord, String>);

/// How the input went.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StdinOutcome {
    /// Lines whose rows are in the tables (new, or already there).
    pub stored: u64,
    /// Lines that were not stored (each already named on stderr).
    pub refused: u64,
    /// `Some(line)` when a signal stopped the input: every line before `line` was stored or
    /// refused, nothing from `line` on was (the first line a rerun must read).
    pub stopped_at: Option<usize>,
}

/// Read stdin to its end (or until `stop`), writing batches of `batch_size` lines or
/// `batch_time` old. When stopped, says on stderr how many lines were stored and where to
/// resume.
pub async fn run(
    database: Database,
    batch_size: usize,
    batch_time: Duration,
    metrics: &Metrics,
    stop: watch::Receiver<bool>,
) -> StdinOutcome {
    // The shared reader refuses a line that is not UTF-8 or too long by number and goes on.
    let received = jsonl::read_batches_limited(
        std::io::stdin(),
        "stdin",
        512,
        MAX_LINE_BYTES,
        |line: InputLine| {
            let number = line.number;
            let record = line
                .text
                .map_err(|error| error.reason())
                .and_then(|text| parse_record(&text, number));
            (number, record)
        },
    );
    let outcome = Loader {
        database,
        metrics,
        stop,
        outcome: StdinOutcome::default(),
        handled_through: 0,
    }
    .load(received, batch_size, batch_time)
    .await;
    if let Some(line) = outcome.stopped_at {
        dripline_cli::report::error(format_args!(
            "interrupted: {} lines stored, {} refused; stopped at stdin line {line} (nothing \
             from there on was stored; resume with: tail -n +{line} FILE)",
            outcome.stored, outcome.refused
        ));
    }
    outcome
}

/// The writing side of [`run`].
struct Loader<'a> {
    database: Database,
    metrics: &'a Metrics,
    stop: watch::Receiver<bool>,
    outcome: StdinOutcome,
    /// Every line up to this one was stored or refused.
    handled_through: usize,
}

impl Loader<'_> {
    async fn load(
        mut self,
        mut received: mpsc::Receiver<Vec<Line>>,
        batch_size: usize,
        batch_time: Duration,
    ) -> StdinOutcome {
        let mut batch: Batch<usize> = Batch::default();
        // The last line taken into a batch.
        let mut taken_through = 0;
        let mut input_open = true;
        let mut interrupted = false;
        while input_open || !batch.is_empty() {
            let deadline = batch.deadline(batch_time);
            if !input_open || batch.is_due(batch_size, batch_time) {
                let ready = std::mem::take(&mut batch);
                if self.write(ready).await.is_err() {
                    interrupted = true;
                    break;
                }
                self.handled_through = taken_through;
                continue;
            }
            tokio::select! {
                biased;
                _ = self.stop.wait_for(|stop| *stop) => {
                    interrupted = true;
                    input_open = false;
                }
                _ = sleep_until_deadline(deadline) => {}
                chunk = received.recv() => match chunk {
                    Some(chunk) => {
                        self.metrics.received(chunk.len() as u64);
                        for (line, record) in chunk {
                            batch.push(record.and_then(|record| row_of(&record)), line);
                            taken_through = line;
                        }
                    }
                    None => input_open = false,
                },
            }
        }
        if interrupted {
            self.outcome.stopped_at = Some(self.handled_through + 1);
        }
        self.outcome
    }

    /// Commit one batch and name its refused lines; `Err` when stopped before it committed.
    async fn write(&mut self, mut batch: Batch<usize>) -> Result<(), Stopping> {
        let started = Instant::now();
        let lines = batch.len() as u64;
        let written = match self.database.write(&mut batch, &mut self.stop).await {
            Ok(written) => written,
            Err(Stopping) => {
                dripline_cli::report::error(format_args!(
                    "the database is unreachable; the batch in hand ({} lines) was not stored",
                    batch.len()
                ));
                return Err(Stopping);
            }
        };
        self.metrics.committed(
            written.inserted,
            written.duplicates,
            started.elapsed(),
            batch.newest,
        );
        batch.poison.sort_by_key(|(line, _)| *line);
        for (line, reason) in &batch.poison {
            dripline_cli::report::error(format_args!("stdin line {line}: {reason}"));
        }
        self.outcome.stored += batch.rows() as u64;
        self.outcome.refused += batch.poison.len() as u64;
        self.metrics.dead_lettered(batch.poison.len() as u64);
        self.metrics.settled(lines);
        Ok(())
    }
}

fn row_of(record: &MessageRecord) -> Result<crate::alert::Row, String> {
    // A line without a timestamp (dl-alert's input may omit it) is stamped when it was
    // received, by dl-listen if it says so, else now.
    let now;
    let timestamp = match (&record.timestamp, &record.received) {
        (Some(timestamp), _) => timestamp.as_str(),
        (None, Some(received)) => received.as_str(),
        (None, None) => {
            now = format_timestamp(chrono::Utc::now());
            now.as_str()
        }
    };
    let derived;
    let message_id = match record.message_id.as_deref() {
        Some(id) if !id.is_empty() => id,
        _ => {
            derived = line_key(&record.routing_key, timestamp, &record.payload).to_string();
            derived.as_str()
        }
    };
    classify(AlertParts {
        routing_key: &record.routing_key,
        timestamp,
        message_id,
        payload: record.payload.clone(),
    })
}

/// The id of a line that has no `message_id`: a UUID v5 (in [`LINE_KEY_NAMESPACE`]) of its
/// routing key, timestamp and payload (compact JSON), each followed by a NUL. The same alert
/// loaded again gets the same id, and the table's unique key stores it once; alerts that
/// differ in any of the three stay apart.
pub fn line_key(routing_key: &str, timestamp: &str, payload: &serde_json::Value) -> Uuid {
    let mut name = Vec::with_capacity(routing_key.len() + timestamp.len() + 64);
    for part in [routing_key.as_bytes(), timestamp.as_bytes()] {
        name.extend_from_slice(part);
        name.push(0);
    }
    // Writing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut name, payload);
    name.push(0);
    Uuid::new_v5(&LINE_KEY_NAMESPACE, &name)
}

fn parse_record(text: &str, line: usize) -> Result<MessageRecord, String> {
    let object = match parse_object(text, "stdin", line) {
        Ok(json_line) => json_line.object,
        Err(LineError::NotJson { reason, .. }) => return Err(format!("not valid JSON ({reason})")),
        Err(_) => return Err("expected a JSON object".into()),
    };
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| format!("not an alert record: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_keys_are_stable_and_tell_alerts_apart() {
        let key = |routing_key, timestamp, value| {
            line_key(routing_key, timestamp, &json!({ "value_raw": value }))
        };
        let one = key("sensor_value.a", "2026-01-01T00:00:00Z", 1);
        assert_eq!(one, key("sensor_value.a", "2026-01-01T00:00:00Z", 1));
        assert_eq!(one.get_version_num(), 5);
        assert_ne!(one, key("sensor_value.a", "2026-01-01T00:00:00Z", 2));
        assert_ne!(one, key("sensor_value.b", "2026-01-01T00:00:00Z", 1));
        assert_ne!(one, key("sensor_value.a", "2026-01-01T00:00:01Z", 1));
        // The parts are separated: moving text from one to the other changes the key.
        assert_ne!(
            line_key("sensor_value.a", "x", &json!(1)),
            line_key("sensor_value.ax", "", &json!(1))
        );
    }

    #[test]
    fn the_namespace_is_the_documented_name() {
        let name = "https://github.com/driplineorg/dripline#dl-log-to-pg-stdin-line";
        assert_eq!(
            LINE_KEY_NAMESPACE,
            Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes())
        );
    }
}
