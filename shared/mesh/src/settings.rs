//! Where to find the broker and how to log in: flags, environment, auth file, mesh file.
//!
//! Each broker source may name several addresses, `host[:port],host[:port],…` (IPv6 in
//! brackets; at most [`MAX_BROKER_ADDRESSES`]), or several `amqp[s]://` URLs separated by commas.
//! A source replaces the whole list of the sources below it. An entry's own port wins over
//! the ports of sources below it; a port named by a source above the list (`--port`,
//! `DRIPLINE_BROKER_PORT` over a mesh file's list) applies to every entry.
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

use crate::addresses::{parse_broker_list, split_url_list, BrokerAddress};
pub use crate::addresses::{BrokerNode, BrokerOrder, MAX_BROKER_ADDRESSES};
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
    /// Broker host, or a comma-separated list of `host[:port]`.
    pub broker: Option<String>,
    /// Broker port (of the entries that name none).
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
    /// `amqp[s]://[user[:password]@]host[:port][/vhost]`, or several separated by commas.
    pub url: Option<String>,
    /// Broker host, or a comma-separated list of `host[:port]`.
    pub host: Option<String>,
    /// Broker port (of the entries that name none).
    pub port: Option<u16>,
    /// In which order to try the addresses (`None`: as listed).
    pub order: Option<BrokerOrder>,
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
    /// The broker nodes to try, never empty: one connection attempt tries each once.
    pub nodes: Vec<BrokerNode>,
    /// In which order to try them.
    pub order: BrokerOrder,
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
            nodes: vec![BrokerNode {
                host: "localhost".into(),
                port: 5672,
            }],
            order: BrokerOrder::First,
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
    /// A list of broker addresses given on the command line or in a service config is bad.
    #[error("{source_name}: {reason}")]
    Brokers {
        /// Where the list came from (`--broker`, `dripline_mesh.broker`).
        source_name: &'static str,
        /// What is wrong, naming the entry.
        reason: String,
    },
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
                resolving.apply_auth_group(group, path)?;
            }
        }
        resolving.apply_environment(&env)?;
        resolving.apply_flags(options)?;
        Ok(resolving.finish())
    }

    /// `host:port` (and `/vhost` when not `/`), for messages; several nodes are separated by
    /// commas.
    pub fn address(&self) -> String {
        let nodes: Vec<String> = self.nodes.iter().map(BrokerNode::to_string).collect();
        self.with_vhost(&nodes.join(","))
    }

    /// `node` (and `/vhost` when not `/`), for messages about one node.
    pub fn node_address(&self, node: &BrokerNode) -> String {
        self.with_vhost(&node.to_string())
    }

    fn with_vhost(&self, nodes: &str) -> String {
        if self.vhost == "/" {
            nodes.to_string()
        } else {
            format!("{nodes}/{}", self.vhost)
        }
    }
}

/// Settings being resolved: the broker list as written (ports where entries name them), the
/// port of the others, and whether any source named a port (where none did, TLS means
/// RabbitMQ's amqps port 5671).
struct Resolving {
    settings: BrokerSettings,
    addresses: Vec<BrokerAddress>,
    port: u16,
    port_named: bool,
}

impl Default for Resolving {
    fn default() -> Self {
        Resolving {
            settings: BrokerSettings::default(),
            addresses: vec![BrokerAddress {
                host: "localhost".into(),
                port: None,
            }],
            port: 5672,
            port_named: false,
        }
    }
}

impl Resolving {
    /// A port from a source above the list's: it applies to every entry.
    fn set_port(&mut self, port: u16) {
        self.port = port;
        self.port_named = true;
        for address in &mut self.addresses {
            address.port = None;
        }
    }

    /// A list of addresses replaces the one below it.
    fn set_brokers(
        &mut self,
        text: &str,
        refuse: impl FnOnce(String) -> SettingsError,
    ) -> Result<(), SettingsError> {
        self.addresses = parse_broker_list(text).map_err(refuse)?;
        Ok(())
    }

