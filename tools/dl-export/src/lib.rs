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

/// The whole program: parse flags, set up logging, run, map the outcome to an exit status.
pub fn main() -> std::process::ExitCode {
    let args = dripline_cli::parse_args::<Args>();
    dripline_cli::init_logging(&args.log);
    dripline_cli::run_main("dl-export", || export::run(&args))
}
