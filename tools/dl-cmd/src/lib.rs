//! `dl-cmd`: run a command (method) on a dripline endpoint, or many from JSON lines on stdin.
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
  dl-cmd peaches -s ping                  {\"return_message\": \"Hello, …\"} is in --full
  dl-cmd my_store -s lock                 {\"key\":\"…\"}: keep it for -k
  dl-cmd my_store -s unlock force=true    force an unlock
  dl-cmd peaches -s add -5 2.5 -t 1s      sends {\"values\":[-5,2.5]}; flags go anywhere
  dl-cmd peaches -s echo -- -x            after --, words starting with - are values
  dl-cmd broadcast -s ping --broadcast -t 2s   each service's reply as it comes
  dl-cmd peaches -s scheduled_log";

/// Run a command on a dripline endpoint and print the reply payload as one JSON line.
#[derive(Parser, Debug)]
#[command(name = "dl-cmd", version, about, allow_negative_numbers = true, after_help = format!("{EXAMPLES}\n\n{EXIT_STATUS_HELP}"))]
pub struct Args {
    /// Endpoint or service; `-` (or none, with stdin not a terminal) reads JSON lines
    /// `{"target": …, "specifier": …, "values": […], "kwargs": {…}}` from stdin.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// The command (method) to run, e.g. `ping`, `lock`, `unlock`.
    #[arg(short = 's', long = "specifier", value_name = "METHOD")]
    pub specifier: Option<String>,
    /// Positional arguments, and `key=value` keyword arguments, typed like dl-agent. Flags
    /// may come before, between or after them; negative numbers (`-5`, `-2.5`) are values;
    /// after `--` every word is a value, e.g. `-- -x` sends the string "-x". dl-cmd takes
    /// one target (the words after it are the command's arguments).
    #[arg(value_name = "ARGS")]
    pub arguments: Vec<String>,
    /// Take each argument value as JSON instead of inferring its type.
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

/// Run `dl-cmd` with the process arguments.
pub fn main() -> std::process::ExitCode {
    request_tool("dl-cmd").run(|args: Args, _| async move {
        let typing = ValueTyping::from_json_flag(args.json);
        let input = Input::choose(args.target.as_deref(), NO_TARGET, |target| {
            let method = args
                .specifier
                .as_deref()
                .ok_or("no command given: use -s METHOD (e.g. -s ping)")?;
            Ok(vec![RequestSpec::cmd(
                target,
                method,
                &args.arguments,
                typing,
            )?])
        })?;
        dripline_request::run::run(&args.common, Operation::Cmd, input).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("dl-cmd").chain(words.iter().copied())).unwrap()
    }

    #[test]
    fn flags_may_come_anywhere_and_negative_numbers_are_values() {
        let args = parse(&[
            "peaches", "-s", "ping", "5", "-t", "1s", "x=1", "--full", "-2.5",
        ]);
        assert_eq!(args.arguments, ["5", "x=1", "-2.5"]);
        assert_eq!(args.common.timeout, std::time::Duration::from_secs(1));
        assert!(args.common.full);
        let args = parse(&["peaches", "-s", "echo", "--", "-x", "--full"]);
        assert_eq!(args.arguments, ["-x", "--full"]);
        assert!(!args.common.full);
        assert!(Args::try_parse_from(["dl-cmd", "peaches", "-s", "ping", "-x"]).is_err());
    }
}
