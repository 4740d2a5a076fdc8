//! `dl-alert`: publish dripline alerts, one from the command line or many from JSON lines on
//! stdin, with publisher confirms.
//!
//! Alerts are built as dripline builds them (`dripline_protocol::Message::alert`: our
//! `sender_info`, a fresh id, the time of sending unless a line gives one) and published
//! through `dripline_mesh::Publisher`, many at a time: up to [`run::IN_FLIGHT`] alerts wait
//! for their confirms while the next ones go out. Input lines are
//! `dripline_protocol::MessageRecord`s, so a `dl-listen` line can be published again.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod run;

use clap::Parser;
use dripline_cli::{BrokerArgs, LogArgs, OnSignal, Program, ProgramArgs, Threads};

const AFTER_HELP: &str = "\
Input lines (one JSON object each, read with - or with no arguments when stdin is not a terminal):
  {\"routing_key\": \"sensor_value.t1\", \"payload\": {\"value_raw\": 1.5}}

An optional \"timestamp\" (e.g. \"2026-11-26T00:29:08.315196Z\") is sent instead of the time
now; other fields are ignored, so dl-listen's lines can be published again.

Examples:
  dl-alert sensor_value.peaches '{\"value_raw\": 0.75, \"value_cal\": 1.5}'
  dl-alert status_message.cryo.notice '\"fill started\"'
  printf '{\"routing_key\":\"sensor_value.t1\",\"payload\":{\"value_raw\":1}}\\n' | dl-alert
  dl-listen 'sensor_value.#' -n 100 > saved.jsonl; dl-alert - < saved.jsonl
  dl-alert --rate 10 < values.jsonl           ten alerts a second
  dl-alert --transient sensor_value.t1 2.5    delivery mode 1, as dripline sends them
  dl-listen 'sensor_value.#' > day.jsonl; dl-alert --replay --speed 10x < day.jsonl
  dl-alert --replay --retime now < day.jsonl  original gaps, timestamps of now

Replay (--replay):
  Each line is published when its turn comes: the gaps between the lines' \"timestamp\"s are
  kept, divided by --speed (the first line goes at once). A line earlier than the one before
  goes at once; a line without a timestamp is a bad line. The \"timestamp\" header stays the
  recorded one, or with --retime now is the time of sending. At the end one JSON line on
  stdout says how it went: {\"replayed\": N, \"seconds\": wall time, \"speed\": S,
  \"max_behind_ms\": the latest an alert went after its due time, \"mean_behind_ms\": ...}; more
  than a second behind is also said on stderr.

Exit status:
  0   every alert was published and confirmed by the broker (with --replay: also when it
      ran behind schedule; stdout's summary says by how much)
  64  bad command line, e.g. a PAYLOAD_JSON that is not JSON (EX_USAGE)
  65  some input lines were bad (each reported as stdin line N: ...); the others were
      published (EX_DATAERR)
  69  broker unreachable or lost, or some alerts were not confirmed (EX_UNAVAILABLE)
  70  internal error: a bug (EX_SOFTWARE)
  77  the broker refused the user name or password (EX_NOPERM)
  78  bad broker settings, e.g. an unreadable auth file (EX_CONFIG)
  130 interrupted (Ctrl-C, SIGTERM): alerts not yet confirmed are in doubt";

/// Publish dripline alerts to the alerts exchange with publisher confirms: one from the
/// command line, or one per JSON line on stdin.
#[derive(Parser, Debug)]
#[command(name = "dl-alert", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Routing key of the alert, e.g. sensor_value.peaches; `-` (or none, with stdin not a
    /// terminal) reads JSON lines from stdin.
    #[arg(value_name = "ROUTING_KEY")]
    pub routing_key: Option<String>,

    /// The payload, as JSON (a number, "a string" in quotes, an object, ...).
    #[arg(value_name = "PAYLOAD_JSON")]
    pub payload: Option<String>,

    /// Send the alerts transient (AMQP delivery mode 1) as dripline does, instead of
    /// persistent (mode 2, kept by a durable queue across a broker restart).
    #[arg(long = "transient")]
    pub transient: bool,

    /// Publish at most N alerts per second, evenly paced [default: as fast as possible].
    #[arg(long = "rate", value_name = "N", value_parser = positive_rate)]
    pub rate: Option<f64>,

    /// Replay a recording (dl-listen's lines on stdin) with its original timing: keep the
    /// gaps between the lines' timestamps (see Replay below).
    #[arg(long = "replay", conflicts_with = "rate")]
    pub replay: bool,

    /// With --replay: play this many times faster (10x, 0.5x; a bare number too).
    #[arg(long = "speed", value_name = "FACTOR", value_parser = speed_factor,
          default_value = "1x", requires = "replay")]
    pub speed: f64,

    /// With --replay: `now` sends each alert with the time of sending as its timestamp
    /// instead of the recorded one.
    #[arg(long = "retime", value_name = "WHEN", value_enum, requires = "replay")]
    pub retime: Option<Retime>,

    /// Broker connection flags.
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `--retime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Retime {
    /// The time of sending.
    Now,
}

fn speed_factor(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches(['x', 'X']);
    match number.parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 && speed <= 1e6 => Ok(speed),
        _ => Err(format!(
            "'{text}' is not a speed: give a factor > 0 such as 10x or 0.5x"
        )),
    }
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "'{text}' is not a rate: give alerts per second, > 0"
        )),
    }
}

impl ProgramArgs for Args {
    fn log_args(&self) -> &LogArgs {
        &self.log
    }
}

/// The program: one thread; Ctrl-C stops publishing (status 130).
pub fn main() -> std::process::ExitCode {
    let program = Program {
        name: "dl-alert",
        threads: Threads::One,
        on_signal: OnSignal::Interrupt,
    };
    program.run(|args: Args, _| run::run(args))
}
