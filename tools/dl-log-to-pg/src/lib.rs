//! `dl-log-to-pg`: Log sensor_value alerts into PostgreSQL, at least once, in batches.

use clap::Parser;

/// Log sensor_value alerts into PostgreSQL, at least once, in batches.
#[derive(Parser, Debug)]
#[command(name = "dl-log-to-pg", version, about)]
pub struct Args {}

/// Parse the command line, run, and exit with the documented status.
pub fn main() -> std::process::ExitCode {
    let _args: Args = dripline_cli::parse_args();
    dripline_cli::run_main("dl-log-to-pg", || anyhow::bail!("not built yet"))
}
