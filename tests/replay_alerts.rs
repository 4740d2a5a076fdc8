//! `dl-alert --replay`: a stream recorded with dl-listen is played back with its original
//! gaps (scaled by --speed), in order, with the same payloads, keeping or (--retime now)
//! rewriting the timestamp, and a summary of how far behind schedule it ran.
//!
//! Tolerance: each replayed gap, as dl-listen receives it, is within 150 ms of the recorded gap
//! divided by the speed (a loaded 2-core machine; the broker adds a few ms each way).

use dripline_e2e::{
    binary, lines_of, run_command, stderr_of, stdout_of, unique_name, wait_until,
    without_env_settings, ChildGuard,
};
use dripline_protocol::timestamp::parse_timestamp;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);
const TOLERANCE_MS: f64 = 150.0;

/// dl-listen -n `count` on `key`.#, listening when returned; its stdout lines on a channel.
fn listen(key: &str, count: usize) -> (ChildGuard, mpsc::Receiver<String>) {
    let mut process = ChildGuard::spawn(
        without_env_settings(Command::new(binary("dl-listen")))
            .args(["-v", "-n", &count.to_string(), &format!("{key}.#")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let lines = lines_of(process.child.stdout.take().unwrap());
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let pipe = process.child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    assert!(
        wait_until(LIMIT, || stderr.lock().unwrap().contains("listening")),
        "dl-listen did not start: {}",
        stderr.lock().unwrap()
    );
    (process, lines)
}

fn collect(lines: &mpsc::Receiver<String>, count: usize) -> Vec<Value> {
    (0..count)
        .map(|_| serde_json::from_str(&lines.recv_timeout(LIMIT).expect("a line")).unwrap())
        .collect()
}

fn dl_alert(args: &[&str], stdin: &str) -> std::process::Output {
    let mut command = without_env_settings(Command::new(binary("dl-alert")));
    command.args(args);
    run_command(&mut command, Some(stdin))
}

fn micros(value: &Value) -> i64 {
    parse_timestamp(value.as_str().unwrap())
        .unwrap()
        .timestamp_micros()
}

/// Record five alerts with gaps 0, 1, 2.5, 0.5, 2 s (in their timestamps) through dl-listen.
fn record(key: &str) -> Vec<Value> {
    let offsets = [0.0, 1.0, 3.5, 4.0, 6.0];
    let input: String = offsets
        .iter()
        .enumerate()
        .map(|(i, offset)| {
            let time = chrono::DateTime::from_timestamp_micros(
                1_795_564_800_000_000 + (offset * 1e6) as i64,
            )
            .unwrap();
            format!(
                "{}\n",
                json!({"routing_key": format!("{key}.s{i}"), "timestamp": time.to_rfc3339(),
                       "payload": {"value_raw": i, "value_cal": i * 10}})
            )
        })
        .collect();
    let (_listener, lines) = listen(key, offsets.len());
    let output = dl_alert(&[], &input);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    collect(&lines, offsets.len())
}

#[test]
fn a_recording_replays_at_10x_in_order_with_its_gaps_and_payloads() {
    let key = unique_name("replay_rec");
    let recording = record(&key);
    let text: String = recording.iter().map(|l| format!("{l}\n")).collect();

    let (_listener, lines) = listen(&key, recording.len());
    let output = dl_alert(&["--replay", "--speed", "10x"], &text);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let replayed = collect(&lines, recording.len());

    for (recorded, replayed) in recording.iter().zip(&replayed) {
        assert_eq!(replayed["routing_key"], recorded["routing_key"], "order");
        assert_eq!(replayed["payload"], recorded["payload"]);
        assert_eq!(
            replayed["timestamp"], recorded["timestamp"],
            "timestamps kept"
        );
    }
    for i in 1..recording.len() {
        let recorded = (micros(&recording[i]["timestamp"]) - micros(&recording[i - 1]["timestamp"]))
            as f64
            / 1e3;
        let got =
            (micros(&replayed[i]["received"]) - micros(&replayed[i - 1]["received"])) as f64 / 1e3;
        assert!(
            (got - recorded / 10.0).abs() <= TOLERANCE_MS,
            "gap {i}: {got:.1} ms replayed, {recorded:.1} ms recorded / 10"
        );
    }
    let summary: Value = serde_json::from_str(stdout_of(&output).trim()).unwrap();
    assert_eq!(summary["replayed"], 5, "{summary}");
    assert_eq!(summary["speed"], 10.0);
    let seconds = summary["seconds"].as_f64().unwrap();
    assert!((0.55..1.5).contains(&seconds), "{summary}");
    let behind = summary["max_behind_ms"].as_f64().unwrap();
    assert!((0.0..TOLERANCE_MS).contains(&behind), "{summary}");

    // --retime now: the same alerts, stamped with the time they were sent.
    let (_listener, lines) = listen(&key, recording.len());
    let before = chrono::Utc::now().timestamp_micros();
    let output = dl_alert(&["--replay", "--speed", "20", "--retime", "now"], &text);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    for (recorded, replayed) in recording.iter().zip(collect(&lines, recording.len())) {
        assert_eq!(replayed["payload"], recorded["payload"]);
        let stamped = micros(&replayed["timestamp"]);
        assert!(stamped >= before && stamped <= micros(&replayed["received"]));
    }
}

#[test]
fn replay_refuses_lines_without_timestamps_and_bad_speeds() {
    let key = unique_name("replay_bad");
    let (_listener, lines) = listen(&key, 1);
    let input = format!(
        "{}\n{}\n",
        json!({"routing_key": format!("{key}.a"), "payload": 1}),
        json!({"routing_key": format!("{key}.b"), "payload": 2, "timestamp": "2026-11-25T00:00:00Z"})
    );
    let output = dl_alert(&["--replay"], &input);
    assert_eq!(output.status.code(), Some(65), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("stdin line 1: no \"timestamp\""));
    assert_eq!(collect(&lines, 1)[0]["payload"], 2);
    for args in [
        &["--replay", "--speed", "0x"][..],
        &["--replay", "--speed", "fast"],
        &["--speed", "2x"],
        &["--replay", "--rate", "5"],
        &["--replay", "sensor_value.x", "1"],
    ] {
        let output = dl_alert(args, "");
        assert_eq!(
            output.status.code(),
            Some(64),
            "{args:?}: {}",
            stderr_of(&output)
        );
    }
}
