//! Several broker addresses (`--broker a,b,c`): a dead address is skipped, all dead is a
//! failure that names each, bad lists are refused naming the entry, and a lost connection is
//! re-opened through the next address, where each program takes up its work again.
//!
//! The "nodes" here are TCP relays to the one shared test broker: cutting a relay (closing
//! its listener and every connection through it) is what a node's death looks like to a
//! program. A real three-node cluster is the cluster fault tests' business.

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use dripline_e2e::{
    binary, free_port, lines_of, run, run_command, stderr_of, stdout_of, temp_dir, unique_name,
    wait_until, without_env_settings, ChildGuard,
};
use export_support::{pg_url, TestDb};
use log_support::{
    http_get, logger_args, numeric_alerts, publish, query_count, Logger, TestQueue, PATIENCE,
};
use std::io::ErrorKind;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SHARED_BROKER: u16 = 5672;

/// A TCP relay on a port of its own to a broker port: a stand-in for one cluster node.
struct Relay {
    port: u16,
    stop: Arc<AtomicBool>,
    /// While set, a closed client side is not passed on to the broker (a partition: the
    /// broker still believes in the connection).
    hold: Arc<AtomicBool>,
    /// (client side, broker side) of every relayed connection.
    streams: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
    accepting: Option<JoinHandle<()>>,
}

impl Relay {
    fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("relay address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let hold = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let accepting = {
            let (stop, hold, streams) = (stop.clone(), hold.clone(), streams.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => relay(client, target, &hold, &streams),
                        Err(error) if error.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5))
                        }
                        Err(_) => break,
                    }
                }
                // The listener is dropped here: the port refuses connections from now on.
            })
        };
        Relay {
            port,
            stop,
            hold,
            streams,
            accepting: Some(accepting),
        }
    }

    /// The node dies: no new connections, and every open one is closed.
    fn cut(&mut self) {
        self.cut_client_side();
        for (_, broker) in self.streams.lock().unwrap().drain(..) {
            let _ = broker.shutdown(Shutdown::Both);
        }
    }

    /// The programs lose their connections, but the broker learns it only at [`cut`].
    fn cut_client_side(&mut self) {
        self.hold.store(true, Ordering::SeqCst);
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
        for (client, _) in self.streams.lock().unwrap().iter() {
            let _ = client.shutdown(Shutdown::Both);
        }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copy both ways between `client` and a new connection to `target`.
fn relay(
    client: TcpStream,
    target: u16,
    hold: &Arc<AtomicBool>,
    streams: &Mutex<Vec<(TcpStream, TcpStream)>>,
) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    for (from, to) in [(&client, &server), (&server, &client)] {
        let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
            return;
        };
        let hold = hold.clone();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            if !hold.load(Ordering::SeqCst) {
                let _ = to.shutdown(Shutdown::Write);
            }
        });
    }
    streams.lock().unwrap().push((client, server));
}