    /// The mesh file (`--mesh-file`, else `$HOME/.dripline_mesh.yaml`) under a service
    /// config's `dripline_mesh` block.
    fn apply_mesh(
        &mut self,
        options: &BrokerOptions,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        let mesh_path = match &options.mesh_file {
            Some(path) => Some(path.clone()),
            None => env("HOME")
                .map(|home| Path::new(&home).join(".dripline_mesh.yaml"))
                .filter(|path| path.is_file()),
        };
        let mesh_file = mesh_path.as_deref().map(read_mesh_file).transpose()?;
        // Broker lists and ports source by source (file, then config block), so that a port
        // the config block names applies to the file's list; the list's own ports win within
        // the same source.
        let file_mesh = mesh_file.unwrap_or_default();
        let sources = [
            (&file_mesh, mesh_path.as_deref()),
            (&options.config_mesh, None),
        ];
        for (mesh, path) in sources {
            if let Some(port) = mesh.broker_port {
                self.set_port(port);
            }
            if let Some(hosts) = &mesh.broker {
                self.set_brokers(hosts, |reason| match path {
                    Some(path) => SettingsError::File {
                        path: path.to_path_buf(),
                        reason: format!("broker: {reason}"),
                    },
                    None => SettingsError::Brokers {
                        source_name: "dripline_mesh.broker",
                        reason,
                    },
                })?;
            }
        }
        let mesh = options.config_mesh.clone().over(file_mesh);
        let settings = &mut self.settings;
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
        Ok(())
    }

