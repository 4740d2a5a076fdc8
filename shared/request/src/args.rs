//! The flags dl-get, dl-set and dl-cmd share.

use clap::Args;
use dripline_cli::{BrokerArgs, LogArgs};
use std::time::Duration;

/// The EXIT STATUS table shown in every request tool's `--help` and man page.
pub const EXIT_STATUS_HELP: &str = "\
Exit status (the dripline return code / 100, like dl-agent):
  0   success, or a warning (return codes 0-99)
  1   AMQP error (1xx), e.g. the broker cannot be reached or refused the login
  2   resource error (2xx)
  3   service error (3xx), e.g. 307 locked out, 310 bad specifier
  4   client error (4xx): 403 no such target (unroutable), 404 timeout, bad input line
  9   unhandled exception in the service (999)
  10+ application-defined codes (>= 1000)
  64  usage error (bad flag or argument)
  70  internal error (a bug; please report it)
  78  bad settings: an auth file, password file or mesh file that cannot be read
  130 interrupted (Ctrl-C, SIGTERM): replies already printed stay printed
With several targets or in batch mode (-), the highest status among the requests that
failed. An empty stdin says \"stdin: no input lines\" on stderr and exits 0.";

/// The usage error of a request tool given no target on a terminal.
pub const NO_TARGET: &str = "no target given (name an endpoint or service)";

/// Flags shared by the request tools.
#[derive(Args, Clone, Debug)]
pub struct RequestArgs {
    /// Lockout key (a UUID) for a locked endpoint.
    #[arg(short = 'k', long = "lockout-key", value_name = "KEY")]
    pub lockout_key: Option<String>,
    /// How long to wait for a reply (500ms, 10s, 2m; bare numbers are seconds; 0 = forever).
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "DURATION",
        default_value = "10s",
        env = "DRIPLINE_TIMEOUT",
        value_parser = dripline_cli::parse_duration
    )]
    pub timeout: Duration,
    /// Print the whole reply as one JSON object (routing key, return code and message,
    /// sender_info, timestamp, payload) instead of the payload alone.
    #[arg(long = "full")]
    pub full: bool,
    /// Print only this field of the payload (dotted path: `value_cal`, `values.0`); strings
    /// print without quotes.
    #[arg(long = "field", value_name = "PATH", conflicts_with = "full")]
    pub field: Option<String>,
    /// Indent JSON output for people.
    #[arg(long = "pretty")]
    pub pretty: bool,
    /// Print every reply (for `broadcast`) as it arrives, until the timeout (`-t 0`: until
    /// interrupted), one line each, with --full implied so each line names the service that
    /// answered. Takes one target.
    #[arg(long = "broadcast")]
    pub broadcast: bool,
    /// In batch mode, stop at the first failed request or bad input line.
    #[arg(long = "fail-fast")]
    pub fail_fast: bool,
    /// In batch mode, how many requests may wait for replies at once.
    #[arg(long = "in-flight", value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..))]
    pub in_flight: u16,
    /// Broker connection flags.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}
