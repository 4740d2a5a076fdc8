//! Where to connect and as whom: URL, host/port/database/user, libpq's environment variables,
//! credentials from the auth file's `postgres` group, dripline's environment or a password
//! file, and `sslmode`.
//!
//! Precedence, highest first (libpq's order, with dripline-python's sources below it):
//!
//! 1. options (command-line flags): `host`, `port`, `database`, `user`, `password_file`,
//!    `ssl_mode`, `ssl_root_cert`, `connect_timeout`, `application_name`;
//! 2. the URL (`postgresql://USER:PW@HOST:PORT/DB?sslmode=…&application_name=…&connect_timeout=…`
//!    or libpq `key=value` words);
//! 3. libpq's environment: `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`,
//!    `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT` (seconds; 0 waits forever);
//! 4. dripline's environment: `POSTGRES_USER`, `POSTGRES_PASSWORD`;
//! 5. the auth file's `postgres` group: `username`, `password`;
//! 6. for the password only: the password file `PGPASSFILE` (default `~/.pgpass`), its first
//!    line matching host, port, database and user, as libpq reads it;
//! 7. defaults: `localhost`, `5432`, `sensor_data`, user and password `postgres`
//!    (dripline-python's), `sslmode` `prefer`, the program's name as `application_name`, 10 s.
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

/// What the user asked for; every field is optional. Filled from command-line flags by
/// `dripline-cli`, or by hand in tests.
#[derive(Clone, Debug, Default)]
pub struct ConnectionOptions {
    /// A `postgresql://user:pw@host:port/db?sslmode=…` URL or a libpq `key=value` string.
    pub url: Option<String>,
    /// Host name, address, or Unix socket directory (starting with `/`).
    pub host: Option<String>,
    /// TCP port.
    pub port: Option<u16>,
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
    /// How long to wait for the connection.
    pub connect_timeout: Option<Duration>,
}

/// Resolved settings: everything needed to connect.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// Host name, address or Unix socket directory.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// User name.
    pub user: String,
    /// Password, if any.
    pub password: Option<Password>,
    /// TLS use.
    pub ssl_mode: SslMode,
    /// PEM file of certificates to trust, besides the system's.
    pub ssl_root_cert: Option<PathBuf>,
    /// `application_name` for the server.
    pub application_name: String,
    /// Connection timeout; `None` waits as long as the operating system does.
    pub connect_timeout: Option<Duration>,
}