    /// An auth file's broker group.
    fn apply_auth_group(&mut self, group: AuthGroup, path: &Path) -> Result<(), SettingsError> {
        if let Some(user) = group.username {
            self.settings.username = user;
        }
        if let Some(password) = group.password {
            self.settings.password = Secret::new(password);
        }
        if let Some(port) = group.broker_port {
            self.set_port(port);
        }
        if let Some(hosts) = group.broker {
            self.set_brokers(&hosts, |reason| SettingsError::File {
                path: path.to_path_buf(),
                reason: format!("broker: {reason}"),
            })?;
        }
        Ok(())
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
        if let Some(hosts) = env("DRIPLINE_BROKER").filter(|h| !h.is_empty()) {
            self.set_brokers(&hosts, |reason| SettingsError::Env {
                name: "DRIPLINE_BROKER",
                reason,
            })?;
        }
        if let Some(port) = env("DRIPLINE_BROKER_PORT").filter(|p| !p.is_empty()) {
            let port = port.trim().parse().map_err(|_| SettingsError::Env {
                name: "DRIPLINE_BROKER_PORT",
                reason: format!("'{port}' is not a port number"),
            })?;
            self.set_port(port);
        }
        if let Some(url) = env("DRIPLINE_AMQP_URL").filter(|u| !u.is_empty()) {
            self.apply_urls(&url)?;
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
        // The port first: the list's own ports win within the same source.
        if let Some(port) = options.port {
            self.set_port(port);
        }
        if let Some(hosts) = &options.host {
            self.set_brokers(hosts, |reason| SettingsError::Brokers {
                source_name: "--broker",
                reason,
            })?;
        }
        if let Some(order) = options.order {
            self.settings.order = order;
        }
        if let Some(vhost) = &options.vhost {
            self.settings.vhost = vhost.clone();
        }
        self.settings.tls |= options.tls;
        if let Some(path) = &options.tls_ca_file {
            self.settings.tls_ca_pem = Some(read_ca_file(path)?);
        }
        if let Some(url) = options.url.as_deref().filter(|u| !u.is_empty()) {
            self.apply_urls(url)?;
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

    /// One AMQP URL, or several separated by commas. One URL is applied field by field, as
    /// always; a list names one node per URL (each with its own port), and its URLs must agree
    /// on the scheme, credentials and vhost (later ones may leave them out).
    fn apply_urls(&mut self, text: &str) -> Result<(), SettingsError> {
        let urls = split_url_list(text);
        if urls.len() > MAX_BROKER_ADDRESSES {
            return Err(SettingsError::Url(format!(
                "{} URLs; at most {MAX_BROKER_ADDRESSES} are accepted",
                urls.len()
            )));
        }
        if urls.len() == 1 {
            let parsed = parse_url(urls[0])?;
            if let Some(host) = &parsed.host {
                self.addresses = vec![BrokerAddress {
                    host: host.clone(),
                    port: None,
                }];
            }
            self.apply_url(parsed);
            return Ok(());
        }
        let mut parsed = Vec::with_capacity(urls.len());
        for (index, url) in urls.iter().enumerate() {
            let number = index + 1;
            let url = parse_url(url)
                .map_err(|e| SettingsError::Url(format!("URL {number} of the list: {e}")))?;
            if url.host.is_none() {
                return Err(SettingsError::Url(format!(
                    "URL {number} of the list names no host"
                )));
            }
            if let Some(first) = parsed.first() {
                url.agrees_with(first).map_err(|what| {
                    SettingsError::Url(format!(
                        "URL {number} of the list names another {what} than the first"
                    ))
                })?;
            }
            parsed.push(url);
        }
        self.addresses = parsed
            .iter()
            .map(|url| BrokerAddress {
                host: url.host.clone().unwrap_or_default(),
                port: url.port,
            })
            .collect();
        let mut first = parsed.swap_remove(0);
        first.host = None;
        first.port = None;
        self.apply_url(first);
        Ok(())
    }

    /// What an AMQP URL names besides its host; its scheme decides TLS.
    fn apply_url(&mut self, parsed: ParsedUrl) {
        self.settings.tls = parsed.tls;
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
        let port = if self.settings.tls && !self.port_named {
            5671
        } else {
            self.port
        };
        self.settings.nodes = self
            .addresses
            .into_iter()
            .map(|address| BrokerNode {
                host: address.host,
                port: address.port.unwrap_or(port),
            })
            .collect();
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

impl ParsedUrl {
    /// `Err(what)` when `self` names a scheme, user, password or vhost other than `first`'s.
    fn agrees_with(&self, first: &ParsedUrl) -> Result<(), &'static str> {
        let same =
            |mine: &Option<String>, theirs: &Option<String>| mine.is_none() || mine == theirs;
        if self.tls != first.tls {
            return Err("scheme");
        }
        if !same(&self.username, &first.username) || !same(&self.password, &first.password) {
            return Err("user or password");
        }
        if !same(&self.vhost, &first.vhost) {
            return Err("vhost");
        }
        Ok(())
    }
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
        assert_eq!(s.nodes[0].host, "rabbit-broker");
        assert_eq!(s.username, "dripline");
        // Environment and flags still win over the file's broker.
        let s = resolve(&options, &[("DRIPLINE_BROKER", "env-host")]);
        assert_eq!(s.nodes[0].host, "env-host");
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
        assert_eq!(s.nodes[0].port, 5671);
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
        assert_eq!(s.nodes[0].host, "flag-url-host");
        assert!(!s.tls);
        let s = resolve(
            &BrokerOptions::default(),
            &[
                ("DRIPLINE_BROKER", "b"),
                ("DRIPLINE_AMQP_URL", "amqp://url-host"),
            ],
        );
        assert_eq!(s.nodes[0].host, "url-host");
    }

    fn nodes(s: &BrokerSettings) -> String {
        s.nodes
            .iter()
            .map(BrokerNode::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn broker_lists_from_every_source_replace_the_lower_ones() {
        let mesh = temp_file("mesh.yaml", "broker: m1, m2:5673\nbroker_port: 5674\n");
        let mut options = BrokerOptions {
            mesh_file: Some(mesh),
            ..BrokerOptions::default()
        };
        // The mesh file's own ports win over its broker_port.
        assert_eq!(nodes(&resolve(&options, &[])), "m1:5674,m2:5673");
        // A port named above the list applies to every entry.
        let s = resolve(&options, &[("DRIPLINE_BROKER_PORT", "5999")]);
        assert_eq!(nodes(&s), "m1:5999,m2:5999");
        let s = resolve(&options, &[("DRIPLINE_BROKER", "e1,[::1]:5675")]);
        assert_eq!(nodes(&s), "e1:5674,[::1]:5675");
        options.host = Some("f1:5676,f2".into());
        let s = resolve(&options, &[("DRIPLINE_BROKER", "e1")]);
        assert_eq!(nodes(&s), "f1:5676,f2:5674");
        assert_eq!(s.address(), "f1:5676,f2:5674");
        options.port = Some(5677);
        assert_eq!(nodes(&resolve(&options, &[])), "f1:5676,f2:5677");
        // The order is the flag's; as listed by default.
        assert_eq!(resolve(&options, &[]).order, BrokerOrder::First);
        options.order = Some(BrokerOrder::Random);
        assert_eq!(resolve(&options, &[]).order, BrokerOrder::Random);
    }

    #[test]
    fn one_host_and_port_resolve_as_before() {
        // An environment URL's port still goes with a --broker that names none.
        let options = BrokerOptions {
            host: Some("flag-host".into()),
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &[("DRIPLINE_AMQP_URL", "amqp://env-host:5999")]);
        assert_eq!(s.address(), "flag-host:5999");
        let s = resolve(
            &BrokerOptions {
                host: Some("::1".into()),
                tls: true,
                ..BrokerOptions::default()
            },
            &[],
        );
        assert_eq!((s.nodes[0].host.as_str(), s.nodes[0].port), ("::1", 5671));
        assert_eq!(s.address(), "[::1]:5671");
    }

    #[test]
    fn url_lists_name_one_node_each() {
        let options = BrokerOptions {
            url: Some("amqps://u:p@a:5999/v,amqps://b,amqps://u@[::1]:6000/v".into()),
            ..BrokerOptions::default()
        };
        let s = resolve(&options, &[]);
        assert!(s.tls);
        assert_eq!(s.address(), "a:5999,b:5671,[::1]:6000/v");
        assert_eq!((s.username.as_str(), s.password.expose()), ("u", "p"));
        // In the environment too, under --broker.
        let s = resolve(
            &BrokerOptions::default(),
            &[("DRIPLINE_AMQP_URL", "amqp://a,amqp://b:5673")],
        );
        assert_eq!(nodes(&s), "a:5672,b:5673");
        let refused = |url: &str| {
            let options = BrokerOptions {
                url: Some(url.into()),
                ..BrokerOptions::default()
            };
            BrokerSettings::resolve_with_env(&options, |_| None)
                .unwrap_err()
                .to_string()
        };
        assert!(refused("amqp://a,amqps://b").contains("URL 2 of the list names another scheme"));
        assert!(refused("amqp://u@a,amqp://v@b").contains("another user or password"));
        assert!(refused("amqp://a/x,amqp://b/y").contains("another vhost"));
        assert!(refused("amqp://a,amqp://").contains("URL 2 of the list names no host"));
        let many = vec!["amqp://h"; 17].join(",");
        assert!(refused(&many).contains("17 URLs; at most 16"));
    }

    #[test]
    fn bad_lists_are_refused_naming_their_source() {
        let refused = |options: &BrokerOptions, env: &[(&str, &str)]| {
            let env: HashMap<String, String> = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            BrokerSettings::resolve_with_env(options, |name| env.get(name).cloned())
                .unwrap_err()
                .to_string()
        };
        let error = refused(&BrokerOptions::default(), &[("DRIPLINE_BROKER", "a,,b")]);
        assert_eq!(
            error,
            "environment variable DRIPLINE_BROKER: entry 2 '': empty broker address"
        );
        let mesh = temp_file("mesh.yaml", "broker: a:99999\n");
        let error = refused(
            &BrokerOptions {
                mesh_file: Some(mesh.clone()),
                ..BrokerOptions::default()
            },
            &[],
        );
        assert!(
            error.starts_with(&format!("{}: broker: 'a:99999'", mesh.display())),
            "{error}"
        );
        let error = refused(
            &BrokerOptions {
                config_mesh: MeshDefaults {
                    broker: Some(vec!["h"; 17].join(",")),
                    ..MeshDefaults::default()
                },
                ..BrokerOptions::default()
            },
            &[],
        );
        assert!(
            error.starts_with("dripline_mesh.broker: 17 broker addresses"),
            "{error}"
        );
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
