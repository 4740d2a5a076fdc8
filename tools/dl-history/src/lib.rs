//! # dl-history
//!
//! Keeps years of sensor history in PostgreSQL usable: time-partitioned tables
//! (`dripline_store::partition`), the in-place migration of a plain table to a partitioned
//! one, the partitions created ahead, and retention (dropping whole raw partitions once their
//! rollups are complete). `--help` documents the behaviour; the modules are:
//!
//! - `args`: the command line ([`Args`], also rendered into the man page);
//! - `run`: settings → connection → the subcommand;
//! - `migrate`, `partitions`, `prune`, `rollup`: one subcommand each (the rollup SQL is
//!   `dripline_store::rollup`).
//!
//! The SQL (partition bounds, names, creating, moving rows out of the default partition,
//! attaching) lives in `dripline-store`, shared with `dl-log-to-pg`'s `--init-schema
//! --partition` and its partitions created ahead.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod args;
mod migrate;
mod partitions;
mod prune;
mod rollup;
mod run;

pub use args::{Args, Command};

impl dripline_cli::ProgramArgs for Args {
    fn log_args(&self) -> &dripline_cli::LogArgs {
        &self.log
    }
}

/// The program. One thread: every subcommand is a short series of statements on one
/// connection. A signal (SIGINT, SIGTERM, SIGHUP) drops the connection, which rolls back the
/// transaction in hand: every step commits whole or not at all (status 130).
pub fn main() -> std::process::ExitCode {
    let program = dripline_cli::Program {
        name: "dl-history",
        threads: dripline_cli::Threads::One,
        on_signal: dripline_cli::OnSignal::Interrupt,
    };
    program.run(|args, _| run::run(args))
}
