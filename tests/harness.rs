//! Shared helpers for the end-to-end tests: where the built programs are, unique names so
//! tests never collide with each other or with a running mesh, and child processes that are
//! killed when a test ends (even by a failed assertion).

pub mod private_services;
pub mod rabbit_cluster;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The path of a built program of this workspace (`dl-get`, `dl-serve`, …), next to the
/// test executable's profile directory (`target/<profile>/`). `make test` builds them first.
pub fn binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test executable path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` (make test does) first",
        path.display()
    );
    path
}

/// A name no other test or service uses: `prefix_<8 hex digits>`.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..8])
}

/// Run `body` with a channel on the broker at 127.0.0.1:`port` (guest/guest), on a throwaway
/// runtime, for tests that declare, publish or inspect by hand; the connection is closed after.
pub fn on_broker_channel<T>(
    port: u16,
    body: impl AsyncFnOnce(&lapin::Channel) -> Result<T, lapin::Error>,
) -> Result<T, lapin::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
        let connection =
            lapin::Connection::connect(&url, lapin::ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        let result = body(&channel).await;
        let _ = connection.close(200, "bye".into()).await;
        result
    })
}

/// A free TCP port on loopback (free when asked; whoever needs it binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// A child process that is killed and reaped when dropped.
pub struct ChildGuard {
    /// The child.
    pub child: Child,
}

impl ChildGuard {
    /// Start `command` (its stdio as the caller set it up).
    pub fn spawn(command: &mut Command) -> Self {
        let child = command.spawn().expect("spawning a child process");
        ChildGuard { child }
    }

    /// Send SIGTERM and wait up to `limit` for the exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        self.signal("TERM", limit)
    }

    /// Send the signal `name` (`INT`, `TERM`, …) and wait up to `limit` for the exit status.
    pub fn signal(&mut self, name: &str, limit: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([format!("-{name}").as_str(), &pid])
            .status();
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment variables the programs read their settings from (broker, database, TLS,
/// timeout, logging). Tests give the programs their settings as flags, so none of these may
/// leak in from a developer's shell.
const SETTINGS_ENV: &[&str] = &[
    "DRIPLINE_BROKER",
    "DRIPLINE_BROKER_PORT",
    "DRIPLINE_AMQP_URL",
    "DRIPLINE_USER",
    "DRIPLINE_PASSWORD",
    "DRIPLINE_TIMEOUT",
    "DATABASE_URL",
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGTARGETSESSIONATTRS",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "RUST_LOG",
];

/// `command` without any of the settings the programs read from the environment.
pub fn without_env_settings(mut command: Command) -> Command {
    for name in SETTINGS_ENV {
        command.env_remove(name);
    }
    command
}

/// Run `command` with optional stdin text (none: stdin is empty); collect stdout and stderr.
pub fn run_command(command: &mut Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {:?}: {e}", command.get_program()));
    if let Some(text) = stdin {
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(text.as_bytes()).expect("writing stdin");
    }
    child.wait_with_output().expect("waiting for the program")
}

/// Run a built program with `args` and optional stdin text, without settings from the
/// environment; collect its output.
pub fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Output {
    run_command(
        without_env_settings(Command::new(binary(program))).args(args),
        stdin,
    )
}

/// Assert that a finished `what` succeeded, showing its status and output if not; its stdout.
pub fn assert_succeeded(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        stdout_of(output),
        stderr_of(output)
    );
    stdout_of(output)
}

/// stdout of a finished program as text.
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr of a finished program as text.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Poll `check` every 50 ms until it is true or `limit` passes; true when it became true.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `relative` (e.g. `examples/pipelines`) in the repository this test package belongs to.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository root")
        .join(relative)
}

/// The lines a child writes to `pipe` (its stdout or stderr), as they come, on a channel read
/// with a timeout (`recv_timeout`); a thread forwards them until the pipe closes.
pub fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Every file under `dir`, as paths relative to it (`dl-get.1`, `bash/dl-get`); empty when
/// `dir` does not exist.
pub fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&relative)) else {
            continue;
        };
        for entry in entries.filter_map(|entry| entry.ok()) {
            let path = relative.join(entry.file_name());
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pending.push(path);
            } else {
                found.insert(path.to_string_lossy().into_owned());
            }
        }
    }
    found
}

/// A fresh directory under the system's temporary directory, named after `prefix`, removed
/// (with everything in it) when the returned guard drops.
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-"))
        .tempdir()
        .expect("creating a temporary directory")
}
