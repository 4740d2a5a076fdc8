//! `dl-set`: set a dripline endpoint to a value, or many from JSON lines on stdin.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use clap::Parser;
use dripline_cli::exit_status::{ExitFailure, USAGE};
use dripline_cli::{Input, LogArgs, ProgramArgs};
use dripline_protocol::Operation;
use dripline_request::check::Check;
use dripline_request::condition::Condition;
use dripline_request::request_tool;
use dripline_request::spec::ValueTyping;
use dripline_request::{RequestArgs, RequestSpec, EXIT_STATUS_HELP, NO_TARGET};
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  dl-set peaches 500                      sends {\"values\":[500]}; prints the reply payload
  dl-set peaches '\"500\"' --json           sends the string \"500\"
  dl-set waffles 5.5 -k 0b3c6a1e-...      set a locked endpoint with its key
  seq 1 100 | jq -c '{target:\"peaches\", value:.}' | dl-set -
  dl-set heater 50 --verify --settle 2s   get heater back after 2 s: status 5 if it differs
  dl-set valve 1 --verify --tolerance 0.01
  dl-set heater 50 --wait-until 'value_cal >= 49.5' --stable 1m --wait-timeout 2h";

const CHECK_STATUS_HELP: &str = "\
With --verify or --wait-until (one target on the command line only):
  5   --verify: the value read back differs from the value set (both on stderr)
  75  --wait-until: --wait-timeout reached before the condition held (the last value on
      stderr)";

/// Set a dripline endpoint to a value and print the reply payload as one JSON line.
#[derive(Parser, Debug)]
#[command(group(clap::ArgGroup::new("check").args(["verify", "wait_until"])))]
#[command(name = "dl-set", version, about, after_help = format!("{EXAMPLES}\n\n{EXIT_STATUS_HELP}\n{CHECK_STATUS_HELP}"))]
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
    /// After the set's reply, get the endpoint (after --settle) and compare its value_raw
    /// (or, without one, its payload) with VALUE: a difference is status 5.
    #[arg(
        long = "verify",
        help_heading = "Checking the set",
        conflicts_with = "wait_until"
    )]
    pub verify: bool,
    /// With --verify: wait this long before the get (500ms, 2s).
    #[arg(long = "settle", value_name = "DURATION", default_value = "0s", requires = "verify",
          help_heading = "Checking the set", value_parser = dripline_cli::parse_duration)]
    pub settle: Duration,
    /// After the set's reply, get the endpoint every --interval until this condition holds
    /// (the dl-watch --until syntax: 'value_cal >= 49.5', && ||).
    #[arg(
        long = "wait-until",
        value_name = "EXPR",
        help_heading = "Checking the set"
    )]
    pub wait_until: Option<Condition>,
    /// With --wait-until: the condition must hold this long.
    #[arg(long = "stable", value_name = "DURATION", default_value = "0s",
          requires = "wait_until", help_heading = "Checking the set",
          value_parser = dripline_cli::parse_duration)]
    pub stable: Duration,
    /// With --wait-until: time between gets.
    #[arg(long = "interval", value_name = "DURATION", default_value = "1s",
          requires = "wait_until", help_heading = "Checking the set",
          value_parser = dripline_cli::parse_duration)]
    pub interval: Duration,
    /// With --wait-until: give up after this long (status 75) [default: wait forever].
    #[arg(long = "wait-timeout", value_name = "DURATION", requires = "wait_until",
          help_heading = "Checking the set", value_parser = dripline_cli::parse_duration)]
    pub wait_timeout: Option<Duration>,
    /// With --verify or --wait-until: how far two numbers may differ and still be equal.
    #[arg(long = "tolerance", value_name = "X", default_value_t = 0.0, requires = "check",
          help_heading = "Checking the set", value_parser = dripline_request::condition::parse_tolerance)]
    pub tolerance: f64,
    /// Flags shared by the request tools.
    #[command(flatten)]
    pub common: RequestArgs,
}

impl ProgramArgs for Args {
    fn log_args(&self) -> &LogArgs {
        &self.common.log
    }
}

/// The check the flags ask for, if any.
fn check_of(args: &Args) -> Option<Check> {
    if args.verify {
        return Some(Check::Verify {
            settle: args.settle,
            tolerance: args.tolerance,
        });
    }
    args.wait_until.as_ref().map(|condition| Check::WaitUntil {
        condition: condition.clone(),
        interval: args.interval.max(Duration::from_millis(10)),
        stable: args.stable,
        tolerance: args.tolerance,
        timeout: args.wait_timeout,
    })
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
        let Some(check) = check_of(&args) else {
            return dripline_request::run::run(&args.common, Operation::Set, input).await;
        };
        match input {
            Input::Arguments(mut specs) if specs.len() == 1 && !args.common.broadcast => {
                let spec = specs.remove(0);
                dripline_request::check::set_and_check(&args.common, spec, &check).await
            }
            _ => Err(ExitFailure::new(
                USAGE,
                "--verify and --wait-until check one TARGET VALUE given on the command line",
            )
            .into()),
        }
    })
}
