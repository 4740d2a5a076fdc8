//! dl-serve as a process: clean stop on SIGTERM/SIGINT, config errors (exit 78 naming the
//! key), the v4 layout, --check, broker trouble (exit 69), a duplicate service name.

#[path = "serve_support.rs"]
mod serve_support;

use serve_support::{serve_command, start, wait_ready, write_config, Store};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn output_of(command: &mut Command) -> (i32, String, String) {
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("running dl-serve");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn sigterm_and_sigint_stop_with_status_0_quickly() {
    for signal in ["-TERM", "-INT"] {
        let store = Store::new();
        let mut served = start(&store.service, &store.config(0.0), &[]).await;
        let pid = served.process.child.id().to_string();
        let sent = Instant::now();
        Command::new("kill").args([signal, &pid]).status().unwrap();
        let mut status = None;
        while sent.elapsed() < Duration::from_secs(5) {
            if let Some(exit) = served.process.child.try_wait().unwrap() {
                status = Some(exit);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let status = status.unwrap_or_else(|| panic!("dl-serve ignored {signal}"));
        assert_eq!(status.code(), Some(0), "{signal}");
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "{signal} took {:?}",
            sent.elapsed()
        );
    }
}

#[test]
fn bad_configs_exit_78_naming_the_key() {
    let cases = [
        (
            "name: s\nendpoints:\n  - name: a\n    module: Sensor\n",
            "endpoints[0] (a).module",
        ),
        (
            "name: s\nendpoints:\n  - name: a\n    module: KeyValueStore\n    calibration: '{x}'\n",
            "endpoints[0] (a).calibration",
        ),
        (
            "name: s\nendpoints:\n  - name: a\n    module: KeyValueStore\n    log_on_set: true\n",
            "endpoints[0] (a).log_on_set",
        ),
        (
            "name: s\nheartbeat_interval_s: soon\n",
            "heartbeat_interval_s",
        ),
        (
            "name: ENV{DL_SERVE_TEST_UNSET_VARIABLE}\n",
            "DL_SERVE_TEST_UNSET_VARIABLE",
        ),
        ("name: [broken\n", "not valid YAML"),
    ];
    for (config, key) in cases {
        let (dir, path) = write_config(config);
        let (status, stdout, stderr) = output_of(&mut serve_command(&path, &[]));
        let _ = std::fs::remove_dir_all(dir);
        assert_eq!(status, 78, "{config}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(key), "{config}: {stderr}");
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
        assert!(stderr.starts_with("dl-serve: "), "{stderr}");
    }
    let (status, _, stderr) = output_of(&mut serve_command(
        std::path::Path::new("/nonexistent/x.yaml"),
        &[],
    ));
    assert_eq!(status, 78, "{stderr}");
    let (status, _, _) = output_of(
        serve_command(std::path::Path::new("x.yaml"), &["--no-such-flag"]).stdin(Stdio::null()),
    );
    assert_eq!(status, 64);
}

#[test]
fn check_validates_the_shipped_examples() {
    let root = dripline_e2e::repo_path("examples/local-mesh");
    let (status, stdout, stderr) = output_of(&mut serve_command(
        &root.join("key-value-store.yaml"),
        &["--check"],
    ));
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains("my_store") && stdout.contains("peaches, chips, waffles"),
        "{stdout}"
    );
    let (status, stdout, stderr) = output_of(&mut serve_command(
        &root.join("key-value-store.v4.yaml"),
        &["--check"],
    ));
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("peaches, chips, waffles"), "{stdout}");
    assert!(stderr.contains("deprecated"), "{stderr}");
}

#[tokio::test]
async fn v4_runtime_config_layout_serves() {
    let store = Store::new();
    let indented: String = store
        .config(0.0)
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    let _served = start(
        &store.service,
        &format!("runtime-config:\n{indented}"),
        &["-q"],
    )
    .await;
}

#[test]
fn unreachable_broker_is_one_line_and_status_69() {
    let store = Store::new();
    let (dir, path) = write_config(&store.config(0.0));
    let mut command =
        dripline_e2e::without_env_settings(Command::new(dripline_e2e::binary("dl-serve")));
    command.arg("-c").arg(&path).args([
        "-b",
        "127.0.0.1",
        "-p",
        "1",
        "--max-connection-attempts",
        "1",
        "-q",
    ]);
    let (status, _, stderr) = output_of(&mut command);
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(status, 69, "{stderr}");
    assert!(
        stderr.contains("cannot reach broker at 127.0.0.1:1"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn a_second_service_with_the_same_name_is_refused() {
    let store = Store::new();
    let _first = start(&store.service, &store.config(0.0), &[]).await;
    let (dir, path) = write_config(&store.config(0.0));
    let (status, _, stderr) = output_of(&mut serve_command(&path, &["-q"]));
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(status, 69, "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    // The first one is unaffected.
    wait_ready(&store.service).await;
}

/// The broker's connection id (`<rabbit@…>`) of the process `pid`'s AMQP connection, found
/// through its local port; `None` when `ss` or `rabbitmqctl` cannot tell (not root, no CLI).
fn broker_connection_of(pid: u32) -> Option<String> {
    let sockets = Command::new("ss").args(["-tnpH"]).output().ok()?;
    let sockets = String::from_utf8_lossy(&sockets.stdout);
    let local = sockets
        .lines()
        .find(|line| line.contains(&format!("pid={pid},")) && line.contains(":5672"))?
        .split_whitespace()
        .nth(3)?
        .to_string();
    let connections = Command::new("rabbitmqctl")
        .args(["-q", "list_connections", "pid", "name"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&connections.stdout)
        .lines()
        .find(|line| line.contains(&format!("{local} ")))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_string)
}

#[tokio::test]
async fn a_lost_connection_is_reopened_keeping_values_and_locks() {
    use dripline_protocol::Operation;
    use serde_json::json;
    use serve_support::{ask, body, client, code, request};

    let store = Store::new();
    let served = start(&store.service, &store.config(0.0), &["-q"]).await;
    let (conn, client) = client().await;
    let set = request(
        &conn,
        &store.waffles,
        Operation::Set,
        "",
        json!({"values": [42]}),
        "",
    );
    assert_eq!(code(&ask(&client, set).await).0, 0);
    let key = uuid::Uuid::new_v4().to_string();
    let lock = request(
        &conn,
        &store.peaches,
        Operation::Cmd,
        "lock",
        json!({}),
        &key,
    );
    assert_eq!(code(&ask(&client, lock).await).0, 0);

    let Some(connection) = broker_connection_of(served.process.child.id()) else {
        eprintln!("skipped: rabbitmqctl/ss cannot find dl-serve's connection here");
        return;
    };
    let closed = Command::new("rabbitmqctl")
        .args([
            "-q",
            "close_connection",
            &connection,
            "dl-serve reconnect test",
        ])
        .status()
        .unwrap();
    assert!(closed.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_ready(&store.service).await;

    let get = request(&conn, &store.waffles, Operation::Get, "", json!({}), "");
    assert_eq!(
        body(&ask(&client, get).await.payload),
        r#"{"value_cal":42.0,"value_raw":42}"#
    );
    let locked = request(
        &conn,
        &store.peaches,
        Operation::Get,
        "is-locked",
        json!({}),
        "",
    );
    assert_eq!(ask(&client, locked).await.payload["is_locked"], json!(true));
    let mut served = served;
    assert!(
        served.process.child.try_wait().unwrap().is_none(),
        "dl-serve exited"
    );
}

#[test]
fn a_bad_config_reports_every_problem_in_file_order() {
    // Issue 16 item 14: one run names every problem, each with file, line and key
    // (`broker_port: "5999"` was blamed on `dripline_mesh`, and only the first was shown).
    let config = "\
name: my.store
dripline_mesh:
  broker_port: \"5999\"
heartbeat_interval_s: soon
endpoints:
  - name: peaches
    module: dripline.implementations.KeyValueStore
    log_routing_key_prefix: a.#
    colour: red
  - name: chips
    module: Sensor
";
    let (dir, path) = write_config(config);
    let (status, stdout, stderr) = output_of(&mut serve_command(&path, &[]));
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(status, 78, "{stderr}");
    assert!(stdout.is_empty());
    let file = path.display().to_string();
    let expected = [
        format!("{file}:1: name: 'my.store' contains '.'"),
        format!("{file}:3: dripline_mesh.broker_port: invalid type: string \"5999\""),
        format!("{file}:4: heartbeat_interval_s: must be a number of seconds"),
        format!("{file}:8: endpoints[0] (peaches).log_routing_key_prefix: 'a.#' contains '.'"),
        format!("{file}:9: endpoints[0] (peaches).colour: is not a KeyValueStore setting"),
        format!("{file}:11: endpoints[1] (chips).module: 'Sensor' is not supported"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, expected) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(&format!("dl-serve: {expected}")),
            "{line}\n  expected: {expected}"
        );
    }
}

#[tokio::test]
async fn dotted_module_names_and_yaml_1_1_booleans_serve_like_dripline_python() {
    use dripline_e2e::{run, stderr_of, stdout_of};
    let store = Store::new();
    let valve = dripline_e2e::unique_name("valve");
    // dripline-python's dotted class names, and PyYAML's booleans: unquoted `on` is true,
    // a quoted "on" stays the string.
    let config = format!(
        "name: {service}\n\
         module: dripline.core.Service\n\
         heartbeat_interval_s: 0\n\
         endpoints:\n\
         \x20 - name: {valve}\n\
         \x20   module: dripline.implementations.KeyValueStore\n\
         \x20   initial_value: OPEN\n\
         \x20   get_on_set: yes\n\
         \x20   calibration: {{OPEN: on, CLOSE: \"on\", HALF: 'off', SHUT: off}}\n",
        service = store.service,
    );
    let _served = start(&store.service, &config, &["-q"]).await;
    for (raw, cal) in [
        ("OPEN", "true"),
        ("CLOSE", "on"),
        ("HALF", "off"),
        ("SHUT", "false"),
    ] {
        let out = run("dl-set", &[&valve, raw], None);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let out = run("dl-get", &[&valve, "--field", "value_cal"], None);
        assert_eq!(stdout_of(&out).trim(), cal, "{raw}");
    }
}

#[tokio::test]
async fn a_set_of_an_attribute_is_checked_like_the_config_key() {
    use dripline_e2e::{run, stderr_of, stdout_of};
    // `log_routing_key_prefix: a.#` is refused in a config; a set with that specifier was
    // accepted. Both go through one attribute table now.
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &["-q"]).await;
    let out = run(
        "dl-set",
        &[&store.peaches, "a.#", "-s", "log_routing_key_prefix"],
        None,
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("304") && stderr.contains("'a.#' contains '.'"),
        "{stderr}"
    );
    let out = run(
        "dl-get",
        &[&store.peaches, "-s", "log_routing_key_prefix"],
        None,
    );
    assert!(
        stdout_of(&out).contains("sensor_value"),
        "{}",
        stdout_of(&out)
    );
    let out = run(
        "dl-set",
        &[&store.peaches, "temps", "-s", "log_routing_key_prefix"],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
}
