//! `dl-cmd`: run a command (method) on a dripline endpoint, or many from JSON lines on stdin.

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
  dl-cmd broadcast -s ping --broadcast -t 2s   one line per service that answers
  dl-cmd peaches -s scheduled_log";

/// Run a command on a dripline endpoint and print the reply payload as one JSON line.
#[derive(Parser, Debug)]
#[command(name = "dl-cmd", version, about, after_help = format!("{EXAMPLES}\n\n{EXIT_STATUS_HELP}"))]
pub struct Args {
    /// Endpoint or service; `-` (or none, with stdin not a terminal) reads JSON lines
    /// `{"target": …, "specifier": …, "values": […], "kwargs": {…}}` from stdin.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// The command (method) to run, e.g. `ping`, `lock`, `unlock`.
    #[arg(short = 's', long = "specifier", value_name = "METHOD")]
    pub specifier: Option<String>,
    /// Positional arguments, and `key=value` keyword arguments, typed like dl-agent.
    #[arg(
        value_name = "ARGS",
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
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
            RequestSpec::cmd(target, method, &args.arguments, typing)
        })?;
        dripline_request::run::run(&args.common, Operation::Cmd, input).await
    })
}
