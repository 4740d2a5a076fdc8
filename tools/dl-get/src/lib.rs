//! `dl-get`: get a value from a dripline endpoint, or many from JSON lines on stdin.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use clap::Parser;
use dripline_cli::exit_status::{ExitFailure, USAGE};
use dripline_cli::{Input, LogArgs, ProgramArgs};
use dripline_protocol::Operation;
use dripline_request::request_tool;
use dripline_request::{RequestArgs, RequestSpec, EXIT_STATUS_HELP, NO_TARGET};

const EXAMPLES: &str = "\
Examples:
  dl-get peaches                          {\"value_cal\":1.5,\"value_raw\":0.75}
  dl-get peaches --field value_cal        1.5
  dl-get peaches chips waffles            one line per target, in this order
  dl-get peaches chips --full             the same, each line naming its endpoint
  dl-get my_store -s is-locked            lock status of the service
  dl-get peaches --full --pretty          the whole reply, indented
  printf '{\"target\":\"peaches\"}\\n{\"target\":\"chips\"}\\n' | dl-get -
  dl-get -t 500ms -b broker.example peaches";

/// Get a value from a dripline endpoint and print the reply payload as one JSON line.
#[derive(Parser, Debug)]
#[command(name = "dl-get", version, about, after_help = format!("{EXAMPLES}\n\n{EXIT_STATUS_HELP}"))]
pub struct Args {
    /// Endpoints or services to ask. Several print one line each, in the order given (like
    /// caget; a failed one prints an `{"error": …}` line), with many requests in flight; the
    /// exit status is then the highest among them. `-` (or none, with stdin not a terminal)
    /// reads JSON lines `{"target": …, "specifier": …}` from stdin and prints one result line
    /// per input line.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Specifier: which attribute to get (e.g. `is-locked`).
    #[arg(short = 's', long = "specifier", value_name = "SPECIFIER")]
    pub specifier: Option<String>,
    /// Flags shared by the request tools.
    #[command(flatten)]
    pub common: RequestArgs,
}

impl ProgramArgs for Args {
    fn log_args(&self) -> &LogArgs {
        &self.common.log
    }
}

/// Run `dl-get` with the process arguments.
pub fn main() -> std::process::ExitCode {
    request_tool("dl-get").run(|args: Args, _| async move {
        let specifier = args.specifier.as_deref();
        if args.targets.len() > 1 && args.targets.iter().any(|t| t == "-") {
            return Err(ExitFailure::new(
                USAGE,
                "'-' (JSON lines from stdin) cannot be mixed with targets",
            )
            .into());
        }
        let first = args.targets.first().map(String::as_str);
        let input = Input::choose(first, NO_TARGET, |_| {
            Ok(args
                .targets
                .iter()
                .map(|target| RequestSpec::get(target, specifier))
                .collect())
        })?;
        dripline_request::run::run(&args.common, Operation::Get, input).await
    })
}
