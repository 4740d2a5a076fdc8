//! The PostgreSQL connection flags every database program shares (`dl-export`,
//! `dl-log-to-pg`), turned into `dripline_store::ConnectionOptions`.

use clap::Args;
use dripline_store::{ConnectionOptions, HostList, PortList, SslMode, TargetSessionAttrs};
use std::path::{Path, PathBuf};

/// Where the database is and how to log in. Passwords are never taken on the command line:
/// use `--pg-password-file`, a URL, `PGPASSWORD`, `POSTGRES_PASSWORD`, the auth file's
/// `postgres` group or `~/.pgpass`.
///
/// Each setting is taken from the first of: its flag; the URL (`--pg-url`, else
/// `DATABASE_URL`); libpq's variables (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`,
/// `PGPASSWORD`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`); dripline's
/// (`POSTGRES_USER`, `POSTGRES_PASSWORD`); the auth file; `PGPASSFILE` (default `~/.pgpass`);
/// the defaults. `dripline_store::config` resolves them; the flags here only carry what was
/// typed.
///
/// The auth file flag is not here but in [`AuthFileArgs`] (or the broker's `--auth-file` in
/// programs that also talk AMQP): one dripline auth file holds both the `dripline` and the
/// `postgres` group, so a program takes it once. Pass it to [`DatabaseArgs::to_options`].
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Database connection")]
pub struct DatabaseArgs {
    /// Whole database URL, postgresql://[user[:password]@]host[:port][,host[:port]…]/database
    /// [?sslmode=…&target_session_attrs=…]. Its parts override the PG* variables; the flags
    /// below override its parts.
    #[arg(
        long = "pg-url",
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub url: Option<String>,
    /// Database host, or a Unix socket directory; or several, comma-separated (at most 16),
    /// tried in order as --pg-target-session-attrs says [env: PGHOST; default: localhost].
    #[arg(long = "pg-host", value_name = "HOST[,HOST…]", value_parser = parse_hosts)]
    pub host: Option<HostList>,
    /// Database port, for every host or one per host [env: PGPORT; default: 5432].
    #[arg(long = "pg-port", id = "pg_port", value_name = "PORT[,PORT…]", value_parser = parse_ports)]
    pub port: Option<PortList>,
    /// Which of several hosts to settle on, as libpq: any (the first that answers);
    /// read-write (the primary); read-only; primary; standby; prefer-standby (a standby if
    /// one is up, else any) [env: PGTARGETSESSIONATTRS; URL target_session_attrs; default:
    /// any, but read-write for dl-log-to-pg with several hosts].
    #[arg(
        long = "pg-target-session-attrs",
        value_name = "ATTRS",
        value_parser = parse_session_attrs
    )]
    pub target_session_attrs: Option<TargetSessionAttrs>,
    /// Database name [env: PGDATABASE; default: sensor_data].
    #[arg(long = "pg-database", value_name = "NAME")]
    pub database: Option<String>,
    /// Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username;
    /// default: postgres].
    #[arg(long = "pg-user", value_name = "USER")]
    pub user: Option<String>,
    /// File holding the database password (trailing newline ignored) [or the URL's; env:
    /// PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or
    /// ~/.pgpass; default: postgres].
    #[arg(
        long = "pg-password-file",
        id = "pg_password_file",
        value_name = "FILE"
    )]
    pub password_file: Option<PathBuf>,
    /// TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not
    /// checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name
    /// the host) [env: PGSSLMODE; default: prefer].
    #[arg(
        long = "pg-sslmode",
        value_name = "MODE",
        value_parser = parse_ssl_mode
    )]
    pub ssl_mode: Option<SslMode>,
    /// PEM file of root certificates to trust besides the system's, for verify-ca and
    /// verify-full (with require, the certificate is then checked as verify-ca)
    /// [env: PGSSLROOTCERT].
    #[arg(long = "pg-sslrootcert", value_name = "FILE")]
    pub ssl_root_cert: Option<PathBuf>,
    /// Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never;
    /// default: 10s].
    #[arg(long = "pg-connect-timeout", value_name = "DURATION", value_parser = crate::parse_duration)]
    pub connect_timeout: Option<std::time::Duration>,
}

