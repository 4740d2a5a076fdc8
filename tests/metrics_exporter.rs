//! dl-metrics end-to-end (issue 11, "Mesh health for Prometheus"), against the real RabbitMQ:
//! real dl-serve services heartbeating and logging values, dl-alert publishing hostile sensor
//! names and non-numeric values, the `/metrics` text parsed by a strict parser (a line that
//! is not a valid sample fails the test) and checked: values, ages growing, the cap and its
//! dropped counter, error replies with --requests, and a taken metrics address.
//!
//! Tests that depend on exactly which sensors appear use an alerts exchange of their own
//! (`--alerts-exchange`), so that other tests' alerts on the shared broker cannot fill a cap.

#[path = "log_support.rs"]
mod log_support;
#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::{
    binary, free_port, on_broker_channel, run_command, stderr_of, unique_name, wait_until,
    without_env_settings, ChildGuard,
};
use log_support::http_get;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

const PATIENCE: Duration = Duration::from_secs(30);

/// One sample of the exposition: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parse the Prometheus text format strictly: comments, blank lines and samples
/// `name{label="escaped value",…} value`; anything else panics with the line.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value on line {line:?}"));
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name on line {line:?}"
        );
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices();
            loop {
                let mut label = String::new();
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    assert!(
                        c.is_ascii_alphanumeric() || c == '_',
                        "bad label name in {line:?}"
                    );
                    label.push(c);
                }
                assert!(!label.is_empty(), "empty label name in {line:?}");
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "line {line:?}");
                let mut value = String::new();
                loop {
                    match chars.next().map(|(_, c)| c) {
                        Some('\\') => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape {other:?} in {line:?}"),
                        },
                        Some('"') => break,
                        Some('\n') | None => panic!("unterminated label value in {line:?}"),
                        Some(c) => value.push(c),
                    }
                }
                labels.insert(label, value);
                match chars.next() {
                    Some((_, ',')) => continue,
                    Some((i, '}')) => {
                        rest = &after[i + 1..];
                        break;
                    }
                    other => panic!("expected , or }} after a label, got {other:?} in {line:?}"),
                }
            }
        }
        let value_text = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value in {line:?}"));
        let value = match value_text {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("bad value {number:?} in {line:?}")),
        };
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

/// A running dl-metrics on its own port.
struct Exporter {
    _process: ChildGuard,
    port: u16,
    stderr: std::path::PathBuf,
}

