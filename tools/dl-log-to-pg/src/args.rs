//! The command line of dl-log-to-pg.

use clap::Parser;
pub use dripline_cli::QueueType;
use dripline_cli::{BrokerArgs, DatabaseArgs, LogArgs};
use dripline_store::partition::Period;
use dripline_store::TableName;
use std::net::SocketAddr;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  dl-log-to-pg --init-schema --pg-database sensor_data
                                   create the tables, then log every sensor_value.# alert
  dl-log-to-pg --init-schema --partition month
                                   the same, the tables partitioned by month
  dl-log-to-pg --queue-type quorum --metrics-addr 0.0.0.0:9102
                                   as in a Kubernetes deployment with several replicas
  dl-log-to-pg --pg-host db1,db2 --queue-type quorum
                                   write to whichever of a primary and its standby takes
                                   writes, and follow a promotion
  dl-listen 'sensor_value.#' | dl-log-to-pg --stdin
                                   log what another program prints
  dl-log-to-pg --stdin < alerts.jsonl
                                   load saved alerts (one JSON object per line)";

const EXIT_STATUS: &str = "\
Exit status:
  0   stopped by SIGINT or SIGTERM (from the broker), or (--stdin) every line was stored
  64  bad flag
  65  (--stdin) some lines were not stored (not JSON, not UTF-8, over 16 MiB, not an
      alert, refused by the database); each is named on stderr, the others were stored
  66  the table does not exist (try --init-schema)
  69  the database (--stdin, at start) or the metrics address is unavailable
  70  internal error: a bug
  77  the broker or the database refused the login or a privilege
  78  bad settings, or the queue exists with other arguments
  130 (--stdin) stopped by SIGINT or SIGTERM before the end of the input: the batch in hand
      was committed (or, the database being down, not), and stderr says how many lines were
      stored and the line to resume from (tail -n +LINE FILE | dl-log-to-pg --stdin)
      (a second signal stops any mode at once)";

const HOW_IT_WORKS: &str = "\
How it works:
  alerts   consumed from a durable queue (--queue) bound to --keys on the alerts exchange;
           several replicas may share it. Nothing is acknowledged before its rows are
           committed, so a crash, a database outage or a broker restart loses nothing.
  rows     sensor_value.<name> -> sensor_name <name>; \"timestamp\" from the alert's timestamp
           header; value_raw/value_cal from the payload. Non-numeric values go to the JSON
           table. With our schema (--init-schema) a redelivered alert is stored once.
  poison   alerts that cannot be stored (no value_raw, bad timestamp, undecodable, over
           --max-message-size) go to the dead-letter exchange <queue>.dead (fanout,
           durable) and its queue <queue>.dead, with the reason in the
           x-dl-log-to-pg-reason header; the batch goes on. Both stay when the logger's
           queue is deleted; remove all three with
             rabbitmqctl delete_queue <queue>; rabbitmqctl delete_queue <queue>.dead
             rabbitmqadmin delete exchange name=<queue>.dead
  stdin    one JSON object per line; a line without message_id gets a UUID v5 of its
           routing key, timestamp and payload, so loading the same file again (or an
           overlapping one) stores nothing twice; identical lines are one alert.
  retries  database or broker down: retried for ever with jittered back-off, consuming
           stops meanwhile (readyz turns unhealthy).
  failover with several database hosts, only the one that takes writes is written to
           (target_session_attrs read-write unless told otherwise); when it goes away the
           batch in hand waits, unacknowledged, and goes to whichever host is primary next.
           Lose nothing: replicate synchronously.";

/// Log dripline sensor_value alerts into PostgreSQL (the numeric_data table), at least once
/// and in batches: replaces dripline-python's PostgresSensorLogger.
#[derive(Parser, Debug)]
#[command(
    name = "dl-log-to-pg",
    version,
    about,
    after_help = format!("{HOW_IT_WORKS}\n\n{EXAMPLES}\n\n{EXIT_STATUS}")
)]
pub struct Args {
    /// Read JSON lines from stdin (as dl-listen prints them, or {"routing_key", "payload",
    /// "timestamp"}) instead of consuming from the broker.
    #[arg(long = "stdin")]
    pub stdin: bool,
    /// Routing keys to bind on the alerts exchange (repeat or comma-separate).
    #[arg(
        long = "keys",
        value_name = "KEY",
        value_delimiter = ',',
        default_value = "sensor_value.#"
    )]
    pub keys: Vec<String>,
    /// The durable queue to consume; replicas with the same name share the work.
    #[arg(long = "queue", value_name = "NAME", default_value = "dl-log-to-pg")]
    pub queue: String,
    /// Queue type when the queue is created: quorum queues are replicated in a RabbitMQ
    /// cluster and keep even transient alerts over a broker restart.
    #[arg(long = "queue-type", value_enum, default_value_t = QueueType::Classic)]
    pub queue_type: QueueType,
    /// Largest batch: rows committed in one transaction.
    #[arg(long = "batch-size", value_name = "N", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: u32,
    /// Longest time the first alert of a batch waits before the batch is committed.
    #[arg(long = "batch-time", value_name = "DURATION", default_value = "200ms", value_parser = dripline_cli::parse_duration)]
    pub batch_time: Duration,
    /// Unacknowledged alerts the broker may send ahead [default: 1.2 × batch size, so the
    /// next batch fills while one is committed without holding two batches in memory].
    #[arg(long = "prefetch", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub prefetch: Option<u16>,
    /// Largest alert stored, in bytes of its body (all chunks); a larger one is dead-lettered
    /// with the reason.
    #[arg(long = "max-message-size", value_name = "BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_message_size: u32,
    /// The numeric table (schema.table allowed).
    #[arg(long = "table", value_name = "TABLE", default_value = "numeric_data")]
    pub table: TableName,
    /// The table for non-numeric values [default: json_data beside --table].
    #[arg(long = "json-table", value_name = "TABLE")]
    pub json_table: Option<TableName>,
    /// Create the database, schema and tables (with the deduplicating key and the index on
    /// sensor_name, timestamp) if they are missing.
    #[arg(long = "init-schema")]
    pub init_schema: bool,
    /// With --init-schema: create the tables partitioned by time, one partition per UTC
    /// month, ISO week or day (same columns and key; see dl-history). The logger then keeps
    /// the partitions two periods ahead; a row for a time without one lands in the default
    /// partition, never refused.
    #[arg(long = "partition", value_name = "PERIOD", requires = "init_schema")]
    pub partition: Option<Period>,
    /// Serve Prometheus metrics on /metrics and health on /healthz and /readyz at this address
    /// (e.g. 0.0.0.0:9102).
    #[arg(long = "metrics-addr", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// /readyz fails when alerts wait and nothing was committed for this long.
    #[arg(long = "stall-timeout", value_name = "DURATION", default_value = "60s", value_parser = dripline_cli::parse_duration)]
    pub stall_timeout: Duration,
    /// Broker connection flags.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Database connection flags.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

impl Args {
    /// How many deliveries the broker may have outstanding with us.
    pub fn prefetch(&self) -> u16 {
        let default = self.batch_size.saturating_add(self.batch_size / 5);
        self.prefetch
            .unwrap_or_else(|| default.clamp(1, u16::MAX as u32) as u16)
    }
}