impl fmt::Display for ConnectionConfig {
    /// `user@host:port/database`, never the password.
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
        let mut config = ConnectionConfig {
            host: options
                .host
                .clone()
                .or(url.host)
                .or(libpq.host)
                .unwrap_or_else(|| DEFAULT_HOST.to_string()),
            port: options
                .port
                .or(url.port)
                .or(libpq.port)
                .unwrap_or(DEFAULT_PORT),
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
        };
        let password = match &options.password_file {
            Some(path) => Some(read_password_file(path)?),
            None => url
                .password
                .or(libpq.password)
                .or_else(|| env("POSTGRES_PASSWORD"))
                .or(auth.password),
        };
        config.password = Some(Password(
            password
                .or_else(|| pgpass::lookup(&config.pgpass_target(), &env))
                .unwrap_or_else(|| DEFAULT_USER.to_string()),
        ));
        Ok(config)
    }

    /// `host:port` (or the socket directory), for messages.
    pub fn target(&self) -> String {
        if self.host.starts_with('/') {
            format!("{}/.s.PGSQL.{}", self.host, self.port)
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The driver's configuration for these settings.
    pub fn pg_config(&self) -> Result<tokio_postgres::Config, ConfigError> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .dbname(&self.database)
            .user(&self.user)
            .application_name(&self.application_name);
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        if let Some(password) = &self.password {
            config.password(password.0.as_bytes());
        }
        config.ssl_mode(match self.tls_mode() {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        Ok(config)
    }

    /// What a line of the password file must match.
    fn pgpass_target(&self) -> pgpass::Target<'_> {
        pgpass::Target {
            host: &self.host,
            port: self.port,
            database: &self.database,
            user: &self.user,
        }
    }

    /// `ssl_mode`, except that a Unix socket never uses TLS (as libpq).
    pub(crate) fn tls_mode(&self) -> SslMode {
        if self.host.starts_with('/') {
            SslMode::Disable
        } else {
            self.ssl_mode
        }
    }
}

/// The settings one source (the URL, or libpq's environment) gives; `None` where it is silent.
#[derive(Default)]
struct Settings {
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    user: Option<String>,
    password: Option<String>,
    ssl_mode: Option<SslMode>,
    ssl_root_cert: Option<PathBuf>,
    application_name: Option<String>,
    /// `Some(None)`: no timeout (libpq's 0).
    connect_timeout: Option<Option<Duration>>,
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
        let parsed = tokio_postgres::Config::from_str(&tls.rest).map_err(|e| ConfigError::Url {
            reason: e.to_string(),
        })?;
        Ok(Settings {
            host: parsed.get_hosts().first().map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            }),
            port: parsed.get_ports().first().copied(),
            database: parsed.get_dbname().map(str::to_string),
            user: parsed.get_user().map(str::to_string),
            password: parsed
                .get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            ssl_mode,
            ssl_root_cert: tls.ssl_root_cert.map(PathBuf::from),
            application_name: parsed.get_application_name().map(str::to_string),
            connect_timeout: parsed.get_connect_timeout().map(|t| Some(*t)),
        })
    }

    /// libpq's environment variables; empty ones count as unset (as libpq).
    fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| env(name).filter(|value| !value.is_empty());
        let bad = |name: &'static str, reason: String| ConfigError::Environment { name, reason };
        let port = get("PGPORT")
            .map(|text| {
                text.trim()
                    .parse::<u16>()
                    .map_err(|_| bad("PGPORT", format!("'{text}' is not a port number")))
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
            host: get("PGHOST"),
            port,
            database: get("PGDATABASE"),
            user: get("PGUSER"),
            password: get("PGPASSWORD"),
            ssl_mode,
            ssl_root_cert: get("PGSSLROOTCERT").map(PathBuf::from),
            application_name: get("PGAPPNAME"),
            connect_timeout,
        })
    }
}

/// A connection string without `sslmode` and `sslrootcert`, and their values: tokio-postgres
/// knows only three modes and no `sslrootcert`, so both are read here.
struct TlsParams {
    rest: String,
    ssl_mode: Option<String>,
    ssl_root_cert: Option<String>,
}

/// Take `sslmode=` and `sslrootcert=` out of a `postgresql://…?…` URL's query, or out of a
/// libpq `key=value …` string (unquoted values only there).
fn take_tls_params(connection: &str) -> TlsParams {
    let mut params = TlsParams {
        rest: String::new(),
        ssl_mode: None,
        ssl_root_cert: None,
    };
    let mut take = |key: &str, value: String| {
        if key == "sslmode" {
            params.ssl_mode = Some(value);
        } else {
            params.ssl_root_cert = Some(value);
        }
    };
    let is_tls_key = |key: &str| matches!(key, "sslmode" | "sslrootcert");
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
        assert_eq!(config.password, Some(Password("postgres".into())));
    }

    #[test]
    fn url_then_flags_override() {
        let options = ConnectionOptions {
            url: Some("postgresql://alice:secret@db.example:5433/history".into()),
            port: Some(6000),
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
            port: Some(7000),
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
        let config = resolve(&ConnectionOptions::default(), &[("HOME", &home)]);
        assert_eq!(config.password, Some(Password("frompgpass".into())));
        let config = resolve(
            &ConnectionOptions::default(),
            &[("HOME", &home), ("POSTGRES_PASSWORD", "drippw")],
        );
        assert_eq!(config.password, Some(Password("drippw".into())));
        let elsewhere = dir.join("elsewhere").display().to_string();
        let config = resolve(
            &ConnectionOptions::default(),
            &[("HOME", &home), ("PGPASSFILE", &elsewhere)],
        );
        assert_eq!(config.password, Some(Password("postgres".into())));
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
}
