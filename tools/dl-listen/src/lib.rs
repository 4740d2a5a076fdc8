//! `dl-listen`: Print dripline alerts (or requests and replies) as JSON lines (like dl-mon, EPICS camonitor).

use clap::Parser;

/// Print dripline alerts (or requests and replies) as JSON lines (like dl-mon, EPICS camonitor).
#[derive(Parser, Debug)]
#[command(name = "dl-listen", version, about)]
pub struct Args {}

/// Parse the command line, run, and exit with the documented status.
pub fn main() -> std::process::ExitCode {
    let _args: Args = dripline_cli::parse_args();
    dripline_cli::run_main("dl-listen", || anyhow::bail!("not built yet"))
}
