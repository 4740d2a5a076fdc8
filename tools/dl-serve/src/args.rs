//! dl-serve's command line.

use clap::Parser;
use dripline_cli::{BrokerArgs, LogArgs};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Config file (dripline-python's format, flat v5 layout or the deprecated v4 runtime-config:):
  name: my_store
  module: Service
  heartbeat_interval_s: 60
  endpoints:
    - name: peaches
      module: KeyValueStore
      calibration: '2*{}'
      initial_value: 0.75
      log_interval: 10
      get_on_set: true
      log_on_set: true
  `ENV{VAR}` in a string value is replaced by the environment variable VAR.
  Read as dripline-python's PyYAML reads it (YAML 1.1): unquoted on/off/yes/no are booleans,
  quoted \"on\" is the text. module: may also be dripline-python's dotted name
  (dripline.core.Service, dripline.implementations.KeyValueStore). A set of a list, or of a
  value a calibration string must not evaluate (nested too deeply), is refused with 304.

Examples:
  dl-serve -c examples/local-mesh/key-value-store.yaml
  dl-serve -c store.yaml -b rabbit.example.org --auth-file /etc/rabbitmq-secret/authentications.json -v
  dl-serve -c store.yaml --check          # validate the config and exit
  dl-serve -c store.yaml --heartbeat-interval-s 0 --log-format json
  dl-serve -c store.yaml --max-message-size 1048576   # refuse requests over 1 MiB

Exit status:
  0   stopped by SIGINT or SIGTERM (or --check found the config fine)
  64  bad command line (EX_USAGE)
  69  broker unreachable, or the connection was lost and could not be re-opened,
      or another service with the same name holds the queue (EX_UNAVAILABLE)
  77  the broker refused the user name or password (EX_NOPERM)
  78  bad config file: one line per problem, in file order, naming the file, line and key
      (EX_CONFIG)
  70  internal error: a bug (EX_SOFTWARE)
  130 a second signal while stopping: stopped at once";

/// Run a dripline service from a YAML config: key-value-store endpoints with calibration,
/// periodic value logging, lockout and heartbeats. Stops cleanly on SIGINT/SIGTERM.
#[derive(Parser, Debug)]
#[command(name = "dl-serve", version, after_help = AFTER_HELP)]
pub struct Args {
    /// The service configuration file (YAML, dripline-python format).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: PathBuf,

    /// Seconds between heartbeat alerts, 0 = none; overrides the config's
    /// heartbeat_interval_s [default: 60].
    #[arg(long = "heartbeat-interval-s", value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub heartbeat_interval_s: Option<f64>,

    /// First routing-key word of heartbeat alerts; overrides
    /// dripline_mesh.heartbeat_routing_key [default: heartbeat].
    #[arg(long = "heartbeat-routing-key", value_name = "WORD")]
    pub heartbeat_routing_key: Option<String>,

    /// Largest request accepted, in bytes, all its chunks together; a bigger one is answered
    /// 302 and the refusals are counted in a warning at most every 10 s.
    #[arg(long = "max-message-size", value_name = "BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_message_size: u32,

    /// Check the config file (and broker settings) and exit without connecting.
    #[arg(long = "check")]
    pub check: bool,

    /// Broker connection flags.
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

fn non_negative_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds),
        _ => Err(format!("'{text}' is not a number of seconds ≥ 0")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        let args = Args::try_parse_from([
            "dl-serve",
            "-c",
            "x.yaml",
            "--heartbeat-interval-s",
            "0.5",
            "-b",
            "broker",
            "-vv",
        ])
        .unwrap();
        assert_eq!(args.heartbeat_interval_s, Some(0.5));
        assert_eq!(args.broker.broker.as_deref(), Some("broker"));
        assert_eq!(args.log.verbose, 2);
        assert!(Args::try_parse_from(["dl-serve"]).is_err());
        assert!(
            Args::try_parse_from(["dl-serve", "-c", "x", "--heartbeat-interval-s", "-1"]).is_err()
        );
    }
}
