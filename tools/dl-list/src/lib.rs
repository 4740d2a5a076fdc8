//! `dl-list`: the mesh's directory. Which services are there, what they serve, which host and
//! program serve them, whether they are alive — from three sources, combined:
//!
//! - a broadcast `ping` ([`sources::ping`]): every dripline service answers it, with its
//!   `sender_info` (host, program, user, versions); the round trip is measured;
//! - heartbeats ([`sources::heartbeats`]): `heartbeat.#` alerts, listened to for `--listen`;
//! - the RabbitMQ management API ([`management`]): each service queue's bindings on the
//!   requests exchange (its endpoint names) and its consumer count.
//!
//! [`directory`] merges them into one entry per service; [`format`] prints them.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod directory;
pub mod format;
pub mod management;
mod run;
pub mod sources;

use clap::Parser;
use dripline_cli::{BrokerArgs, LogArgs, OnSignal, Program, ProgramArgs, Threads};
use std::time::Duration;

const AFTER_HELP: &str = "\
Sources (each entry's `sources` names those that saw the service; a source that did not
answer is named in a warning on stderr, and the table's last line names those that did):
  ping        a `cmd broadcast -s ping` (or `cmd SERVICE -s ping` for dl-list SERVICE): every
              dripline service answers it, dl-serve, dripline-python and dripline-cpp alike
  management  the RabbitMQ management API: a queue bound on `requests` to `<name>.#` is a
              service; its other `<key>.#` bindings (but `broadcast.#`) are its endpoints
  heartbeat   `heartbeat.<service>` alerts heard during --listen (dripline-python services send
              them every heartbeat_interval_s, 60 s by default)

Output: a table when stdout is a terminal, else one JSON object per service:
  service, sources, endpoints (null when the management API did not answer), consumers (null
  until the broker's statistics include the queue, a few seconds),
  hostname, exe, username, versions, ping_ms, heartbeat_age_s, heartbeats.
With --endpoints: one object per endpoint: endpoint, service.

Examples:
  dl-list                                  every service, ping and management API
  dl-list my_store                         the detail of one service (or of an endpoint's)
  dl-list --endpoints | jq -r .endpoint    every endpoint name on the mesh
  dl-list --listen 70s                     also heartbeats: their age for each service
  dl-list --expect my_store --expect logger >/dev/null || echo 'a service is missing'
  dl-list --no-management -t 500ms         ping only, half a second
  dl-list --management-url https://rabbit.example:15671

Exit status:
  0   listed (an empty mesh too)
  1   a service named by --expect or as SERVICE was not found
  64  bad command line (EX_USAGE)
  69  broker unreachable (EX_UNAVAILABLE); an unreachable management API is a warning only
  70  internal error: a bug (EX_SOFTWARE)
  77  the broker refused the user name or password (EX_NOPERM)
  78  bad broker settings, e.g. an unreadable auth file (EX_CONFIG)
  130 interrupted (Ctrl-C, SIGTERM)";

/// List the services on a dripline mesh: their endpoints, the host and program serving them,
/// ping round trip, heartbeat age and consumer count.
#[derive(Parser, Debug)]
#[command(name = "dl-list", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Show only this service (or the service serving this endpoint), in detail.
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,

    /// One line per endpoint with its service, instead of one per service (needs the
    /// management API).
    #[arg(long = "endpoints")]
    pub endpoints: bool,

    /// Exit with status 1 when this service is not found (repeatable), for health scripts.
    #[arg(long = "expect", value_name = "NAME")]
    pub expect: Vec<String>,

    /// How long to wait for ping replies (500ms, 2s; bare numbers are seconds); the wait ends
    /// early once every service queue the management API knows has answered.
    #[arg(short = 't', long = "timeout", value_name = "DURATION", default_value = "2s",
          value_parser = dripline_cli::parse_duration)]
    pub timeout: Duration,

    /// Also listen to heartbeats for this long (e.g. 70s: longer than the services'
    /// heartbeat interval) and show each service's heartbeat age.
    #[arg(long = "listen", value_name = "DURATION", value_parser = dripline_cli::parse_duration)]
    pub listen: Option<Duration>,

    /// The RabbitMQ management API [default: http://BROKER:15672], logged in with the
    /// broker's user name and password.
    #[arg(long = "management-url", value_name = "URL")]
    pub management_url: Option<String>,

    /// Do not ask the management API (endpoints and consumers stay unknown).
    #[arg(long = "no-management", conflicts_with = "management_url")]
    pub no_management: bool,

    /// Output format: auto (table on a terminal, else jsonl), table, jsonl.
    #[arg(short = 'f', long = "format", value_enum, default_value_t = format::Format::Auto)]
    pub format: format::Format,

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

/// The program: a one-shot job (Ctrl-C ends it with status 130).
pub fn main() -> std::process::ExitCode {
    let program = Program {
        name: "dl-list",
        threads: Threads::One,
        on_signal: OnSignal::Interrupt,
    };
    program.run(run::run)
}
