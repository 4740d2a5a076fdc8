//! Where to connect and as whom: URL, host/port/database/user, libpq's environment variables,
//! credentials from the auth file's `postgres` group, dripline's environment or a password
//! file, and `sslmode`.
//!
//! Precedence, highest first (libpq's order, with dripline-python's sources below it):
//!
//! 1. options (command-line flags): `host`, `port`, `database`, `user`, `password_file`,
//!    `ssl_mode`, `ssl_root_cert`, `connect_timeout`, `application_name`,
//!    `target_session_attrs`;
//! 2. the URL (`postgresql://USER:PW@HOST:PORT/DB?sslmode=…&application_name=…&connect_timeout=…`
//!    or libpq `key=value` words);
//! 3. libpq's environment: `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`,
//!    `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT` (seconds; 0 waits forever),
//!    `PGTARGETSESSIONATTRS`;
//! 4. dripline's environment: `POSTGRES_USER`, `POSTGRES_PASSWORD`;
//! 5. the auth file's `postgres` group: `username`, `password`;
//! 6. for the password only: the password file `PGPASSFILE` (default `~/.pgpass`), its first
//!    line matching host, port, database and user, as libpq reads it;
//! 7. defaults: `localhost`, `5432`, `sensor_data`, user and password `postgres`
//!    (dripline-python's), `sslmode` `prefer`, the program's name as `application_name`, 10 s.
//!
//! ## Several hosts
//!
//! As libpq, the host may be a list (`--pg-host h1,h2`, `PGHOST=h1,h2`,
//! `postgresql://h1:5432,h2:5433/db`, `host=h1,h2 port=5432,5433`), at most [`MAX_HOSTS`]; the
//! port is then one for all hosts or one per host (an empty entry is 5432). The hosts and the
//! ports each come from the first source that gives them. They are tried in order until one
//! accepts the login and is what `target_session_attrs` asks for ([`TargetSessionAttrs`]); a
//! refused password or a missing database stops the search, as in libpq. A password from the
//! password file is looked up per host.
//!
//! The auth file is JSON or YAML, `{"postgres": {"username": …, "password": …}}`; the older
//! `postgresql` group name (seen in the controls-guide's example secrets) is read when there is
//! no `postgres` group.

use crate::pgpass;
use dripline_protocol::auth_file::{AuthFile, AuthFileError, AuthGroup};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

/// The database dripline-python's sensor logger writes to by default.
pub const DEFAULT_DATABASE: &str = "sensor_data";
/// Default user and password of dripline-python's `postgres` auth group.
pub const DEFAULT_USER: &str = "postgres";
/// Default host.
pub const DEFAULT_HOST: &str = "localhost";
/// Default port.
pub const DEFAULT_PORT: u16 = 5432;
/// At most this many database hosts may be listed (a bound on every input door: flags, URL,
/// `PGHOST`).
pub const MAX_HOSTS: usize = 16;
/// How long to wait for a connection unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// `application_name` when neither the options nor the environment give one.
pub const DEFAULT_APPLICATION_NAME: &str = "dripline-tools";

/// The connection settings are unusable.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The auth file could not be read or has no usable `postgres` group.
    #[error("auth file {path}: {reason}")]
    AuthFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The password file could not be read.
    #[error("password file {path}: {reason}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The database URL could not be parsed (the URL itself is not repeated: it may hold a
    /// password).
    #[error("database URL is not valid: {reason}")]
    Url {
        /// What the parser said.
        reason: String,
    },
    /// A libpq environment variable (`PGPORT`, `PGSSLMODE`, `PGCONNECT_TIMEOUT`) has a value
    /// that cannot be used.
    #[error("environment variable {name}: {reason}")]
    Environment {
        /// The variable.
        name: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// The host and port lists do not pair up (3 hosts but 2 ports).
    #[error("database hosts: {reason}")]
    Hosts {
        /// What is wrong, naming where each list came from.
        reason: String,
    },
    /// The `sslrootcert` file could not be read or holds no usable certificate.
    #[error("sslrootcert {path}: {reason}")]
    TlsRootCert {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// TLS could not be set up (no trusted certificates, …).
    #[error("TLS for PostgreSQL: {reason}")]
    Tls {
        /// What is wrong.
        reason: String,
    },
}

/// Whether to use TLS and what to check, as libpq's `sslmode`. Over a Unix socket no TLS is
/// used, whatever the mode (as libpq).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it, else plain; the certificate is not checked.
    /// (`allow` is read as this.)
    #[default]
    Prefer,
    /// Fail unless TLS is used; the certificate is not checked, unless an `sslrootcert` is
    /// given (then as `VerifyCa`).
    Require,
    /// TLS, and the server's certificate must lead to a trusted root (the system's trust
    /// store or `sslrootcert`); its name is not checked.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host connected to.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "disable" => Ok(SslMode::Disable),
            "prefer" | "allow" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(format!(
                "'{other}' is not an sslmode (disable, prefer, require, verify-ca or verify-full)"
            )),
        }
    }
}

/// A password, kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A list of database hosts as typed: `h1,h2,/run/postgresql` (libpq's `host`), 1 to
/// [`MAX_HOSTS`] non-empty entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostList(pub Vec<String>);

