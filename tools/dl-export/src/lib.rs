//! # dl-export
//!
//! Streams dripline sensor history out of PostgreSQL as CSV, TSV or JSON lines: by sensor and
//! time range, optionally downsampled in the database, incrementally for cron, in constant
//! memory. `--help` documents the behaviour; the modules are:
//!
//! - `args`: the command line ([`Args`], also rendered into the man page);
//! - `export`: the run itself — settings → connection → query → rows → output → state;
//! - `format`, `timefmt`: record and timestamp text; `wide`: the column-per-sensor layout;
//! - `sink`: stdout or an atomically written file, optionally gzip; `state`: `--state` files;
//!   `progress`: the stderr progress line.
//!
//! Database work (connection settings, the table, the query, the binary COPY stream) lives in
//! `dripline-store`, flags shared with other programs in `dripline-cli`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod args;
mod export;
mod format;
mod progress;
mod sink;
mod state;
mod timefmt;
mod wide;

pub use args::Args;

impl dripline_cli::ProgramArgs for Args {
    fn log_args(&self) -> &dripline_cli::LogArgs {
        &self.log
    }
}

/// The program. One thread: the connection task and the row loop take turns, and a blocking
/// write to stdout simply holds back reading from the server. A signal (SIGINT, SIGTERM,
/// SIGHUP) drops the export: no state is saved, `--output`'s temporary file is removed and
/// FILE is left as it was (status 130).
pub fn main() -> std::process::ExitCode {
    let program = dripline_cli::Program {
        name: "dl-export",
        threads: dripline_cli::Threads::One,
        on_signal: dripline_cli::OnSignal::Interrupt,
    };
    program.run(|args, _| export::run(args))
}
