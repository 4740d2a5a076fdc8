//! Where to find the broker and how to log in: flags, environment, auth file, mesh file.
//!
//! Precedence, lowest first (as dripline-cpp 2.10 / dripline-python 5 resolve them):
//! - broker address: `localhost:5672`, vhost `/` → `~/.dripline_mesh.yaml` → a service
//!   config's `dripline_mesh` block → the legacy `amqp.broker` of an auth file →
//!   `DRIPLINE_BROKER` / `DRIPLINE_BROKER_PORT` → `DRIPLINE_AMQP_URL` → `--broker` / `--port` /
//!   `--vhost` → `--amqp-url`. Every flag beats every environment variable.
//! - credentials: `guest`/`guest` → auth file (`dripline` group, or the legacy `amqp` group) →
//!   `DRIPLINE_USER` / `DRIPLINE_PASSWORD` → user/password in `DRIPLINE_AMQP_URL` →
//!   `--password-file` → user/password in `--amqp-url` → `--username`.
//!
//! Passwords never come from argv (except inside a URL, which we discourage) and are never
//! printed: [`Secret`] hides them from `Debug` and `Display`.

use dripline_protocol::auth_file::{AuthFile, AuthFileError, AuthGroup};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A password: kept out of logs and error messages.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a password.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The password itself, for the login only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// The mesh defaults dripline keeps in `~/.dripline_mesh.yaml` and in a service config's
/// `dripline_mesh:` block. Hyphenated (dripline ≤ 2.9) and underscored keys are both read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct MeshDefaults {
    /// Broker host.
    pub broker: Option<String>,
    /// Broker port.
    #[serde(alias = "broker-port")]
    pub broker_port: Option<u16>,
    /// Name of the requests exchange.
    #[serde(alias = "requests-exchange")]
    pub requests_exchange: Option<String>,
    /// Name of the alerts exchange.
    #[serde(alias = "alerts-exchange")]
    pub alerts_exchange: Option<String>,
    /// Chunk size for message bodies.
    #[serde(alias = "max-payload-size")]
    pub max_payload_size: Option<usize>,
    /// First routing-key token of heartbeats.
    #[serde(alias = "heartbeat-routing-key")]
    pub heartbeat_routing_key: Option<String>,
    /// How many times to try connecting.
    #[serde(alias = "max-connection-attempts")]
    pub max_connection_attempts: Option<u32>,
}

impl MeshDefaults {
    /// Fill what `self` leaves unset from `lower`.
    fn over(self, lower: MeshDefaults) -> MeshDefaults {
        MeshDefaults {
            broker: self.broker.or(lower.broker),
            broker_port: self.broker_port.or(lower.broker_port),
            requests_exchange: self.requests_exchange.or(lower.requests_exchange),
            alerts_exchange: self.alerts_exchange.or(lower.alerts_exchange),
            max_payload_size: self.max_payload_size.or(lower.max_payload_size),
            heartbeat_routing_key: self.heartbeat_routing_key.or(lower.heartbeat_routing_key),
            max_connection_attempts: self
                .max_connection_attempts
                .or(lower.max_connection_attempts),
        }
    }
}

/// What the command line (and a service config) ask for; everything optional.
#[derive(Clone, Debug, Default)]
pub struct BrokerOptions {
    /// `amqp[s]://[user[:password]@]host[:port][/vhost]`.
    pub url: Option<String>,
    /// Broker host.
    pub host: Option<String>,
    /// Broker port.
    pub port: Option<u16>,
    /// Virtual host.
    pub vhost: Option<String>,
    /// Connect with TLS (amqps).
    pub tls: bool,
    /// PEM file of the certificate authority that signed the broker's certificate, for
    /// brokers whose certificate the system's trust store does not know.
    pub tls_ca_file: Option<PathBuf>,
    /// Auth file (JSON or YAML) with a `dripline` (or legacy `amqp`) group.
    pub auth_file: Option<PathBuf>,
    /// User name (highest precedence).
    pub username: Option<String>,
    /// File holding the password (a trailing newline is dropped).
    pub password_file: Option<PathBuf>,
    /// Requests exchange name.
    pub requests_exchange: Option<String>,
    /// Alerts exchange name.
    pub alerts_exchange: Option<String>,
    /// Connection attempts before giving up (0 = forever).
    pub max_connection_attempts: Option<u32>,
    /// A service config's `dripline_mesh` block.
    pub config_mesh: MeshDefaults,
    /// The mesh file; `None` means `$HOME/.dripline_mesh.yaml` if it exists.
    pub mesh_file: Option<PathBuf>,
}

