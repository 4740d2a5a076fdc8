//! The programs on a three-node RabbitMQ cluster of our own (tests/rabbit_cluster.rs) while a
//! node is killed with `kill -9` (issue 12): the logger on a quorum queue loses and duplicates
//! nothing, and dl-serve answers again through another node, even when the cluster's clean-up
//! after the dead node deletes the queue dl-serve declared again.
//!
//! The tests share one cluster (three nodes take many seconds to start on two cores) and take
//! turns: most kill a node, and two nodes down at once would leave a quorum queue without a
//! quorum. Each works in a virtual host of its own, deleted at its end.

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use dripline_e2e::rabbit_cluster::{RabbitCluster, NODES};
use dripline_e2e::{
    binary, run, stderr_of, stdout_of, unique_name, wait_until, without_env_settings, ChildGuard,
};
use dripline_store::postgres::{Client, NoTls};
use export_support::{pg_url, TestDb};
use log_support::{numeric_alerts, Logger, PATIENCE};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Alerts published in the logger test, as the issue asks. On a 3-node cluster the stream
/// costs about 0.65 ms of CPU per alert over all processes (three nodes, two publishers, two
/// loggers, PostgreSQL; debug builds): some 130 CPU seconds, which the suite can afford (the
/// whole CI run is a few minutes).
const ALERTS: usize = 200_000;

/// The logger's batch and prefetch in the logger test: small, so that the kill lands between
/// many commits, and so that few alerts are in a logger's hands at the kill.
const BATCH: usize = 500;
const PREFETCH: usize = 1000;

/// How long dl-serve may take to answer again through another node after its node is killed.
const SERVE_MOVES_WITHIN: Duration = Duration::from_secs(15);

/// How long dl-serve may take to notice that its queue was deleted under it (by a dead node's
/// late clean-up), and declare it again: its longest interval between two checks of the queue
/// (30 s, shared/mesh's QUEUE_CHECK_CEILING), plus a margin for the set-up.
const SERVE_REDECLARES_WITHIN: Duration = Duration::from_secs(40);

/// The cluster the tests share, one test at a time. Nodes a failed test left down are started
/// again first. The process's exit stops the cluster (see RabbitCluster's watchdog).
fn cluster() -> MutexGuard<'static, RabbitCluster> {
    static CLUSTER: OnceLock<Mutex<RabbitCluster>> = OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| {
        let cluster = RabbitCluster::start();
        eprintln!(
            "cluster of {NODES} nodes started and joined in {:.1} s",
            cluster.started_in().as_secs_f64()
        );
        Mutex::new(cluster)
    });
    let cluster = cluster.lock().unwrap_or_else(PoisonError::into_inner);
    for node in 0..NODES {
        if !cluster.is_up(node) {
            cluster.restart(node);
        }
    }
    cluster
}

/// A virtual host of a test's own on the cluster, deleted (with its queues) when dropped.
struct TestVhost<'a> {
    cluster: &'a RabbitCluster,
    name: String,
}

impl<'a> TestVhost<'a> {
    fn new(cluster: &'a RabbitCluster, prefix: &str) -> Self {
        let name = unique_name(prefix);
        cluster.add_vhost(&name);
        TestVhost { cluster, name }
    }
}

impl Drop for TestVhost<'_> {
    fn drop(&mut self) {
        if let Some(node) = (0..NODES).find(|&node| self.cluster.is_up(node)) {
            let _ = self
                .cluster
                .rabbitmqctl(node, &["delete_vhost", &self.name]);
        }
    }
}

/// The broker flags of a program on the cluster: every node listed, node `first` first.
fn broker_flags(cluster: &RabbitCluster, vhost: &str, first: usize) -> Vec<String> {
    vec![
        "--broker".into(),
        cluster.broker_list(first),
        "--vhost".into(),
        vhost.into(),
    ]
}

/// Publish `lines` with `dl-alert -` (persistent, confirmed) through node `node`; the output.
fn publish_through(
    cluster: &RabbitCluster,
    vhost: &str,
    node: usize,
    lines: String,
) -> std::thread::JoinHandle<std::process::Output> {
    let mut args = broker_flags(cluster, vhost, node);
    args.push("-".into());
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("dl-alert", &args, Some(&lines))
    })
}

/// Rows in `table`, on one connection kept open for polling.
struct RowCounter {
    client: Client,
    sql: String,
}

impl RowCounter {
    fn new(table: &str) -> Self {
        RowCounter {
            client: Client::connect(&pg_url(), NoTls).expect("the test database"),
            sql: format!("SELECT count(*) FROM {table}"),
        }
    }

    fn rows(&mut self) -> i64 {
        self.client
            .query_one(&self.sql, &[])
            .expect("counting rows")
            .get(0)
    }
}

