//! # dl-serve
//!
//! Runs a dripline service from a YAML config in dripline-python's format, standing in for
//! dripline-python's `dl-serve` with `KeyValueStore` endpoints. The protocol side (queue,
//! bindings, dispatch, lockout, heartbeats) is `dripline_mesh::service`; this crate holds
//! what is specific to dl-serve:
//!
//! - [`args`]: the command line.
//! - [`config`]: the config file (v5 flat and v4 `runtime-config:` layouts, `ENV{VAR}`), with
//!   every problem named by file, line and key (exit 78); [`yaml`]: YAML read as PyYAML
//!   reads it (YAML 1.1 scalars), on `saphyr-parser`.
//! - [`key_value_store`]: the `KeyValueStore` endpoint, replying like dripline-python's;
//!   [`attributes`]: its settings, one table for config keys and sets with a specifier.
//! - [`calibration`]: calibration strings and dicts; [`pyexpr`]: the safe Python-arithmetic
//!   evaluator behind them; [`python`]: how Python prints values.
//! - [`run`]: the wiring, signals (SIGINT/SIGTERM → exit 0) and exit statuses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod args;
pub mod attributes;
pub mod calibration;
pub mod config;
pub mod key_value_store;
pub mod pyexpr;
pub mod python;
pub mod run;
pub mod yaml;

/// The program. One thread: a service handles one request at a time, in order, as
/// dripline-python's does. SIGINT/SIGTERM is its normal end: it stops consuming, finishes the
/// request in hand and exits 0.
pub fn main() -> std::process::ExitCode {
    let program = dripline_cli::Program {
        name: "dl-serve",
        threads: dripline_cli::Threads::One,
        on_signal: dripline_cli::OnSignal::Stop,
    };
    program.run(run::run)
}

impl dripline_cli::ProgramArgs for args::Args {
    fn log_args(&self) -> &dripline_cli::LogArgs {
        &self.log
    }
}
