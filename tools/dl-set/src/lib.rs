//! `dl-set`: set a dripline endpoint to a value, or many from JSON lines on stdin.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use clap::Parser;
use dripline_cli::{Input, LogArgs, ProgramArgs};
use dripline_protocol::Operation;
use dripline_request::request_tool;
use dripline_request::spec::ValueTyping;
use dripline_request::{RequestArgs, RequestSpec, EXIT_STATUS_HELP, NO_TARGET};

const EXAMPLES: &str = "\
Examples:
  dl-set peaches 500                      sends {\"values\":[500]}; prints the reply payload
  dl-set peaches '\"500\"' --json           sends the string \"500\"
  dl-set waffles 5.5 -k 0b3c6a1e-...      set a locked endpoint with its key
  seq 1 100 | jq -c '{target:\"peaches\", value:.}' | dl-set -";

/// Set a dripline endpoint to a value and print the reply payload as one JSON line.
#[derive(Parser, Debug)]
#[command(name = "dl-set", version, about, after_help = format!("{EXAMPLES}\n\n{EXIT_STATUS_HELP}"))]
pub struct Args {
    /// Endpoint to set; `-` (or none, with stdin not a terminal) reads JSON lines
    /// `{"target": …, "value": …, "specifier": …}` from stdin.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// The new value: typed like dl-agent (true/false, integer, float, else string).
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    pub value: Option<String>,
    /// Specifier: which attribute to set.
    #[arg(short = 's', long = "specifier", value_name = "SPECIFIER")]
    pub specifier: Option<String>,
    /// Take VALUE as JSON instead of inferring its type.
    #[arg(long = "json")]
    pub json: bool,
    /// Flags shared by the request tools.
    #[command(flatten)]
    pub common: RequestArgs,
}

impl ProgramArgs for Args {
    fn log_args(&self) -> &LogArgs {
        &self.common.log
    }
}

/// Run `dl-set` with the process arguments.
pub fn main() -> std::process::ExitCode {
    request_tool("dl-set").run(|args: Args, _| async move {
        let typing = ValueTyping::from_json_flag(args.json);
        let input = Input::choose(args.target.as_deref(), NO_TARGET, |target| {
            let value = args
                .value
                .as_deref()
                .ok_or("no VALUE given (dl-set TARGET VALUE)")?;
            Ok(vec![RequestSpec::set(
                target,
                args.specifier.as_deref(),
                typing.value(value)?,
            )])
        })?;
        dripline_request::run::run(&args.common, Operation::Set, input).await
    })
}
