//! Throwaway RabbitMQ and PostgreSQL instances for fault tests.
//!
//! A fault test stops and restarts the broker or the database under a running program. Doing
//! that to the machine's shared instances would break every other test running at the same
//! time (and any mesh a developer runs), so each fault test starts its own: a RabbitMQ node
//! and a PostgreSQL cluster with their own ports and data directories under the temp dir,
//! stopped and deleted when dropped. They use the same Debian packages `make services`
//! installs; start-up takes a few seconds.
//!
//! When run as root (CI, containers), the servers run as their packages' users (`rabbitmq`,
//! `postgres`), which then own the data directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::{free_port, unique_name, wait_until};

/// How long a private server may take to start or stop on a loaded 2-core machine.
const START_LIMIT: Duration = Duration::from_secs(90);

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `command` run as `user` when we are root (servers refuse to run as root), else as is.
pub(crate) fn as_user(user: &str, program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", user, "--", program]);
        command
    } else {
        Command::new(program)
    }
}

/// Give `dir` to `user` when we are root.
pub(crate) fn hand_over(dir: &Path, user: &str) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", &format!("{user}:{user}")])
            .arg(dir)
            .status()
            .expect("running chown");
        assert!(status.success(), "chown {} to {user} failed", dir.display());
    }
}

