//! `--stdin`: alerts as JSON lines (what dl-listen prints, or dl-alert's input), batched and
//! written like alerts from the broker. Lines that can't be stored are named on stderr.

use crate::alert::{classify, AlertParts};
use crate::batch::{sleep_until_deadline, Batch};
use crate::database::{Database, Stopping};
use crate::metrics::Metrics;
use dripline_cli::jsonl::{parse_object, LineError};
use dripline_protocol::timestamp::format_timestamp;
use dripline_protocol::MessageRecord;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// One line read: the record, or why the line is unusable.
type Line = (usize, Result<MessageRecord, String>);

/// How the input went.
pub struct StdinOutcome {
    /// Lines that were not stored (each already named on stderr).
    pub refused: u64,
    /// Whether input was left unread or unwritten because of a signal.
    pub interrupted: bool,
}

/// Read stdin to its end (or until `stop`), writing batches of `batch_size` lines or
/// `batch_time` old.
pub async fn run(
    mut database: Database,
    batch_size: usize,
    batch_time: Duration,
    metrics: &Metrics,
    mut stop: watch::Receiver<bool>,
) -> StdinOutcome {
    let (lines, mut received) = mpsc::channel::<Vec<Line>>(4);
    // Reading is blocking; a thread hands over lines in chunks to keep channel traffic low.
    std::thread::spawn(move || read_lines(lines));
    let mut outcome = StdinOutcome {
        refused: 0,
        interrupted: false,
    };
    let mut batch: Batch<usize> = Batch::default();
    let mut input_open = true;
    while input_open || !batch.is_empty() {
        let deadline = batch.deadline(batch_time);
        if !input_open || batch.is_due(batch_size, batch_time) {
            let ready = std::mem::take(&mut batch);
            if write(&mut database, ready, metrics, &mut stop, &mut outcome)
                .await
                .is_err()
            {
                return outcome;
            }
            continue;
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => {
                outcome.interrupted = true;
                input_open = false;
            }
            _ = sleep_until_deadline(deadline) => {}
            chunk = received.recv() => match chunk {
                Some(chunk) => {
                    metrics.received(chunk.len() as u64);
                    for (line, record) in chunk {
                        batch.push(record.and_then(|record| row_of(&record)), line);
                    }
                }
                None => input_open = false,
            },
        }
    }
    outcome
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
    classify(AlertParts {
        routing_key: &record.routing_key,
        timestamp,
        message_id: record.message_id.as_deref().unwrap_or(""),
        payload: record.payload.clone(),
    })
}

async fn write(
    database: &mut Database,
    mut batch: Batch<usize>,
    metrics: &Metrics,
    stop: &mut watch::Receiver<bool>,
    outcome: &mut StdinOutcome,
) -> Result<(), Stopping> {
    let started = Instant::now();
    let lines = batch.len() as u64;
    let written = match database.write(&mut batch, stop).await {
        Ok(written) => written,
        Err(Stopping) => {
            eprintln!(
                "dl-log-to-pg: stopping with {} lines read but not stored",
                batch.rows()
            );
            outcome.interrupted = true;
            return Err(Stopping);
        }
    };
    metrics.committed(
        written.inserted,
        written.duplicates,
        started.elapsed(),
        batch.newest,
    );
    batch.poison.sort_by_key(|(line, _)| *line);
    for (line, reason) in &batch.poison {
        eprintln!("dl-log-to-pg: stdin line {line}: {reason}");
    }
    outcome.refused += batch.poison.len() as u64;
    metrics.dead_lettered(batch.poison.len() as u64);
    metrics.settled(lines);
    Ok(())
}

/// The reading thread: parse each line into a record and send them in chunks: when a chunk
/// is full, or when no more input is buffered (so a live pipe is not held back).
fn read_lines(lines: mpsc::Sender<Vec<Line>>) {
    const CHUNK: usize = 512;
    let mut input = BufReader::with_capacity(64 * 1024, std::io::stdin());
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut text = String::new();
    let mut line = 0;
    loop {
        text.clear();
        match input.read_line(&mut text) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                eprintln!("dl-log-to-pg: stdin: cannot read: {error}");
                break;
            }
        }
        line += 1;
        if !text.trim().is_empty() {
            chunk.push((line, parse_record(&text, line)));
        }
        let drained = input.buffer().is_empty();
        if (chunk.len() >= CHUNK || (drained && !chunk.is_empty()))
            && lines.blocking_send(std::mem::take(&mut chunk)).is_err()
        {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = lines.blocking_send(chunk);
    }
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