/// `--auth-file`, for programs that take no broker flags (those get it from `BrokerArgs`).
#[derive(Args, Clone, Debug, Default)]
pub struct AuthFileArgs {
    /// Auth file (JSON or YAML) whose `postgres` group holds username and password.
    #[arg(long = "auth-file", value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
}

fn parse_ssl_mode(text: &str) -> Result<SslMode, String> {
    text.parse()
}

fn parse_hosts(text: &str) -> Result<HostList, String> {
    text.parse()
}

fn parse_ports(text: &str) -> Result<PortList, String> {
    text.parse()
}

fn parse_session_attrs(text: &str) -> Result<TargetSessionAttrs, String> {
    text.parse()
}

impl DatabaseArgs {
    /// The flags as store options, with the program's auth file, and its name as the
    /// `application_name` unless the URL or `PGAPPNAME` gives one.
    pub fn to_options(
        &self,
        auth_file: Option<&Path>,
        application_name: &str,
    ) -> ConnectionOptions {
        ConnectionOptions {
            url: self.url.clone(),
            host: self.host.clone(),
            port: self.port.clone(),
            database: self.database.clone(),
            user: self.user.clone(),
            password_file: self.password_file.clone(),
            auth_file: auth_file.map(Path::to_path_buf),
            ssl_mode: self.ssl_mode,
            ssl_root_cert: self.ssl_root_cert.clone(),
            application_name: None,
            fallback_application_name: Some(application_name.to_string()),
            connect_timeout: self.connect_timeout,
            target_session_attrs: self.target_session_attrs,
            several_hosts_session_attrs: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        auth: AuthFileArgs,
    }

    #[test]
    fn flags_become_options() {
        let cli = Cli::try_parse_from([
            "x",
            "--pg-host",
            "db",
            "--pg-port",
            "5433",
            "--pg-sslmode",
            "disable",
            "--auth-file",
            "/a.json",
            "--pg-sslrootcert",
            "/ca.pem",
        ])
        .unwrap();
        let options = cli.db.to_options(cli.auth.auth_file.as_deref(), "dl-test");
        assert_eq!(options.host, Some(HostList(vec!["db".into()])));
        assert_eq!(options.port, Some(PortList(vec![5433])));
        assert_eq!(options.ssl_mode, Some(SslMode::Disable));
        assert_eq!(options.auth_file, Some(PathBuf::from("/a.json")));
        assert_eq!(options.ssl_root_cert, Some(PathBuf::from("/ca.pem")));
        assert!(Cli::try_parse_from(["x", "--pg-sslmode", "sometimes"]).is_err());
    }

    #[test]
    fn several_hosts_and_session_attrs() {
        let cli = Cli::try_parse_from([
            "x",
            "--pg-host",
            "db1,db2",
            "--pg-port",
            "5432,5433",
            "--pg-target-session-attrs",
            "prefer-standby",
        ])
        .unwrap();
        let options = cli.db.to_options(None, "dl-test");
        assert_eq!(
            options.host,
            Some(HostList(vec!["db1".into(), "db2".into()]))
        );
        assert_eq!(options.port, Some(PortList(vec![5432, 5433])));
        assert_eq!(
            options.target_session_attrs,
            Some(TargetSessionAttrs::PreferStandby)
        );
        // Refusals name the bad entry.
        for (flag, value, says) in [
            ("--pg-host", "a,,b", "host 2 of 'a,,b' is empty"),
            ("--pg-port", "5432,x", "'x' is not a port number"),
            ("--pg-target-session-attrs", "sometimes", "'sometimes'"),
        ] {
            let error = Cli::try_parse_from(["x", flag, value]).err().unwrap();
            assert!(error.to_string().contains(says), "{error}");
        }
        let many = vec!["h"; 17].join(",");
        let error = Cli::try_parse_from(["x", "--pg-host", &many])
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("17 hosts; at most 16"),
            "{error}"
        );
    }
}