#[test]
fn the_logger_on_a_quorum_queue_loses_nothing_when_its_leader_is_killed() {
    let cluster = cluster();
    let vhost = TestVhost::new(&cluster, "cluster_log");
    let db = TestDb::new();
    let table = db.table_arg();
    let prefix = unique_name("cluster_log");
    let queue = "dl-log-to-pg";
    // Two replicas sharing the queue, connected first to different nodes.
    let logger_args = |first: usize| -> Vec<String> {
        let keys = format!("{prefix}.#");
        let mut args: Vec<String> = [
            "--pg-url",
            &pg_url(),
            "--table",
            &table,
            "--queue",
            queue,
            "--queue-type",
            "quorum",
            "--keys",
            &keys,
            "--batch-size",
            &BATCH.to_string(),
            "--prefetch",
            &PREFETCH.to_string(),
            "--batch-time",
            "20ms",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        args.extend(broker_flags(&cluster, &vhost.name, first));
        args
    };
    let loggers = [
        Logger::start(&logger_args(0)),
        Logger::start(&logger_args(1)),
    ];
    let mut leader = None;
    assert!(
        wait_until(PATIENCE, || {
            leader = cluster.queue_leader(&vhost.name, queue);
            leader.is_some()
        }),
        "the quorum queue {queue} has no leader"
    );
    let leader = leader.expect("a leader");
    // Publish through the two other nodes, half each: a publisher on the killed node would
    // not know which of its unconfirmed alerts arrived.
    let others: Vec<usize> = (0..NODES).filter(|&node| node != leader).collect();
    let half = ALERTS / 2;
    let publishers = [
        publish_through(
            &cluster,
            &vhost.name,
            others[0],
            numeric_alerts(&prefix, 0, half),
        ),
        publish_through(
            &cluster,
            &vhost.name,
            others[1],
            numeric_alerts(&prefix, half, ALERTS - half),
        ),
    ];
    let mut counter = RowCounter::new(&table);
    let started = Instant::now();
    assert!(
        wait_until(PATIENCE, || counter.rows() >= 5 * PREFETCH as i64),
        "the loggers write nothing: {}\n{}",
        loggers[0].stderr(),
        loggers[1].stderr()
    );

    let killed = Instant::now();
    cluster.kill9(leader);
    let at_kill = counter.rows();
    assert!(
        publishers.iter().any(|publisher| !publisher.is_finished()),
        "the leader was killed after the publishing had ended ({:.1} s in): use more alerts",
        started.elapsed().as_secs_f64()
    );
    // More rows than the loggers could have held at the kill need deliveries after it.
    let in_hand = (loggers.len() * PREFETCH) as i64;
    assert!(
        wait_until(PATIENCE, || counter.rows() > at_kill + in_hand),
        "no writing after the leader {} was killed: {}\n{}",
        cluster.node_name(leader),
        loggers[0].stderr(),
        loggers[1].stderr()
    );
    let resumed_after = killed.elapsed();
    let new_leader = cluster.queue_leader(&vhost.name, queue);
    cluster.restart(leader);

    for publisher in publishers {
        let output = publisher.join().expect("publisher thread");
        assert!(
            output.status.success(),
            "dl-alert failed ({}): {}",
            output.status,
            stderr_of(&output)
        );
    }
    let published_after = started.elapsed();
    let all_in = wait_until(PATIENCE, || counter.rows() >= ALERTS as i64);
    let written_after = started.elapsed();
    // Let any redelivered alert arrive before counting.
    let settled = wait_until(PATIENCE, || {
        loggers
            .iter()
            .all(|logger| logger.metric("waiting_alerts") == Some(0.0))
    });
    let mut client = Client::connect(&pg_url(), NoTls).expect("the test database");
    let row = client
        .query_one(
            &format!("SELECT count(*), count(DISTINCT value_raw) FROM {table}"),
            &[],
        )
        .expect("counting");
    let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
    let redelivered: f64 = loggers
        .iter()
        .filter_map(|logger| logger.metric("duplicates_total"))
        .sum();
    let lost = ALERTS as i64 - distinct;
    let duplicated = rows - distinct;
    eprintln!(
        "quorum queue, leader {} killed with kill -9 {:.1} s into the stream ({at_kill} rows \
         written), new leader {:?}: {ALERTS} alerts published, {rows} rows, lost {lost}, \
         duplicated {duplicated} (redelivered and stored once: {redelivered}), writing resumed \
         after {:.1} s; all published after {:.1} s, all written after {:.1} s",
        cluster.node_name(leader),
        (killed - started).as_secs_f64(),
        new_leader.map(|node| cluster.node_name(node)),
        resumed_after.as_secs_f64(),
        published_after.as_secs_f64(),
        written_after.as_secs_f64()
    );
    assert!(
        all_in && settled,
        "{}\n{}",
        loggers[0].stderr(),
        loggers[1].stderr()
    );
    assert_eq!(lost, 0, "alerts lost");
    assert_eq!(duplicated, 0, "alerts stored twice");
}

/// dl-serve's config: one service with one KeyValueStore endpoint worth 0.75.
fn serve_config(service: &str, endpoint: &str) -> String {
    format!(
        "name: {service}\n\
         module: Service\n\
         endpoints:\n\
         \x20 - name: {endpoint}\n\
         \x20   module: KeyValueStore\n\
         \x20   initial_value: 0.75\n"
    )
}

/// `dl-get endpoint` on the cluster, connected first to node `first`, with a short timeout.
fn dl_get(cluster: &RabbitCluster, vhost: &str, first: usize, endpoint: &str) -> bool {
    let mut args = broker_flags(cluster, vhost, first);
    args.extend(["-t", "2s", endpoint].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run("dl-get", &args, None);
    output.status.success() && stdout_of(&output).contains("0.75")
}

/// dl-serve with one service (its queue named after it) on the cluster, connected first to
/// node 0, answering.
struct ServeOnCluster {
    _serve: ChildGuard,
    service: String,
    endpoint: String,
    stderr_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ServeOnCluster {
    fn start(cluster: &RabbitCluster, vhost: &str) -> Self {
        let dir = dripline_e2e::temp_dir("cluster-serve");
        let service = unique_name("cluster_service");
        let endpoint = unique_name("cluster_value");
        let config = dir.path().join("service.yaml");
        std::fs::write(&config, serve_config(&service, &endpoint)).expect("writing the config");
        let stderr_path = dir.path().join("stderr");
        let serve = ChildGuard::spawn(
            without_env_settings(Command::new(binary("dl-serve")))
                .arg("-c")
                .arg(&config)
                .args(broker_flags(cluster, vhost, 0))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr_path).expect("stderr file")),
        );
        let serve = ServeOnCluster {
            _serve: serve,
            service,
            endpoint,
            stderr_path,
            _dir: dir,
        };
        assert!(
            wait_until(PATIENCE, || dl_get(cluster, vhost, 0, &serve.endpoint)),
            "dl-serve never answered: {}",
            serve.stderr()
        );
        serve
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

#[test]
fn dl_serve_answers_through_another_node_when_its_node_is_killed() {
    let cluster = cluster();
    let vhost = TestVhost::new(&cluster, "cluster_serve");
    let serve = ServeOnCluster::start(&cluster, &vhost.name);
    let endpoint = &serve.endpoint;
    let serve_stderr = || serve.stderr();

    // Its node dies: it answers through another within the bound.
    let killed = Instant::now();
    cluster.kill9(0);
    let answered = wait_until(SERVE_MOVES_WITHIN, || {
        dl_get(&cluster, &vhost.name, 1, endpoint)
    });
    eprintln!(
        "dl-serve answered through another node {:.1} s after its node was killed",
        killed.elapsed().as_secs_f64()
    );
    assert!(
        answered,
        "dl-serve did not answer within {SERVE_MOVES_WITHIN:?} of its node's death: {}",
        serve_stderr()
    );
    // It was on the killed node (not already elsewhere): it lost its connection.
    assert!(
        serve_stderr().contains("reconnecting"),
        "dl-serve never lost its connection: {}",
        serve_stderr()
    );

    // Only the last node up: dl-get with all three listed (dead ones first) still answers.
    let killed = Instant::now();
    cluster.kill9(1);
    let answered = wait_until(SERVE_MOVES_WITHIN, || {
        dl_get(&cluster, &vhost.name, 0, endpoint)
    });
    eprintln!(
        "dl-serve answered through the last node {:.1} s after the second kill",
        killed.elapsed().as_secs_f64()
    );
    assert!(
        answered,
        "no answer with one node of three up: {}",
        serve_stderr()
    );
    cluster.restart(0);
    cluster.restart(1);
}

/// After a node's death, each surviving node deletes the dead node's transient queues by name,
/// in a transaction of its own: a queue dl-serve declared again meanwhile (same name) can go
/// with them, bindings and all, while dl-serve consumes it, and no request reaches it any
/// more. Here that deletion is done by hand, so it happens every time, without a kill.
#[test]
fn dl_serve_declares_its_queue_again_when_a_clean_up_deletes_it() {
    let cluster = cluster();
    let vhost = TestVhost::new(&cluster, "cluster_requeue");
    let serve = ServeOnCluster::start(&cluster, &vhost.name);

    // Timed from the end of the deletion: the CLI's own start (an Erlang VM) is no part of it.
    cluster.delete_queue_record(&vhost.name, &serve.service);
    let deleted = Instant::now();
    let answered = wait_until(SERVE_REDECLARES_WITHIN, || {
        dl_get(&cluster, &vhost.name, 0, &serve.endpoint)
    });
    assert!(
        answered,
        "dl-serve did not declare its queue again within {SERVE_REDECLARES_WITHIN:?}: {}",
        serve.stderr()
    );
    eprintln!(
        "dl-serve answered {:.1} s after its queue was deleted under it",
        deleted.elapsed().as_secs_f64()
    );
}