/// Everything needed to connect, resolved.
#[derive(Clone, Debug)]
pub struct BrokerSettings {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Virtual host.
    pub vhost: String,
    /// TLS (amqps).
    pub tls: bool,
    /// Extra trusted certificate authorities (PEM text) for TLS; the system's store is used too.
    pub tls_ca_pem: Option<String>,
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Requests exchange name (`requests`).
    pub requests_exchange: String,
    /// Alerts exchange name (`alerts`).
    pub alerts_exchange: String,
    /// Chunk size (10 000 bytes).
    pub max_payload_size: usize,
    /// Heartbeat routing-key prefix (`heartbeat`).
    pub heartbeat_routing_key: String,
    /// Connection attempts (10; 0 = forever).
    pub max_connection_attempts: u32,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            host: "localhost".into(),
            port: 5672,
            vhost: "/".into(),
            tls: false,
            tls_ca_pem: None,
            username: "guest".into(),
            password: Secret::new("guest"),
            requests_exchange: "requests".into(),
            alerts_exchange: "alerts".into(),
            max_payload_size: dripline_protocol::DEFAULT_MAX_PAYLOAD_SIZE,
            heartbeat_routing_key: "heartbeat".into(),
            max_connection_attempts: 10,
        }
    }
}

/// A settings source that could not be used.
#[derive(Debug, Error)]
pub enum SettingsError {
    /// An auth, password or mesh file could not be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The AMQP URL is malformed.
    #[error("AMQP URL: {0}")]
    Url(String),
    /// An environment variable holds a bad value.
    #[error("environment variable {name}: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The parts of an `amqp[s]://` URL.
#[derive(Debug, Default, PartialEq)]
struct ParsedUrl {
    tls: bool,
    username: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    vhost: Option<String>,
}

impl BrokerSettings {
    /// Resolve `options` with the process environment and files.
    pub fn resolve(options: &BrokerOptions) -> Result<Self, SettingsError> {
        Self::resolve_with_env(options, |name| std::env::var(name).ok())
    }

    /// Resolve `options`, reading environment variables through `env` (for tests). Each
    /// source is applied over the ones below it, lowest first: defaults, mesh file and config
    /// block, auth file, environment, command-line flags.
    pub fn resolve_with_env(
        options: &BrokerOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let mut resolving = Resolving::default();
        resolving.apply_mesh(options, &env)?;
        if let Some(path) = &options.auth_file {
            if let Some(group) = read_broker_group(path)? {
                resolving.apply_auth_group(group);
            }
        }
        resolving.apply_environment(&env)?;
        resolving.apply_flags(options)?;
        Ok(resolving.finish())
    }

    /// `host:port` (and `/vhost` when not `/`), for messages.
    pub fn address(&self) -> String {
        if self.vhost == "/" {
            format!("{}:{}", self.host, self.port)
        } else {
            format!("{}:{}/{}", self.host, self.port, self.vhost)
        }
    }
}

/// Settings being resolved, and whether any source named a port (where none did, TLS means
/// RabbitMQ's amqps port 5671).
#[derive(Default)]
struct Resolving {
    settings: BrokerSettings,
    port_named: bool,
}

impl Resolving {
    fn set_port(&mut self, port: u16) {
        self.settings.port = port;
        self.port_named = true;
    }