impl FromStr for HostList {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let entries: Vec<&str> = text.split(',').map(str::trim).collect();
        check_count(entries.len(), "hosts")?;
        let mut hosts = Vec::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let number = index + 1;
            if entry.is_empty() {
                return Err(format!("host {number} of '{text}' is empty"));
            }
            // A DNS name has at most 253 characters, a socket directory fits in 108 bytes.
            if entry.len() > 255 {
                return Err(format!("host {number} is longer than 255 characters"));
            }
            if entry.chars().any(char::is_control) {
                return Err(format!(
                    "host {number} ('{}') holds a control character",
                    entry.escape_default()
                ));
            }
            hosts.push(entry.to_string());
        }
        Ok(HostList(hosts))
    }
}

/// A list of ports as typed: `5432` for every host, or `5432,5433` one per host (libpq's
/// `port`; an empty entry is 5432), at most [`MAX_HOSTS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortList(pub Vec<u16>);

impl FromStr for PortList {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let entries: Vec<&str> = text.split(',').map(str::trim).collect();
        check_count(entries.len(), "ports")?;
        entries
            .into_iter()
            .map(|entry| match entry {
                "" => Ok(DEFAULT_PORT),
                _ => match entry.parse::<u16>() {
                    Ok(0) | Err(_) => Err(format!(
                        "'{}' is not a port number (1 to 65535)",
                        entry.escape_default()
                    )),
                    Ok(port) => Ok(port),
                },
            })
            .collect::<Result<_, _>>()
            .map(PortList)
    }
}

fn check_count(count: usize, what: &str) -> Result<(), String> {
    if count > MAX_HOSTS {
        Err(format!("{count} {what}; at most {MAX_HOSTS}"))
    } else {
        Ok(())
    }
}

/// Which server of a host list to settle on, as libpq's `target_session_attrs`. The checks
/// run on each server after the login: `transaction_read_only` for `read-write` and
/// `read-only`, `pg_is_in_recovery()` for `primary`, `standby` and `prefer-standby`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetSessionAttrs {
    /// The first server that accepts the login.
    #[default]
    Any,
    /// A server whose sessions may write (the primary): what a writer wants.
    ReadWrite,
    /// A server whose sessions are read-only (a hot standby, or a primary set read-only).
    ReadOnly,
    /// A server not in recovery.
    Primary,
    /// A server in recovery (a streaming standby).
    Standby,
    /// A standby if any listed host is one, else any server: a reader that should spare the
    /// primary.
    PreferStandby,
}

impl FromStr for TargetSessionAttrs {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "any" => Ok(TargetSessionAttrs::Any),
            "read-write" => Ok(TargetSessionAttrs::ReadWrite),
            "read-only" => Ok(TargetSessionAttrs::ReadOnly),
            "primary" => Ok(TargetSessionAttrs::Primary),
            "standby" => Ok(TargetSessionAttrs::Standby),
            "prefer-standby" => Ok(TargetSessionAttrs::PreferStandby),
            other => Err(format!(
                "'{}' is not a target_session_attrs (any, read-write, read-only, primary, \
                 standby or prefer-standby)",
                other.escape_default()
            )),
        }
    }
}

impl fmt::Display for TargetSessionAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetSessionAttrs::Any => "any",
            TargetSessionAttrs::ReadWrite => "read-write",
            TargetSessionAttrs::ReadOnly => "read-only",
            TargetSessionAttrs::Primary => "primary",
            TargetSessionAttrs::Standby => "standby",
            TargetSessionAttrs::PreferStandby => "prefer-standby",
        })
    }
}

/// One database server of the list: host (name, address or Unix socket directory) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// Host name, address or Unix socket directory.
    pub host: String,
    /// TCP port (or the socket's number).
    pub port: u16,
    /// This server's password from the password file, when no password was given otherwise.
    pgpass: Option<Password>,
}

impl Server {
    /// The server at `host` and `port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Server {
            host: host.into(),
            port,
            pgpass: None,
        }
    }

    /// Whether the host is a Unix socket directory.
    pub fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }
}

impl fmt::Display for Server {
    /// `host:port`, `[::1]:port`, or the socket's path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_socket() {
            write!(f, "{}/.s.PGSQL.{}", self.host, self.port)
        } else if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What the user asked for; every field is optional. Filled from command-line flags by
/// `dripline-cli`, or by hand in tests.
#[derive(Clone, Debug, Default)]
pub struct ConnectionOptions {
    /// A `postgresql://user:pw@host:port/db?sslmode=…` URL or a libpq `key=value` string.
    pub url: Option<String>,
    /// Host names, addresses, or Unix socket directories (starting with `/`).
    pub host: Option<HostList>,
    /// TCP port, for every host or one per host.
    pub port: Option<PortList>,
    /// Database name.
    pub database: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// A file whose content (less a trailing newline) is the password.
    pub password_file: Option<PathBuf>,
    /// A dripline auth file (JSON or YAML) with a `postgres` group.
    pub auth_file: Option<PathBuf>,
    /// TLS use.
    pub ssl_mode: Option<SslMode>,
    /// PEM file of certificates to trust, besides the system's (libpq's `sslrootcert`).
    pub ssl_root_cert: Option<PathBuf>,
    /// `application_name` reported to the server (shows in `pg_stat_activity`), above the
    /// URL's and `PGAPPNAME`.
    pub application_name: Option<String>,
    /// `application_name` when neither the URL nor `PGAPPNAME` gives one (libpq's
    /// `fallback_application_name`): the program's name.
    pub fallback_application_name: Option<String>,
    /// How long to wait for the connection (to each host).
    pub connect_timeout: Option<Duration>,
    /// Which server of a list to settle on, above the URL's and `PGTARGETSESSIONATTRS`.
    pub target_session_attrs: Option<TargetSessionAttrs>,
    /// `target_session_attrs` when several hosts are listed and no source asks for one
    /// (dl-log-to-pg: `read-write`, so that it writes to the primary).
    pub several_hosts_session_attrs: Option<TargetSessionAttrs>,
}

