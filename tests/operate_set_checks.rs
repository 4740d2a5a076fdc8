//! `dl-set --verify` and `dl-set --wait-until` against the real RabbitMQ and real dl-serve
//! services (unique names): a value read back equal, one changed meanwhile by another writer
//! (status 5, both values on stderr), a condition reached or timed out (75), usage refusals.

#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::{binary, run, stderr_of, stdout_of, unique_name, without_env_settings};
use serve_support::{start, Store};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BROKER: [&str; 4] = ["-b", "127.0.0.1", "-p", "5672"];

fn dl_set(args: &[&str]) -> Output {
    let mut all = BROKER.to_vec();
    all.extend_from_slice(args);
    run("dl-set", &all, None)
}

#[tokio::test]
async fn verify_reads_the_value_back() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;

    let output = dl_set(&[&store.peaches, "5", "--verify"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // The set's reply is printed as without --verify (peaches has get_on_set).
    assert_eq!(stdout_of(&output), "{\"value_cal\":10,\"value_raw\":5}\n");
    assert_eq!(stderr_of(&output), "");

    let output = dl_set(&[&store.waffles, "4.5", "--verify", "--settle", "100ms"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[tokio::test]
async fn verify_reports_a_value_changed_meanwhile_with_status_5() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;

    let mut verifying = without_env_settings(Command::new(binary("dl-set")));
    verifying
        .args(BROKER)
        .args([&store.chips, "5", "--verify", "--settle", "1500ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = verifying.spawn().expect("dl-set runs");
    std::thread::sleep(Duration::from_millis(500));
    let other = dl_set(&[&store.chips, "7"]);
    assert!(other.status.success(), "{}", stderr_of(&other));
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("set to 5 but value_raw reads back 7"),
        "{stderr}"
    );
}

#[tokio::test]
async fn wait_until_reuses_the_condition_engine() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;

    let output = dl_set(&[
        &store.peaches,
        "25",
        "--wait-until",
        "value_cal >= 49.5",
        "--stable",
        "300ms",
        "--interval",
        "100ms",
        "--wait-timeout",
        "10s",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    let output = dl_set(&[
        &store.peaches,
        "1",
        "--wait-until",
        "value_cal > 100",
        "--interval",
        "100ms",
        "--wait-timeout",
        "500ms",
    ]);
    assert_eq!(output.status.code(), Some(75));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("'value_cal > 100' did not hold")
            && stderr.contains(r#"last value: {"value_cal":2,"value_raw":1}"#),
        "{stderr}"
    );

    // --tolerance widens == for the wait as for --verify.
    let output = dl_set(&[
        &store.peaches,
        "25",
        "--wait-until",
        "value_cal == 50.05",
        "--tolerance",
        "0.1",
        "--wait-timeout",
        "5s",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn checks_refuse_what_they_cannot_do() {
    let ghost = unique_name("ghost");
    // Nobody serves it: the set fails (403, status 4) and nothing is verified.
    let output = dl_set(&[&ghost, "1", "--verify"]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    assert!(!stderr_of(&output).contains("--verify"));

    for args in [
        vec!["x", "1", "--tolerance", "0.1"],
        vec!["x", "1", "--settle", "1s"],
        vec!["x", "1", "--wait-until", "value_cal >="],
        vec!["x", "1", "--verify", "--wait-until", "a == 1"],
        vec!["-", "--verify"],
    ] {
        let output = run("dl-set", &args, None);
        assert_eq!(
            output.status.code(),
            Some(64),
            "{args:?}: {}",
            stderr_of(&output)
        );
    }
}
