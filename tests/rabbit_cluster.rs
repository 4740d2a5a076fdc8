//! A three-node RabbitMQ cluster of our own on loopback, for tests that kill a broker node.
//!
//! Each node has its own name (`rabbit-<id>-<n>@localhost`), AMQP and distribution ports, data
//! and log directories, and enabled-plugins file (an empty list: the machine's own broker
//! enables the management plugin, which would want its port 15672 on every node); the three
//! share an Erlang cookie of their own (in a HOME of their own, which the CLI tools use too),
//! so neither the shared node nor another test's cluster can join them. Nodes 2 and 3 join node
//! 1 with `rabbitmqctl join_cluster`, as an operator would. The machine's one epmd (port 4369)
//! serves every node; the unique names keep them apart. Everything is killed and deleted when
//! the cluster is dropped, or, for a cluster never dropped (a `static` shared by the tests of a
//! file) or a test process killed, by a watchdog once the test process has gone.
//!
//! The nodes run the Debian package's scripts from /usr/lib/rabbitmq/bin (the /usr/sbin
//! wrappers switch to the `rabbitmq` user with `su`, which would reset HOME and so the cookie);
//! as root (CI, containers) they run as `rabbitmq`, which then owns the directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::private_services::{as_user, checked, hand_over, port_open};
use crate::{free_port, wait_until};

/// Nodes in the cluster: the public RabbitMQ chart's replica count, and the smallest quorum
/// that survives the loss of one node.
pub const NODES: usize = 3;

/// How long a node may take to start, stop or join on a loaded 2-core machine.
const START_LIMIT: Duration = Duration::from_secs(120);

/// The Debian package's RabbitMQ scripts, run directly (see the module comment).
const RABBIT_BIN: &str = "/usr/lib/rabbitmq/bin";

/// Erlang VM flags for every node: no busy-waiting schedulers, which on a shared 2-core
/// machine would burn the CPU the programs under test need.
const ERL_ARGS: &str = "+sbwt none +sbwtdcpu none +sbwtdio none";

/// The watchdog's script (`sh -c SCRIPT sh DIR`): once its stdin ends (the test process closed
/// it or exited, however), kill every node whose pid file is in DIR and delete DIR. It ignores
/// the Ctrl-C meant for the test run; the detached nodes do not see it.
const WATCHDOG: &str = r#"trap '' INT TERM HUP
cat >/dev/null
for pid_file in "$1"/node*/pid; do
  [ -f "$pid_file" ] && kill -9 "$(cat "$pid_file")"
done
rm -rf "$1""#;

struct Node {
    name: String,
    port: u16,
    dist_port: u16,
    dir: PathBuf,
}

/// A running three-node RabbitMQ cluster (guest/guest on loopback).
pub struct RabbitCluster {
    dir: PathBuf,
    nodes: Vec<Node>,
    started_in: Duration,
    watchdog: Child,
}

impl RabbitCluster {
    /// Start three nodes, join them into one cluster, and wait until all run.
    pub fn start() -> Self {
        let started = Instant::now();
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let dir = std::env::temp_dir().join(format!("dl-rabbit-cluster-{id}"));
        let home = dir.join("home");
        std::fs::create_dir_all(&home).expect("creating the cluster directory");
        let cookie = home.join(".erlang.cookie");
        std::fs::write(&cookie, uuid::Uuid::new_v4().simple().to_string())
            .expect("writing the Erlang cookie");
        // Erlang refuses a cookie file others can read.
        set_mode(&cookie, 0o400);
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("writing enabled_plugins");
        let nodes: Vec<Node> = (1..=NODES)
            .map(|n| {
                let node_dir = dir.join(format!("node{n}"));
                std::fs::create_dir_all(&node_dir).expect("creating a node directory");
                let port = free_port();
                std::fs::write(
                    node_dir.join("rabbitmq.conf"),
                    format!("listeners.tcp.local = 127.0.0.1:{port}\n"),
                )
                .expect("writing rabbitmq.conf");
                Node {
                    name: format!("rabbit-{id}-{n}@localhost"),
                    port,
                    dist_port: free_port(),
                    dir: node_dir,
                }
            })
            .collect();
        hand_over(&dir, "rabbitmq");
        let watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "sh"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the cluster's watchdog");
        let mut cluster = RabbitCluster {
            dir,
            nodes,
            started_in: Duration::ZERO,
            watchdog,
        };
        // The three boot side by side; the others join node 1 one at a time (two joins at
        // once would both change the cluster's membership), the rest side by side: each CLI
        // call costs an Erlang VM's start.
        for node in 0..NODES {
            cluster.launch(node);
        }
        cluster.on_each(0..NODES, |node| cluster.await_startup(node));
        cluster.on_each(1..NODES, |node| {
            cluster.ctl_checked(node, &["stop_app"]);
        });
        let first = cluster.nodes[0].name.clone();
        for node in 1..NODES {
            cluster.ctl_checked(node, &["join_cluster", &first]);
        }
        cluster.on_each(1..NODES, |node| {
            cluster.ctl_checked(node, &["start_app"]);
        });
        cluster.started_in = started.elapsed();
        cluster
    }