/// Resolved settings: everything needed to connect.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// The servers to try, in order (at least one, at most [`MAX_HOSTS`]).
    pub servers: Vec<Server>,
    /// Database name.
    pub database: String,
    /// User name.
    pub user: String,
    /// The password given (option, URL, environment, auth file); `None`: each server's line
    /// of the password file, else the default (see [`ConnectionConfig::password_for`]).
    pub password: Option<Password>,
    /// TLS use.
    pub ssl_mode: SslMode,
    /// PEM file of certificates to trust, besides the system's.
    pub ssl_root_cert: Option<PathBuf>,
    /// `application_name` for the server.
    pub application_name: String,
    /// Connection timeout, per host; `None` waits as long as the operating system does.
    pub connect_timeout: Option<Duration>,
    /// Which server of the list to settle on.
    pub target_session_attrs: TargetSessionAttrs,
}

impl fmt::Display for ConnectionConfig {
    /// `user@host:port/database` (`user@h1:5432,h2:5432/database` for a list), never the
    /// password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}/{}", self.user, self.target(), self.database)
    }
}

impl ConnectionConfig {
    /// Resolve `options` over the process environment (see the module documentation for the
    /// variables and their precedence).
    pub fn resolve(options: &ConnectionOptions) -> Result<Self, ConfigError> {
        Self::resolve_with_env(options, |name| std::env::var(name).ok())
    }

    /// Resolve `options` over the environment given by `env` (for tests; `HOME` there locates
    /// `~/.pgpass`).
    pub fn resolve_with_env(
        options: &ConnectionOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let url = match options.url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Settings::from_url(url)?,
            _ => Settings::default(),
        };
        let libpq = Settings::from_env(&env)?;
        let auth = match &options.auth_file {
            Some(path) => read_auth_file(path)?,
            None => AuthGroup::default(),
        };
        let given = |name: &str| env(name).filter(|value| !value.is_empty());
        let hosts = [
            ("--pg-host", options.host.as_ref().map(|h| h.0.clone())),
            ("the URL", url.hosts),
            ("PGHOST", libpq.hosts),
        ]
        .into_iter()
        .find_map(|(source, hosts)| Some((source, hosts?)))
        .unwrap_or(("the default", vec![DEFAULT_HOST.to_string()]));
        let ports = [
            ("--pg-port", options.port.as_ref().map(|p| p.0.clone())),
            ("the URL", url.ports),
            ("PGPORT", libpq.ports),
        ]
        .into_iter()
        .find_map(|(source, ports)| Some((source, ports?)))
        .unwrap_or(("the default", vec![DEFAULT_PORT]));
        let servers = pair_up(hosts, ports)?;
        let target_session_attrs = options
            .target_session_attrs
            .or(url.target_session_attrs)
            .or(libpq.target_session_attrs)
            .or(options
                .several_hosts_session_attrs
                .filter(|_| servers.len() > 1))
            .unwrap_or_default();
        let mut config = ConnectionConfig {
            servers,
            database: options
                .database
                .clone()
                .or(url.database)
                .or(libpq.database)
                .unwrap_or_else(|| DEFAULT_DATABASE.to_string()),
            user: options
                .user
                .clone()
                .or(url.user)
                .or(libpq.user)
                .or_else(|| given("POSTGRES_USER"))
                .or(auth.username)
                .unwrap_or_else(|| DEFAULT_USER.to_string()),
            password: None,
            ssl_mode: options
                .ssl_mode
                .or(url.ssl_mode)
                .or(libpq.ssl_mode)
                .unwrap_or_default(),
            ssl_root_cert: options
                .ssl_root_cert
                .clone()
                .or(url.ssl_root_cert)
                .or(libpq.ssl_root_cert),
            application_name: options
                .application_name
                .clone()
                .or(url.application_name)
                .or(libpq.application_name)
                .or_else(|| options.fallback_application_name.clone())
                .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_string()),
            connect_timeout: match options.connect_timeout {
                Some(timeout) => Some(timeout),
                None => url
                    .connect_timeout
                    .or(libpq.connect_timeout)
                    .unwrap_or(Some(DEFAULT_CONNECT_TIMEOUT)),
            },
            target_session_attrs,
        };
        let password = match &options.password_file {
            Some(path) => Some(read_password_file(path)?),
            None => url
                .password
                .or(libpq.password)
                .or_else(|| env("POSTGRES_PASSWORD"))
                .or(auth.password),
        };
        match password {
            Some(password) => config.password = Some(Password(password)),
            None => {
                // As libpq: the password file's line for each host.
                let (database, user) = (config.database.clone(), config.user.clone());
                for server in &mut config.servers {
                    let target = pgpass::Target {
                        host: &server.host,
                        port: server.port,
                        database: &database,
                        user: &user,
                    };
                    server.pgpass = pgpass::lookup(&target, &env).map(Password);
                }
            }
        }
        Ok(config)
    }

    /// The password to offer `server`: the one given, else its line of the password file,
    /// else the default (`postgres`, dripline-python's).
    pub fn password_for(&self, server: &Server) -> Password {
        self.password
            .clone()
            .or_else(|| server.pgpass.clone())
            .unwrap_or_else(|| Password(DEFAULT_USER.to_string()))
    }

    /// `host:port` (or the socket), or the list of them joined by commas, for messages before
    /// a server was reached.
    pub fn target(&self) -> String {
        let names: Vec<String> = self.servers.iter().map(Server::to_string).collect();
        names.join(",")
    }

    /// The driver's configuration for one server of these settings (the choice among several
    /// is made by `connect`).
    pub fn pg_config(&self, server: &Server) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&server.host)
            .port(server.port)
            .dbname(&self.database)
            .user(&self.user)
            .application_name(&self.application_name);
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        config.password(self.password_for(server).0.as_bytes());
        config.ssl_mode(match self.tls_mode(server) {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        config
    }

    /// `ssl_mode`, except that a Unix socket never uses TLS (as libpq).
    pub(crate) fn tls_mode(&self, server: &Server) -> SslMode {
        if server.is_socket() {
            SslMode::Disable
        } else {
            self.ssl_mode
        }
    }
}

