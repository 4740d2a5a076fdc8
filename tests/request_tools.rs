//! dl-get, dl-set and dl-cmd against a real dl-serve on the real RabbitMQ.
//!
//! Each test starts its own service with unique service and endpoint names, so tests run in
//! parallel and never touch a running mesh.

use dripline_e2e::{binary, run, stderr_of, stdout_of, unique_name, wait_until, ChildGuard};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running dl-serve with a key-value store: `<store>` with endpoints `<p>` (calibration
/// `2*{}`, get_on_set, log_on_set), `<c>` (dict calibration) and `<w>` (no calibration).
struct Mesh {
    service: String,
    peaches: String,
    chips: String,
    waffles: String,
    _dir: std::path::PathBuf,
    process: ChildGuard,
}

impl Mesh {
    fn start() -> Mesh {
        let service = unique_name("store");
        let peaches = unique_name("peaches");
        let chips = unique_name("chips");
        let waffles = unique_name("waffles");
        let config = format!(
            "name: {service}\n\
             module: Service\n\
             heartbeat_interval_s: 0\n\
             endpoints:\n\
             \x20 - name: {peaches}\n\
             \x20   module: KeyValueStore\n\
             \x20   calibration: '2*{{}}'\n\
             \x20   initial_value: 0.75\n\
             \x20   get_on_set: true\n\
             \x20   log_on_set: true\n\
             \x20 - name: {chips}\n\
             \x20   module: KeyValueStore\n\
             \x20   calibration: {{1: one, 2: two}}\n\
             \x20   initial_value: 1\n\
             \x20 - name: {waffles}\n\
             \x20   module: KeyValueStore\n\
             \x20   initial_value: 4.0\n"
        );
        let dir = std::env::temp_dir().join(unique_name("request-tools"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.yaml");
        std::fs::write(&path, config).unwrap();
        let process = ChildGuard::spawn(
            Command::new(binary("dl-serve"))
                .arg("-c")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        );
        let mesh = Mesh {
            service,
            peaches,
            chips,
            waffles,
            _dir: dir,
            process,
        };
        let ready = wait_until(Duration::from_secs(15), || {
            run("dl-cmd", &[&mesh.service, "-s", "ping", "-t", "1s"], None)
                .status
                .success()
        });
        assert!(ready, "dl-serve did not answer ping within 15 s");
        mesh
    }
}

fn json_line(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

#[test]
fn get_set_and_calibration_round_trip() {
    let mesh = Mesh::start();
    let out = run("dl-get", &[&mesh.peaches], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        json_line(&stdout_of(&out)),
        json!({"value_raw": 0.75, "value_cal": 1.5})
    );

    // get_on_set: the set replies with the new value, calibrated.
    let out = run("dl-set", &[&mesh.peaches, "500"], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        json_line(&stdout_of(&out)),
        json!({"value_raw": 500, "value_cal": 1000})
    );

    let out = run("dl-get", &[&mesh.peaches, "--field", "value_cal"], None);
    assert_eq!(stdout_of(&out).trim(), "1000");

    // A dict calibration maps the raw value; without get_on_set a set replies null.
    let out = run("dl-set", &[&mesh.chips, "2"], None);
    assert_eq!(stdout_of(&out).trim(), "null");
    let out = run("dl-get", &[&mesh.chips], None);
    assert_eq!(
        json_line(&stdout_of(&out)),
        json!({"value_raw": 2, "value_cal": "two"})
    );

    // --json sends the value as given; a string stays a string.
    let out = run("dl-set", &[&mesh.waffles, "\"5.5\"", "--json"], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = run("dl-get", &[&mesh.waffles, "--field", "value_raw"], None);
    assert_eq!(stdout_of(&out).trim(), "5.5");
    let out = run("dl-get", &[&mesh.waffles, "--full"], None);
    let full = json_line(&stdout_of(&out));
    assert_eq!(full["return_code"], 0);
    assert_eq!(full["payload"]["value_raw"], "5.5");
    assert_eq!(full["sender_info"]["service_name"], mesh.service.as_str());
}

#[test]
fn cmd_ping_and_service_errors_map_to_exit_status() {
    let mesh = Mesh::start();
    let out = run("dl-cmd", &[&mesh.peaches, "-s", "ping", "--full"], None);
    assert!(out.status.success());
    let full = json_line(&stdout_of(&out));
    assert!(full["return_message"]
        .as_str()
        .unwrap()
        .starts_with("Hello, "));

    // Unknown method: 306 → exit 3, reason on stderr, nothing on stdout.
    let out = run("dl-cmd", &[&mesh.peaches, "-s", "no_such_method"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout_of(&out).is_empty());
    assert!(stderr_of(&out).contains("306"), "{}", stderr_of(&out));

    // Unknown specifier on get: 310 → exit 3.
    let out = run("dl-get", &[&mesh.peaches, "-s", "no_such_attr"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("310"));
}

#[test]
fn lockout_refuses_sets_until_unlocked() {
    let mesh = Mesh::start();
    let out = run("dl-cmd", &[&mesh.peaches, "-s", "lock"], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let key = json_line(&stdout_of(&out))["key"]
        .as_str()
        .unwrap()
        .to_string();

    let out = run("dl-set", &[&mesh.peaches, "1"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("307"), "{}", stderr_of(&out));

    let out = run("dl-set", &[&mesh.peaches, "1", "-k", &key], None);
    assert!(out.status.success(), "{}", stderr_of(&out));

    let out = run(
        "dl-get",
        &[&mesh.peaches, "-s", "is-locked", "--field", "is_locked"],
        None,
    );
    assert_eq!(stdout_of(&out).trim(), "true");

    let out = run("dl-cmd", &[&mesh.peaches, "-s", "unlock", "-k", &key], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = run("dl-set", &[&mesh.peaches, "2"], None);
    assert!(out.status.success(), "{}", stderr_of(&out));

    // Force unlock without the key.
    run("dl-cmd", &[&mesh.peaches, "-s", "lock"], None);
    let out = run(
        "dl-cmd",
        &[&mesh.peaches, "-s", "unlock", "force=true"],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));

    // A key that is not a UUID is refused before sending: 400 → exit 4.
    let out = run("dl-set", &[&mesh.peaches, "1", "-k", "not-a-key"], None);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn broadcast_collects_a_reply_from_every_service() {
    let first = Mesh::start();
    let second = Mesh::start();
    let out = run(
        "dl-cmd",
        &["broadcast", "-s", "ping", "--broadcast", "-t", "1500ms"],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let services: Vec<String> = stdout_of(&out)
        .lines()
        .map(|line| {
            json_line(line)["sender_info"]["service_name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(services.contains(&first.service), "{services:?}");
    assert!(services.contains(&second.service), "{services:?}");
}

#[test]
fn large_payloads_are_chunked_both_ways() {
    let mesh = Mesh::start();
    // 150 kB: too long for one argv word (128 KiB), so it goes in as a JSON line.
    let big = "x".repeat(150_000);
    let line = json!({"target": mesh.waffles, "value": big}).to_string();
    let out = run("dl-set", &["-"], Some(&line));
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = run("dl-get", &[&mesh.waffles, "--field", "value_raw"], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).trim_end(), big);
}

#[test]
fn batch_mode_answers_in_order_and_reports_bad_lines() {
    let mesh = Mesh::start();
    let input = format!(
        "{{\"target\":\"{p}\"}}\nnot json\n[1]\n{{\"specifier\":\"x\"}}\n{{\"target\":\"{w}\"}}\n",
        p = mesh.peaches,
        w = mesh.waffles
    );
    let out = run("dl-get", &["-"], Some(&input));
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let lines: Vec<Value> = stdout_of(&out).lines().map(json_line).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], json!({"value_raw": 0.75, "value_cal": 1.5}));
    assert_eq!(lines[1]["error"]["line"], 2);
    assert_eq!(lines[2]["error"]["line"], 3);
    assert_eq!(lines[3]["error"]["return_message"], "missing \"target\"");
    assert_eq!(lines[4], json!({"value_raw": 4.0}));
    let errors = stderr_of(&out);
    assert!(errors.contains("stdin line 2: "), "{errors}");
    assert!(errors.contains("stdin line 3: "), "{errors}");

    // Many in flight: 500 sets then gets come back in input order.
    let sets: String = (0..500)
        .map(|i| format!("{{\"target\":\"{}\",\"value\":{i}}}\n", mesh.waffles))
        .collect();
    let out = run("dl-set", &["-"], Some(&sets));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 500);
    let gets: String = (0..300)
        .map(|i| {
            let target = if i % 2 == 0 {
                &mesh.peaches
            } else {
                &mesh.chips
            };
            format!("{{\"target\":\"{target}\"}}\n")
        })
        .collect();
    let out = run("dl-get", &["-", "--field", "value_raw"], Some(&gets));
    assert!(out.status.success(), "{}", stderr_of(&out));
    let values: Vec<String> = stdout_of(&out).lines().map(str::to_string).collect();
    assert_eq!(values.len(), 300);
    assert!(values.iter().step_by(2).all(|v| v == "0.75"), "{values:?}");
    assert!(
        values.iter().skip(1).step_by(2).all(|v| v == "1"),
        "{values:?}"
    );

    // --fail-fast stops at the first failure.
    let out = run(
        "dl-get",
        &["-", "--fail-fast"],
        Some("not json\n{\"target\":\"x\"}\n"),
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout_of(&out).lines().count(), 1);
}

#[test]
fn batch_mode_blames_each_unroutable_request_on_its_own_line() {
    // RabbitMQ may confirm several publishes with one ack; lapin then hands a returned
    // (unroutable) request to whichever of those confirms it completes first. Each 403 must
    // still land on the request that had no queue, never on a neighbour that was served.
    let mesh = Mesh::start();
    let ghosts: Vec<String> = (0..3).map(|_| unique_name("ghost")).collect();
    let targets: Vec<&str> = (0..600)
        .map(|i| match i % 4 {
            0 => ghosts[i / 4 % 3].as_str(),
            1 => mesh.peaches.as_str(),
            2 => mesh.chips.as_str(),
            _ => mesh.waffles.as_str(),
        })
        .collect();
    let input: String = targets
        .iter()
        .map(|target| format!("{{\"target\":\"{target}\"}}\n"))
        .collect();
    let out = run("dl-get", &["-", "-t", "10s"], Some(&input));
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let lines: Vec<Value> = stdout_of(&out).lines().map(json_line).collect();
    assert_eq!(lines.len(), targets.len());
    for (i, (target, line)) in targets.iter().zip(&lines).enumerate() {
        let code = &line["error"]["return_code"];
        if ghosts.iter().any(|ghost| ghost == target) {
            assert_eq!(code, 403, "line {}: {target}: {line}", i + 1);
        } else {
            assert!(
                code.is_null(),
                "line {}: {target} was served: {line}",
                i + 1
            );
        }
    }
}

#[test]
fn closed_stdout_ends_quietly() {
    let mesh = Mesh::start();
    let input: String = (0..2000)
        .map(|_| format!("{{\"target\":\"{}\"}}\n", mesh.peaches))
        .collect();
    let script = format!(
        "printf '%s' \"$INPUT\" | {} - | head -1",
        binary("dl-get").display()
    );
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .env("INPUT", input)
        .output()
        .unwrap();
    assert!(out.status.success(), "stderr: {}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 1);
    assert!(!stderr_of(&out).contains("panicked"), "{}", stderr_of(&out));
}

#[test]
fn missing_and_silent_targets_give_client_errors() {
    // Nobody bound: the broker returns the request → 403, exit 4.
    let ghost = unique_name("ghost");
    let out = run("dl-get", &[&ghost], None);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr_of(&out).contains("403"), "{}", stderr_of(&out));

    // A service that is bound but frozen never answers → 404 after the timeout, exit 4.
    let mut mesh = Mesh::start();
    let pid = mesh.process.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let out = run("dl-get", &[&mesh.peaches, "-t", "300ms"], None);
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr_of(&out).contains("404"), "{}", stderr_of(&out));
    assert!(stdout_of(&out).is_empty());
    mesh.process.terminate(Duration::from_secs(5));
}

#[test]
fn broker_trouble_is_one_clear_line_with_status_1() {
    // Nothing listens on this port: broker down.
    let out = run("dl-get", &["peaches", "-p", "5679"], None);
    assert_eq!(out.status.code(), Some(1));
    let errors = stderr_of(&out);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(
        errors.contains("cannot reach broker at localhost:5679"),
        "{errors}"
    );

    // Wrong password: refused, and the password never shows.
    let dir = std::env::temp_dir().join(unique_name("pw"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, "wrong-secret-pw\n").unwrap();
    let out = run(
        "dl-get",
        &["peaches", "--password-file", file.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let errors = stderr_of(&out);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(errors.contains("refused user \"guest\""), "{errors}");
    assert!(!errors.contains("wrong-secret-pw"), "{errors}");
}

#[test]
fn usage_errors_exit_64() {
    let out = run("dl-get", &["--no-such-flag"], None);
    assert_eq!(out.status.code(), Some(64));
    let out = run("dl-set", &["peaches"], None);
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr_of(&out).contains("no VALUE"), "{}", stderr_of(&out));
    let out = run("dl-cmd", &["peaches"], None);
    assert_eq!(out.status.code(), Some(64));
    let out = run("dl-get", &["peaches", "-t", "soon"], None);
    assert_eq!(out.status.code(), Some(64));
}

/// A TLS front for the local broker: socat terminates TLS with a certificate signed by a CA
/// made for this test, and forwards to RabbitMQ's plain port.
struct TlsFront {
    port: u16,
    ca_file: std::path::PathBuf,
    _dir: std::path::PathBuf,
    _socat: ChildGuard,
}

impl TlsFront {
    fn start() -> TlsFront {
        let dir = std::env::temp_dir().join(unique_name("tls"));
        std::fs::create_dir_all(&dir).unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl is needed for the TLS test (apt-get install openssl)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                stderr_of(&out)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=dripline-tools test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let socat = ChildGuard::spawn(
            Command::new("socat")
                .arg(format!(
                    "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert=server.pem,key=server.key,verify=0"
                ))
                .arg("TCP:127.0.0.1:5672")
                .current_dir(&dir)
                .stderr(Stdio::null()),
        );
        let listening = wait_until(Duration::from_secs(5), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(
            listening,
            "socat (apt-get install socat) did not listen on {port}"
        );
        TlsFront {
            port,
            ca_file: dir.join("ca.pem"),
            _dir: dir,
            _socat: socat,
        }
    }
}

#[test]
fn amqps_works_with_a_private_ca_and_refuses_an_unknown_one() {
    let mesh = Mesh::start();
    let front = TlsFront::start();
    let url = format!("amqps://localhost:{}", front.port);
    let ca = front.ca_file.to_str().unwrap();
    let out = run(
        "dl-get",
        &[&mesh.peaches, "--amqp-url", &url, "--tls-ca-file", ca],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        json_line(&stdout_of(&out)),
        json!({"value_raw": 0.75, "value_cal": 1.5})
    );

    // The same with --broker/--port and --tls.
    let port = front.port.to_string();
    let out = run(
        "dl-get",
        &[
            &mesh.peaches,
            "-b",
            "localhost",
            "-p",
            &port,
            "--tls",
            "--tls-ca-file",
            ca,
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));

    // Without the CA the certificate is not trusted: one line, status 1.
    let out = run("dl-get", &[&mesh.peaches, "--amqp-url", &url], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let errors = stderr_of(&out);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(
        errors.contains(&format!("cannot reach broker at localhost:{}", front.port)),
        "{errors}"
    );
}

#[test]
fn broker_flags_beat_the_environment_url() {
    // Issue 14: DRIPLINE_AMQP_URL names a port nothing listens on; -b/-p on the command line
    // name the real broker and must win. A ghost target proves the broker was reached (403).
    let ghost = unique_name("ghost");
    let out = dripline_e2e::run_command(
        dripline_e2e::without_env_settings(Command::new(binary("dl-get")))
            .env("DRIPLINE_AMQP_URL", "amqp://127.0.0.1:5679/")
            .args([ghost.as_str(), "-b", "127.0.0.1", "-p", "5672"]),
        None,
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("403"), "{}", stderr_of(&out));
    // Without the flags the environment is used (and names the dead port).
    let out = dripline_e2e::run_command(
        dripline_e2e::without_env_settings(Command::new(binary("dl-get")))
            .env("DRIPLINE_AMQP_URL", "amqp://127.0.0.1:5679/")
            .arg(&ghost),
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("5679"), "{}", stderr_of(&out));
}

/// Run a built program (without settings from the environment) with raw `stdin` bytes.
fn run_with_bytes(program: &str, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = dripline_e2e::without_env_settings(Command::new(binary(program)))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_non_utf8_line_is_refused_by_number_and_the_rest_are_sent() {
    // Issue 16 item 1: line 2 is the bytes \xff\xfe; lines 3 and 4 must still be sent.
    let mesh = Mesh::start();
    let mut input = format!("{{\"target\":\"{}\",\"value\":1}}\n", mesh.waffles).into_bytes();
    input.extend_from_slice(b"\xff\xfe\n");
    for value in [3, 4] {
        input.extend(format!("{{\"target\":\"{}\",\"value\":{value}}}\n", mesh.waffles).bytes());
    }
    let out = run_with_bytes("dl-set", &["-"], &input);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let lines: Vec<Value> = stdout_of(&out).lines().map(json_line).collect();
    assert_eq!(lines.len(), 4, "{}", stdout_of(&out));
    assert_eq!(lines[1]["error"]["line"], 2, "{}", lines[1]);
    assert!(lines[2].get("error").is_none() && lines[3].get("error").is_none());
    let errors = stderr_of(&out);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(errors.contains("stdin line 2: -: 401"), "{errors}");
    assert!(errors.contains("not UTF-8"), "{errors}");
    let out = run("dl-get", &[&mesh.waffles, "--field", "value_raw"], None);
    assert_eq!(stdout_of(&out).trim(), "4", "the last line was set");

    let mut input = format!("{{\"target\":\"{}\"}}\n", mesh.peaches).into_bytes();
    input.extend_from_slice(b"\xff\xfe\n");
    input.extend(format!("{{\"target\":\"{}\"}}\n", mesh.chips).bytes());
    input.extend(format!("{{\"target\":\"{}\"}}\n", mesh.waffles).bytes());
    let out = run_with_bytes("dl-get", &["-", "--field", "value_raw"], &input);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "0.75\n\n1\n4\n");
    assert!(
        stderr_of(&out).contains("stdin line 2"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn an_empty_stdin_says_no_input_lines_and_succeeds() {
    // Issue 16 item 13: cron runs `dl-get < empty-file`; nothing failed, so status 0, but
    // not silently.
    for program in ["dl-get", "dl-set", "dl-cmd"] {
        let out = run(program, &[], None);
        assert_eq!(out.status.code(), Some(0), "{program}: {}", stderr_of(&out));
        assert_eq!(
            stderr_of(&out),
            format!("{program}: stdin: no input lines\n")
        );
        assert!(stdout_of(&out).is_empty());
    }
}

#[test]
fn several_targets_give_one_line_each_in_order() {
    // Issue 16 item 11: like caget, one line per target in the order given, the exit
    // status the highest among them.
    let mesh = Mesh::start();
    let out = run("dl-get", &[&mesh.waffles, &mesh.peaches, &mesh.chips], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines: Vec<Value> = stdout_of(&out).lines().map(json_line).collect();
    assert_eq!(
        lines,
        [
            json!({"value_raw": 4.0}),
            json!({"value_raw": 0.75, "value_cal": 1.5}),
            json!({"value_raw": 1, "value_cal": "one"}),
        ]
    );
    let ghost = unique_name("ghost");
    let out = run(
        "dl-get",
        &[&mesh.peaches, &ghost, &mesh.waffles, "--field", "value_raw"],
        None,
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "0.75\n\n4.0\n");
    assert!(stderr_of(&out).contains(&format!("{ghost}: 403")));
    let out = run("dl-get", &[&mesh.peaches, &mesh.waffles, "--full"], None);
    let keys: Vec<Value> = stdout_of(&out)
        .lines()
        .map(|line| json_line(line)["routing_key"].clone())
        .collect();
    assert_eq!(keys, [json!(mesh.peaches), json!(mesh.waffles)]);
    for mixed in [[mesh.peaches.as_str(), "-"], ["-", mesh.peaches.as_str()]] {
        let out = run("dl-get", &mixed, None);
        assert_eq!(out.status.code(), Some(64), "{}", stderr_of(&out));
    }
    let out = run("dl-get", &["broadcast", "again", "--broadcast"], None);
    assert_eq!(out.status.code(), Some(64), "{}", stderr_of(&out));
}

#[test]
fn cmd_flags_may_follow_the_arguments() {
    // Issue 16 item 10: `… ping 5 --full -t 2s` took --full, -t and 2s as values.
    let mesh = Mesh::start();
    let out = run(
        "dl-cmd",
        &[&mesh.service, "-s", "ping", "5", "--full", "-t", "2s", "-7"],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reply = json_line(&stdout_of(&out));
    assert_eq!(reply["return_code"], 0, "--full was taken: {reply}");
    // An unknown flag among the values is a usage error, not a value.
    let out = run(
        "dl-cmd",
        &[&mesh.service, "-s", "ping", "5", "--nope"],
        None,
    );
    assert_eq!(out.status.code(), Some(64), "{}", stderr_of(&out));
    let out = run(
        "dl-cmd",
        &[&mesh.service, "-s", "ping", "--", "--nope"],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn broadcast_prints_each_reply_as_it_comes_and_keeps_them_when_interrupted() {
    // Issue 16 item 12: replies were held until the timeout, and Ctrl-C dropped them.
    let first = Mesh::start();
    let second = Mesh::start();
    let mut process = ChildGuard::spawn(
        dripline_e2e::without_env_settings(Command::new(binary("dl-cmd")))
            .args(["broadcast", "-s", "ping", "--broadcast", "-t", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let lines = dripline_e2e::lines_of(process.child.stdout.take().unwrap());
    let started = std::time::Instant::now();
    let mut services = Vec::new();
    while !(services.contains(&first.service) && services.contains(&second.service)) {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a broadcast reply line while dl-cmd still waits");
        let service = json_line(&line)["sender_info"]["service_name"].clone();
        services.push(service.as_str().unwrap().to_string());
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    let pid = process.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let exited = wait_until(Duration::from_secs(10), || {
        matches!(process.child.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "dl-cmd did not stop on SIGINT");
    let status = process.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}
