//! `dl-set`: set a dripline endpoint to a value, or many from JSON lines on stdin.

use clap::Parser;
use dripline_agent::run::{run_tool, Work};
use dripline_agent::spec::ValueTyping;
use dripline_agent::{RequestArgs, RequestSpec, EXIT_STATUS_HELP};
use dripline_protocol::Operation;

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

/// Run `dl-set` with the process arguments.
pub fn main() -> std::process::ExitCode {
    let args: Args = dripline_cli::exit_status::parse_args();
    let typing = ValueTyping::from_json_flag(args.json);
    let (value, specifier) = (args.value.clone(), args.specifier.clone());
    let work = Work::choose(args.target.as_deref(), Operation::Set, |target| {
        let value = value.ok_or("no VALUE given (dl-set TARGET VALUE)")?;
        Ok(RequestSpec::set(
            target,
            specifier.as_deref(),
            typing.value(&value)?,
        ))
    });
    run_tool("dl-set", args.common, work)
}