/// Pair hosts with ports: one port for all, or one per host. Each list comes with the name of
/// its source, for the message.
fn pair_up(
    (host_source, hosts): (&str, Vec<String>),
    (port_source, ports): (&str, Vec<u16>),
) -> Result<Vec<Server>, ConfigError> {
    check_count(hosts.len(), "hosts").map_err(|reason| ConfigError::Hosts {
        reason: format!("{reason} (from {host_source})"),
    })?;
    let port_of = |index: usize| match ports.len() {
        1 => Some(ports[0]),
        _ => ports.get(index).copied(),
    };
    if ports.len() != 1 && ports.len() != hosts.len() {
        return Err(ConfigError::Hosts {
            reason: format!(
                "{} hosts (from {host_source}) but {} ports (from {port_source}): give one port \
                 for all hosts or one per host",
                hosts.len(),
                ports.len()
            ),
        });
    }
    Ok(hosts
        .into_iter()
        .enumerate()
        .map(|(index, host)| Server::new(host, port_of(index).unwrap_or(DEFAULT_PORT)))
        .collect())
}

/// The settings one source (the URL, or libpq's environment) gives; `None` where it is silent.
#[derive(Default)]
struct Settings {
    hosts: Option<Vec<String>>,
    ports: Option<Vec<u16>>,
    database: Option<String>,
    user: Option<String>,
    password: Option<String>,
    ssl_mode: Option<SslMode>,
    ssl_root_cert: Option<PathBuf>,
    application_name: Option<String>,
    /// `Some(None)`: no timeout (libpq's 0).
    connect_timeout: Option<Option<Duration>>,
    target_session_attrs: Option<TargetSessionAttrs>,
}

impl Settings {
    /// The parts of a `postgresql://` URL or libpq `key=value` string.
    fn from_url(url: &str) -> Result<Self, ConfigError> {
        let tls = take_tls_params(url);
        let ssl_mode = tls
            .ssl_mode
            .map(|mode| mode.parse::<SslMode>())
            .transpose()
            .map_err(|reason| ConfigError::Url { reason })?;
        let target_session_attrs = tls
            .target_session_attrs
            .map(|attrs| attrs.parse::<TargetSessionAttrs>())
            .transpose()
            .map_err(|reason| ConfigError::Url { reason })?;
        if tls
            .load_balance_hosts
            .as_deref()
            .is_some_and(|mode| mode != "disable")
        {
            return Err(ConfigError::Url {
                reason: "load_balance_hosts: only 'disable' is supported (hosts are tried in \
                         the order given)"
                    .to_string(),
            });
        }
        let parsed = tokio_postgres::Config::from_str(&tls.rest).map_err(|e| ConfigError::Url {
            reason: e.to_string(),
        })?;
        let hosts: Vec<String> = parsed
            .get_hosts()
            .iter()
            .map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        check_count(hosts.len(), "hosts").map_err(|reason| ConfigError::Url { reason })?;
        let ports = parsed.get_ports().to_vec();
        check_count(ports.len(), "ports").map_err(|reason| ConfigError::Url { reason })?;
        Ok(Settings {
            hosts: (!hosts.is_empty()).then_some(hosts),
            ports: (!ports.is_empty()).then_some(ports),
            database: parsed.get_dbname().map(str::to_string),
            user: parsed.get_user().map(str::to_string),
            password: parsed
                .get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            ssl_mode,
            ssl_root_cert: tls.ssl_root_cert.map(PathBuf::from),
            application_name: parsed.get_application_name().map(str::to_string),
            connect_timeout: parsed.get_connect_timeout().map(|t| Some(*t)),
            target_session_attrs,
        })
    }

