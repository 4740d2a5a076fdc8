//! dl-watch against the real RabbitMQ and real dl-serve services (unique names): changes
//! printed once, --always, --until with --stable, --timeout (75, the last values on stderr),
//! conditions refused at start (64), --alerts with its polling fallback, an unroutable endpoint.

#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::without_env_settings;
use dripline_e2e::{binary, free_port, lines_of, run, stderr_of, unique_name, ChildGuard};
use serde_json::Value;
use serve_support::{start, Store};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

const BROKER: [&str; 4] = ["-b", "127.0.0.1", "-p", "5672"];

/// dl-watch running, its stdout and stderr lines as they come.
fn spawn_watch(args: &[&str]) -> (ChildGuard, Receiver<String>, Receiver<String>) {
    let mut command = without_env_settings(Command::new(binary("dl-watch")));
    command
        .args(BROKER)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(&mut command);
    let stdout = lines_of(guard.child.stdout.take().unwrap());
    let stderr = lines_of(guard.child.stderr.take().unwrap());
    (guard, stdout, stderr)
}

fn next_json(lines: &Receiver<String>, limit: Duration) -> Value {
    let line = lines
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no line within {limit:?}"));
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// The exit status of `child` once it ends by itself within `limit`.
fn wait_exit(child: &mut ChildGuard, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn set(endpoint: &str, value: &str) {
    let mut args = BROKER.to_vec();
    args.extend([endpoint, value]);
    let output = run("dl-set", &args, None);
    assert!(output.status.success(), "{}", stderr_of(&output));
}

fn dl_watch(args: &[&str]) -> std::process::Output {
    let mut all = BROKER.to_vec();
    all.extend_from_slice(args);
    run("dl-watch", &all, None)
}

#[tokio::test]
async fn each_change_is_printed_once_and_a_signal_ends_the_watch() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (mut watch, stdout, _stderr) = spawn_watch(&[&store.peaches, "-i", "100ms"]);

    let first = next_json(&stdout, Duration::from_secs(5));
    assert_eq!(first["endpoint"], store.peaches.as_str());
    assert_eq!(first["source"], "poll");
    assert_eq!(first["value"]["value_cal"], 1.5);
    assert!(first["time"].as_str().unwrap().ends_with('Z'), "{first}");
    // Polled every 100 ms, unchanged: nothing more.
    assert!(stdout.recv_timeout(Duration::from_millis(700)).is_err());

    set(&store.peaches, "3");
    let changed = next_json(&stdout, Duration::from_secs(5));
    assert_eq!(changed["value"]["value_raw"], 3);
    assert_eq!(changed["value"]["value_cal"], 6.0);

    let status = watch.signal("INT", Duration::from_secs(10)).expect("stops");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn always_prints_every_poll_in_text() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (mut watch, stdout, _stderr) =
        spawn_watch(&[&store.waffles, "-i", "100ms", "--always", "-f", "text"]);
    for _ in 0..3 {
        let line = stdout.recv_timeout(Duration::from_secs(5)).expect("a line");
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&store.waffles.as_str()), "{line}");
        assert_eq!(words.last(), Some(&"4.0"), "{line}");
    }
    watch.terminate(Duration::from_secs(10)).expect("stops");
}

#[tokio::test]
async fn until_ends_once_the_condition_held_long_enough() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (mut watch, stdout, _stderr) = spawn_watch(&[
        &store.peaches,
        "-i",
        "100ms",
        "--until",
        "value_cal >= 49.5 && value_raw != 'x'",
        "--stable",
        "1500ms",
        "--timeout",
        "20s",
    ]);
    next_json(&stdout, Duration::from_secs(5));
    set(&store.peaches, "25");
    let reached = next_json(&stdout, Duration::from_secs(5));
    assert_eq!(reached["value"]["value_cal"], 50.0);
    // Not before it held for 1.5 s.
    std::thread::sleep(Duration::from_millis(300));
    assert!(watch.child.try_wait().unwrap().is_none(), "ended early");
    let status = wait_exit(&mut watch, Duration::from_secs(5)).expect("ends by itself");
    assert_eq!(status.code(), Some(0));

    // --tolerance: 50 is == 50.05 within 0.1, not within 0.
    let tolerant = dl_watch(&[
        &store.peaches,
        "--until",
        "value_cal == 50.05",
        "--tolerance",
        "0.1",
        "--timeout",
        "5s",
    ]);
    assert_eq!(tolerant.status.code(), Some(0), "{}", stderr_of(&tolerant));
    let exact = dl_watch(&[
        &store.peaches,
        "-i",
        "100ms",
        "--until",
        "value_cal == 50.05",
        "--timeout",
        "500ms",
    ]);
    assert_eq!(exact.status.code(), Some(75), "{}", stderr_of(&exact));
}

