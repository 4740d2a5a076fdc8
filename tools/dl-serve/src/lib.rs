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

pub mod args;
pub mod attributes;
pub mod calibration;
pub mod config;
pub mod key_value_store;
pub mod pyexpr;
pub mod python;
pub mod run;
pub mod yaml;

/// The program: parse the command line, run, exit with the documented status.
pub fn main() -> std::process::ExitCode {
    dripline_cli::run_main("dl-serve", || run::run(dripline_cli::parse_args()))
}