    /// libpq's environment variables; empty ones count as unset (as libpq).
    fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| env(name).filter(|value| !value.is_empty());
        let bad = |name: &'static str, reason: String| ConfigError::Environment { name, reason };
        let hosts = get("PGHOST")
            .map(|text| text.parse::<HostList>().map_err(|e| bad("PGHOST", e)))
            .transpose()?;
        let ports = get("PGPORT")
            .map(|text| text.parse::<PortList>().map_err(|e| bad("PGPORT", e)))
            .transpose()?;
        let target_session_attrs = get("PGTARGETSESSIONATTRS")
            .map(|text| {
                text.parse::<TargetSessionAttrs>()
                    .map_err(|e| bad("PGTARGETSESSIONATTRS", e))
            })
            .transpose()?;
        let ssl_mode = get("PGSSLMODE")
            .map(|text| text.parse::<SslMode>().map_err(|e| bad("PGSSLMODE", e)))
            .transpose()?;
        let connect_timeout = get("PGCONNECT_TIMEOUT")
            .map(|text| match text.trim().parse::<i64>() {
                Ok(seconds) if seconds <= 0 => Ok(None),
                // libpq waits at least 2 seconds.
                Ok(seconds) => Ok(Some(Duration::from_secs(seconds.max(2) as u64))),
                Err(_) => Err(bad(
                    "PGCONNECT_TIMEOUT",
                    format!("'{text}' is not a whole number of seconds"),
                )),
            })
            .transpose()?;
        Ok(Settings {
            hosts: hosts.map(|list| list.0),
            ports: ports.map(|list| list.0),
            database: get("PGDATABASE"),
            user: get("PGUSER"),
            password: get("PGPASSWORD"),
            ssl_mode,
            ssl_root_cert: get("PGSSLROOTCERT").map(PathBuf::from),
            application_name: get("PGAPPNAME"),
            connect_timeout,
            target_session_attrs,
        })
    }
}

/// A connection string without the parameters read here, and their values: tokio-postgres
/// knows only three `sslmode`s, no `sslrootcert`, three `target_session_attrs`, and we choose
/// among hosts ourselves (`load_balance_hosts`).
struct TlsParams {
    rest: String,
    ssl_mode: Option<String>,
    ssl_root_cert: Option<String>,
    target_session_attrs: Option<String>,
    load_balance_hosts: Option<String>,
}