    /// The mesh file (`--mesh-file`, else `$HOME/.dripline_mesh.yaml`) under a service
    /// config's `dripline_mesh` block.
    fn apply_mesh(
        &mut self,
        options: &BrokerOptions,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        let mesh_file = match &options.mesh_file {
            Some(path) => Some(read_mesh_file(path)?),
            None => match env("HOME").map(|home| Path::new(&home).join(".dripline_mesh.yaml")) {
                Some(path) if path.is_file() => Some(read_mesh_file(&path)?),
                _ => None,
            },
        };
        let mesh = options
            .config_mesh
            .clone()
            .over(mesh_file.unwrap_or_default());
        let settings = &mut self.settings;
        if let Some(host) = mesh.broker {
            settings.host = host;
        }
        if let Some(name) = mesh.requests_exchange {
            settings.requests_exchange = name;
        }
        if let Some(name) = mesh.alerts_exchange {
            settings.alerts_exchange = name;
        }
        if let Some(size) = mesh.max_payload_size {
            settings.max_payload_size = size.max(1);
        }
        if let Some(key) = mesh.heartbeat_routing_key {
            settings.heartbeat_routing_key = key;
        }
        if let Some(attempts) = mesh.max_connection_attempts {
            settings.max_connection_attempts = attempts;
        }
        if let Some(port) = mesh.broker_port {
            self.set_port(port);
        }
        Ok(())
    }

    /// An auth file's broker group.
    fn apply_auth_group(&mut self, group: AuthGroup) {
        if let Some(user) = group.username {
            self.settings.username = user;
        }
        if let Some(password) = group.password {
            self.settings.password = Secret::new(password);
        }
        if let Some(host) = group.broker {
            self.settings.host = host;
        }
        if let Some(port) = group.broker_port {
            self.set_port(port);
        }
    }

    /// `DRIPLINE_USER`, `DRIPLINE_PASSWORD`, `DRIPLINE_BROKER`, `DRIPLINE_BROKER_PORT`, then
    /// `DRIPLINE_AMQP_URL` (the most specific of them); empty variables count as unset.
    fn apply_environment(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        if let Some(user) = env("DRIPLINE_USER") {
            self.settings.username = user;
        }
        if let Some(password) = env("DRIPLINE_PASSWORD") {
            self.settings.password = Secret::new(password);
        }
        if let Some(host) = env("DRIPLINE_BROKER").filter(|h| !h.is_empty()) {
            self.settings.host = host;
        }
        if let Some(port) = env("DRIPLINE_BROKER_PORT").filter(|p| !p.is_empty()) {
            let port = port.trim().parse().map_err(|_| SettingsError::Env {
                name: "DRIPLINE_BROKER_PORT",
                reason: format!("'{port}' is not a port number"),
            })?;
            self.set_port(port);
        }
        if let Some(url) = env("DRIPLINE_AMQP_URL").filter(|u| !u.is_empty()) {
            self.apply_url(parse_url(&url)?);
        }
        Ok(())
    }

    /// The command line (or a service config's own fields), over everything else:
    /// `--password-file`, `--broker`/`--port`/`--vhost`/`--tls`, `--amqp-url`, `--username`.
    fn apply_flags(&mut self, options: &BrokerOptions) -> Result<(), SettingsError> {
        if let Some(path) = &options.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| SettingsError::File {
                path: path.clone(),
                reason: format!("cannot read password file: {e}"),
            })?;
            self.settings.password = Secret::new(text.trim_end_matches(['\n', '\r']));
        }
        if let Some(host) = &options.host {
            self.settings.host = host.clone();
        }
        if let Some(port) = options.port {
            self.set_port(port);
        }
        if let Some(vhost) = &options.vhost {
            self.settings.vhost = vhost.clone();
        }
        self.settings.tls |= options.tls;
        if let Some(path) = &options.tls_ca_file {
            self.settings.tls_ca_pem = Some(read_ca_file(path)?);
        }
        if let Some(url) = options.url.as_deref().filter(|u| !u.is_empty()) {
            self.apply_url(parse_url(url)?);
        }
        let settings = &mut self.settings;
        if let Some(user) = &options.username {
            settings.username = user.clone();
        }
        if let Some(name) = &options.requests_exchange {
            settings.requests_exchange = name.clone();
        }
        if let Some(name) = &options.alerts_exchange {
            settings.alerts_exchange = name.clone();
        }
        if let Some(attempts) = options.max_connection_attempts {
            settings.max_connection_attempts = attempts;
        }
        Ok(())
    }

    /// What an AMQP URL names; its scheme decides TLS.
    fn apply_url(&mut self, parsed: ParsedUrl) {
        self.settings.tls = parsed.tls;
        if let Some(host) = parsed.host {
            self.settings.host = host;
        }
        if let Some(port) = parsed.port {
            self.set_port(port);
        }
        if let Some(vhost) = parsed.vhost {
            self.settings.vhost = vhost;
        }
        if let Some(user) = parsed.username {
            self.settings.username = user;
        }
        if let Some(password) = parsed.password {
            self.settings.password = Secret::new(password);
        }
    }

    fn finish(mut self) -> BrokerSettings {
        if self.settings.tls && !self.port_named {
            self.settings.port = 5671;
        }
        self.settings
    }
}