#[tokio::test]
async fn a_timeout_is_status_75_with_the_last_values_on_stderr() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let output = dl_watch(&[
        &store.peaches,
        &store.waffles,
        "-i",
        "100ms",
        "--until",
        "value_cal > 100",
        "--timeout",
        "700ms",
    ]);
    assert_eq!(output.status.code(), Some(75));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("'value_cal > 100' did not hold"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{} {{\"value_cal\":1.5,\"value_raw\":0.75}}",
            store.peaches
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&store.waffles), "{stderr}");
}

#[test]
fn a_condition_that_cannot_parse_is_refused_before_connecting() {
    let closed = free_port().to_string();
    for condition in ["value_cal >=", "value_cal = 1", "value_cal > on", "(a == 1"] {
        let output = run(
            "dl-watch",
            &["-p", &closed, "x", "--until", condition, "--timeout", "1s"],
            None,
        );
        assert_eq!(output.status.code(), Some(64), "{condition}");
        assert!(
            stderr_of(&output).contains("column"),
            "{condition}: {}",
            stderr_of(&output)
        );
    }
    let output = run("dl-watch", &["-p", &closed, "x", "--stable", "1s"], None);
    assert_eq!(output.status.code(), Some(64), "--stable needs --until");
    // A wildcard would bind every sensor's alerts: refused.
    let output = run("dl-watch", &["-p", &closed, "temp.#", "--alerts"], None);
    assert_eq!(output.status.code(), Some(64));
    assert!(
        stderr_of(&output).contains("'temp.#' is not an endpoint name"),
        "{}",
        stderr_of(&output)
    );
}

#[tokio::test]
async fn alerts_are_followed_and_polling_takes_over_when_they_stop() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (mut watch, stdout, stderr) = spawn_watch(&[&store.peaches, "--alerts", "-i", "1500ms"]);
    std::thread::sleep(Duration::from_millis(400));
    // peaches has log_on_set: the set sends sensor_value.<peaches>.
    set(&store.peaches, "7");
    let alerted = next_json(&stdout, Duration::from_secs(5));
    assert_eq!(alerted["source"], "alert", "{alerted}");
    assert_eq!(alerted["value"]["value_raw"], 7);
    // No alert for 1.5 s: polled, with a note; the value is unchanged, so no line.
    let note = stderr
        .recv_timeout(Duration::from_secs(5))
        .expect("a note on stderr");
    assert!(
        note.contains(&format!("no sensor_value.{} alert", store.peaches))
            && note.contains("polling"),
        "{note}"
    );
    set(&store.peaches, "8");
    loop {
        let next = next_json(&stdout, Duration::from_secs(5));
        if next["value"]["value_raw"] == 8 {
            break;
        }
    }
    watch.terminate(Duration::from_secs(10)).expect("stops");
}

#[test]
fn an_unroutable_endpoint_prints_its_error_once_and_the_watch_goes_on() {
    let ghost = unique_name("ghost");
    let (mut watch, stdout, stderr) = spawn_watch(&[&ghost, "-i", "100ms"]);
    let line = next_json(&stdout, Duration::from_secs(5));
    assert_eq!(line["error"]["return_code"], 403, "{line}");
    assert!(stdout.recv_timeout(Duration::from_millis(500)).is_err());
    let warning = stderr.recv_timeout(Duration::from_secs(1)).expect("stderr");
    assert!(warning.contains(&ghost), "{warning}");
    assert!(watch.child.try_wait().unwrap().is_none(), "still watching");
    let status = watch.terminate(Duration::from_secs(10)).expect("stops");
    assert_eq!(status.code(), Some(0));
}