/// A loopback address where nothing listens.
fn dead_address() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// A dl-serve with one KeyValueStore endpoint (value 42), reached through `brokers`; its
/// stderr goes to `stderr.txt` in the returned directory.
fn serve(brokers: &str) -> (ChildGuard, String, tempfile::TempDir) {
    let dir = temp_dir("broker-addresses");
    let service = unique_name("addr_svc");
    let endpoint = unique_name("addr_value");
    let config = dir.path().join("service.yaml");
    std::fs::write(
        &config,
        format!(
            "name: {service}\nmodule: Service\nendpoints:\n  - name: {endpoint}\n    \
             module: KeyValueStore\n    initial_value: 42\n"
        ),
    )
    .unwrap();
    let process = ChildGuard::spawn(
        without_env_settings(Command::new(binary("dl-serve")))
            .arg("-c")
            .arg(&config)
            .args(["-b", brokers, "-v"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap()),
    );
    (process, endpoint, dir)
}

/// `dl-get endpoint` through `brokers`.
fn get(brokers: &str, endpoint: &str, extra: &[&str]) -> Output {
    let args = [&["--broker", brokers, endpoint][..], extra].concat();
    run("dl-get", &args, None)
}

/// Wait until `dl-get` (on the shared broker) reads 42 from `endpoint`.
fn answers(endpoint: &str, limit: Duration) -> bool {
    wait_until(limit, || {
        let output = get("127.0.0.1", endpoint, &["-t", "1s"]);
        output.status.success() && stdout_of(&output).contains("42")
    })
}

/// `name{node="…"}`'s value in a metrics text.
fn node_gauge(body: &str, name: &str, node: &str) -> Option<f64> {
    let prefix = format!("{name}{{node=\"{node}\"}} ");
    body.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn a_dead_first_address_is_skipped_and_all_dead_names_each() {
    let live = format!("127.0.0.1:{SHARED_BROKER}");
    let (dead1, dead2) = (dead_address(), dead_address());
    let (_serve, endpoint, _dir) = serve(&format!("{dead1},{live}"));
    assert!(
        answers(&endpoint, PATIENCE),
        "dl-serve with a dead first address never answered"
    );
    let output = get(&format!("{dead1},{live}"), &endpoint, &[]);
    assert!(
        output.status.success() && stdout_of(&output).contains("42"),
        "{}",
        stderr_of(&output)
    );
    // A random order reaches the live address whichever comes first.
    for _ in 0..3 {
        let output = get(
            &format!("{dead1},{live},{dead2}"),
            &endpoint,
            &["--broker-order", "random"],
        );
        assert!(output.status.success(), "{}", stderr_of(&output));
    }

    // A node that takes the TCP connection and never answers costs its 5 s, not the whole
    // budget, and the next address is used.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_address = hung.local_addr().unwrap().to_string();
    let started = Instant::now();
    let output = get(&format!("{hung_address},{live}"), &endpoint, &[]);
    let took = started.elapsed();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        took >= Duration::from_millis(4500) && took < Duration::from_millis(9500),
        "a hung first address took {took:?}"
    );
    drop(hung);
    eprintln!("a hung first address cost {took:?} (per-address limit 5 s)");

    // Every address dead: a request tool fails with 1, a listener with 69, naming each.
    let both = format!("{dead1},{dead2}");
    let output = get(&both, &endpoint, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let errors = stderr_of(&output);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(
        errors.contains(&format!("{dead1}: Connection refused"))
            && errors.contains(&format!("{dead2}: Connection refused")),
        "{errors}"
    );
    let output = run(
        "dl-listen",
        &[
            "--broker",
            &both,
            "--max-connection-attempts",
            "1",
            "-n",
            "1",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(69), "{}", stderr_of(&output));
    let errors = stderr_of(&output);
    assert!(
        errors.contains(&dead1) && errors.contains(&dead2),
        "{errors}"
    );
}

#[test]
fn bad_broker_lists_are_refused_naming_the_entry() {
    let thousand = vec!["h"; 1000].join(",");
    let usage = [
        (vec!["--broker", "a,,b"], "entry 2 '': empty broker address"),
        (vec!["--broker", ","], "entry 1 '': empty broker address"),
        (
            vec!["--broker", &thousand],
            "1000 broker addresses; at most 16",
        ),
        (
            vec!["--broker", "a,b:70000"],
            "entry 2 'b:70000': '70000' is not a port",
        ),
        (vec!["--broker", "a,[::1"], "entry 2 '[::1'"),
        (vec!["--broker", "a,b c"], "entry 2 'b c'"),
        (vec!["--broker-order", "sideways"], "sideways"),
    ];
    for (flags, expected) in usage {
        let output = run("dl-get", &[&flags[..], &["x"]].concat(), None);
        assert_eq!(output.status.code(), Some(64), "{flags:?}");
        assert!(
            stderr_of(&output).contains(expected),
            "{flags:?}: {}",
            stderr_of(&output)
        );
    }

    // From the environment and the mesh file: bad configuration (78), naming the source.
    let mut command = without_env_settings(Command::new(binary("dl-get")));
    command.env("DRIPLINE_BROKER", "a,b:x").arg("x");
    let output = run_command(&mut command, None);
    assert_eq!(output.status.code(), Some(78));
    assert!(
        stderr_of(&output).contains("DRIPLINE_BROKER: entry 2 'b:x'"),
        "{}",
        stderr_of(&output)
    );
    let dir = temp_dir("broker-addresses");
    let mesh = dir.path().join("mesh.yaml");
    std::fs::write(&mesh, format!("broker: {}\n", vec!["h"; 17].join(","))).unwrap();
    let output = run(
        "dl-get",
        &["--mesh-file", mesh.to_str().unwrap(), "x"],
        None,
    );
    assert_eq!(output.status.code(), Some(78));
    assert!(
        stderr_of(&output).contains("broker: 17 broker addresses; at most 16"),
        "{}",
        stderr_of(&output)
    );
    let output = run("dl-get", &["--amqp-url", "amqp://a,amqps://b", "x"], None);
    assert_eq!(output.status.code(), Some(78));
    assert!(
        stderr_of(&output).contains("URL 2 of the list names another scheme"),
        "{}",
        stderr_of(&output)
    );
}

/// A dl-listen through `brokers` on `key`, its stdout lines and its stderr file.
fn listen(
    brokers: &str,
    key: &str,
    extra: &[&str],
) -> (ChildGuard, mpsc::Receiver<String>, std::path::PathBuf) {
    let stderr = std::env::temp_dir().join(unique_name("dl-listen-stderr"));
    let mut process = ChildGuard::spawn(
        without_env_settings(Command::new(binary("dl-listen")))
            .args(["--broker", brokers, key, "-v"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap()),
    );
    let lines = lines_of(process.child.stdout.take().unwrap());
    (process, lines, stderr)
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Publish `{"n": n}` on `key` until `lines` shows it (listeners bind asynchronously).
fn heard(key: &str, lines: &mpsc::Receiver<String>, n: u32) -> bool {
    let line = format!("{{\"routing_key\":\"{key}\",\"payload\":{{\"n\":{n}}}}}\n");
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        publish(SHARED_BROKER, &line);
        while let Ok(text) = lines.recv_timeout(Duration::from_millis(300)) {
            if text.contains(&format!("\"n\":{n}")) {
                return true;
            }
        }
    }
    false
}

#[test]
fn programs_move_to_the_next_address_when_their_node_dies() {
    let mut first = Relay::start(SHARED_BROKER);
    let second = Relay::start(SHARED_BROKER);
    let brokers = format!("{},{}", first.address(), second.address());

    let (_serve, endpoint, _dir) = serve(&brokers);
    let key = unique_name("addr_alert");
    let (_temporary, temporary_lines, temporary_err) = listen(&brokers, &key, &[]);
    let queue = TestQueue::new("addr_listen", SHARED_BROKER);
    let (_durable, durable_lines, durable_err) = listen(&brokers, &key, &["--queue", &queue]);
    let metrics_port = free_port();
    let _metrics = ChildGuard::spawn(
        without_env_settings(Command::new(binary("dl-metrics")))
            .args(["--broker", &brokers])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let db = TestDb::new();
    let table = db.table_arg();
    let log_queue = TestQueue::new("addr_log", SHARED_BROKER);
    let prefix = unique_name("addr_log");
    let mut args = logger_args(
        &pg_url(),
        &table,
        &log_queue,
        &prefix,
        &["--batch-time", "20ms"],
    );
    args.extend(["--broker".to_string(), brokers.clone()]);
    let logger = Logger::start(&args);

    assert!(answers(&endpoint, PATIENCE), "dl-serve never answered");
    assert!(heard(&key, &temporary_lines, 1), "{}", read(&temporary_err));
    assert!(heard(&key, &durable_lines, 2), "{}", read(&durable_err));
    let node_of_metrics = |node: &str| {
        node_gauge(
            &http_get(metrics_port, "/metrics").1,
            "dl_metrics_broker_info",
            node,
        ) == Some(1.0)
    };
    assert!(wait_until(PATIENCE, || node_of_metrics(&first.address())));
    let node_of_logger =
        |node: &str| node_gauge(&logger.get("/metrics").1, "dl_log_to_pg_broker_info", node);
    assert_eq!(node_of_logger(&first.address()), Some(1.0));
    publish(SHARED_BROKER, &numeric_alerts(&prefix, 0, 100));
    let count = format!("SELECT count(*) FROM {table}");
    assert!(wait_until(PATIENCE, || query_count(&pg_url(), &count) == 100));

    // The first node dies: every program goes on through the second.
    let cut_at = Instant::now();
    first.cut();
    assert!(
        answers(&endpoint, Duration::from_secs(20)),
        "dl-serve did not answer through the second address within 20 s"
    );
    let serve_back = cut_at.elapsed();
    assert!(wait_until(PATIENCE, || node_of_metrics(&second.address())));
    assert!(heard(&key, &temporary_lines, 3), "{}", read(&temporary_err));
    assert!(heard(&key, &durable_lines, 4), "{}", read(&durable_err));
    let lost_notice = "were not received";
    let temporary_text = read(&temporary_err);
    assert!(
        temporary_text.contains(&format!("reconnected to broker at {}", second.address())),
        "{temporary_text}"
    );
    assert_eq!(
        temporary_text.matches(lost_notice).count(),
        1,
        "{temporary_text}"
    );
    let durable_text = read(&durable_err);
    assert!(
        durable_text.contains("reconnected to broker at"),
        "{durable_text}"
    );
    assert!(!durable_text.contains(lost_notice), "{durable_text}");

    publish(SHARED_BROKER, &numeric_alerts(&prefix, 100, 100));
    assert!(
        wait_until(PATIENCE, || query_count(&pg_url(), &count) == 200),
        "{}",
        logger.stderr()
    );
    assert_eq!(node_of_logger(&second.address()), Some(1.0));
    assert_eq!(node_of_logger(&first.address()), None);
    eprintln!("dl-serve answered again {serve_back:?} after its node died");
}

#[test]
fn dl_serve_waits_for_its_old_queue_on_the_next_node() {
    // The programs' side of the first node's connections dies, but the broker keeps the old
    // connection, and the exclusive queue that goes with it, for another second.
    let mut first = Relay::start(SHARED_BROKER);
    let second = Relay::start(SHARED_BROKER);
    let (_serve, endpoint, dir) = serve(&format!("{},{}", first.address(), second.address()));
    assert!(answers(&endpoint, PATIENCE), "dl-serve never answered");
    first.cut_client_side();
    let held = Duration::from_secs(1);
    let stderr = dir.path().join("stderr.txt");
    assert!(
        wait_until(PATIENCE, || read(&stderr).contains("not gone yet")),
        "dl-serve never met its old queue: {}",
        read(&stderr)
    );
    std::thread::sleep(held);
    let released = Instant::now();
    first.cut();
    assert!(
        answers(&endpoint, Duration::from_secs(20)),
        "dl-serve did not take its queue on the second address: {}",
        read(&stderr)
    );
    eprintln!(
        "dl-serve answered {:?} after its old queue was released",
        released.elapsed()
    );
}
