//! The broker connection flags every AMQP program shares.

use crate::exit_status::{ExitFailure, CONFIG};
use clap::{Args, ValueEnum};
use dripline_mesh::{BrokerOptions, BrokerOrder, BrokerSettings};
use std::path::PathBuf;

/// Where the broker is and how to log in. Passwords are never taken on the command line:
/// use `--password-file`, `DRIPLINE_PASSWORD`, or an auth file.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Broker connection")]
pub struct BrokerArgs {
    /// Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16)
    /// [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml].
    #[arg(short = 'b', long = "broker", value_name = "HOSTS", value_parser = broker_list)]
    pub broker: Option<String>,
    /// Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default:
    /// 5672, 5671 with TLS].
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,
    /// Which broker address to try first: the first listed that answers, or a random one
    /// (so that many programs spread over a cluster's nodes).
    #[arg(long = "broker-order", value_name = "ORDER", value_enum, default_value_t = BrokerOrderArg::First)]
    pub broker_order: BrokerOrderArg,
    /// RabbitMQ virtual host [default: /].
    #[arg(long = "vhost", value_name = "VHOST")]
    pub vhost: Option<String>,
    /// Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas
    /// (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL].
    #[arg(long = "amqp-url", value_name = "URL")]
    pub amqp_url: Option<String>,
    /// Connect with TLS (amqps).
    #[arg(long = "tls")]
    pub tls: bool,
    /// PEM file of the CA that signed the broker's TLS certificate (besides the system's).
    #[arg(long = "tls-ca-file", value_name = "FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group).
    #[arg(long = "auth-file", value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// User name [env: DRIPLINE_USER; default: guest].
    #[arg(short = 'u', long = "username", value_name = "USER")]
    pub username: Option<String>,
    /// File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD].
    #[arg(long = "password-file", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists].
    #[arg(long = "mesh-file", value_name = "FILE")]
    pub mesh_file: Option<PathBuf>,
    /// Name of the requests exchange [default: requests].
    #[arg(long = "requests-exchange", value_name = "NAME")]
    pub requests_exchange: Option<String>,
    /// Name of the alerts exchange [default: alerts].
    #[arg(long = "alerts-exchange", value_name = "NAME")]
    pub alerts_exchange: Option<String>,
    /// Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools].
    #[arg(long = "max-connection-attempts", value_name = "N")]
    pub max_connection_attempts: Option<u32>,
}

impl BrokerArgs {
    /// The settings these flags, the environment and the files give, after `adjust` had its
    /// say over the options (e.g. a config file's mesh section); a problem is a bad
    /// configuration (status 78).
    pub fn settings_with(
        &self,
        adjust: impl FnOnce(&mut BrokerOptions),
    ) -> Result<BrokerSettings, ExitFailure> {
        let mut options = self.to_options();
        adjust(&mut options);
        BrokerSettings::resolve(&options)
            .map_err(|error| ExitFailure::new(CONFIG, error.to_string()))
    }

    /// The settings of a one-shot tool: it tries the broker once (unless
    /// `--max-connection-attempts` says otherwise) and fails fast when it is down, rather than
    /// retrying for a minute.
    pub fn one_shot_settings(&self) -> Result<BrokerSettings, ExitFailure> {
        self.settings_with(|options| {
            options.max_connection_attempts = options.max_connection_attempts.or(Some(1));
        })
    }

    /// The flags as mesh options (to be resolved with env and files by the mesh crate).
    pub fn to_options(&self) -> BrokerOptions {
        BrokerOptions {
            url: self.amqp_url.clone(),
            host: self.broker.clone(),
            port: self.port,
            order: Some(self.broker_order.into()),
            vhost: self.vhost.clone(),
            tls: self.tls || self.tls_ca_file.is_some(),
            tls_ca_file: self.tls_ca_file.clone(),
            auth_file: self.auth_file.clone(),
            username: self.username.clone(),
            password_file: self.password_file.clone(),
            requests_exchange: self.requests_exchange.clone(),
            alerts_exchange: self.alerts_exchange.clone(),
            max_connection_attempts: self.max_connection_attempts,
            config_mesh: Default::default(),
            mesh_file: self.mesh_file.clone(),
        }
    }
}

/// `--broker-order`: which broker address a connection tries first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum BrokerOrderArg {
    /// As listed: the first that answers.
    #[default]
    First,
    /// A random order at each attempt.
    Random,
}

impl From<BrokerOrderArg> for BrokerOrder {
    fn from(order: BrokerOrderArg) -> Self {
        match order {
            BrokerOrderArg::First => BrokerOrder::First,
            BrokerOrderArg::Random => BrokerOrder::Random,
        }
    }
}

/// `--broker` is checked as it is parsed, so that a bad entry is a usage error (status 64)
/// that names it.
fn broker_list(text: &str) -> Result<String, String> {
    dripline_mesh::parse_broker_list(text)?;
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        broker: BrokerArgs,
    }

    #[test]
    fn broker_lists_and_order_are_flags() {
        let cli =
            Cli::try_parse_from(["x", "--broker", "a,b:5673", "--broker-order", "random"]).unwrap();
        assert_eq!(cli.broker.broker.as_deref(), Some("a,b:5673"));
        let options = cli.broker.to_options();
        assert_eq!(options.order, Some(BrokerOrder::Random));
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.broker.to_options().order, Some(BrokerOrder::First));
    }

    #[test]
    fn bad_broker_lists_are_usage_errors_naming_the_entry() {
        for (flag, expected) in [
            ("a,,b", "entry 2 '': empty broker address"),
            ("a,b:70000", "entry 2 'b:70000'"),
            (
                &vec!["h"; 1000].join(","),
                "1000 broker addresses; at most 16",
            ),
        ] {
            let error = match Cli::try_parse_from(["x", "--broker", flag]) {
                Err(error) => error.to_string(),
                Ok(_) => panic!("{flag} accepted"),
            };
            assert!(error.contains(expected), "{flag}: {error}");
        }
        assert!(Cli::try_parse_from(["x", "--broker-order", "last"]).is_err());
    }
}
