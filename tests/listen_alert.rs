//! dl-listen and dl-alert end to end (issue 3): the built programs against the real RabbitMQ at
//! 127.0.0.1:5672, and a private broker for the restart test. Every test uses its own routing
//! keys (harness::unique_name), so tests never see each other's messages or a running mesh.

#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::private_services::PrivateBroker;
use dripline_e2e::{
    binary, lines_of, on_broker_channel, run, stderr_of, stdout_of, unique_name, wait_until,
    without_env_settings, ChildGuard,
};
use dripline_protocol::timestamp::parse_timestamp;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long anything may take on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(30);

/// A dl-* command without inherited broker settings, pointed at `port` on loopback.
fn command(program: &str, port: u16) -> Command {
    let mut command = without_env_settings(Command::new(binary(program)));
    command.args(["-b", "127.0.0.1", "-p", &port.to_string()]);
    command
}

/// Run dl-alert against `port` with `args` and optional stdin text.
fn alert_on(port: u16, args: &[&str], stdin: Option<&str>) -> Output {
    let port = port.to_string();
    run(
        "dl-alert",
        &[&["-b", "127.0.0.1", "-p", &port][..], args].concat(),
        stdin,
    )
}

/// Run dl-alert against the shared broker; assert it succeeded.
fn alert(args: &[&str], stdin: Option<&str>) -> Output {
    let output = alert_on(5672, args, stdin);
    assert!(
        output.status.success(),
        "dl-alert {args:?} failed ({}): {}",
        output.status,
        stderr_of(&output)
    );
    output
}

