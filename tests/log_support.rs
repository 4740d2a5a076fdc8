//! Helpers for the dl-log-to-pg end-to-end tests (included with `#[path]`): a logger process
//! with its metrics endpoint, alerts published with dl-alert, and row counts.

#![allow(dead_code)]

use dripline_e2e::{
    binary, free_port, on_broker_channel, run, wait_until, without_env_settings, ChildGuard,
};
use dripline_store::postgres::{Client, NoTls};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long the tests wait for rows on a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// A running dl-log-to-pg, its stderr in a file, its metrics on a port of its own.
pub struct Logger {
    /// The process.
    pub process: ChildGuard,
    /// Where its stderr goes.
    pub stderr_path: PathBuf,
    /// Its `--metrics-addr` port.
    pub port: u16,
}

impl Logger {
    /// Start `dl-log-to-pg args…` with `--metrics-addr` and `-v`; nothing from the environment.
    pub fn start(args: &[impl AsRef<std::ffi::OsStr>]) -> Logger {
        let port = free_port();
        let stderr_path =
            std::env::temp_dir().join(dripline_e2e::unique_name("dl-log-to-pg-stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let process = ChildGuard::spawn(
            without_env_settings(Command::new(binary("dl-log-to-pg")))
                .args(args)
                .args(["--metrics-addr", &format!("127.0.0.1:{port}"), "-v"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr),
        );
        let logger = Logger {
            process,
            stderr_path,
            port,
        };
        assert!(
            wait_until(PATIENCE, || logger.get("/readyz").0 == 200),
            "dl-log-to-pg never became ready: {}",
            logger.stderr()
        );
        logger
    }

    /// `GET path` on the metrics port: (status, body); (0, "") when nothing answers.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
    }

    /// The value of an unlabelled metric (`dl_log_to_pg_<name>`).
    pub fn metric(&self, name: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics");
        let prefix = format!("dl_log_to_pg_{name} ");
        body.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.trim().parse().ok())
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, and its exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        self.process.terminate(PATIENCE)
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(&mut self) {
        let _ = self.process.child.kill();
        let _ = self.process.child.wait();
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

/// dl-log-to-pg's flags for a test: the database at `url`, `table`, its own `queue` bound to
/// `<prefix>.#`, then `extra`.
pub fn logger_args(
    url: &str,
    table: &str,
    queue: &str,
    prefix: &str,
    extra: &[&str],
) -> Vec<String> {
    let keys = format!("{prefix}.#");
    [
        "--pg-url", url, "--table", table, "--queue", queue, "--keys", &keys,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(String::from)
    .collect()
}

/// Publish JSON lines (`{"routing_key", "payload", …}`) with `dl-alert -` (persistent), on
/// the broker at `port`; panics unless every alert was confirmed.
pub fn publish(port: u16, lines: &str) {
    let output = run("dl-alert", &["-p", &port.to_string(), "-"], Some(lines));
    assert!(
        output.status.success(),
        "dl-alert failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `count` alerts `{"value_raw": i, "value_cal": 2i}` for sensors `<prefix>.s0 … s9`, numbered
/// from `first`, as dl-alert input lines.
pub fn numeric_alerts(prefix: &str, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| {
            format!(
                "{{\"routing_key\":\"{prefix}.s{}\",\"payload\":{{\"value_raw\":{i},\"value_cal\":{}}}}}\n",
                i % 10,
                2 * i
            )
        })
        .collect()
}

/// One number from SQL on the database at `url`.
pub fn query_count(url: &str, sql: &str) -> i64 {
    let mut client = Client::connect(url, NoTls).unwrap_or_else(|e| panic!("{url}: {e}"));
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Like [`query_count`], but `None` while the database is unreachable or the query fails.
pub fn try_count(url: &str, sql: &str) -> Option<i64> {
    let mut client = Client::connect(url, NoTls).ok()?;
    client.query_one(sql, &[]).ok().map(|row| row.get(0))
}

/// A queue name of a test's own on the broker at `port`; the logger's queue, its `.dead`
/// queue and `.dead` exchange are deleted when dropped. Derefs to the name.
pub struct TestQueue {
    name: String,
    port: u16,
}

impl TestQueue {
    /// A unique name `<prefix>_<hex>`.
    pub fn new(prefix: &str, port: u16) -> Self {
        TestQueue {
            name: dripline_e2e::unique_name(prefix),
            port,
        }
    }
}

impl std::ops::Deref for TestQueue {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for TestQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Drop for TestQueue {
    fn drop(&mut self) {
        let dead = format!("{}.dead", self.name);
        // Best effort: a drop must not panic (it may run while a failed test unwinds).
        let _ = on_broker_channel(self.port, async |channel| {
            for queue in [&self.name, &dead] {
                channel
                    .queue_delete(queue.as_str().into(), Default::default())
                    .await?;
            }
            channel
                .exchange_delete(dead.as_str().into(), Default::default())
                .await
        });
    }
}

/// `GET path` on 127.0.0.1:`port`: (status, body); (0, "") when nothing answers.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}