/// Take `sslmode=`, `sslrootcert=`, `target_session_attrs=` and `load_balance_hosts=` out of a
/// `postgresql://…?…` URL's query, or out of a libpq `key=value …` string (unquoted values
/// only there).
fn take_tls_params(connection: &str) -> TlsParams {
    let mut params = TlsParams {
        rest: String::new(),
        ssl_mode: None,
        ssl_root_cert: None,
        target_session_attrs: None,
        load_balance_hosts: None,
    };
    let mut take = |key: &str, value: String| {
        let slot = match key {
            "sslmode" => &mut params.ssl_mode,
            "sslrootcert" => &mut params.ssl_root_cert,
            "target_session_attrs" => &mut params.target_session_attrs,
            _ => &mut params.load_balance_hosts,
        };
        *slot = Some(value);
    };
    let is_tls_key = |key: &str| {
        matches!(
            key,
            "sslmode" | "sslrootcert" | "target_session_attrs" | "load_balance_hosts"
        )
    };
    let rest = if connection.starts_with("postgres://") || connection.starts_with("postgresql://") {
        match connection.split_once('?') {
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    match pair.split_once('=') {
                        Some((key, value)) if is_tls_key(key) => take(
                            key,
                            percent_encoding::percent_decode_str(value)
                                .decode_utf8_lossy()
                                .into_owned(),
                        ),
                        _ => kept.push(pair),
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => connection.to_string(),
        }
    } else {
        let mut kept = Vec::new();
        for word in connection.split_whitespace() {
            match word.split_once('=') {
                Some((key, value)) if is_tls_key(key) => take(key, value.to_string()),
                _ => kept.push(word),
            }
        }
        kept.join(" ")
    };
    params.rest = rest;
    params
}

fn read_password_file(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::PasswordFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

fn read_auth_file(path: &Path) -> Result<AuthGroup, ConfigError> {
    let fail = |reason: String| ConfigError::AuthFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    parse_auth_file(&text).map_err(fail)
}

/// The `postgres` group of an auth file's text (the older `postgresql` group as a fallback).
fn parse_auth_file(text: &str) -> Result<AuthGroup, String> {
    let read = || -> Result<Option<AuthGroup>, AuthFileError> {
        let file = AuthFile::parse(text)?;
        match file.group("postgres")? {
            Some(group) => Ok(Some(group)),
            None => {
                let old = file.group("postgresql")?;
                if old.is_some() {
                    tracing::warn!(
                        "auth file has no 'postgres' group; using its 'postgresql' group instead"
                    );
                }
                Ok(old)
            }
        }
    };
    read()
        .map(Option::unwrap_or_default)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(options: &ConnectionOptions, env: &[(&str, &str)]) -> ConnectionConfig {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConnectionConfig::resolve_with_env(options, |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    #[test]
    fn defaults_are_dripline_pythons() {
        let config = resolve(&ConnectionOptions::default(), &[]);
        assert_eq!(config.to_string(), "postgres@localhost:5432/sensor_data");
        assert_eq!(config.password, None);
        assert_eq!(
            config.password_for(&config.servers[0]),
            Password("postgres".into())
        );
        assert_eq!(config.target_session_attrs, TargetSessionAttrs::Any);
    }

    #[test]
    fn url_then_flags_override() {
        let options = ConnectionOptions {
            url: Some("postgresql://alice:secret@db.example:5433/history".into()),
            port: Some(PortList(vec![6000])),
            ..Default::default()
        };
        let config = resolve(&options, &[("POSTGRES_USER", "bob")]);
        assert_eq!(config.to_string(), "alice@db.example:6000/history");
        assert_eq!(config.password, Some(Password("secret".into())));
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn env_beats_auth_file_and_password_file_beats_all() {
        let dir = std::env::temp_dir().join(format!("store-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let auth = dir.join("auth.json");
        std::fs::write(
            &auth,
            r#"{"dripline": {"username": "d"}, "postgres": {"username": "fileuser", "password": "filepw"}}"#,
        )
        .unwrap();
        let options = ConnectionOptions {
            auth_file: Some(auth.clone()),
            ..Default::default()
        };
        let config = resolve(&options, &[]);
        assert_eq!(config.user, "fileuser");
        assert_eq!(config.password, Some(Password("filepw".into())));
        let config = resolve(
            &options,
            &[("POSTGRES_USER", "envuser"), ("POSTGRES_PASSWORD", "envpw")],
        );
        assert_eq!(config.user, "envuser");
        assert_eq!(config.password, Some(Password("envpw".into())));
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, "frompwfile\n").unwrap();
        let options = ConnectionOptions {
            password_file: Some(pwfile),
            ..options
        };
        let config = resolve(&options, &[("POSTGRES_PASSWORD", "envpw")]);
        assert_eq!(config.password, Some(Password("frompwfile".into())));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn libpq_environment_sits_between_the_url_and_dripline_env() {
        let env = [
            ("PGHOST", "envhost"),
            ("PGPORT", "6543"),
            ("PGDATABASE", "envdb"),
            ("PGUSER", "pguser"),
            ("PGPASSWORD", "pgpw"),
            ("PGSSLMODE", "require"),
            ("PGAPPNAME", "my-report"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("POSTGRES_USER", "dripuser"),
            ("POSTGRES_PASSWORD", "drippw"),
        ];
        let options = ConnectionOptions {
            fallback_application_name: Some("dl-export".into()),
            ..Default::default()
        };
        let config = resolve(&options, &env);
        assert_eq!(config.to_string(), "pguser@envhost:6543/envdb");
        assert_eq!(config.password, Some(Password("pgpw".into())));
        assert_eq!(config.ssl_mode, SslMode::Require);
        assert_eq!(config.application_name, "my-report");
        assert_eq!(config.connect_timeout, Some(Duration::from_secs(3)));
        // The URL's parts beat the environment, flags beat the URL.
        let options = ConnectionOptions {
            url: Some("postgresql://urluser:urlpw@urlhost/urldb?application_name=fromurl&connect_timeout=7".into()),
            port: Some(PortList(vec![7000])),
            ..options
        };
        let config = resolve(&options, &env);
        assert_eq!(config.to_string(), "urluser@urlhost:7000/urldb");
        assert_eq!(config.password, Some(Password("urlpw".into())));
        assert_eq!(config.application_name, "fromurl");
        assert_eq!(config.connect_timeout, Some(Duration::from_secs(7)));
        // Without PG*, dripline's variables; without either, the program's name and 10 s.
        let options = ConnectionOptions {
            fallback_application_name: Some("dl-export".into()),
            ..Default::default()
        };
        let config = resolve(&options, &env[8..]);
        assert_eq!(config.user, "dripuser");
        assert_eq!(config.password, Some(Password("drippw".into())));
        assert_eq!(config.application_name, "dl-export");
        assert_eq!(config.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        // libpq: 0 waits forever, 1 is 2; empty variables are unset.
        let config = resolve(&options, &[("PGCONNECT_TIMEOUT", "0"), ("PGUSER", "")]);
        assert_eq!(config.connect_timeout, None);
        assert_eq!(config.user, "postgres");
        let config = resolve(&options, &[("PGCONNECT_TIMEOUT", "1")]);
        assert_eq!(config.connect_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn bad_libpq_variables_are_named() {
        for (name, value) in [
            ("PGPORT", "five"),
            ("PGSSLMODE", "sometimes"),
            ("PGCONNECT_TIMEOUT", "soon"),
        ] {
            let error = ConnectionConfig::resolve_with_env(&ConnectionOptions::default(), |n| {
                (n == name).then(|| value.to_string())
            })
            .unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("environment variable {name}: ")),
                "{error}"
            );
            assert!(error.to_string().contains(value), "{error}");
        }
    }

    #[test]
    fn password_file_of_libpq_comes_after_the_auth_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("store-pgpass-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pgpass = dir.join(".pgpass");
        std::fs::write(&pgpass, "localhost:5432:sensor_data:postgres:frompgpass\n").unwrap();
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        let home = dir.display().to_string();
        let first = |config: &ConnectionConfig| config.password_for(&config.servers[0]);
        let config = resolve(&ConnectionOptions::default(), &[("HOME", &home)]);
        assert_eq!(first(&config), Password("frompgpass".into()));
        let config = resolve(
            &ConnectionOptions::default(),
            &[("HOME", &home), ("POSTGRES_PASSWORD", "drippw")],
        );
        assert_eq!(first(&config), Password("drippw".into()));
        let elsewhere = dir.join("elsewhere").display().to_string();
        let config = resolve(
            &ConnectionOptions::default(),
            &[("HOME", &home), ("PGPASSFILE", &elsewhere)],
        );
        assert_eq!(first(&config), Password("postgres".into()));
        // Per host, as libpq: the second host has no line, so it gets the default.
        let config = resolve(
            &ConnectionOptions::default(),
            &[("HOME", &home), ("PGHOST", "localhost,otherhost")],
        );
        assert_eq!(first(&config), Password("frompgpass".into()));
        assert_eq!(
            config.password_for(&config.servers[1]),
            Password("postgres".into())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn auth_file_yaml_and_old_group_name() {
        let group =
            parse_auth_file("postgresql:\n  username: dripline\n  password: dripline\n").unwrap();
        assert_eq!(group.username.as_deref(), Some("dripline"));
        assert!(parse_auth_file("[1, 2]").is_err());
        assert_eq!(
            parse_auth_file("{\"dripline\": {}}").unwrap(),
            AuthGroup::default()
        );
    }

    #[test]
    fn tls_settings_from_url_and_options() {
        let options = ConnectionOptions {
            url: Some(
                "postgresql://u@db.example/history?application_name=x&sslmode=verify-full&sslrootcert=/etc/ca%20files/root.pem".into(),
            ),
            ..Default::default()
        };
        let config = resolve(&options, &[]);
        assert_eq!(config.ssl_mode, SslMode::VerifyFull);
        assert_eq!(
            config.ssl_root_cert,
            Some(PathBuf::from("/etc/ca files/root.pem"))
        );
        assert_eq!(config.to_string(), "u@db.example:5432/history");
        let options = ConnectionOptions {
            ssl_mode: Some(SslMode::Disable),
            ssl_root_cert: Some("/mine.pem".into()),
            ..options
        };
        let config = resolve(&options, &[]);
        assert_eq!(config.ssl_mode, SslMode::Disable);
        assert_eq!(config.ssl_root_cert, Some(PathBuf::from("/mine.pem")));

        let options = ConnectionOptions {
            url: Some("host=db sslmode=verify-ca sslrootcert=/ca.pem dbname=d".into()),
            ..Default::default()
        };
        let config = resolve(&options, &[]);
        assert_eq!(config.ssl_mode, SslMode::VerifyCa);
        assert_eq!(config.ssl_root_cert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(config.to_string(), "postgres@db:5432/d");

        let options = ConnectionOptions {
            url: Some("postgresql://h/d?sslmode=sometimes".into()),
            ..Default::default()
        };
        assert!(ConnectionConfig::resolve_with_env(&options, |_| None).is_err());
        assert_eq!(
            resolve(&ConnectionOptions::default(), &[]).ssl_mode,
            SslMode::Prefer
        );
    }

    #[test]
    fn bad_url_does_not_echo_it() {
        let options = ConnectionOptions {
            url: Some("postgresql://u:topsecret@host:notaport/db".into()),
            ..Default::default()
        };
        let error = ConnectionConfig::resolve_with_env(&options, |_| None).unwrap_err();
        assert!(!error.to_string().contains("topsecret"), "{error}");
    }

    #[test]
    fn missing_auth_file_names_it() {
        let options = ConnectionOptions {
            auth_file: Some("/nonexistent/auth.json".into()),
            ..Default::default()
        };
        let error = ConnectionConfig::resolve_with_env(&options, |_| None).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("auth file /nonexistent/auth.json:"));
    }

    fn servers(config: &ConnectionConfig) -> Vec<String> {
        config.servers.iter().map(Server::to_string).collect()
    }

    #[test]
    fn several_hosts_from_url_flags_and_environment() {
        let options = ConnectionOptions {
            url: Some(
                "postgresql://u:pw@db1,db2:5433/history?target_session_attrs=read-write".into(),
            ),
            ..Default::default()
        };
        let config = resolve(&options, &[]);
        assert_eq!(servers(&config), ["db1:5432", "db2:5433"]);
        assert_eq!(config.target_session_attrs, TargetSessionAttrs::ReadWrite);
        assert_eq!(config.to_string(), "u@db1:5432,db2:5433/history");
        assert!(!config.to_string().contains("pw"));
        // One port flag for all hosts; the host flag beats the URL's hosts.
        let options = ConnectionOptions {
            port: Some("6000".parse().unwrap()),
            ..options
        };
        assert_eq!(servers(&resolve(&options, &[])), ["db1:6000", "db2:6000"]);
        let options = ConnectionOptions {
            host: Some("a, b,c".parse().unwrap()),
            port: Some("1,,3".parse().unwrap()),
            target_session_attrs: Some(TargetSessionAttrs::PreferStandby),
            ..options
        };
        let config = resolve(&options, &[]);
        assert_eq!(servers(&config), ["a:1", "b:5432", "c:3"]);
        assert_eq!(
            config.target_session_attrs,
            TargetSessionAttrs::PreferStandby
        );
        // libpq's words and environment.
        let options = ConnectionOptions {
            url: Some("host=x,y port=7,8 target_session_attrs=prefer-standby dbname=d".into()),
            ..Default::default()
        };
        let config = resolve(&options, &[]);
        assert_eq!(servers(&config), ["x:7", "y:8"]);
        assert_eq!(
            config.target_session_attrs,
            TargetSessionAttrs::PreferStandby
        );
        let config = resolve(
            &ConnectionOptions::default(),
            &[
                ("PGHOST", "p,/run/postgresql"),
                ("PGPORT", "5433"),
                ("PGTARGETSESSIONATTRS", "standby"),
            ],
        );
        assert_eq!(
            servers(&config),
            ["p:5433", "/run/postgresql/.s.PGSQL.5433"]
        );
        assert_eq!(config.target_session_attrs, TargetSessionAttrs::Standby);
        assert_eq!(config.tls_mode(&config.servers[1]), SslMode::Disable);
    }

    #[test]
    fn several_hosts_default_for_a_writer() {
        let writer = |host: &str| ConnectionOptions {
            host: Some(host.parse().unwrap()),
            several_hosts_session_attrs: Some(TargetSessionAttrs::ReadWrite),
            ..Default::default()
        };
        assert_eq!(
            resolve(&writer("a,b"), &[]).target_session_attrs,
            TargetSessionAttrs::ReadWrite
        );
        assert_eq!(
            resolve(&writer("a"), &[]).target_session_attrs,
            TargetSessionAttrs::Any
        );
        // What the user asked for wins.
        assert_eq!(
            resolve(&writer("a,b"), &[("PGTARGETSESSIONATTRS", "any")]).target_session_attrs,
            TargetSessionAttrs::Any
        );
    }

    #[test]
    fn hostile_host_lists_are_refused_naming_the_entry() {
        let many = vec!["h"; MAX_HOSTS + 1].join(",");
        assert_eq!(
            many.parse::<HostList>().unwrap_err(),
            format!("{} hosts; at most {MAX_HOSTS}", MAX_HOSTS + 1)
        );
        assert!(vec!["h"; MAX_HOSTS].join(",").parse::<HostList>().is_ok());
        assert_eq!(
            "a,,b".parse::<HostList>().unwrap_err(),
            "host 2 of 'a,,b' is empty"
        );
        assert!("a,b\u{7}"
            .parse::<HostList>()
            .unwrap_err()
            .contains("host 2"));
        assert!("x"
            .repeat(256)
            .parse::<HostList>()
            .unwrap_err()
            .contains("host 1"));
        assert_eq!(
            "5432,x".parse::<PortList>().unwrap_err(),
            "'x' is not a port number (1 to 65535)"
        );
        assert!("0".parse::<PortList>().is_err());
        assert!("70000".parse::<PortList>().is_err());
        assert!("bogus"
            .parse::<TargetSessionAttrs>()
            .unwrap_err()
            .contains("'bogus'"));

        let refused = |options: ConnectionOptions, env: &[(&str, &str)]| {
            ConnectionConfig::resolve_with_env(&options, |name| {
                env.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_err()
            .to_string()
        };
        let error = refused(
            ConnectionOptions {
                host: Some("a,b,c".parse().unwrap()),
                port: Some("1,2".parse().unwrap()),
                ..Default::default()
            },
            &[],
        );
        assert_eq!(
            error,
            "database hosts: 3 hosts (from --pg-host) but 2 ports (from --pg-port): give one \
             port for all hosts or one per host"
        );
        let url = format!(
            "postgresql://u:secret@{}/d",
            vec!["h"; MAX_HOSTS + 1].join(",")
        );
        let error = refused(
            ConnectionOptions {
                url: Some(url),
                ..Default::default()
            },
            &[],
        );
        assert!(error.contains("at most 16"), "{error}");
        assert!(!error.contains("secret"), "{error}");
        let error = refused(
            ConnectionOptions {
                url: Some("postgresql://h/d?target_session_attrs=sometimes".into()),
                ..Default::default()
            },
            &[],
        );
        assert!(error.contains("'sometimes'"), "{error}");
        let error = refused(
            ConnectionOptions {
                url: Some("postgresql://h1,h2/d?load_balance_hosts=random".into()),
                ..Default::default()
            },
            &[],
        );
        assert!(error.contains("load_balance_hosts"), "{error}");
        let error = refused(ConnectionOptions::default(), &[("PGHOST", "a,,b")]);
        assert!(
            error.starts_with("environment variable PGHOST: host 2"),
            "{error}"
        );
        let error = refused(ConnectionOptions::default(), &[("PGPORT", "1,2,3")]);
        assert!(
            error.contains("1 hosts (from the default) but 3 ports (from PGPORT)"),
            "{error}"
        );
    }
}