    /// How long [`start`](Self::start) took, from nothing to three joined, running nodes.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The AMQP port of node `node` (0, 1 or 2) on 127.0.0.1.
    pub fn port(&self, node: usize) -> u16 {
        self.nodes[node].port
    }

    /// The AMQP ports of every node, in node order.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|node| node.port).collect()
    }

    /// Every node as a `--broker` list (`127.0.0.1:P,…`), node `first` first, then the others in
    /// order after it.
    pub fn broker_list(&self, first: usize) -> String {
        (0..NODES)
            .map(|i| format!("127.0.0.1:{}", self.nodes[(first + i) % NODES].port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The Erlang name of node `node` (`rabbit-<id>-<n>@localhost`).
    pub fn node_name(&self, node: usize) -> &str {
        &self.nodes[node].name
    }

    /// Whether node `node` takes AMQP connections.
    pub fn is_up(&self, node: usize) -> bool {
        port_open(self.nodes[node].port)
    }

    /// `kill -9` node `node`'s Erlang VM (its OS process), as a crash or a lost machine would;
    /// returns once its AMQP port is closed and the process is gone. Its data stays.
    pub fn kill9(&self, node: usize) {
        let pid = self
            .pid(node)
            .unwrap_or_else(|| panic!("no pid file for {}", self.nodes[node].name));
        checked(
            "kill -9 of a cluster node",
            Command::new("kill").args(["-9", &pid.to_string()]).output(),
        );
        assert!(
            wait_until(START_LIMIT, || !process_alive(pid) && !self.is_up(node)),
            "{} still running after kill -9",
            self.nodes[node].name
        );
        // Its successor writes a new one; a stale pid must not be killed later.
        let _ = std::fs::remove_file(self.pid_file(node));
    }

    /// Start node `node` again (after [`kill9`](Self::kill9)) with its data: it rejoins the
    /// cluster. Returns once it runs.
    pub fn restart(&self, node: usize) {
        self.launch(node);
        self.await_startup(node);
    }

    /// The index of the node that leads quorum queue `queue` in `vhost`, as the cluster says;
    /// `None` while it has no leader, or no such queue.
    pub fn queue_leader(&self, vhost: &str, queue: &str) -> Option<usize> {
        let output = self.ctl_on_any(&[
            "list_queues",
            "-p",
            vhost,
            "name",
            "leader",
            "--no-table-headers",
        ])?;
        let leader = String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|line| {
                let mut fields = line.split_whitespace();
                (fields.next()? == queue).then(|| fields.next().map(str::to_string))?
            })?;
        self.nodes.iter().position(|node| node.name == leader)
    }

    /// Delete the record of transient queue `queue` in `vhost`, and its bindings, but not the
    /// queue's process nor its consumers: what a surviving node's clean-up after another
    /// node's death does to a queue of the dead node's that a client declared again meanwhile
    /// (RabbitMQ 3.10's `rabbit_amqqueue:delete_queue/1`, which deletes by name; see
    /// shared/mesh's QUEUE_CHECK_FIRST). Runs on the first running node; fails when there is
    /// no such queue.
    pub fn delete_queue_record(&self, vhost: &str, queue: &str) {
        let node = self.any_up().expect("a running node");
        let resource = format!(
            "rabbit_misc:r(<<\"{}\">>, queue, <<\"{}\">>)",
            erlang_binary_text(vhost),
            erlang_binary_text(queue)
        );
        let output = self.ctl_checked(
            node,
            &[
                "eval",
                &format!(
                    "Q = {resource}, rabbit_misc:execute_mnesia_transaction(fun() -> \
                     [_] = mnesia:read(rabbit_queue, Q), \
                     ok = mnesia:delete({{rabbit_queue, Q}}), \
                     rabbit_binding:remove_transient_for_destination(Q) end), ok."
                ),
            ],
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "ok",
            "deleting the record of queue {queue}"
        );
    }

    /// Create virtual host `vhost` and give guest every permission on it.
    pub fn add_vhost(&self, vhost: &str) {
        let node = self.any_up().expect("a running node");
        self.ctl_checked(node, &["add_vhost", vhost]);
        self.ctl_checked(
            node,
            &["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        );
    }

    /// Run `rabbitmqctl -q -n <node> args…` with the cluster's cookie; its output.
    pub fn rabbitmqctl(&self, node: usize, args: &[&str]) -> Output {
        self.rabbit_command("rabbitmqctl")
            .args(["-q", "-n", &self.nodes[node].name])
            .args(args)
            .output()
            .expect("running rabbitmqctl")
    }

    /// `rabbitmqctl` on the first running node; `None` when none runs or the command failed.
    fn ctl_on_any(&self, args: &[&str]) -> Option<Output> {
        let output = self.rabbitmqctl(self.any_up()?, args);
        output.status.success().then_some(output)
    }

    fn any_up(&self) -> Option<usize> {
        (0..NODES).find(|&node| self.is_up(node))
    }

    fn ctl_checked(&self, node: usize, args: &[&str]) -> Output {
        checked(
            &format!(
                "rabbitmqctl {} on {}",
                args.join(" "),
                self.nodes[node].name
            ),
            Ok(self.rabbitmqctl(node, args)),
        )
    }

    /// A RabbitMQ script (`rabbitmq-server`, `rabbitmqctl`) as the `rabbitmq` user (when root)
    /// with the cluster's HOME, hence its cookie.
    fn rabbit_command(&self, script: &str) -> Command {
        let mut command = as_user("rabbitmq", "env");
        command
            .arg(format!("HOME={}", self.dir.join("home").display()))
            .arg(Path::new(RABBIT_BIN).join(script))
            .current_dir(&self.dir);
        command
    }

    /// `step` for each of `nodes`, side by side; a panic in one is a panic here.
    fn on_each(&self, nodes: std::ops::Range<usize>, step: impl Fn(usize) + Sync) {
        std::thread::scope(|scope| {
            for node in nodes {
                let step = &step;
                scope.spawn(move || step(node));
            }
        });
    }

    /// `rabbitmq-server -detached` for node `node` (returns before the node runs).
    fn launch(&self, node: usize) {
        let Node {
            name,
            dist_port,
            dir,
            ..
        } = &self.nodes[node];
        checked(
            "starting a cluster node",
            self.rabbit_command("rabbitmq-server")
                .arg("-detached")
                .env("RABBITMQ_NODENAME", name)
                .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
                .env(
                    "RABBITMQ_ENABLED_PLUGINS_FILE",
                    self.dir.join("enabled_plugins"),
                )
                .env("RABBITMQ_DIST_PORT", dist_port.to_string())
                .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir.join("log"))
                .env("RABBITMQ_PID_FILE", self.pid_file(node))
                .env("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", ERL_ARGS)
                .output(),
        );
    }

    /// Wait until node `node` has booted. The CLI fails at once while the node is not yet
    /// registered with epmd, so it is asked only once the AMQP port is open (late in the boot).
    fn await_startup(&self, node: usize) {
        let Node {
            name, port, dir, ..
        } = &self.nodes[node];
        let started = wait_until(START_LIMIT, || {
            port_open(*port) && self.rabbitmqctl(node, &["await_startup"]).status.success()
        });
        assert!(
            started,
            "cluster node {name} did not start in {START_LIMIT:?}; see {}",
            dir.join("log").display()
        );
    }

    fn pid_file(&self, node: usize) -> PathBuf {
        self.nodes[node].dir.join("pid")
    }

    fn pid(&self, node: usize) -> Option<u32> {
        std::fs::read_to_string(self.pid_file(node))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for RabbitCluster {
    fn drop(&mut self) {
        // Best effort, and fast: the data goes anyway. A drop must not panic. A node without a
        // pid file (still booting) is stopped politely; the watchdog kills the others.
        for node in 0..NODES {
            if self.pid(node).is_none() && self.is_up(node) {
                let _ = self.rabbitmqctl(node, &["stop"]);
            }
        }
        drop(self.watchdog.stdin.take());
        let _ = self.watchdog.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether process `pid` runs (a zombie left for a parent to reap does not).
fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // The state follows the command name, which is in parentheses.
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            state != Some(Some('Z'))
        })
        .unwrap_or(false)
}

/// `text` for the inside of an Erlang binary literal `<<"…">>`.
fn erlang_binary_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .expect("setting a file's mode");
}
