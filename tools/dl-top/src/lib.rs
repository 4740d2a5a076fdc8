//! `dl-top`: a live full-screen view of the alerts stream, like `top` for a dripline mesh:
//! one row per sensor with its last value, age, rate and a sparkline of the last minutes.
//!
//! The listening is `dripline_mesh::Listener` (a temporary queue, as dl-listen's); `table`
//! keeps the rows; `screen` draws them with ratatui and reads keys.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod run;
mod screen;
mod table;

use clap::{Parser, ValueEnum};
use dripline_cli::{BrokerArgs, LogArgs, OnSignal, Program, ProgramArgs, Threads};
use std::time::Duration;

const AFTER_HELP: &str = "\
Screen:
  One row per sensor (the routing key without sensor_value.): its last value (value_cal, else
  value_raw, else the payload), how long ago it came, alerts per minute over --window, and a
  sparkline of its values over --window. At most 1000 sensors; more are counted, not shown.
  Keys: q or Esc quits (and restores the terminal), s cycles the sort order.
  Works wherever a terminal is, also over kubectl exec -it or ssh -t.

Examples:
  dl-top                                  every sensor_value alert
  dl-top 'sensor_value.temp_*'            only some sensors
  dl-top --sort rate --window 10m

Exit status:
  0   quit with q, or stopped by SIGINT or SIGTERM (the terminal is restored)
  64  bad command line, or stdout is not a terminal (use dl-listen for a stream)
  69  broker unreachable at start, or the queue could not be declared or bound
  70  internal error: a bug
  77  the broker refused the user name or password
  78  bad broker settings, e.g. an unreadable auth file";

/// A live full-screen view of the alerts stream: one row per sensor with its last value,
/// age, rate and a sparkline.
#[derive(Parser, Debug)]
#[command(name = "dl-top", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Topic keys to bind on the alerts exchange [default: sensor_value.#].
    #[arg(value_name = "KEY")]
    pub keys: Vec<String>,

    /// How far back the rate and the sparkline look (1m, 5m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "5m",
          value_parser = dripline_cli::parse_duration)]
    pub window: Duration,

    /// Row order (s on the screen cycles through them).
    #[arg(long, value_enum, default_value_t = Sort::Name)]
    pub sort: Sort,

    /// Broker connection flags.
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `--sort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Sort {
    /// By sensor name.
    Name,
    /// Most recent first.
    Age,
    /// Most alerts per minute first.
    Rate,
}

impl ProgramArgs for Args {
    fn log_args(&self) -> &LogArgs {
        &self.log
    }
}

/// The program: one thread; a signal or `q` ends it with status 0 after restoring the
/// terminal.
pub fn main() -> std::process::ExitCode {
    let program = Program {
        name: "dl-top",
        threads: Threads::One,
        on_signal: OnSignal::Stop,
    };
    program.run(run::run)
}
