//! `dl-watch`: follow the values of dripline endpoints and print each change, like EPICS
//! `camonitor`; or wait until a condition holds (`--until 'value_cal >= 49.5'`), for scripts.
//!
//! Values come from polling (a `get` every `--interval`, [`run`]) or, with `--alerts`, from the
//! endpoints' `sensor_value.<name>` alerts, falling back to polling an endpoint whose alert
//! does not come within the interval. The condition engine is
//! `dripline_request::condition`, the one `dl-set --wait-until` uses too; [`output`] prints.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod output;
mod run;

use clap::Parser;
use dripline_cli::{BrokerArgs, LogArgs, OnSignal, Program, ProgramArgs, Threads};
use dripline_request::condition::Condition;
use std::time::Duration;

const AFTER_HELP: &str = "\
Output: a line when an endpoint's value changes (every poll with --always), flushed at once:
  jsonl  {\"time\": \"…Z\", \"endpoint\": \"temp\", \"source\": \"poll\"|\"alert\", \"value\": {payload}}
         or, for a failed get, \"error\": {\"return_code\": 404, \"return_message\": \"…\"}
  text   temp  2026-12-07 01:52:43.120  49.6   (value_cal, else value_raw, else the payload)

Conditions (--until): PATH OP VALUE joined by && and || (&& first), parentheses allowed.
  PATH   a field of the reply payload: value_cal, value_raw, a dotted path (values.0)
  OP     < <= == != >= >   (numbers; strings, true, false and null take == and != only)
  VALUE  a number, 'a string' or a bare word, true, false, null
A number also matches a string that reads as one (\"3.5\"); a missing field never matches.
With several endpoints the condition must hold for each one's latest value.

Examples:
  dl-watch temp                                      print temp's value when it changes
  dl-watch temp pressure -i 5s -f text               two endpoints every 5 s, camonitor-like
  dl-watch temp --alerts                             follow sensor_value.temp alerts instead
  dl-set heater 50 && dl-watch temp --until 'value_cal >= 49.5' --stable 1m --timeout 2h
  dl-watch valve --until 'value_cal == open' --timeout 30s -q
  dl-watch temp --until 'value_cal == 50' --tolerance 0.1

Exit status:
  0   --until's condition held (for --stable); without --until: stopped by SIGINT or SIGTERM
      or stdout closed
  64  bad command line, e.g. a condition that does not parse (EX_USAGE)
  69  broker unreachable at start, or the connection was lost (EX_UNAVAILABLE)
  70  internal error: a bug (EX_SOFTWARE)
  75  --timeout reached before the condition held; the last values are on stderr
      (EX_TEMPFAIL)
  77  the broker refused the user name or password (EX_NOPERM)
  78  bad broker settings, e.g. an unreadable auth file (EX_CONFIG)
  130 --until interrupted by a signal";

/// Follow dripline endpoint values: print a JSON line each time one changes, or wait until a
/// condition holds.
#[derive(Parser, Debug)]
#[command(name = "dl-watch", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Endpoints to watch (names: no * or # wildcards).
    #[arg(value_name = "ENDPOINT", required = true)]
    pub endpoints: Vec<String>,

    /// How often to get each endpoint (500ms, 10s; bare numbers are seconds); with --alerts,
    /// how long to wait for an alert before polling instead.
    #[arg(short = 'i', long = "interval", value_name = "DURATION", default_value = "1s",
          value_parser = parse_interval)]
    pub interval: Duration,

    /// Print every value, not only changes.
    #[arg(long = "always")]
    pub always: bool,

    /// Follow the endpoints' `sensor_value.<name>` alerts (no load on the service); an
    /// endpoint whose alert does not come within --interval is polled, with a note on stderr.
    #[arg(long = "alerts")]
    pub alerts: bool,

    /// Stop with status 0 once this condition holds, e.g. 'value_cal >= 49.5'.
    #[arg(long = "until", value_name = "EXPR")]
    pub until: Option<Condition>,

    /// With --until: the condition must hold this long (every value seen meanwhile).
    #[arg(long = "stable", value_name = "DURATION", requires = "until",
          value_parser = dripline_cli::parse_duration)]
    pub stable: Option<Duration>,

    /// With --until: how far two numbers may differ and still be == (and not !=).
    #[arg(long = "tolerance", value_name = "X", default_value_t = 0.0, requires = "until",
          value_parser = dripline_request::condition::parse_tolerance)]
    pub tolerance: f64,

    /// With --until: give up after this long (status 75, the last values on stderr).
    #[arg(long = "timeout", value_name = "DURATION", requires = "until",
          value_parser = dripline_cli::parse_duration)]
    pub timeout: Option<Duration>,

    /// How long one get waits for its reply.
    #[arg(long = "reply-timeout", value_name = "DURATION", default_value = "5s",
          value_parser = parse_interval)]
    pub reply_timeout: Duration,

    /// Output format: jsonl or text (one camonitor-like line per value).
    #[arg(short = 'f', long = "format", value_enum, default_value_t = output::Format::Jsonl)]
    pub format: output::Format,

    /// Broker connection flags.
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

impl ProgramArgs for Args {
    fn log_args(&self) -> &LogArgs {
        &self.log
    }
}

/// A duration of at least 10 ms: a zero interval would poll as fast as the service answers.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = dripline_cli::parse_duration(text)?;
    if duration < Duration::from_millis(10) {
        return Err(format!("'{text}' is too short: at least 10ms"));
    }
    Ok(duration)
}

/// The program. A signal is the normal end of a watch (status 0), and interrupts a wait
/// (`--until`: status 130).
pub fn main() -> std::process::ExitCode {
    let program = Program {
        name: "dl-watch",
        threads: Threads::One,
        on_signal: OnSignal::Stop,
    };
    program.run(run::run)
}
