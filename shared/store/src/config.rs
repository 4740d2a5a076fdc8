//! Where to connect and as whom: URL, host/port/database/user, credentials from the auth file's
//! `postgres` group, the environment or a password file, and `sslmode`.
//!
//! Precedence, lowest to highest, as dripline-python resolves its `postgres` auth group:
//!
//! | setting | default | auth file | env | URL | option |
//! |---|---|---|---|---|---|
//! | user | `postgres` | `postgres.username` | `POSTGRES_USER` | `postgresql://USER@…` | `user` |
//! | password | `postgres` | `postgres.password` | `POSTGRES_PASSWORD` | `postgresql://…:PW@…` | `password_file` |
//! | host, port, database | `localhost`, `5432`, `sensor_data` | – | – | from the URL | `host`, `port`, `database` |
//!
//! The auth file is JSON or YAML, `{"postgres": {"username": …, "password": …}}`; the older
//! `postgresql` group name (seen in the controls-guide's example secrets) is read when there is
//! no `postgres` group.

use crate::tls::RustlsConnector;
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
    /// `application_name` reported to the server (shows in `pg_stat_activity`).
    pub application_name: Option<String>,
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
    /// Connection timeout.
    pub connect_timeout: Duration,
}

impl fmt::Display for ConnectionConfig {
    /// `user@host:port/database`, never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}/{}", self.user, self.target(), self.database)
    }
}

impl ConnectionConfig {
    /// Resolve `options` over the process environment (`POSTGRES_USER`, `POSTGRES_PASSWORD`).
    pub fn resolve(options: &ConnectionOptions) -> Result<Self, ConfigError> {
        Self::resolve_with_env(options, |name| std::env::var(name).ok())
    }

    /// Resolve `options` over the environment given by `env` (for tests).
    pub fn resolve_with_env(
        options: &ConnectionOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut url_ssl = None;
        let mut url_root_cert = None;
        let from_url = match &options.url {
            Some(url) if !url.trim().is_empty() => {
                let tls = take_tls_params(url.trim());
                url_ssl = tls
                    .ssl_mode
                    .map(|mode| mode.parse::<SslMode>())
                    .transpose()
                    .map_err(|reason| ConfigError::Url { reason })?;
                url_root_cert = tls.ssl_root_cert.map(PathBuf::from);
                Some(
                    tokio_postgres::Config::from_str(&tls.rest).map_err(|e| ConfigError::Url {
                        reason: e.to_string(),
                    })?,
                )
            }
            _ => None,
        };
        let auth = match &options.auth_file {
            Some(path) => read_auth_file(path)?,
            None => AuthGroup::default(),
        };
        let url_host = from_url.as_ref().and_then(|c| {
            c.get_hosts().first().map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
        });
        let url_port = from_url
            .as_ref()
            .and_then(|c| c.get_ports().first().copied());
        let url_user = from_url
            .as_ref()
            .and_then(|c| c.get_user().map(str::to_string));
        let url_password = from_url.as_ref().and_then(|c| {
            c.get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned())
        });
        let url_database = from_url
            .as_ref()
            .and_then(|c| c.get_dbname().map(str::to_string));

        let user = options
            .user
            .clone()
            .or(url_user)
            .or_else(|| env("POSTGRES_USER").filter(|u| !u.is_empty()))
            .or(auth.username)
            .unwrap_or_else(|| DEFAULT_USER.to_string());
        let password = match &options.password_file {
            Some(path) => Some(read_password_file(path)?),
            None => url_password
                .or_else(|| env("POSTGRES_PASSWORD"))
                .or(auth.password)
                .or_else(|| Some(DEFAULT_USER.to_string())),
        };
        Ok(ConnectionConfig {
            host: options
                .host
                .clone()
                .or(url_host)
                .unwrap_or_else(|| DEFAULT_HOST.to_string()),
            port: options.port.or(url_port).unwrap_or(DEFAULT_PORT),
            database: options
                .database
                .clone()
                .or(url_database)
                .unwrap_or_else(|| DEFAULT_DATABASE.to_string()),
            user,
            password: password.map(Password),
            ssl_mode: options.ssl_mode.or(url_ssl).unwrap_or_default(),
            ssl_root_cert: options.ssl_root_cert.clone().or(url_root_cert),
            application_name: options
                .application_name
                .clone()
                .unwrap_or_else(|| "dripline-tools".to_string()),
            connect_timeout: options.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        })
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
            .application_name(&self.application_name)
            .connect_timeout(self.connect_timeout);
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

    /// The TLS connector these settings ask for; `None` for no TLS.
    pub(crate) fn tls_connector(&self) -> Result<Option<RustlsConnector>, ConfigError> {
        match self.tls_mode() {
            SslMode::Disable => Ok(None),
            mode => RustlsConnector::new(mode, self.ssl_root_cert.as_deref()).map(Some),
        }
    }

    /// `ssl_mode`, except that a Unix socket never uses TLS (as libpq).
    fn tls_mode(&self) -> SslMode {
        if self.host.starts_with('/') {
            SslMode::Disable
        } else {
            self.ssl_mode
        }
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