fn read_ca_file(path: &Path) -> Result<String, SettingsError> {
    let pem = std::fs::read_to_string(path).map_err(|e| SettingsError::File {
        path: path.to_path_buf(),
        reason: format!("cannot read TLS CA file: {e}"),
    })?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(SettingsError::File {
            path: path.to_path_buf(),
            reason: "not a PEM certificate file".into(),
        });
    }
    Ok(pem)
}

fn read_mesh_file(path: &Path) -> Result<MeshDefaults, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|e| SettingsError::File {
        path: path.to_path_buf(),
        reason: format!("cannot read mesh file: {e}"),
    })?;
    if text.trim().is_empty() {
        return Ok(MeshDefaults::default());
    }
    // The mesh file holds flat keys, or the same under a `dripline_mesh:` block.
    #[derive(Deserialize)]
    struct Wrapped {
        dripline_mesh: MeshDefaults,
    }
    if let Ok(wrapped) = serde_yaml::from_str::<Wrapped>(&text) {
        return Ok(wrapped.dripline_mesh);
    }
    serde_yaml::from_str(&text).map_err(|e| SettingsError::File {
        path: path.to_path_buf(),
        reason: format!("not a valid mesh file: {e}"),
    })
}

/// The broker group of an auth file: `dripline` (dripline 2.10+/5.x), else the older `amqp`.
fn read_broker_group(path: &Path) -> Result<Option<AuthGroup>, SettingsError> {
    let fail = |reason: String| SettingsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read auth file: {e}")))?;
    let read = || -> Result<Option<AuthGroup>, AuthFileError> {
        let file = AuthFile::parse(&text)?;
        Ok(file.group("dripline")?.or(file.group("amqp")?))
    };
    read().map_err(|e| fail(format!("not a valid auth file: {e}")))
}

