//! # dl-plot
//!
//! Draws dripline sensor history: a chart in the terminal, or a PNG or SVG file. Reads what
//! `dl-export` writes (CSV or JSON lines on stdin), or the same rows from the database. `--help` documents the behaviour; the
//! modules are:
//!
//! - `args`: the command line ([`Args`], also rendered into the man page);
//! - `run`: the run itself — input → series → picture;
//! - `input`: reading dl-export's rows; `database`: the same rows straight from PostgreSQL
//!   (dripline-store's export query); `downsample`: the constant-memory series (four points
//!   per time bucket); `chart`: ranges, line breaks at gaps, axis ticks;
//! - `terminal`: the braille chart (ratatui); `file`: PNG and SVG (plotters).
#![forbid(unsafe_code)]

mod args;
mod chart;
mod database;
mod downsample;
mod file;
mod input;
mod run;
mod terminal;
mod zone;

pub use args::Args;

impl dripline_cli::ProgramArgs for Args {
    fn log_args(&self) -> &dripline_cli::LogArgs {
        &self.log
    }
}

/// The program. One thread for the body; stdin is read on a thread of its own. A signal
/// (SIGINT, SIGTERM, SIGHUP) drops the plot: nothing is written (status 130).
pub fn main() -> std::process::ExitCode {
    let program = dripline_cli::Program {
        name: "dl-plot",
        threads: dripline_cli::Threads::One,
        on_signal: dripline_cli::OnSignal::Interrupt,
    };
    program.run(|args, _| run::run(args))
}
