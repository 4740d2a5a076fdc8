//! `dl-log-to-pg`: log dripline `sensor_value.<name>` alerts into PostgreSQL, at least once
//! and in batches (replaces dripline-python's `PostgresSensorLogger`, PROTOCOL.md §A6.4).
//!
//! - [`alert`]: what one alert becomes (numeric row, JSON row, or a poison reason).
//! - [`batch`]: alerts gathered for one transaction, each remembering where it came from.
//! - [`database`]: writing a batch, retried through outages, split to find a refused row.
//! - [`broker`]: the durable queue, the dead-letter queue, acknowledgement after commit.
//! - [`stdin`]: the same from JSON lines on stdin.
//! - [`metrics`]: Prometheus metrics and readiness, served on `/metrics`, `/healthz` and
//!   `/readyz` by `dripline_metrics::http`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alert;
mod args;
pub mod batch;
pub mod broker;
pub mod database;
pub mod metrics;
mod run;
pub mod stdin;

pub use args::{Args, QueueType};

impl dripline_cli::ProgramArgs for Args {
    fn log_args(&self) -> &dripline_cli::LogArgs {
        &self.log
    }
}

/// The program. Two worker threads: decoding and the database writer run beside the
/// consumer. A signal stops consuming; the batch in hand is committed (or left unacknowledged)
/// before it exits.
pub fn main() -> std::process::ExitCode {
    let program = dripline_cli::Program {
        name: "dl-log-to-pg",
        threads: dripline_cli::Threads::Workers(2),
        on_signal: dripline_cli::OnSignal::Stop,
    };
    program.run(run::run)
}
