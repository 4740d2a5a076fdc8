//! Every program, in every failure class a user can cause, ends with the same documented exit
//! status and one clear line on stderr (one JSON object per line with `--log-format json`).
//! Each status seen must be in that program's `--help` "Exit status" table.
//!
//! The classes: a bad flag (64), a bad setting (an auth file that does not exist: 78), the
//! broker or database out of reach (69; the request tools say 1, dl-agent's AMQP error class),
//! a refused login (77; request tools 1), and a signal (130 for a one-shot job; 0 for a program
//! whose normal end is a signal).

use dripline_e2e::{
    binary, free_port, on_broker_channel, run_command, stderr_of, unique_name,
    without_env_settings, ChildGuard,
};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

const KEY_VALUE_STORE: &str = "examples/local-mesh/key-value-store.yaml";

/// Every program with an argument list that is complete but for the failure under test.
fn programs() -> Vec<(&'static str, Vec<String>)> {
    let config = dripline_e2e::repo_path(KEY_VALUE_STORE)
        .to_string_lossy()
        .into_owned();
    let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    vec![
        ("dl-get", words(&["peaches"])),
        ("dl-set", words(&["peaches", "1"])),
        ("dl-cmd", words(&["peaches", "-s", "ping"])),
        ("dl-alert", words(&["sensor_value.exit_status_test", "1"])),
        ("dl-listen", words(&["--count", "1"])),
        ("dl-serve", vec!["-c".into(), config]),
        ("dl-log-to-pg", words(&["--stdin"])),
        ("dl-export", words(&["--since", "1h"])),
        ("dl-metrics", words(&["--metrics-addr", "127.0.0.1:0"])),
        ("dl-list", words(&["--no-management", "-t", "200ms"])),
        (
            "dl-watch",
            words(&["exit_status_watch", "--until", "value_cal > 1"]),
        ),
        ("dl-plot", words(&["--since", "1h"])),
        ("dl-top", words(&["sensor_value.exit_status_test"])),
        ("dl-history", words(&["partitions"])),
    ]
}

fn is_request_tool(program: &str) -> bool {
    matches!(program, "dl-get" | "dl-set" | "dl-cmd")
}

fn uses_broker(program: &str) -> bool {
    !matches!(
        program,
        "dl-export" | "dl-log-to-pg" | "dl-plot" | "dl-history"
    )
}

/// Run `program args… extra…` with a clean environment plus `env`; (status, stderr).
fn run(program: &str, args: &[String], extra: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = without_env_settings(Command::new(binary(program)));
    command.args(args).args(extra).env("HOME", "/nonexistent");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = run_command(&mut command, None);
    (output.status.code().unwrap_or(-1), stderr_of(&output))
}

/// The statuses listed in `program --help`'s "Exit status" section.
fn documented_statuses(program: &str) -> BTreeSet<i32> {
    let output = Command::new(binary(program))
        .arg("--help")
        .output()
        .expect("--help runs");
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    let section = help
        .split_once("Exit status")
        .unwrap_or_else(|| panic!("{program} --help has no Exit status section:\n{help}"))
        .1;
    section
        .lines()
        .skip(1)
        .take_while(|line| line.is_empty() || line.starts_with(' '))
        .filter_map(|line| {
            let first = line.split_whitespace().next()?;
            first.trim_end_matches('+').parse().ok()
        })
        .collect()
}

fn assert_documented(program: &str, status: i32, what: &str) {
    let documented = documented_statuses(program);
    let listed =
        documented.contains(&status) || ((10..64).contains(&status) && documented.contains(&10));
    assert!(
        listed,
        "{program}: {what} exits {status}, which its --help does not list ({documented:?})"
    );
}

/// One stderr line, no stack trace, naming the program.
fn assert_one_clear_line(program: &str, stderr: &str, what: &str) {
    assert!(!stderr.contains("panicked"), "{program} {what}: {stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "{program} {what}: {stderr}"
    );
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(program) || first.starts_with("error:"),
        "{program} {what}: the first stderr line should name the program: {stderr}"
    );
}

#[test]
fn a_bad_flag_is_a_usage_error_everywhere() {
    for (program, args) in programs() {
        let (status, stderr) = run(program, &args, &["--no-such-flag"], &[]);
        assert_eq!(status, 64, "{program}: {stderr}");
        assert!(stderr.contains("--no-such-flag"), "{program}: {stderr}");
        assert_documented(program, status, "a bad flag");
    }
}

#[test]
fn a_missing_auth_file_is_a_configuration_error_everywhere() {
    for (program, args) in programs() {
        let (status, stderr) = run(
            program,
            &args,
            &["--auth-file", "/nonexistent/authentications.json"],
            &[],
        );
        assert_eq!(status, 78, "{program}: {stderr}");
        assert!(
            stderr.contains("/nonexistent/authentications.json"),
            "{program}: {stderr}"
        );
        assert_one_clear_line(program, &stderr, "missing auth file");
        assert_documented(program, status, "a missing auth file");
    }
}

#[test]
fn an_unreachable_broker_or_database_is_unavailable() {
    let closed = free_port().to_string();
    for (program, args) in programs() {
        let extra: Vec<&str> = if uses_broker(program) {
            vec!["-p", &closed, "--max-connection-attempts", "1"]
        } else {
            vec!["--pg-port", &closed, "--pg-connect-timeout", "2s"]
        };
        let (status, stderr) = run(program, &args, &extra, &[]);
        let expected = if is_request_tool(program) { 1 } else { 69 };
        assert_eq!(status, expected, "{program}: {stderr}");
        assert_one_clear_line(program, &stderr, "unreachable");
        assert_documented(program, status, "an unreachable broker or database");
    }
}

