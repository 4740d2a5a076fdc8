//! `dl-metrics`: a dripline mesh's health and sensor values as Prometheus metrics (issue 11,
//! "Mesh health for Prometheus").
//!
//! It listens to `heartbeat.#` and `sensor_value.#` on the alerts exchange (and, with
//! `--requests`, to the replies on the requests exchange) through `dripline_mesh::Listener`,
//! keeps what it learns in [`state::MeshState`] (bounded: a cap on services and sensors, and
//! a count of what did not fit) and serves it on `/metrics` through `dripline_metrics::http`.
//!
//! Named `dl-metrics`, not `dl-exporter`: `dl-export` already streams sensor history out of
//! PostgreSQL, and two programs one letter apart doing different jobs would be confused at
//! every prompt; the family's names say what you get (`dl-get`, `dl-listen`, `dl-metrics`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod run;
pub mod state;

use clap::Parser;
use dripline_cli::{BrokerArgs, LogArgs, OnSignal, Program, ProgramArgs, Threads};
use std::net::SocketAddr;

const AFTER_HELP: &str = "\
Metrics (per service: label service_name = the routing key after `heartbeat.`, not `service`,
which Prometheus targets already carry; per sensor: label sensor = the routing key after
`sensor_value.`; label values escaped, any name is safe):
  dripline_service_heartbeat_age_seconds       seconds since the last heartbeat
  dripline_service_heartbeat_interval_seconds  time between its last two heartbeats
  dripline_service_heartbeats_total            heartbeats seen
  dripline_sensor_value_raw, _value_cal        the last numeric value_raw / value_cal
  dripline_sensor_last_alert_timestamp_seconds when the last alert came (Unix time)
  dripline_sensor_alerts_total                 alerts seen: rate() of it is the alert rate
  dripline_error_replies_total                 with --requests: error replies by
                                               service_name and return_code
  dl_metrics_tracked, dl_metrics_dropped_total  series held and alerts that did not fit the
                                               --max-sensors / --max-services cap
A sensor whose value_raw is not a number (a string, a boolean, an object) exports its time
and count only.

Examples:
  dl-metrics                                   serve on 127.0.0.1:9103/metrics
  dl-metrics --metrics-addr 0.0.0.0:9103       for a Prometheus elsewhere (in a pod)
  dl-metrics --requests                        also count error replies per service
  dl-metrics --max-sensors 50000               a larger mesh
  curl -s localhost:9103/metrics | grep heartbeat_age

Exit status:
  0   stopped by SIGINT or SIGTERM; a lost broker is reconnected to, not an exit
  64  bad command line (EX_USAGE)
  69  the metrics address cannot be bound, or the broker was unreachable for
      --max-connection-attempts N (by default it waits for ever, /readyz not ready and
      dl_metrics_broker_connected 0 meanwhile) (EX_UNAVAILABLE)
  70  internal error: a bug (EX_SOFTWARE)
  77  the broker refused the user name or password (EX_NOPERM)
  78  bad broker settings, e.g. an unreadable auth file (EX_CONFIG)
  130 a second signal while stopping: stopped at once";

/// Serve a dripline mesh's health (service heartbeats) and sensor values (sensor_value
/// alerts) as Prometheus metrics on /metrics, with /healthz and /readyz for Kubernetes.
/// Reconnects by itself when the broker goes away.
#[derive(Parser, Debug)]
#[command(name = "dl-metrics", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Serve /metrics, /healthz and /readyz (ready while connected to the broker) at this
    /// address.
    #[arg(
        long = "metrics-addr",
        value_name = "ADDR",
        default_value = "127.0.0.1:9103"
    )]
    pub metrics_addr: SocketAddr,

    /// Also listen to the replies on the requests exchange (those to server-named reply
    /// queues, amq.gen-…, which every dripline client uses) and count the error replies.
    #[arg(short = 'r', long = "requests")]
    pub requests: bool,

    /// The most sensors tracked; alerts of further sensors are counted in
    /// dl_metrics_dropped_total{kind="sensor"} and otherwise ignored.
    #[arg(long = "max-sensors", value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_sensors: u32,

    /// The most services tracked (and, with --requests, service and return-code pairs).
    #[arg(long = "max-services", value_name = "N", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_services: u32,

    /// Broker connection flags.
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

impl ProgramArgs for Args {
    fn log_args(&self) -> &LogArgs {
        &self.log
    }
}

/// The program. One thread: lapin reads the socket on its own thread, and the work per alert
/// is a table update. A signal is its normal end (status 0).
pub fn main() -> std::process::ExitCode {
    let program = Program {
        name: "dl-metrics",
        threads: Threads::One,
        on_signal: OnSignal::Stop,
    };
    program.run(run::run)
}
