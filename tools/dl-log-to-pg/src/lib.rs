//! `dl-log-to-pg`: log dripline `sensor_value.<name>` alerts into PostgreSQL, at least once
//! and in batches (replaces dripline-python's `PostgresSensorLogger`, PROTOCOL.md §A6.4).
//!
//! - [`alert`]: what one alert becomes (numeric row, JSON row, or a poison reason).
//! - [`batch`]: alerts gathered for one transaction, each remembering where it came from.
//! - [`database`]: writing a batch, retried through outages, split to find a refused row.
//! - [`broker`]: the durable queue, the dead-letter queue, acknowledgement after commit.
//! - [`stdin`]: the same from JSON lines on stdin.
//! - [`metrics`] and [`http`]: Prometheus metrics, `/healthz` and `/readyz`.

pub mod alert;
mod args;
pub mod batch;
pub mod broker;
pub mod database;
pub mod http;
pub mod metrics;
mod run;
pub mod stdin;

pub use args::{Args, QueueType};

/// Parse the command line, run, and exit with the documented status.
pub fn main() -> std::process::ExitCode {
    let args: Args = dripline_cli::parse_args();
    dripline_cli::run_main("dl-log-to-pg", || run::run(args))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        super::Args::command().debug_assert();
    }
}