fn parse_url(text: &str) -> Result<ParsedUrl, SettingsError> {
    let bad = |why: String| {
        SettingsError::Url(format!(
            "{why} (expected amqp[s]://[user@]host[:port][/vhost])"
        ))
    };
    let url = url::Url::parse(text).map_err(|e| bad(e.to_string()))?;
    let tls = match url.scheme() {
        "amqp" => false,
        "amqps" => true,
        other => return Err(bad(format!("unknown scheme '{other}'"))),
    };
    let decode = |part: &str, what: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| bad(format!("bad %-escape in {what}")))
    };
    let username = match url.username() {
        "" => None,
        user => Some(decode(user, "user")?),
    };
    let password = url.password().map(|p| decode(p, "password")).transpose()?;
    let vhost = match url.path().strip_prefix('/').unwrap_or(url.path()) {
        "" => None,
        path => Some(decode(path, "vhost")?),
    };
    Ok(ParsedUrl {
        tls,
        username,
        password,
        // `[::1]` comes back bracketed; the connection wants the bare address.
        host: url
            .host_str()
            .filter(|h| !h.is_empty())
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string()),
        port: url.port(),
        vhost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(options: &BrokerOptions, env: &[(&str, &str)]) -> BrokerSettings {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BrokerSettings::resolve_with_env(options, |name| env.get(name).cloned()).unwrap()
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mesh-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_are_dripline_defaults() {
        let s = resolve(&BrokerOptions::default(), &[]);
        assert_eq!(s.address(), "localhost:5672");
        assert_eq!(s.username, "guest");
        assert_eq!(s.password.expose(), "guest");
        assert_eq!(s.requests_exchange, "requests");
        assert_eq!(s.max_payload_size, 10_000);
    }

    #[test]
    fn credentials_follow_the_documented_precedence() {
        let auth = temp_file(
            "auth.json",
            r#"{"dripline": {"username": "file-user", "password": "file-pw"}}"#,
        );
        let mut options = BrokerOptions {
            auth_file: Some(auth),
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &[]);
        assert_eq!(
            (s.username.as_str(), s.password.expose()),
            ("file-user", "file-pw")
        );

        let s = resolve(
            &options,
            &[
                ("DRIPLINE_USER", "env-user"),
                ("DRIPLINE_PASSWORD", "env-pw"),
            ],
        );
        assert_eq!(
            (s.username.as_str(), s.password.expose()),
            ("env-user", "env-pw")
        );

        options.password_file = Some(temp_file("pw", "from-file\n"));
        let s = resolve(&options, &[("DRIPLINE_PASSWORD", "env-pw")]);
        assert_eq!(s.password.expose(), "from-file");

        options.username = Some("flag-user".into());
        let s = resolve(&options, &[("DRIPLINE_USER", "env-user")]);
        assert_eq!(s.username, "flag-user");
    }

    #[test]
    fn legacy_amqp_group_and_yaml_are_read() {
        let auth = temp_file(
            "auth.yaml",
            "amqp:\n  broker: rabbit-broker\n  username: dripline\n  password: dripline\n",
        );
        let options = BrokerOptions {
            auth_file: Some(auth),
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &[]);
        assert_eq!(s.host, "rabbit-broker");
        assert_eq!(s.username, "dripline");
        // Environment and flags still win over the file's broker.
        let s = resolve(&options, &[("DRIPLINE_BROKER", "env-host")]);
        assert_eq!(s.host, "env-host");
    }

    #[test]
    fn mesh_file_and_config_block_set_defaults() {
        let mesh = temp_file("mesh.yaml", "broker: mesh-host\nbroker_port: 5673\n");
        let options = BrokerOptions {
            mesh_file: Some(mesh),
            config_mesh: MeshDefaults {
                broker_port: Some(5674),
                requests_exchange: Some("req2".into()),
                ..MeshDefaults::default()
            },
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &[]);
        assert_eq!(s.address(), "mesh-host:5674");
        assert_eq!(s.requests_exchange, "req2");
    }

    #[test]
    fn urls_carry_tls_vhost_and_credentials() {
        let options = BrokerOptions {
            url: Some("amqps://u%40x:p%3Aw@broker.example:5999/my%2Fvhost".into()),
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &[]);
        assert!(s.tls);
        assert_eq!(s.address(), "broker.example:5999/my/vhost");
        assert_eq!(s.username, "u@x");
        assert_eq!(s.password.expose(), "p:w");
        let s = resolve(
            &BrokerOptions {
                url: Some("amqps://host".into()),
                ..BrokerOptions::default()
            },
            &[],
        );
        assert_eq!(s.port, 5671);
        assert!(parse_url("http://x").is_err());
        assert!(parse_url("amqp://h:notaport").is_err());
    }

    #[test]
    fn flags_beat_the_environment_url() {
        let env = [(
            "DRIPLINE_AMQP_URL",
            "amqps://envuser:envpw@env-host:5999/envvhost",
        )];
        // The environment URL alone is used whole.
        let s = resolve(&BrokerOptions::default(), &env);
        assert_eq!(s.address(), "env-host:5999/envvhost");
        assert_eq!(
            (s.username.as_str(), s.password.expose()),
            ("envuser", "envpw")
        );
        assert!(s.tls);
        // --broker/--port/--vhost/--password-file/--username each win over it.
        let options = BrokerOptions {
            host: Some("flag-host".into()),
            port: Some(5672),
            vhost: Some("flagvhost".into()),
            username: Some("flag-user".into()),
            password_file: Some(temp_file("pw", "flag-pw\n")),
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &env);
        assert_eq!(s.address(), "flag-host:5672/flagvhost");
        assert_eq!(
            (s.username.as_str(), s.password.expose()),
            ("flag-user", "flag-pw")
        );
        // --amqp-url wins over DRIPLINE_AMQP_URL, and the environment URL over the
        // environment's host and port.
        let options = BrokerOptions {
            url: Some("amqp://flag-url-host".into()),
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &env);
        assert_eq!(s.host, "flag-url-host");
        assert!(!s.tls);
        let s = resolve(
            &BrokerOptions::default(),
            &[
                ("DRIPLINE_BROKER", "b"),
                ("DRIPLINE_AMQP_URL", "amqp://url-host"),
            ],
        );
        assert_eq!(s.host, "url-host");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = resolve(
            &BrokerOptions::default(),
            &[("DRIPLINE_PASSWORD", "hunter2")],
        );
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