impl Exporter {
    fn start(extra: &[&str]) -> Exporter {
        let port = free_port();
        let stderr = std::env::temp_dir().join(unique_name("dl-metrics-stderr"));
        let process = ChildGuard::spawn(
            without_env_settings(Command::new(binary("dl-metrics")))
                .args(["-b", "127.0.0.1", "-p", "5672"])
                .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr).unwrap()),
        );
        let exporter = Exporter {
            _process: process,
            port,
            stderr,
        };
        assert!(
            wait_until(PATIENCE, || http_get(port, "/readyz").0 == 200),
            "dl-metrics never became ready: {}",
            exporter.stderr()
        );
        exporter
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn samples(&self) -> Vec<Sample> {
        let (status, body) = http_get(self.port, "/metrics");
        assert_eq!(status, 200, "/metrics: {body}");
        parse(&body)
    }

    /// The value of `name` with the one label `label=value`, if exported.
    fn value(&self, name: &str, label: &str, value: &str) -> Option<f64> {
        self.samples()
            .into_iter()
            .find(|s| s.name == name && s.labels.get(label).map(String::as_str) == Some(value))
            .map(|s| s.value)
    }

    fn plain(&self, name: &str, kind: &str) -> f64 {
        self.value(name, "kind", kind)
            .unwrap_or_else(|| panic!("no {name}{{kind={kind}}}"))
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// Publish JSON lines with dl-alert (on `exchange`, when given).
fn alert_lines(lines: &str, exchange: Option<&str>) {
    let mut command = without_env_settings(Command::new(binary("dl-alert")));
    command.args(["-b", "127.0.0.1", "-p", "5672"]);
    if let Some(exchange) = exchange {
        command.args(["--alerts-exchange", exchange]);
    }
    let output = run_command(&mut command, Some(lines));
    assert!(output.status.success(), "dl-alert: {}", stderr_of(&output));
}

fn delete_exchange(name: &str) {
    let _ = on_broker_channel(5672, async |channel| {
        channel
            .exchange_delete(
                name.into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await
    });
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn services_heartbeats_and_logged_values_of_a_real_dl_serve() {
    let exporter = Exporter::start(&[]);
    let service = unique_name("metrics_store");
    let peaches = unique_name("peaches");
    let config = format!(
        "name: {service}\n\
         module: Service\n\
         heartbeat_interval_s: 1\n\
         endpoints:\n\
         \x20 - name: {peaches}\n\
         \x20   module: KeyValueStore\n\
         \x20   calibration: '2*{{}}'\n\
         \x20   initial_value: 0.75\n\
         \x20   log_interval: 1\n"
    );
    let (dir, path) = serve_support::write_config(&config);
    let mut serve = ChildGuard::spawn(
        serve_support::serve_command(&path, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let interval = "dripline_service_heartbeat_interval_seconds";
    assert!(
        wait_until(PATIENCE, || exporter
            .value(interval, "service_name", &service)
            .is_some()),
        "no heartbeat interval for {service}: {}",
        exporter.stderr()
    );
    let seen = exporter.value(interval, "service_name", &service).unwrap();
    assert!(
        (0.5..=2.0).contains(&seen),
        "interval {seen}, heartbeats every 1 s"
    );
    assert!(
        exporter
            .value(
                "dripline_service_heartbeats_total",
                "service_name",
                &service
            )
            .unwrap()
            >= 2.0
    );
    assert!(
        wait_until(PATIENCE, || exporter
            .value("dripline_sensor_value_cal", "sensor", &peaches)
            .is_some()),
        "no value for {peaches}"
    );
    assert_eq!(
        exporter.value("dripline_sensor_value_raw", "sensor", &peaches),
        Some(0.75)
    );
    assert_eq!(
        exporter.value("dripline_sensor_value_cal", "sensor", &peaches),
        Some(1.5)
    );
    let last = exporter
        .value(
            "dripline_sensor_last_alert_timestamp_seconds",
            "sensor",
            &peaches,
        )
        .unwrap();
    assert!((unix_now() - last).abs() < 5.0, "last alert at {last}");
    let age = "dripline_service_heartbeat_age_seconds";
    assert!(exporter.value(age, "service_name", &service).unwrap() < 2.5);

    // The service stops: its heartbeat age grows with the time since.
    serve.terminate(Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let first = exporter.value(age, "service_name", &service).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let second = exporter.value(age, "service_name", &service).unwrap();
    assert!(
        second >= first + 1.4,
        "the age should grow with time: {first} then {second}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_sensor_names_are_escaped_and_non_numeric_values_export_their_time_only() {
    let exchange = unique_name("metrics_alerts");
    let exporter = Exporter::start(&["--alerts-exchange", &exchange]);
    let hostile = [
        "quote\"d",
        "back\\slash\\",
        "line\nfeed",
        "brace},other=\"x\" 1\n# TYPE fake gauge",
        "ünïcode ✓ spaces",
        &"x".repeat(240),
    ];
    let mut lines = String::new();
    for (i, name) in hostile.iter().enumerate() {
        let line = serde_json::json!({
            "routing_key": format!("sensor_value.{name}"),
            "payload": {"value_raw": i as f64 + 0.5, "value_cal": -(i as f64)}
        });
        lines.push_str(&format!("{line}\n"));
    }
    let non_numeric = [
        (
            "text",
            serde_json::json!({"value_raw": "on", "value_cal": "on"}),
        ),
        ("flag", serde_json::json!({"value_raw": true})),
        (
            "object",
            serde_json::json!({"value_raw": {"a": 1}, "value_cal": 2}),
        ),
        ("bare", serde_json::json!(42)),
        (
            "cal_text",
            serde_json::json!({"value_raw": 7, "value_cal": "seven"}),
        ),
    ];
    for (name, payload) in &non_numeric {
        let line =
            serde_json::json!({"routing_key": format!("sensor_value.{name}"), "payload": payload});
        lines.push_str(&format!("{line}\n"));
    }
    alert_lines(&lines, Some(&exchange));
    let expected = hostile.len() + non_numeric.len();
    assert!(
        wait_until(PATIENCE, || exporter.plain("dl_metrics_tracked", "sensor")
            == expected as f64),
        "tracked {} of {expected} sensors: {}",
        exporter.plain("dl_metrics_tracked", "sensor"),
        exporter.stderr()
    );
    // Every line of the text is a valid sample (parse panics otherwise), and each hostile
    // name comes back exactly as sent.
    for (i, name) in hostile.iter().enumerate() {
        assert_eq!(
            exporter.value("dripline_sensor_value_raw", "sensor", name),
            Some(i as f64 + 0.5),
            "{name:?}"
        );
        assert_eq!(
            exporter.value("dripline_sensor_value_cal", "sensor", name),
            Some(-(i as f64)),
            "{name:?}"
        );
    }
    let samples = exporter.samples();
    assert!(
        !samples.iter().any(|s| s.name == "fake"),
        "an injected line"
    );
    for (name, _) in &non_numeric[..4] {
        for metric in ["dripline_sensor_value_raw", "dripline_sensor_value_cal"] {
            assert_eq!(
                exporter.value(metric, "sensor", name),
                None,
                "{metric} {name}"
            );
        }
        let last = exporter
            .value(
                "dripline_sensor_last_alert_timestamp_seconds",
                "sensor",
                name,
            )
            .unwrap_or_else(|| panic!("no update time for {name}"));
        assert!((unix_now() - last).abs() < 30.0);
        assert_eq!(
            exporter.value("dripline_sensor_alerts_total", "sensor", name),
            Some(1.0)
        );
    }
    // A numeric value_raw with a text value_cal: the raw value only.
    assert_eq!(
        exporter.value("dripline_sensor_value_raw", "sensor", "cal_text"),
        Some(7.0)
    );
    assert_eq!(
        exporter.value("dripline_sensor_value_cal", "sensor", "cal_text"),
        None
    );
    drop(exporter);
    delete_exchange(&exchange);
}

#[test]
fn the_sensor_cap_keeps_the_first_and_counts_what_it_drops() {
    let exchange = unique_name("metrics_alerts");
    let exporter = Exporter::start(&["--alerts-exchange", &exchange, "--max-sensors", "3"]);
    let mut lines = String::new();
    for round in 0..2 {
        for sensor in 0..5 {
            let line = serde_json::json!({
                "routing_key": format!("sensor_value.s{sensor}"),
                "payload": {"value_raw": round * 10 + sensor}
            });
            lines.push_str(&format!("{line}\n"));
        }
    }
    alert_lines(&lines, Some(&exchange));
    assert!(
        wait_until(PATIENCE, || exporter
            .plain("dl_metrics_dropped_total", "sensor")
            == 4.0),
        "dropped {} (expected 2 sensors x 2 rounds): {}",
        exporter.plain("dl_metrics_dropped_total", "sensor"),
        exporter.stderr()
    );
    assert_eq!(exporter.plain("dl_metrics_tracked", "sensor"), 3.0);
    for sensor in 0..3 {
        let name = format!("s{sensor}");
        assert_eq!(
            exporter.value("dripline_sensor_value_raw", "sensor", &name),
            Some(10.0 + sensor as f64),
            "the last value of {name}"
        );
        assert_eq!(
            exporter.value("dripline_sensor_alerts_total", "sensor", &name),
            Some(2.0)
        );
    }
    for sensor in 3..5 {
        let name = format!("s{sensor}");
        assert!(exporter
            .samples()
            .iter()
            .all(|s| s.labels.get("sensor") != Some(&name)));
    }
    drop(exporter);
    delete_exchange(&exchange);
}

#[test]
fn error_replies_are_counted_by_service_and_return_code_with_requests() {
    let exporter = Exporter::start(&["--requests"]);
    let store = serve_support::Store::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _served = runtime.block_on(serve_support::start(
        &store.service,
        &store.config(0.0),
        &[],
    ));
    let cmd = |target: &str, method: &str| {
        run_command(
            without_env_settings(Command::new(binary("dl-cmd"))).args([
                "-b",
                "127.0.0.1",
                "-p",
                "5672",
                target,
                "-s",
                method,
            ]),
            None,
        )
    };
    let ok = cmd(&store.peaches, "ping");
    assert!(ok.status.success(), "ping: {}", stderr_of(&ok));
    for _ in 0..2 {
        let failed = cmd(&store.peaches, "no_such_method");
        assert!(!failed.status.success());
    }
    let errors = || {
        exporter.samples().into_iter().find(|s| {
            s.name == "dripline_error_replies_total"
                && s.labels.get("service_name") == Some(&store.service)
        })
    };
    assert!(
        wait_until(PATIENCE, || errors().is_some_and(|s| s.value == 2.0)),
        "error replies seen: {:?}: {}",
        errors(),
        exporter.stderr()
    );
    let sample = errors().unwrap();
    assert_eq!(sample.labels["return_code"], "306");
    // The ping's success reply is not counted under any code.
    assert_eq!(
        exporter
            .samples()
            .iter()
            .filter(|s| s.name == "dripline_error_replies_total"
                && s.labels.get("service_name") == Some(&store.service))
            .count(),
        1
    );
}

#[test]
fn a_taken_metrics_address_is_unavailable_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run_command(
        without_env_settings(Command::new(binary("dl-metrics"))).args([
            "-b",
            "127.0.0.1",
            "-p",
            "5672",
            "--metrics-addr",
            &address,
        ]),
        None,
    );
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(69), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot serve metrics on {address}")),
        "{stderr}"
    );
}

#[test]
fn without_a_broker_it_waits_serving_metrics_and_not_ready() {
    let closed = free_port().to_string();
    let port = free_port();
    let mut process = ChildGuard::spawn(
        without_env_settings(Command::new(binary("dl-metrics")))
            .args(["-b", "127.0.0.1", "-p", &closed])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    assert!(
        wait_until(PATIENCE, || http_get(port, "/healthz").0 == 200),
        "/healthz never answered"
    );
    let (status, body) = http_get(port, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not connected to the broker"), "{body}");
    let (_, metrics) = http_get(port, "/metrics");
    let connected = parse(&metrics)
        .into_iter()
        .find(|s| s.name == "dl_metrics_broker_connected")
        .expect("dl_metrics_broker_connected");
    assert_eq!(connected.value, 0.0);
    // Still trying a second later, and a signal stops it cleanly.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(http_get(port, "/healthz").0, 200);
    let status = process.terminate(Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

/// The words of `text` that look like a metric of dl-metrics: `dripline_…` or `dl_metrics_…`.
fn metric_names_in(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("dripline_") || word.starts_with("dl_metrics_"))
        .map(str::to_string)
        .collect()
}

/// The label names that `{{ $labels.x }}` (alert annotations) and `{{x}}` (Grafana legends)
/// and `on (x)` name in `text`.
fn label_names_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for (open, close) in [("$labels.", " "), ("{{", "}}"), ("on (", ")")] {
        for piece in text.split(open).skip(1) {
            let name = piece.split(close).next().unwrap_or_default().trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.insert(name.to_string());
            }
        }
    }
    names
}

#[test]
fn the_second_mesh_rules_and_dashboard_name_only_what_dl_metrics_exports() {
    let exchange = unique_name("metrics_alerts");
    let exporter = Exporter::start(&["--alerts-exchange", &exchange]);
    alert_lines(
        "{\"routing_key\":\"heartbeat.s\",\"payload\":{\"name\":\"s\",\"id\":\"1\"}}\n\
         {\"routing_key\":\"sensor_value.t\",\"payload\":{\"value_raw\":1}}\n",
        Some(&exchange),
    );
    assert!(
        wait_until(PATIENCE, || exporter.plain("dl_metrics_tracked", "sensor")
            == 1.0
            && exporter.plain("dl_metrics_tracked", "service") == 1.0),
        "{}",
        exporter.stderr()
    );
    let (_, body) = http_get(exporter.port, "/metrics");
    let families: std::collections::BTreeSet<String> = body
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let labels: std::collections::BTreeSet<String> = parse(&body)
        .into_iter()
        .flat_map(|s| s.labels.into_keys())
        .collect();
    drop(exporter);
    delete_exchange(&exchange);
    for file in [
        "examples/second-mesh/prometheus-rules.yaml",
        "examples/second-mesh/grafana-dashboard-mesh-health.yaml",
    ] {
        let text = std::fs::read_to_string(dripline_e2e::repo_path(file)).unwrap();
        let named = metric_names_in(&text);
        assert!(!named.is_empty(), "{file} names no dl-metrics metric");
        for name in &named {
            assert!(
                families.contains(name),
                "{file} names {name}, which dl-metrics does not export ({families:?})"
            );
        }
        for label in label_names_in(&text) {
            assert!(
                labels.contains(&label),
                "{file} uses label {label}, which no dl-metrics series has ({labels:?})"
            );
        }
    }
}
