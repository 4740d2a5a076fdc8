//! `dl-listen`: print dripline alerts (or requests and replies) as JSON lines, like
//! dripline-cpp's `dl-mon` and EPICS `camonitor`.
//!
//! The listening (queue, bindings, chunks, reconnection) is `dripline_mesh::Listener`; the
//! line format is `dripline_protocol::MessageRecord`. This crate holds the command line
//! ([`Args`]), the stop conditions and the output formats ([`format`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod format;
mod replies;
mod run;

use clap::Parser;
use dripline_cli::{BrokerArgs, LogArgs, OnSignal, Program, ProgramArgs, Threads};
use std::time::Duration;

const AFTER_HELP: &str = "\
Output (one JSON line per message, flushed as soon as no further message is waiting):
  routing_key, exchange, message_type (request|reply|alert), message_id, timestamp (as sent),
  sender (the sender_info), specifier (when not empty), operation (requests), correlation_id
  (requests and replies), return_code and return_message (replies), payload, and received
  (when dl-listen got it, UTC).

Examples:
  dl-listen                                   every alert, one JSON line each
  dl-listen 'sensor_value.#' -f text          sensor values, one human line each
  dl-listen -r '#'                            every request and reply (like dl-mon -r '#')
  dl-listen -r peaches                        requests to peaches and their replies
  dl-listen -n 1 sensor_value.peaches         the next value of peaches, then exit
  dl-listen 'heartbeat.#' --idle-timeout 2m   exit when no heartbeat came for 2 minutes
  dl-listen --queue archive 'sensor_value.#'  a durable queue that keeps alerts while away
  dl-listen 'sensor_value.#' | dl-log-to-pg --stdin

Exit status:
  0   stopped: --count, --duration or --idle-timeout reached, SIGINT or SIGTERM, or stdout
      was closed (e.g. | head -1); a lost broker is reconnected to (the next address of
      --broker a,b,c), not an exit; without --queue, stderr then says that messages sent
      meanwhile were lost
  64  bad command line (EX_USAGE)
  69  broker unreachable at start, or the queue could not be declared or bound
      (EX_UNAVAILABLE)
  70  internal error: a bug (EX_SOFTWARE)
  77  the broker refused the user name or password (EX_NOPERM)
  78  bad broker settings, e.g. an unreadable auth file or a key over 255 bytes (EX_CONFIG)
  130 a second signal while stopping: stopped at once";

/// Print dripline alerts (or, with --requests, requests and replies) as they pass, one JSON
/// line each. Reconnects by itself when the broker goes away, saying so on stderr.
#[derive(Parser, Debug)]
#[command(name = "dl-listen", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Topic keys to bind, wildcards allowed: `*` one word, `#` any words, each only as a
    /// whole word between dots (`sensor_value.ux_#` can never match: a warning says so)
    /// [default: #].
    #[arg(value_name = "KEY")]
    pub keys: Vec<String>,

    /// Bind the keys on the requests exchange instead of alerts: the requests, and the
    /// replies to the requests shown (it binds `amq.*`, where replies to clients' reply queues
    /// travel, and prints those that answer a request it printed or that the keys match; each
    /// reply is waited for 60 s, at most 1000 at a time).
    #[arg(short = 'r', long = "requests")]
    pub requests: bool,

    /// Stop after printing N messages.
    #[arg(short = 'n', long = "count", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Stop after this long (500ms, 10s, 2m; bare numbers are seconds).
    #[arg(long = "duration", value_name = "DURATION", value_parser = dripline_cli::parse_duration)]
    pub duration: Option<Duration>,

    /// Stop when no message came for this long.
    #[arg(long = "idle-timeout", value_name = "DURATION", value_parser = dripline_cli::parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Read the durable queue NAME (created if missing) instead of a temporary one: it keeps
    /// the messages that arrive while dl-listen is away. Each message is acknowledged once
    /// its line is written and flushed. Delete the queue when done
    /// (rabbitmqctl delete_queue NAME).
    #[arg(long = "queue", value_name = "NAME")]
    pub queue: Option<String>,

    /// Output format: jsonl (one JSON object per line), pretty (indented JSON), text (one
    /// human line per message: time, routing key, value).
    #[arg(short = 'f', long = "format", value_enum, default_value_t = format::Format::Jsonl)]
    pub format: format::Format,

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

/// The program. One thread is plenty: lapin reads the socket on its own thread, and every
/// hand-over between runtime threads would cost a wake-up per message. A signal is its normal
/// end: it prints and acknowledges what it holds, then exits 0.
pub fn main() -> std::process::ExitCode {
    let program = Program {
        name: "dl-listen",
        threads: Threads::One,
        on_signal: OnSignal::Stop,
    };
    program.run(run::run)
}
