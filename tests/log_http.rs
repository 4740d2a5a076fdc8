//! dl-log-to-pg's metrics endpoint under hostile clients (issue 10): a client that sends one
//! byte a second is cut off, an oversized request is refused, and running out of file
//! descriptors makes the listener pause rather than spin a core; it answers again after.
//! The logger runs with --stdin (held open) so that no broker is needed.

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use dripline_e2e::{binary, free_port, wait_until, without_env_settings, ChildGuard};
use export_support::{pg_url, TestDb};
use log_support::http_get;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A logger reading a stdin that stays open, serving metrics on its own port.
struct Serving {
    process: ChildGuard,
    port: u16,
    _db: TestDb,
}

impl Serving {
    fn start() -> Serving {
        let db = TestDb::new();
        let port = free_port();
        let process = ChildGuard::spawn(
            without_env_settings(Command::new(binary("dl-log-to-pg")))
                .args(["--stdin", "--pg-url", &pg_url(), "--table", &db.table_arg()])
                .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        assert!(
            wait_until(Duration::from_secs(60), || http_get(port, "/healthz").0
                == 200),
            "the metrics endpoint never answered"
        );
        Serving {
            process,
            port,
            _db: db,
        }
    }

    fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// CPU time used so far (user + system), in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        // Fields after the command name (which is in parentheses): utime is the 12th, stime
        // the 13th.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }
}

#[test]
fn a_client_sending_one_byte_a_second_is_cut_off_while_others_are_served() {
    let serving = Serving::start();
    let mut slow = TcpStream::connect(("127.0.0.1", serving.port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut cut_off = None;
    for byte in request.iter().cycle().take(30) {
        if slow.write_all(&[*byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        let mut buffer = [0u8; 64];
        match slow.read(&mut buffer) {
            Ok(0) | Err(_) if started.elapsed() > Duration::from_secs(30) => break,
            Ok(0) => {
                cut_off = Some(started.elapsed());
                break;
            }
            Ok(_) => panic!("an answer to a request that never finished"),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                cut_off = Some(started.elapsed());
                break;
            }
            Err(_) => {}
        }
        // Another client is served meanwhile.
        assert_eq!(http_get(serving.port, "/healthz").0, 200);
        std::thread::sleep(Duration::from_millis(900));
    }
    let cut_off = cut_off.expect("the slow client was never cut off");
    assert!(
        cut_off < Duration::from_secs(4),
        "cut off after {cut_off:?}"
    );
}

#[test]
fn an_oversized_request_is_refused() {
    let serving = Serving::start();
    let mut client = TcpStream::connect(("127.0.0.1", serving.port)).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "GET /metrics HTTP/1.1\r\nX-Filler: {}\r\n",
        "x".repeat(20_000)
    );
    let _ = client.write_all(head.as_bytes());
    let mut response = String::new();
    let _ = client.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 431"), "{response:.200}");
    assert_eq!(http_get(serving.port, "/healthz").0, 200);
}

#[test]
fn out_of_file_descriptors_the_listener_pauses_instead_of_spinning() {
    let serving = Serving::start();
    let pid = serving.pid();
    // Leave two free descriptors: a new one gets the lowest free number, which must be
    // below the limit.
    let open: std::collections::BTreeSet<u32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd list")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .collect();
    let lowest_free = (0..).find(|fd| !open.contains(fd)).expect("a free number");
    let limit = (lowest_free + 2).to_string();
    let status = Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={limit}:{limit}"),
        ])
        .status()
        .expect("prlimit");
    assert!(status.success());
    // Idle clients: the first ones take the free descriptors (until the head timeout), the
    // others wait in the backlog, and each accept fails with "too many open files".
    let clients: Vec<TcpStream> = (0..30)
        .map(|_| TcpStream::connect(("127.0.0.1", serving.port)).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = serving.cpu_ticks();
    std::thread::sleep(Duration::from_secs(3));
    let used = serving.cpu_ticks() - before;
    eprintln!("{used} clock ticks of CPU in 3 s while out of descriptors");
    // A spinning accept loop uses a whole core: about 300 ticks in 3 s.
    assert!(
        used < 60,
        "{used} clock ticks of CPU in 3 s while out of descriptors"
    );
    drop(clients);
    assert!(
        wait_until(Duration::from_secs(20), || http_get(
            serving.port,
            "/healthz"
        )
        .0 == 200),
        "no answer once descriptors are free again"
    );
}