/// A running dl-listen: its stdout lines arrive on a channel, its stderr is collected.
struct Listening {
    process: ChildGuard,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Listening {
    /// Start dl-listen (with -v, so it says when it listens) and wait until it listens.
    fn start(port: u16, args: &[&str]) -> Self {
        let mut process = ChildGuard::spawn(
            command("dl-listen", port)
                .arg("-v")
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let stdout = process.child.stdout.take().expect("stdout");
        let stderr = process.child.stderr.take().expect("stderr");
        let lines = lines_of(stdout);
        let collected = Arc::new(Mutex::new(String::new()));
        let sink = collected.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let listening = Listening {
            process,
            lines,
            stderr: collected,
        };
        assert!(
            listening.wait_for_stderr("listening"),
            "dl-listen did not start listening: {}",
            listening.stderr()
        );
        listening
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_for_stderr(&self, text: &str) -> bool {
        wait_until(LIMIT, || self.stderr().contains(text))
    }

    /// The next stdout line as JSON.
    fn next_json(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(LIMIT)
            .unwrap_or_else(|_| panic!("no line from dl-listen; stderr: {}", self.stderr()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Wait for the exit status.
    fn exit_status(&mut self) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < LIMIT {
            if let Ok(Some(status)) = self.process.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

fn assert_uuid(text: &Value) {
    let text = text.as_str().expect("a string id");
    assert!(uuid::Uuid::parse_str(text).is_ok(), "not a UUID: {text}");
}

#[test]
fn an_alert_arrives_with_every_field_and_can_be_published_again() {
    let key = unique_name("la_round");
    let mut listener = Listening::start(5672, &["-n", "3", &format!("{key}.#")]);
    let before = chrono::Utc::now();
    alert(
        &[
            &format!("{key}.t1"),
            r#"{"value_raw": 0.75, "value_cal": 1.5}"#,
        ],
        None,
    );
    let after = chrono::Utc::now();
    let line = listener.next_json();

    let object = line.as_object().unwrap();
    let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "exchange",
            "message_id",
            "message_type",
            "payload",
            "received",
            "routing_key",
            "sender",
            "timestamp"
        ],
        "{line}"
    );
    assert_eq!(line["routing_key"], format!("{key}.t1"));
    assert_eq!(line["exchange"], "alerts");
    assert_eq!(line["message_type"], "alert");
    assert_uuid(&line["message_id"]);
    assert_eq!(
        line["payload"],
        json!({"value_raw": 0.75, "value_cal": 1.5})
    );
    let timestamp = line["timestamp"].as_str().unwrap();
    assert_eq!(
        timestamp.len(),
        "2026-11-26T00:29:08.315196Z".len(),
        "{timestamp}"
    );
    assert!(timestamp.ends_with('Z'));
    let sent = parse_timestamp(timestamp).unwrap();
    assert!(
        before <= sent && sent <= after,
        "{timestamp} not within the run of dl-alert"
    );
    let received = parse_timestamp(line["received"].as_str().unwrap()).unwrap();
    assert!(received >= sent, "received {received} before sent {sent}");
    let sender = &line["sender"];
    assert!(
        sender["exe"].as_str().unwrap().ends_with("dl-alert"),
        "{sender}"
    );
    assert_eq!(sender["service_name"], "unknown");
    assert!(!sender["hostname"].as_str().unwrap().is_empty());
    assert!(!sender["username"].as_str().unwrap().is_empty());
    assert_eq!(
        sender["versions"]["dripline-tools"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sender["versions"]["dripline"]["version"], "3.0.0");

    // The line itself is a valid dl-alert input: same routing key, payload and timestamp.
    let again = serde_json::to_string(&line).unwrap();
    alert(&["-"], Some(&format!("{again}\n")));
    let replayed = listener.next_json();
    assert_eq!(replayed["routing_key"], line["routing_key"]);
    assert_eq!(replayed["payload"], line["payload"]);
    assert_eq!(replayed["timestamp"], line["timestamp"]);
    assert_ne!(replayed["message_id"], line["message_id"]);

    // A given timestamp in another RFC 3339 form is sent in dripline's form.
    let given = format!(
        r#"{{"routing_key": "{key}.t2", "payload": 3, "timestamp": "2026-01-02T03:04:05+01:00"}}"#
    );
    alert(&[], Some(&format!("{given}\n")));
    let stamped = listener.next_json();
    assert_eq!(stamped["timestamp"], "2026-01-02T02:04:05.000000Z");
    assert_eq!(stamped["payload"], 3);
    assert_eq!(listener.exit_status(), Some(0), "{}", listener.stderr());
}

#[test]
fn a_bad_stdin_line_is_reported_and_the_good_ones_are_published() {
    let key = unique_name("la_lines");
    let listener = Listening::start(5672, &["-n", "3", &format!("{key}.#")]);
    let input = format!(
        "{{\"routing_key\": \"{key}.a\", \"payload\": 1}}\n\
         {{\"routing_key\": \"{key}.b\", \"payload\": 2\n\
         {{\"routing_key\": \"{key}.c\", \"payload\": 3}}\n\
         {{\"payload\": 4}}\n\
         {{\"routing_key\": \"{key}.e\", \"payload\": 5, \"timestamp\": \"yesterday\"}}\n\
         \n\
         {{\"routing_key\": \"{key}.g\", \"payload\": {{\"value_raw\": 7}}}}\n"
    );
    let output = alert_on(5672, &["-"], Some(&input));
    assert_eq!(output.status.code(), Some(65), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("stdin line 2: not valid JSON"), "{stderr}");
    assert!(stderr.contains("stdin line 4:"), "{stderr}");
    assert!(stderr.contains("routing_key"), "{stderr}");
    assert!(stderr.contains("stdin line 5: timestamp"), "{stderr}");
    assert!(stderr.contains("yesterday"), "{stderr}");
    assert!(
        !stderr.contains("line 1:") && !stderr.contains("line 3:"),
        "{stderr}"
    );
    let received: Vec<(Value, Value)> = (0..3)
        .map(|_| {
            let line = listener.next_json();
            (line["routing_key"].clone(), line["payload"].clone())
        })
        .collect();
    assert_eq!(
        received,
        [
            (json!(format!("{key}.a")), json!(1)),
            (json!(format!("{key}.c")), json!(3)),
            (json!(format!("{key}.g")), json!({"value_raw": 7})),
        ]
    );
}

#[test]
fn requests_shows_a_request_and_its_reply() {
    let service = unique_name("la_svc");
    let endpoint = unique_name("la_peaches");
    let dir = std::env::temp_dir().join(unique_name("la-serve"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("service.yaml");
    std::fs::write(
        &config,
        format!(
            "name: {service}\nmodule: Service\nheartbeat_interval_s: 0\nendpoints:\n  \
             - name: {endpoint}\n    module: KeyValueStore\n    initial_value: 0.75\n"
        ),
    )
    .unwrap();
    let _served = ChildGuard::spawn(
        command("dl-serve", 5672)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let get = || {
        command("dl-get", 5672)
            .args([endpoint.as_str(), "-t", "5s"])
            .output()
            .expect("running dl-get")
    };
    assert!(
        wait_until(LIMIT, || get().status.success()),
        "dl-serve did not answer"
    );
    // Replies travel on the requests exchange to the client's reply queue (amq.gen-…);
    // `amq.*` sees them without catching requests meant for other tests' targets.
    let listener = Listening::start(5672, &["--requests", &endpoint, "amq.*"]);
    let output = get();
    assert!(output.status.success(), "{}", stderr_of(&output));

    // Other tests' replies pass too (amq.*): take ours.
    let request = loop {
        let line = listener.next_json();
        if line["routing_key"] == endpoint.as_str() {
            break line;
        }
    };
    assert_eq!(request["message_type"], "request", "{request}");
    assert_eq!(request["exchange"], "requests");
    assert_eq!(request["routing_key"], endpoint.as_str());
    assert_eq!(request["operation"], "get");
    assert!(request["sender"]["exe"]
        .as_str()
        .unwrap()
        .ends_with("dl-get"));
    let correlation_id = request["correlation_id"].clone();
    assert_uuid(&correlation_id);
    let reply = loop {
        let line = listener.next_json();
        if line["correlation_id"] == correlation_id {
            break line;
        }
    };
    assert_eq!(reply["message_type"], "reply", "{reply}");
    assert_eq!(reply["exchange"], "requests");
    assert!(reply["routing_key"]
        .as_str()
        .unwrap()
        .starts_with("amq.gen-"));
    assert_eq!(reply["return_code"], 0);
    assert!(reply["return_message"].is_string());
    assert_eq!(reply["payload"]["value_raw"], 0.75);
    assert_eq!(reply["sender"]["service_name"], service.as_str());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duration_and_idle_timeout_stop_it() {
    let key = unique_name("la_stop");
    let mut timed = Listening::start(5672, &["--duration", "1s", &key]);
    assert_eq!(timed.exit_status(), Some(0), "{}", timed.stderr());

    let mut idle = Listening::start(5672, &["--idle-timeout", "2s", &key]);
    alert(&[&key, "1"], None);
    assert_eq!(idle.next_json()["payload"], 1);
    assert_eq!(idle.exit_status(), Some(0), "{}", idle.stderr());
    assert!(idle.lines.try_recv().is_err(), "only one line expected");
}

#[test]
fn sigterm_stops_it_cleanly() {
    let key = unique_name("la_term");
    let mut listener = Listening::start(5672, &[&key]);
    let status = listener.process.terminate(LIMIT).expect("dl-listen exits");
    assert_eq!(status.code(), Some(0), "{}", listener.stderr());
}

#[test]
fn a_closed_stdout_ends_it_quietly() {
    // dl-listen | head -1
    let key = unique_name("la_head");
    let mut listener = Listening::start(5672, &[&key]);
    alert(&[&key, "1"], None);
    assert_eq!(listener.next_json()["payload"], 1);
    let Listening { lines, .. } = &mut listener;
    let (_, closed) = mpsc::channel();
    drop(std::mem::replace(lines, closed)); // the reader thread ends, closing the pipe
    let mut status = None;
    let exited = wait_until(LIMIT, || {
        // Each alert makes dl-listen write; once the reader is gone the write fails.
        let _ = alert_on(5672, &[&key, "2"], None);
        status = listener.process.child.try_wait().ok().flatten();
        status.is_some()
    });
    assert!(exited, "dl-listen still running after its stdout closed");
    assert_eq!(status.unwrap().code(), Some(0), "{}", listener.stderr());
    assert!(
        !listener.stderr().contains("dl-listen:"),
        "{}",
        listener.stderr()
    );
}

#[test]
fn a_durable_queue_keeps_messages_while_the_listener_is_away() {
    let key = unique_name("la_durable");
    let queue = unique_name("la_queue");
    let mut first = Listening::start(5672, &["--queue", &queue, "-n", "1", &key]);
    alert(&[&key, "0"], None);
    assert_eq!(first.next_json()["payload"], 0);
    assert_eq!(first.exit_status(), Some(0), "{}", first.stderr());

    let lines: String = (1..=3)
        .map(|n| format!("{{\"routing_key\": \"{key}\", \"payload\": {n}}}\n"))
        .collect();
    alert(&[], Some(&lines));
    let mut second = Listening::start(5672, &["--queue", &queue, "-n", "3", &key]);
    let payloads: Vec<Value> = (0..3)
        .map(|_| second.next_json()["payload"].clone())
        .collect();
    assert_eq!(payloads, [json!(1), json!(2), json!(3)]);
    assert_eq!(second.exit_status(), Some(0), "{}", second.stderr());

    // Acknowledged: nothing is left for a third listener.
    let mut third = Listening::start(5672, &["--queue", &queue, "--idle-timeout", "1s", &key]);
    assert_eq!(third.exit_status(), Some(0), "{}", third.stderr());
    assert!(third.lines.try_recv().is_err(), "the queue should be empty");
    delete_queue(&queue);
}

/// `--queue-type quorum` creates a quorum queue (the kind that outlives a cluster node): it
/// keeps what arrives while the listener is away, and the same name asked for as a classic
/// queue is refused, which shows the type the broker gave it.
#[test]
fn a_quorum_queue_is_created_with_queue_type() {
    let key = unique_name("la_quorum");
    let queue = unique_name("la_quorum_queue");
    let quorum = ["--queue", &queue, "--queue-type", "quorum"];
    let mut first = Listening::start(5672, &[&quorum[..], &["-n", "1", &key]].concat());
    alert(&[&key, "0"], None);
    assert_eq!(first.next_json()["payload"], 0);
    assert_eq!(first.exit_status(), Some(0), "{}", first.stderr());
    alert(&[&key, "1"], None);

    let classic = command("dl-listen", 5672)
        .args(["--queue", &queue, "--queue-type", "classic", &key])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&classic.stderr);
    assert_eq!(classic.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("current is 'quorum'"), "{stderr}");

    // A queue type names the type of --queue's queue: without --queue it is a usage error.
    let alone = command("dl-listen", 5672)
        .args(["--queue-type", "quorum", &key])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert_eq!(alone.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("--queue"), "{stderr}");

    let mut again = Listening::start(5672, &[&quorum[..], &["-n", "1", &key]].concat());
    assert_eq!(again.next_json()["payload"], 1, "kept while away");
    assert_eq!(again.exit_status(), Some(0), "{}", again.stderr());
    delete_queue(&queue);
}

/// Delete a queue on the shared broker.
fn delete_queue(queue: &str) {
    on_broker_channel(5672, async |channel| {
        channel
            .queue_delete(queue.into(), Default::default())
            .await
            .map(|_| ())
    })
    .unwrap();
}

#[test]
fn alerts_are_persistent_unless_transient() {
    let key = unique_name("la_mode");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let connection =
            dripline_mesh::MeshConnection::connect(&serve_support::settings(), "unknown")
                .await
                .unwrap();
        let (_channel, _queue, stream) =
            serve_support::private_queue(&connection, "alerts", std::slice::from_ref(&key), false)
                .await;
        // The raw deliveries keep the AMQP delivery mode, which decoding drops.
        let mut stream = stream.keeping_raw_deliveries();
        alert(&[&key, "1"], None);
        alert(&["--transient", &key, "2"], None);
        let mut modes = Vec::new();
        for _ in 0..2 {
            let incoming = tokio::time::timeout(LIMIT, stream.next())
                .await
                .expect("a delivery")
                .expect("consumer open")
                .expect("delivery");
            let delivery = &incoming.raw[0];
            let body: Value = serde_json::from_slice(&delivery.body).unwrap();
            modes.push((body, *delivery.properties.delivery_mode()));
        }
        assert_eq!(modes, [(json!(1), Some(2)), (json!(2), None)]);
        connection.close().await;
    });
}

#[test]
fn text_format_shows_time_key_and_value() {
    let key = unique_name("la_text");
    let listener = Listening::start(5672, &["-f", "text", &key]);
    alert(&[&key, r#"{"value_raw": 0.75, "value_cal": 1.5}"#], None);
    let line = listener
        .lines
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("no line; {}", listener.stderr()));
    let (time, rest) = line.split_once(' ').expect("time first");
    assert!(parse_timestamp(time).is_ok(), "{line}");
    assert_eq!(rest, format!("{key} 1.5 (raw 0.75)"));
}

#[test]
fn a_large_payload_travels_in_chunks_and_arrives_whole() {
    let key = unique_name("la_large");
    let listener = Listening::start(5672, &[&key]);
    let text: String = (0..50_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let payload = json!({"blob": text, "n": 50_000});
    alert(&[&key, &payload.to_string()], None);
    let line = listener.next_json();
    assert_eq!(line["payload"], payload);
    assert_eq!(line["routing_key"], key.as_str());
}

#[test]
fn an_unreachable_broker_is_status_69() {
    let port = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let output = command("dl-listen", port)
        .args(["--max-connection-attempts", "1", "x"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(69), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("cannot reach broker at 127.0.0.1"),
        "{}",
        stderr_of(&output)
    );
    assert!(stdout_of(&output).is_empty());

    let output = alert_on(port, &["x", "1"], None);
    assert_eq!(output.status.code(), Some(69), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("cannot reach broker"));
}

#[test]
fn usage_errors_are_status_64() {
    for args in [
        vec!["--count", "0"],
        vec!["--no-such-flag"],
        vec!["--duration", "soon"],
        vec!["--format", "xml"],
    ] {
        let output = command("dl-listen", 5672)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "dl-listen {args:?}");
    }
    for args in [
        vec!["key", "not json"],
        vec!["key"],
        vec!["--rate", "0", "key", "1"],
        vec!["-", "1"],
    ] {
        let output = alert_on(5672, &args, None);
        assert_eq!(
            output.status.code(),
            Some(64),
            "dl-alert {args:?}: {}",
            stderr_of(&output)
        );
    }
    let output = alert_on(5672, &["key", "not json"], None);
    assert!(
        stderr_of(&output).contains("not JSON"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn it_listens_again_after_a_broker_restart() {
    let broker = PrivateBroker::start();
    let key = unique_name("la_restart");
    let listener = Listening::start(broker.port(), &[&key]);
    assert!(alert_on(broker.port(), &[&key, "1"], None).status.success());
    assert_eq!(listener.next_json()["payload"], 1);

    broker.stop();
    assert!(
        listener.wait_for_stderr("reconnecting"),
        "no word of the lost connection: {}",
        listener.stderr()
    );
    broker.start_again();
    assert!(
        listener.wait_for_stderr("reconnected"),
        "no word of the reconnection: {}",
        listener.stderr()
    );
    // Bound again: new alerts arrive.
    assert!(alert_on(broker.port(), &[&key, "2"], None).status.success());
    assert_eq!(listener.next_json()["payload"], 2);
    let stderr = listener.stderr();
    assert_eq!(stderr.matches("reconnecting").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("reconnected").count(), 1, "{stderr}");
}

#[test]
fn requests_shows_the_replies_to_the_requests_it_shows() {
    // Issue 16 item 6: `dl-listen --requests KEY` printed the requests only; their replies go
    // to the client's amq.gen-… queue, which KEY does not name.
    let store = serve_support::Store::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _served = runtime.block_on(serve_support::start(
        &store.service,
        &store.config(0.0),
        &[],
    ));
    let listener = Listening::start(5672, &["--requests", &store.peaches]);
    // One-shot clients (a new reply queue each) and a batch on one client; the chips
    // requests share that client's reply queue but are not shown, nor are their replies.
    for _ in 0..5 {
        let output = command("dl-get", 5672)
            .arg(&store.peaches)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    let batch: String = (0..10)
        .map(|i| {
            let target = if i % 2 == 0 {
                &store.peaches
            } else {
                &store.chips
            };
            format!("{{\"target\":\"{target}\"}}\n")
        })
        .collect();
    let output = run_command_on(command("dl-get", 5672).arg("-"), &batch);
    assert!(output.status.success(), "{}", stderr_of(&output));
    // dl-cmd's values, flags after them: sent as values [5, -7] with x=1.
    let output = command("dl-cmd", 5672)
        .args([
            store.peaches.as_str(),
            "-s",
            "ping",
            "5",
            "-t",
            "5s",
            "x=1",
            "--",
            "-7",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));

    let mut requests = Vec::new();
    let mut replies = Vec::new();
    while replies.len() < 11 {
        let line = listener.next_json();
        match line["message_type"].as_str() {
            Some("request") => requests.push(line),
            Some("reply") => replies.push(line),
            other => panic!("unexpected {other:?}: {line}"),
        }
    }
    assert_eq!(requests.len(), 11, "{requests:?}");
    assert!(requests
        .iter()
        .all(|r| r["routing_key"] == store.peaches.as_str()));
    let asked: Vec<&Value> = requests.iter().map(|r| &r["correlation_id"]).collect();
    for reply in &replies {
        assert!(
            asked.contains(&&reply["correlation_id"]),
            "a reply to a request not shown: {reply}"
        );
        assert!(reply["routing_key"]
            .as_str()
            .unwrap()
            .starts_with("amq.gen-"));
    }
    assert_eq!(replies[0]["payload"]["value_raw"], 0.75);
    assert_eq!(requests[10]["payload"], json!({"values": [5, -7], "x": 1}));
    // Nothing else (no chips replies) follows.
    assert!(
        listener
            .lines
            .recv_timeout(Duration::from_millis(500))
            .is_err(),
        "more lines than the requests shown and their replies"
    );
}

/// Run `command` with `stdin` text; its output.
fn run_command_on(command: &mut Command, stdin: &str) -> Output {
    dripline_e2e::run_command(command, Some(stdin))
}

#[test]
fn a_wildcard_inside_a_word_is_warned_about() {
    // Issue 16 item 13: `sensor_value.ux_#` can never match (wildcards are whole words).
    let key = unique_name("la_wild");
    let output = command("dl-listen", 5672)
        .args([&format!("{key}.ux_#"), "--duration", "300ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("key '{key}.ux_#' can never match")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("write '{key}.#'")), "{stderr}");
    let output = command("dl-listen", 5672)
        .args([&format!("{key}.#"), "--duration", "300ms"])
        .output()
        .unwrap();
    assert_eq!(stderr_of(&output), "");
}

#[test]
fn alert_goes_on_after_a_non_utf8_line() {
    // Issue 16 item 1: line 2 is the bytes \xff\xfe; lines 3 and 4 are published, status 65.
    use std::io::Write;
    let key = unique_name("la_utf8");
    let listener = Listening::start(5672, &["-n", "3", &format!("{key}.#")]);
    let mut input =
        format!("{{\"routing_key\":\"{key}.t\",\"payload\":{{\"value_raw\":1}}}}\n").into_bytes();
    input.extend_from_slice(b"\xff\xfe\n");
    for value in [2, 3] {
        input.extend(
            format!("{{\"routing_key\":\"{key}.t\",\"payload\":{{\"value_raw\":{value}}}}}\n")
                .bytes(),
        );
    }
    let mut child = command("dl-alert", 5672)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(65), "{}", stderr_of(&output));
    assert_eq!(
        stderr_of(&output),
        "dl-alert: stdin line 2: not UTF-8 text\n"
    );
    let values: Vec<Value> = (0..3)
        .map(|_| listener.next_json()["payload"]["value_raw"].clone())
        .collect();
    assert_eq!(values, [json!(1), json!(2), json!(3)]);
}
