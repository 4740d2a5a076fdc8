//! What the logger counts, as Prometheus metrics, and whether it is healthy.

use dripline_metrics::text::{Kind, Text, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Upper bounds (seconds) of the batch commit latency histogram.
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What `/readyz` checks.
#[derive(Clone, Copy)]
pub struct ReadinessRule {
    /// Whether the broker connection counts (not with `--stdin`).
    pub needs_broker: bool,
    /// How long alerts may wait with nothing committed.
    pub stall: Duration,
}

/// The metrics with the rule `/readyz` applies: what the HTTP endpoint serves.
pub struct Readiness {
    metrics: Arc<Metrics>,
    rule: ReadinessRule,
}

impl Readiness {
    /// Serve `metrics`, ready by `rule`.
    pub fn new(metrics: Arc<Metrics>, rule: ReadinessRule) -> Self {
        Readiness { metrics, rule }
    }
}

impl dripline_metrics::Exposition for Readiness {
    fn render(&self) -> String {
        self.metrics.render()
    }

    fn readiness(&self) -> Result<(), String> {
        self.metrics
            .readiness(self.rule.needs_broker, self.rule.stall)
    }
}

/// Counters and gauges, shared by the consuming and writing tasks and the HTTP endpoint.
#[derive(Default)]
pub struct Metrics {
    received: AtomicU64,
    written: AtomicU64,
    duplicates: AtomicU64,
    dead_lettered: AtomicU64,
    batches: AtomicU64,
    broker_reconnects: AtomicU64,
    database_reconnects: AtomicU64,
    broker_connected: AtomicBool,
    database_connected: AtomicBool,
    broker_ever_up: AtomicBool,
    database_ever_up: AtomicBool,
    /// Alerts received and not yet acknowledged (or, from stdin, not yet written).
    waiting: AtomicU64,
    /// Seconds between the newest committed alert's timestamp and its commit, as f64 bits.
    lag_seconds: AtomicU64,
    latency: Mutex<Histogram>,
    last_progress: Mutex<Option<Instant>>,
    /// The broker node consumed from, `host:port`; `None` while disconnected.
    broker_node: Mutex<Option<String>>,
    /// The database server last connected to (`host:port`), for the info metric.
    database_server: Mutex<Option<String>>,
}

#[derive(Default)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The two connections whose state the logger reports.
#[derive(Clone, Copy, Debug)]
pub enum Link {
    /// RabbitMQ.
    Broker,
    /// PostgreSQL.
    Database,
}

impl Metrics {
    /// Alerts arrived.
    pub fn received(&self, alerts: u64) {
        self.received.fetch_add(alerts, Relaxed);
        self.waiting.fetch_add(alerts, Relaxed);
    }

    /// Alerts dropped before being settled (a lost broker connection will redeliver them).
    pub fn abandoned(&self, alerts: u64) {
        self.waiting
            .fetch_sub(alerts.min(self.waiting.load(Relaxed)), Relaxed);
    }

    /// A batch committed: rows new and already present, how long the commit took, and the
    /// newest alert time among its rows.
    pub fn committed(
        &self,
        inserted: u64,
        duplicates: u64,
        took: Duration,
        newest: Option<chrono::DateTime<chrono::Utc>>,
    ) {
        self.written.fetch_add(inserted, Relaxed);
        self.duplicates.fetch_add(duplicates, Relaxed);
        self.batches.fetch_add(1, Relaxed);
        if let Some(newest) = newest {
            let lag = (chrono::Utc::now() - newest).as_seconds_f64().max(0.0);
            self.lag_seconds.store(lag.to_bits(), Relaxed);
        }
        let seconds = took.as_secs_f64();
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        for (bound, count) in LATENCY_BUCKETS.iter().zip(latency.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        latency.count += 1;
        latency.sum += seconds;
    }

    /// Alerts settled (acknowledged after commit or dead-lettering): progress was made.
    pub fn settled(&self, alerts: u64) {
        self.abandoned(alerts);
        *self.last_progress.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Alerts passed to the dead-letter queue (or, from stdin, reported and skipped).
    pub fn dead_lettered(&self, alerts: u64) {
        self.dead_lettered.fetch_add(alerts, Relaxed);
    }

    /// A connection came up (`true`) or went down. Coming up again after the first time
    /// counts as a reconnect.
    pub fn link(&self, link: Link, up: bool) {
        let (connected, ever_up, reconnects) = match link {
            Link::Broker => (
                &self.broker_connected,
                &self.broker_ever_up,
                &self.broker_reconnects,
            ),
            Link::Database => (
                &self.database_connected,
                &self.database_ever_up,
                &self.database_reconnects,
            ),
        };
        let was_up = connected.swap(up, Relaxed);
        if up && !was_up && ever_up.swap(true, Relaxed) {
            reconnects.fetch_add(1, Relaxed);
        }
    }

    /// The broker node consumed from now (`None`: disconnected).
    pub fn broker_node(&self, node: Option<String>) {
        *self.broker_node.lock().unwrap_or_else(|e| e.into_inner()) = node;
    }

    /// The database server a new session reached (`host:port`): with several hosts, where
    /// the rows go now.
    pub fn database_server(&self, server: &str) {
        *self
            .database_server
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(server.to_string());
    }

    /// Totals for the closing summary: (received, rows written, duplicates, dead-lettered).
    pub fn totals(&self) -> (u64, u64, u64, u64) {
        (
            self.received.load(Relaxed),
            self.written.load(Relaxed),
            self.duplicates.load(Relaxed),
            self.dead_lettered.load(Relaxed),
        )
    }

    /// `Ok` when the logger can do its job: both connections up (the broker only when
    /// `needs_broker`), and, when alerts wait, something was committed within `stall`.
    pub fn readiness(&self, needs_broker: bool, stall: Duration) -> Result<(), String> {
        if needs_broker && !self.broker_connected.load(Relaxed) {
            return Err("not connected to the broker".into());
        }
        if !self.database_connected.load(Relaxed) {
            return Err("not connected to the database".into());
        }
        let waiting = self.waiting.load(Relaxed);
        if waiting > 0 {
            let last = *self.last_progress.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_none_or(|last| last.elapsed() > stall) {
                return Err(format!(
                    "{waiting} alerts wait and nothing was committed for over {}",
                    humantime::format_duration(stall)
                ));
            }
        }
        Ok(())
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Text::new();
        let mut counter = |name: &str, help: &str, samples: &[(Option<&str>, u64)]| {
            let name = format!("dl_log_to_pg_{name}");
            out.family(&name, Kind::Counter, help);
            for (peer, value) in samples {
                match peer {
                    Some(peer) => out.sample(&name, &[("peer", peer)], *value),
                    None => out.sample(&name, &[], *value),
                }
            }
        };
        counter(
            "received_total",
            "Alerts received.",
            &[(None, self.received.load(Relaxed))],
        );
        counter(
            "written_rows_total",
            "Rows committed (numeric and JSON tables).",
            &[(None, self.written.load(Relaxed))],
        );
        counter(
            "duplicates_total",
            "Redelivered alerts whose row was already stored.",
            &[(None, self.duplicates.load(Relaxed))],
        );
        counter(
            "dead_lettered_total",
            "Alerts that could not be stored, passed to the dead-letter queue.",
            &[(None, self.dead_lettered.load(Relaxed))],
        );
        counter(
            "batches_total",
            "Transactions committed.",
            &[(None, self.batches.load(Relaxed))],
        );
        counter(
            "reconnects_total",
            "Connections re-established after a loss, by peer.",
            &[
                (Some("broker"), self.broker_reconnects.load(Relaxed)),
                (Some("database"), self.database_reconnects.load(Relaxed)),
            ],
        );
        let gauges: [(&str, &str, Value); 4] = [
            (
                "lag_seconds",
                "Commit time minus the timestamp of the newest alert in the last batch.",
                Value::Float(f64::from_bits(self.lag_seconds.load(Relaxed))),
            ),
            (
                "waiting_alerts",
                "Alerts received and not yet settled.",
                Value::Count(self.waiting.load(Relaxed)),
            ),
            (
                "broker_connected",
                "1 while connected to the broker.",
                Value::Count(u64::from(self.broker_connected.load(Relaxed))),
            ),
            (
                "database_connected",
                "1 while connected to the database.",
                Value::Count(u64::from(self.database_connected.load(Relaxed))),
            ),
        ];
        for (name, help, value) in gauges {
            let name = format!("dl_log_to_pg_{name}");
            out.family(&name, Kind::Gauge, help);
            out.sample(&name, &[], value);
        }
        let name = "dl_log_to_pg_broker_info";
        out.family(
            name,
            Kind::Gauge,
            "1 for the broker node consumed from (none while disconnected).",
        );
        if let Some(node) = &*self.broker_node.lock().unwrap_or_else(|e| e.into_inner()) {
            out.sample(name, &[("node", node)], 1u64);
        }
        let server = self
            .database_server
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(server) = server.as_deref() {
            let name = "dl_log_to_pg_database_info";
            out.family(
                name,
                Kind::Gauge,
                "The database server (host:port) the last session reached; 1.",
            );
            out.sample(name, &[("server", server)], Value::Count(1));
        }
        drop(server);
        let latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let name = "dl_log_to_pg_batch_seconds";
        out.family(name, Kind::Histogram, "Time to write and commit one batch.");
        let bucket = format!("{name}_bucket");
        for (bound, count) in LATENCY_BUCKETS.iter().zip(latency.counts.iter()) {
            out.sample(&bucket, &[("le", &bound.to_string())], *count);
        }
        out.sample(&bucket, &[("le", "+Inf")], latency.count);
        out.sample(&format!("{name}_sum"), &[], latency.sum);
        out.sample(&format!("{name}_count"), &[], latency.count);
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_needs_both_links_and_progress() {
        let metrics = Metrics::default();
        assert!(metrics.readiness(true, Duration::from_secs(60)).is_err());
        metrics.link(Link::Broker, true);
        metrics.link(Link::Database, true);
        assert_eq!(metrics.readiness(true, Duration::from_secs(60)), Ok(()));
        metrics.received(3);
        let error = metrics.readiness(true, Duration::ZERO).unwrap_err();
        assert!(error.contains("3 alerts wait"), "{error}");
        metrics.settled(3);
        assert_eq!(metrics.readiness(true, Duration::ZERO), Ok(()));
        metrics.link(Link::Database, false);
        assert!(metrics.readiness(false, Duration::ZERO).is_err());
    }

    #[test]
    fn render_counts_and_histogram() {
        let metrics = Metrics::default();
        metrics.received(5);
        metrics.committed(4, 1, Duration::from_millis(30), None);
        let text = metrics.render();
        assert!(text.contains("dl_log_to_pg_received_total 5\n"), "{text}");
        assert!(
            text.contains("dl_log_to_pg_written_rows_total 4\n"),
            "{text}"
        );
        assert!(text.contains("dl_log_to_pg_batch_seconds_bucket{le=\"0.025\"} 0\n"));
        assert!(text.contains("dl_log_to_pg_batch_seconds_bucket{le=\"0.05\"} 1\n"));
        assert!(text.contains("dl_log_to_pg_batch_seconds_count 1\n"));
        assert!(!text.contains("database_server_info"), "{text}");
        metrics.database_server("db2:5433");
        let text = metrics.render();
        assert!(
            text.contains("dl_log_to_pg_database_info{server=\"db2:5433\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn the_broker_node_is_labelled_while_connected() {
        let metrics = Metrics::default();
        assert!(!metrics.render().contains("dl_log_to_pg_broker_info{"));
        metrics.broker_node(Some("[::1]:5672".into()));
        let text = metrics.render();
        assert!(
            text.contains("dl_log_to_pg_broker_info{node=\"[::1]:5672\"} 1\n"),
            "{text}"
        );
        metrics.broker_node(None);
        assert!(!metrics.render().contains("dl_log_to_pg_broker_info{"));
    }
}
