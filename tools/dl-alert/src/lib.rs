//! `dl-alert`: Publish dripline alerts from arguments or JSON lines on stdin.

use clap::Parser;

/// Publish dripline alerts from arguments or JSON lines on stdin.
#[derive(Parser, Debug)]
#[command(name = "dl-alert", version, about)]
pub struct Args {}

/// Parse the command line, run, and exit with the documented status.
pub fn main() -> std::process::ExitCode {
    let _args: Args = dripline_cli::parse_args();
    dripline_cli::run_main("dl-alert", || anyhow::bail!("not built yet"))
}