#[test]
fn a_refused_login_is_a_permission_error() {
    for (program, args) in programs().into_iter().filter(|(p, _)| uses_broker(p)) {
        let (status, stderr) = run(
            program,
            &args,
            &[
                "-u",
                "no_such_user_exit_test",
                "--max-connection-attempts",
                "1",
            ],
            &[("DRIPLINE_PASSWORD", "wrong")],
        );
        let expected = if is_request_tool(program) { 1 } else { 77 };
        assert_eq!(status, expected, "{program}: {stderr}");
        assert!(
            !stderr.contains("wrong"),
            "{program} printed the password: {stderr}"
        );
        assert_one_clear_line(program, &stderr, "refused login");
        assert_documented(program, status, "a refused login");
    }
}

#[test]
fn with_log_format_json_every_stderr_line_is_a_json_object() {
    let closed = free_port().to_string();
    for (program, args) in programs() {
        let cases: Vec<Vec<&str>> = vec![
            vec!["--log-format", "json", "--no-such-flag"],
            vec!["--log-format", "json", "--auth-file", "/nonexistent/a.json"],
            if uses_broker(program) {
                vec![
                    "--log-format=json",
                    "-p",
                    &closed,
                    "--max-connection-attempts",
                    "1",
                ]
            } else {
                vec!["--log-format=json", "--pg-port", &closed]
            },
        ];
        for extra in cases {
            let (status, stderr) = run(program, &args, &extra, &[]);
            assert_ne!(status, 0, "{program} {extra:?}");
            assert!(!stderr.trim().is_empty(), "{program} {extra:?}: no stderr");
            for line in stderr.lines() {
                let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("{program} {extra:?}: stderr line is not JSON ({e}): {line}")
                });
                assert!(value.is_object(), "{program} {extra:?}: {line}");
                assert!(value["level"].is_string(), "{program} {extra:?}: {line}");
                assert!(value["message"].is_string(), "{program} {extra:?}: {line}");
            }
        }
    }
}

/// A request nobody answers: a queue bound for the target that no one consumes.
struct SilentEndpoint {
    name: String,
    queue: String,
}

impl SilentEndpoint {
    fn new() -> Self {
        let name = unique_name("silent");
        let queue = unique_name("silent_queue");
        on_broker_channel(5672, async |channel| {
            use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
            use lapin::types::FieldTable;
            channel
                .exchange_declare(
                    "requests".into(),
                    lapin::ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        durable: false,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            channel
                .queue_bind(
                    queue.as_str().into(),
                    "requests".into(),
                    format!("{name}.#").as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
        })
        .expect("declaring the silent endpoint");
        SilentEndpoint { name, queue }
    }
}

impl Drop for SilentEndpoint {
    fn drop(&mut self) {
        let queue = self.queue.clone();
        let _ = on_broker_channel(5672, async |channel| {
            channel
                .queue_delete(queue.as_str().into(), Default::default())
                .await
        });
    }
}

/// Start `program`, give it `wait`, send SIGINT; (status, stderr).
fn interrupt(program: &str, args: &[&str], wait: Duration) -> (i32, String) {
    let mut command = without_env_settings(Command::new(binary(program)));
    command
        .args(args)
        .env("HOME", "/nonexistent")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(&mut command);
    std::thread::sleep(wait);
    let status = guard
        .signal("INT", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{program} did not stop within 10 s of SIGINT"));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut guard.child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_signal_interrupts_a_one_shot_request_with_130() {
    let silent = SilentEndpoint::new();
    for program in ["dl-get", "dl-cmd"] {
        let mut args = vec![silent.name.as_str(), "-t", "30s"];
        if program == "dl-cmd" {
            args.extend(["-s", "ping"]);
        }
        let (status, stderr) = interrupt(program, &args, Duration::from_millis(1500));
        assert_eq!(status, 130, "{program}: {stderr}");
        assert!(stderr.contains("interrupted"), "{program}: {stderr}");
        assert_documented(program, status, "SIGINT");
    }
}

#[test]
fn a_signal_is_the_normal_end_of_a_listener() {
    let (status, stderr) = interrupt(
        "dl-listen",
        &["sensor_value.exit_status_never_sent"],
        Duration::from_millis(1500),
    );
    assert_eq!(status, 0, "{stderr}");
    assert_documented("dl-listen", status, "SIGINT");
    let (status, stderr) = interrupt(
        "dl-metrics",
        &["--metrics-addr", "127.0.0.1:0"],
        Duration::from_millis(1500),
    );
    assert_eq!(status, 0, "dl-metrics: {stderr}");
    assert_documented("dl-metrics", status, "SIGINT");
}

#[test]
fn a_signal_interrupts_dl_list_with_130() {
    // A ping nobody answers: dl-list waits for the whole -t.
    let silent = SilentEndpoint::new();
    let (status, stderr) = interrupt(
        "dl-list",
        &[&silent.name, "--no-management", "-t", "30s"],
        Duration::from_millis(1500),
    );
    assert_eq!(status, 130, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_documented("dl-list", status, "SIGINT");
}

#[test]
fn a_signal_ends_dl_watch_with_0_and_interrupts_its_wait_with_130() {
    let never = unique_name("watch_never");
    let (status, stderr) = interrupt("dl-watch", &[&never], Duration::from_millis(1500));
    assert_eq!(status, 0, "{stderr}");
    assert_documented("dl-watch", status, "SIGINT");
    let (status, stderr) = interrupt(
        "dl-watch",
        &[&never, "--until", "value_cal > 1"],
        Duration::from_millis(1500),
    );
    assert_eq!(status, 130, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_documented("dl-watch", status, "SIGINT");
}