/// The output of a finished `what`; panics with its status and output unless it succeeded.
pub(crate) fn checked(what: &str, output: std::io::Result<Output>) -> Output {
    let output = output.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A RabbitMQ node of our own (guest/guest on loopback), for tests that stop the broker.
pub struct PrivateBroker {
    node: String,
    port: u16,
    dist_port: u16,
    dir: PathBuf,
}

impl PrivateBroker {
    /// Start a new node with an empty database; waits until it takes connections.
    pub fn start() -> Self {
        let node = format!("{}@localhost", unique_name("dltest"));
        let dir = std::env::temp_dir().join(unique_name("dl-rabbitmq"));
        std::fs::create_dir_all(&dir).expect("creating the broker directory");
        let port = free_port();
        let dist_port = free_port();
        // No plugins (the management plugin would want the shared node's port 15672), and a
        // listener on our own port instead of /etc/rabbitmq's 5672.
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("writing enabled_plugins");
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.local = 127.0.0.1:{port}\n"),
        )
        .expect("writing rabbitmq.conf");
        hand_over(&dir, "rabbitmq");
        let broker = PrivateBroker {
            node,
            port,
            dist_port,
            dir,
        };
        broker.start_again();
        broker
    }

    /// Start the (stopped) node again, with the queues and messages it kept on disk.
    pub fn start_again(&self) {
        let dir = &self.dir;
        checked(
            "starting a private RabbitMQ node",
            Command::new("rabbitmq-server")
                .arg("-detached")
                .env("RABBITMQ_NODENAME", &self.node)
                .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
                .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
                .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
                .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir.join("log"))
                .env("RABBITMQ_PID_FILE", dir.join("pid"))
                .output(),
        );
        // `-detached` returns before the node exists; await_startup fails until it does.
        let started = wait_until(START_LIMIT, || {
            port_open(self.port) && self.rabbitmqctl(&["await_startup"]).status.success()
        });
        assert!(
            started,
            "private RabbitMQ node {} did not start; see {}",
            self.node,
            dir.join("log").display()
        );
    }

    /// Stop the node (as `systemctl stop rabbitmq-server` would); its data stays.
    pub fn stop(&self) {
        checked(
            "stopping the private RabbitMQ node",
            Ok(self.rabbitmqctl(&["stop"])),
        );
        assert!(
            wait_until(START_LIMIT, || !port_open(self.port)),
            "private RabbitMQ node still listening after stop"
        );
    }

    /// The AMQP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/`.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/", self.port)
    }

    /// Run `rabbitmqctl -n <node> args…` (e.g. `list_queues`) and return its output.
    pub fn rabbitmqctl(&self, args: &[&str]) -> Output {
        Command::new("rabbitmqctl")
            .args(["-q", "-n", &self.node])
            .args(args)
            .output()
            .expect("running rabbitmqctl")
    }

    /// Messages ready plus unacknowledged in `queue` (None if there is no such queue).
    pub fn queue_depth(&self, queue: &str) -> Option<u64> {
        let output = self.rabbitmqctl(&["list_queues", "name", "messages", "--no-table-headers"]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                Some((fields.next()?.to_string(), fields.next()?.parse().ok()?))
            })
            .find(|(name, _)| name == queue)
            .map(|(_, depth)| depth)
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.rabbitmqctl(&["stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL cluster of our own (trust auth, user `postgres`, database `postgres`), for
/// tests that stop the database.
pub struct PrivatePostgres {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

impl PrivatePostgres {
    /// initdb a new cluster and start it; waits until it takes connections.
    pub fn start() -> Self {
        let bin = postgres_bin_dir();
        let dir = std::env::temp_dir().join(unique_name("dl-postgres"));
        std::fs::create_dir_all(&dir).expect("creating the cluster directory");
        hand_over(&dir, "postgres");
        checked(
            "initdb for a private PostgreSQL",
            as_user("postgres", bin.join("initdb").to_str().expect("utf-8 path"))
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(dir.join("data"))
                .output(),
        );
        let cluster = PrivatePostgres {
            port: free_port(),
            dir,
            bin,
        };
        cluster.start_again();
        cluster
    }

    /// Start the (stopped) cluster again, with its data.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        checked(
            "starting a private PostgreSQL",
            as_user("postgres", self.pg_ctl().to_str().expect("utf-8 path"))
                .args(["-w", "-t", "90", "-l"])
                .arg(self.dir.join("log"))
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-o", &options, "start"])
                .output(),
        );
    }

    /// Stop the cluster: `fast` (clients disconnected, clean shutdown) or `immediate` (as if it
    /// crashed; it recovers at the next start).
    pub fn stop(&self, mode: &str) {
        checked(
            "stopping the private PostgreSQL",
            as_user("postgres", self.pg_ctl().to_str().expect("utf-8 path"))
                .args(["-w", "-t", "90", "-m", mode, "-D"])
                .arg(self.dir.join("data"))
                .arg("stop")
                .output(),
        );
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgresql://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Run one psql command against `database` and return its unaligned, tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let output = checked(
            "psql on the private PostgreSQL",
            Command::new("psql")
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
                .arg(self.url(database))
                .args(["-c", sql])
                .output(),
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn pg_ctl(&self) -> PathBuf {
        self.bin.join("pg_ctl")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = as_user("postgres", self.pg_ctl().to_str().unwrap_or("pg_ctl"))
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian keeps the server programs in /usr/lib/postgresql/<major>/bin; take the newest.
fn postgres_bin_dir() -> PathBuf {
    let mut majors: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server packages in /usr/lib/postgresql (make services installs them)")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    majors.sort_unstable();
    let major = majors.last().expect("a PostgreSQL major version installed");
    PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"))
}

/// A primary and its streaming standby, for failover tests: [`PrivatePostgres::start`] for the
/// primary, then [`PrivatePostgres::start_standby_of`] it.
impl PrivatePostgres {
    /// A streaming standby of `primary`: `pg_basebackup -R` (trust, replication from loopback
    /// is in initdb's pg_hba.conf) into a data directory of its own, started on a port of its
    /// own. The primary is then made to wait for it at each commit
    /// (`synchronous_standby_names = '*'`, set after the copy so the standby does not inherit
    /// it): a commit the primary acknowledged is on the standby too, as a deployment that
    /// must lose nothing on failover has it. Waits until the primary reports it streaming
    /// and synchronous.
    pub fn start_standby_of(primary: &PrivatePostgres) -> Self {
        let dir = std::env::temp_dir().join(unique_name("dl-postgres-standby"));
        std::fs::create_dir_all(&dir).expect("creating the standby directory");
        hand_over(&dir, "postgres");
        let source = format!("host=127.0.0.1 port={} user=postgres", primary.port);
        checked(
            "pg_basebackup for a private standby",
            as_user(
                "postgres",
                primary
                    .bin
                    .join("pg_basebackup")
                    .to_str()
                    .expect("utf-8 path"),
            )
            .args([
                "-d",
                &source,
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
                "-D",
            ])
            .arg(dir.join("data"))
            .output(),
        );
        let standby = PrivatePostgres {
            port: free_port(),
            dir,
            bin: primary.bin.clone(),
        };
        standby.start_again();
        primary.psql(
            "postgres",
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
        );
        primary.psql("postgres", "SELECT pg_reload_conf()");
        let streaming = wait_until(START_LIMIT, || {
            primary.psql(
                "postgres",
                "SELECT count(*) FROM pg_stat_replication \
                 WHERE state = 'streaming' AND sync_state = 'sync'",
            ) == "1"
        });
        assert!(
            streaming,
            "the private standby never streamed; see {}",
            standby.dir.join("log").display()
        );
        standby
    }

    /// Promote this standby to a primary (`pg_ctl promote`, which waits until it takes
    /// writes).
    pub fn promote(&self) {
        checked(
            "promoting the private standby",
            as_user("postgres", self.pg_ctl().to_str().expect("utf-8 path"))
                .args(["-w", "-t", "90", "-D"])
                .arg(self.dir.join("data"))
                .arg("promote")
                .output(),
        );
    }
}
