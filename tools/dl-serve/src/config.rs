//! The service configuration file, in dripline-python's format (PROTOCOL.md §A6.5, §A6.6),
//! read as PyYAML reads it (see [`crate::yaml`]: YAML 1.1, so unquoted `on`/`off`/`yes`/`no`
//! are booleans and a quoted `"on"` stays a string).
//!
//! Layouts: the flat v5 map, and the deprecated v4 layout with everything under
//! `runtime-config:` (accepted with a warning; its keys are moved to the top level, where they
//! win over keys already there, as dripline-python does).
//!
//! Service keys ([`SERVICE_KEYS`]): `name` (default `dlpy_service`), `module` (`Service`, or
//! dripline-python's dotted `dripline.core.Service`), `endpoints`, `heartbeat_interval_s`,
//! `broadcast_key`, `enable_scheduling` (default true, as in dripline-python's dl-serve),
//! `dripline_mesh` (broker, broker_port, exchange names, max_payload_size,
//! heartbeat_routing_key, max_connection_attempts), `auth_file`. Other dripline-python service
//! keys (`loop_timeout_ms`, `username`, …) and unknown keys are ignored with a warning, as
//! dripline-python ignores unknown keyword arguments.
//!
//! Endpoint keys: `name`, `module` (`KeyValueStore` or `dripline.implementations.KeyValueStore`),
//! `initial_value`, and the settings of [`crate::attributes`], the table a set with a
//! specifier uses too. An unknown endpoint key is an error (dripline-python fails with
//! "unexpected keyword argument").
//!
//! `ENV{VAR}` in any string value is replaced by the variable's value; a missing variable is
//! an error.
//!
//! Errors: every problem in the file is reported in one run, in file order, each naming the
//! file, the line and the key: `store.yaml:7: endpoints[1] (chips).calibration: …`.

use crate::attributes::{self, check_word, describe};
use crate::key_value_store::{storable, KeyValueStoreConfig};
use crate::yaml::{self, Key, Node, Yaml};
use dripline_mesh::MeshDefaults;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default service name of dripline-python's dl-serve.
pub const DEFAULT_NAME: &str = "dlpy_service";

/// The largest config file read (a config is a door: bounded like every other).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The names `module:` may give the service (dripline-python's class, short or dotted).
pub const SERVICE_MODULES: &[&str] = &[
    "Service",
    "dripline.core.Service",
    "dripline.core.service.Service",
];

/// The names `module:` may give an endpoint.
pub const ENDPOINT_MODULES: &[&str] = &[
    "KeyValueStore",
    "dripline.implementations.KeyValueStore",
    "dripline.implementations.key_value_store.KeyValueStore",
];

/// The service keys dl-serve reads.
pub const SERVICE_KEYS: &[&str] = &[
    "name",
    "module",
    "endpoints",
    "heartbeat_interval_s",
    "broadcast_key",
    "enable_scheduling",
    "dripline_mesh",
    "auth_file",
];

/// The `dripline_mesh` keys dl-serve uses (others are warned about).
const MESH_KEYS: &[&str] = &[
    "broker",
    "broker_port",
    "broker-port",
    "requests_exchange",
    "requests-exchange",
    "alerts_exchange",
    "alerts-exchange",
    "max_payload_size",
    "max-payload-size",
    "heartbeat_routing_key",
    "heartbeat-routing-key",
    "max_connection_attempts",
    "max-connection-attempts",
];

/// A loaded service configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    /// Service name (= queue name).
    pub name: String,
    /// `heartbeat_interval_s`, if configured.
    pub heartbeat_interval: Option<Duration>,
    /// Broadcast routing-key token.
    pub broadcast_key: String,
    /// Whether endpoints' scheduled logging runs.
    pub enable_scheduling: bool,
    /// The `dripline_mesh` block.
    pub mesh: MeshDefaults,
    /// Top-level `auth_file`.
    pub auth_file: Option<PathBuf>,
    /// The endpoints.
    pub endpoints: Vec<KeyValueStoreConfig>,
    /// Things worth a warning at start-up (deprecated layout, ignored keys).
    pub warnings: Vec<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            name: DEFAULT_NAME.into(),
            heartbeat_interval: None,
            broadcast_key: dripline_mesh::service::DEFAULT_BROADCAST_KEY.into(),
            enable_scheduling: true,
            mesh: MeshDefaults::default(),
            auth_file: None,
            endpoints: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// One thing wrong with a config: where, which key, what.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The line (1-based), when the problem has one.
    pub line: Option<usize>,
    /// The key (`endpoints[0] (peaches).calibration`), empty for the whole file.
    pub key: String,
    /// What is wrong and, where possible, how to fix it.
    pub reason: String,
}

/// A configuration that cannot be used: every problem found, in file order.
#[derive(Debug, thiserror::Error, PartialEq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The problems, in file order (at least one).
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// One line per problem: `file:line: key: reason`.
    pub fn lines(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|problem| {
                let line = problem.line.map(|n| format!(":{n}")).unwrap_or_default();
                let key = if problem.key.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", problem.key)
                };
                format!("{}{line}: {key}{}", self.file.display(), problem.reason)
            })
            .collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

/// Read and check `path`, reading environment variables through `env`.
pub fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServiceConfig, ConfigError> {
    let fail = |reason: String| ConfigError {
        file: path.to_path_buf(),
        problems: vec![Problem {
            line: None,
            key: String::new(),
            reason,
        }],
    };
    let file =
        std::fs::File::open(path).map_err(|e| fail(format!("cannot read the config file: {e}")))?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(format!("cannot read the config file: {e}")))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(fail(format!(
            "the config file is larger than {MAX_CONFIG_BYTES} bytes"
        )));
    }
    parse(&text, path, env)
}

/// Parse the text of a config file (`path` names it in errors).
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServiceConfig, ConfigError> {
    let mut reader = Reader {
        file: path,
        env,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let config = reader
        .top_level(text)
        .map(|entries| reader.service(entries));
    reader.finish(config)
}

struct Reader<'a> {
    file: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn problem(&mut self, line: usize, key: &str, reason: impl Into<String>) {
        self.problems.push(Problem {
            line: Some(line),
            key: key.to_string(),
            reason: reason.into(),
        });
    }

    fn finish(mut self, config: Option<ServiceConfig>) -> Result<ServiceConfig, ConfigError> {
        match config {
            Some(mut config) if self.problems.is_empty() => {
                config.warnings = self.warnings;
                Ok(config)
            }
            _ => {
                self.problems.sort_by_key(|problem| problem.line);
                Err(ConfigError {
                    file: self.file.to_path_buf(),
                    problems: self.problems,
                })
            }
        }
    }

    /// The top-level mapping, with a v4 `runtime-config:` block moved up.
    fn top_level(&mut self, text: &str) -> Option<Vec<(Key, Node)>> {
        match yaml::parse(text) {
            Err(error) => self.problem(error.line, "", error.reason),
            Ok(None) => self.problems.push(Problem {
                line: None,
                key: String::new(),
                reason: "the file is empty; it needs at least `name:`".into(),
            }),
            Ok(Some(Node {
                value: Yaml::Map(entries),
                ..
            })) => return Some(self.v4_layout(entries)),
            Ok(Some(node)) => self.problem(
                node.line,
                "",
                "the file must be a YAML mapping (name:, endpoints:, …)",
            ),
        }
        None
    }

    fn v4_layout(&mut self, mut entries: Vec<(Key, Node)>) -> Vec<(Key, Node)> {
        let Some(at) = entries.iter().position(|(k, _)| k.text == "runtime-config") else {
            return entries;
        };
        let (key, node) = entries.remove(at);
        let Yaml::Map(inner) = node.value else {
            self.problem(key.line, "runtime-config", "must be a mapping");
            return entries;
        };
        self.warnings.push(format!(
            "{}: the `runtime-config:` layout is deprecated (dripline-python 4); move its keys to the top level",
            self.file.display()
        ));
        entries.retain(|(k, _)| !inner.iter().any(|(i, _)| i.text == k.text));
        entries.extend(inner);
        entries.sort_by_key(|(k, _)| k.line);
        entries
    }

    /// Replace every `ENV{VAR}` in the node's strings; `None` (and a problem) when a
    /// variable is missing.
    fn environment(&mut self, key: &str, mut node: Node) -> Option<Node> {
        let before = self.problems.len();
        self.substitute(key, &mut node);
        (self.problems.len() == before).then_some(node)
    }

    fn substitute(&mut self, key: &str, node: &mut Node) {
        let line = node.line;
        match &mut node.value {
            Yaml::Str(text) => match substitute_env(text, self.env) {
                Ok(replaced) => *text = replaced,
                Err(reason) => self.problem(line, key, reason),
            },
            Yaml::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.substitute(&format!("{key}[{i}]"), item);
                }
            }
            Yaml::Map(entries) => {
                for (k, value) in entries.iter_mut() {
                    self.substitute(&format!("{key}.{}", k.text), value);
                }
            }
            _ => {}
        }
    }

    /// The node as JSON, or a problem.
    fn json(&mut self, key: &str, node: &Node) -> Option<Value> {
        node.to_json()
            .map_err(|error| self.problem(error.line, key, error.reason))
            .ok()
    }

    /// The node as a `T` (through serde), or a problem saying what was expected.
    fn typed<T: DeserializeOwned>(&mut self, key: &str, node: &Node, expected: &str) -> Option<T> {
        let value = self.json(key, node)?;
        match serde_json::from_value(value.clone()) {
            Ok(typed) => Some(typed),
            Err(_) => {
                self.problem(
                    node.line,
                    key,
                    format!("must be {expected}, not {}", describe(&value)),
                );
                None
            }
        }
    }

    /// A name usable as a routing-key word.
    fn word(&mut self, key: &str, node: &Node) -> Option<String> {
        let word: String = self.typed(key, node, "a string")?;
        match check_word(&word) {
            Ok(()) => Some(word),
            Err(reason) => {
                self.problem(node.line, key, reason);
                None
            }
        }
    }

    /// `module:`, one of `known`; a problem otherwise.
    fn module(&mut self, key: &str, node: &Node, known: &[&str]) {
        let Some(module) = self.typed::<String>(key, node, "a class name") else {
            return;
        };
        if !known.contains(&module.as_str()) {
            self.problem(
                node.line,
                key,
                format!(
                    "'{module}' is not supported by dl-serve (supported: {})",
                    known.join(", ")
                ),
            );
        }
    }

    /// The service, key by key in file order.
    fn service(&mut self, entries: Vec<(Key, Node)>) -> ServiceConfig {
        let mut config = ServiceConfig::default();
        let mut endpoints = None;
        for (key, node) in entries {
            let name = key.text.as_str();
            if !SERVICE_KEYS.contains(&name) {
                self.ignored(&key);
                continue;
            }
            if name == "endpoints" {
                // Substituted endpoint by endpoint, so each problem names its endpoint.
                endpoints = Some(node);
                continue;
            }
            let Some(node) = self.environment(name, node) else {
                continue;
            };
            match name {
                "name" => config.name = self.word(name, &node).unwrap_or(config.name),
                "module" => self.module(name, &node, SERVICE_MODULES),
                "heartbeat_interval_s" => config.heartbeat_interval = self.heartbeat(&node),
                "broadcast_key" => {
                    config.broadcast_key = self.word(name, &node).unwrap_or(config.broadcast_key)
                }
                "enable_scheduling" => {
                    config.enable_scheduling = self
                        .typed(name, &node, "true or false")
                        .unwrap_or(config.enable_scheduling)
                }
                "dripline_mesh" => config.mesh = self.mesh(&node),
                "auth_file" => {
                    config.auth_file = self.typed(name, &node, "a path").unwrap_or_default()
                }
                _ => self.ignored(&key),
            }
        }
        if let Some(node) = endpoints {
            config.endpoints = self.endpoints(node, &config);
        }
        config
    }

    /// A key dl-serve does not read: a problem for Python code, else a warning.
    fn ignored(&mut self, key: &Key) {
        let note = match key.text.as_str() {
            "module_path" => {
                self.problem(
                    key.line,
                    "module_path",
                    "dl-serve cannot load Python extension code; remove module_path",
                );
                return;
            }
            "loop_timeout_ms" | "message_wait_ms" | "make_connection" | "add_endpoints_now" => {
                "has no effect in dl-serve"
            }
            "username" | "password" | "authentication_obj" | "auth-file" => {
                "is not supported; use auth_file, DRIPLINE_USER/DRIPLINE_PASSWORD or --password-file"
            }
            _ => "is not a dl-serve setting",
        };
        self.warnings.push(format!(
            "{}:{}: {} {note}; ignored",
            self.file.display(),
            key.line,
            key.text
        ));
    }

    fn heartbeat(&mut self, node: &Node) -> Option<Duration> {
        let seconds: Option<f64> = self.typed(
            "heartbeat_interval_s",
            node,
            "a number of seconds ≥ 0 (0 = off)",
        )?;
        let seconds = seconds?;
        if seconds.is_finite() && (0.0..=1e9).contains(&seconds) {
            return Some(Duration::from_secs_f64(seconds));
        }
        self.problem(
            node.line,
            "heartbeat_interval_s",
            format!("must be a number of seconds ≥ 0 (0 = off), not {seconds}"),
        );
        None
    }

    /// `dripline_mesh:`, each key checked on its own so that every bad one is named.
    fn mesh(&mut self, node: &Node) -> MeshDefaults {
        let entries = match &node.value {
            Yaml::Null => return MeshDefaults::default(),
            Yaml::Map(entries) => entries,
            _ => {
                self.problem(node.line, "dripline_mesh", "must be a mapping");
                return MeshDefaults::default();
            }
        };
        let mut good = Map::new();
        for (key, value) in entries {
            let path = format!("dripline_mesh.{}", key.text);
            if !MESH_KEYS.contains(&key.text.as_str()) {
                self.warnings.push(format!(
                    "{}:{}: {path} is not used by dl-serve; ignored",
                    self.file.display(),
                    key.line
                ));
                continue;
            }
            let Some(json) = self.json(&path, value) else {
                continue;
            };
            let alone = Map::from_iter([(key.text.clone(), json.clone())]);
            match serde_json::from_value::<MeshDefaults>(Value::Object(alone)) {
                Ok(_) => {
                    good.insert(key.text.clone(), json);
                }
                Err(error) => self.problem(value.line, &path, error.to_string()),
            }
        }
        serde_json::from_value(Value::Object(good)).unwrap_or_else(|error| {
            self.problem(node.line, "dripline_mesh", error.to_string());
            MeshDefaults::default()
        })
    }

    /// `endpoints:`, each checked; names must differ from each other and from the service.
    fn endpoints(&mut self, node: Node, service: &ServiceConfig) -> Vec<KeyValueStoreConfig> {
        let items = match node.value {
            Yaml::Null => return Vec::new(),
            Yaml::Seq(items) => items,
            _ => {
                self.problem(node.line, "endpoints", "must be a list of endpoints");
                return Vec::new();
            }
        };
        let mut configs: Vec<KeyValueStoreConfig> = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let line = item.line;
            let Some(config) = self.endpoint(index, item) else {
                continue;
            };
            let key = format!("endpoints[{index}] ({}).name", config.name);
            if config.name == service.name || config.name == service.broadcast_key {
                let reason = format!(
                    "'{}' is already the service name or the broadcast key",
                    config.name
                );
                self.problem(line, &key, reason);
            } else if configs.iter().any(|c| c.name == config.name) {
                let reason = format!("'{}' is used by two endpoints", config.name);
                self.problem(line, &key, reason);
            } else {
                configs.push(config);
            }
        }
        configs
    }

    /// One endpoint: `name`, `module`, `initial_value`, and the attribute table's settings.
    fn endpoint(&mut self, index: usize, node: Node) -> Option<KeyValueStoreConfig> {
        let at = format!("endpoints[{index}]");
        let Yaml::Map(entries) = node.value else {
            self.problem(node.line, &at, "must be a mapping with name: and module:");
            return None;
        };
        let name = self.endpoint_name(&at, node.line, &entries)?;
        let at = format!("{at} ({name})");
        if !entries.iter().any(|(k, _)| k.text == "module") {
            let reason = "is missing (dl-serve supports module: KeyValueStore)";
            self.problem(node.line, &format!("{at}.module"), reason);
        }
        let mut config = KeyValueStoreConfig::new(&name);
        let mut initial_value = None;
        let mut log_on_set_line = node.line;
        for (key, value) in entries {
            let path = format!("{at}.{}", key.text);
            let Some(value) = self.environment(&path, value) else {
                continue;
            };
            match key.text.as_str() {
                "name" => {}
                "module" => self.module(&path, &value, ENDPOINT_MODULES),
                "initial_value" => {
                    initial_value = self.json(&path, &value).map(|v| (v, value.line))
                }
                "module_path" => self.problem(
                    key.line,
                    &path,
                    "dl-serve cannot load Python extension code",
                ),
                other => {
                    if other == "log_on_set" {
                        log_on_set_line = key.line;
                    }
                    self.setting(&mut config, &path, &key, &value);
                }
            }
        }
        if let Err(reason) = attributes::check_together(&config, "log_on_set") {
            let reason = format!("{reason}; add get_on_set: true");
            self.problem(log_on_set_line, &format!("{at}.log_on_set"), reason);
        }
        if let Some((value, line)) = initial_value {
            match storable(&value, config.calibration.as_ref()) {
                Ok(()) => config.initial_value = value,
                Err(refused) => self.problem(line, &format!("{at}.initial_value"), refused.message),
            }
        }
        Some(config)
    }

    fn endpoint_name(&mut self, at: &str, line: usize, entries: &[(Key, Node)]) -> Option<String> {
        let key = format!("{at}.name");
        match entries.iter().find(|(k, _)| k.text == "name") {
            None => {
                self.problem(line, &key, "is missing");
                None
            }
            Some((_, node)) => {
                let node = self.environment(&key, node.clone())?;
                self.word(&key, &node)
            }
        }
    }

    /// One setting from the attribute table, as a set with that specifier would take it.
    fn setting(&mut self, config: &mut KeyValueStoreConfig, path: &str, key: &Key, value: &Node) {
        let Some(attribute) = attributes::find(&key.text) else {
            let reason = format!(
                "is not a KeyValueStore setting (known: initial_value, {})",
                attributes::names()
            );
            self.problem(key.line, path, reason);
            return;
        };
        let Some(json) = self.json(path, value) else {
            return;
        };
        if let Err(reason) = (attribute.set)(config, json) {
            self.problem(value.line, path, reason);
        }
    }
}

/// Replace every `ENV{VAR}` in `text` with the variable's value.
fn substitute_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("ENV{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        let Some(end) = after.find('}') else {
            return Err(format!("'ENV{{' without a closing '}}' in '{text}'"));
        };
        let name = &after[..end];
        let value = env(name).ok_or_else(|| {
            format!("environment variable {name} is not set (used as ENV{{{name}}})")
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse_text(text: &str) -> Result<ServiceConfig, ConfigError> {
        parse(text, Path::new("test.yaml"), &no_env)
    }

    const V5: &str = "\
name: my_store
module: Service
auth_file: /root/authentications.json
heartbeat_interval_s: 30
dripline_mesh:
  broker: rabbit-broker
  broker_port: 5673
endpoints:
  - name: peaches
    module: KeyValueStore
    calibration: '2*{}'
    initial_value: 0.75
    log_interval: 10
    get_on_set: True
    log_on_set: True
  - name: chips
    module: KeyValueStore
    calibration: 'times3({})'
    initial_value: 1.75
  - name: waffles
    module: KeyValueStore
    calibration: '1.*{}'
    initial_value: 4.00
";

    #[test]
    fn flat_v5_layout() {
        let config = parse_text(V5).unwrap();
        assert_eq!(config.name, "my_store");
        assert_eq!(config.heartbeat_interval, Some(Duration::from_secs(30)));
        assert_eq!(config.mesh.broker.as_deref(), Some("rabbit-broker"));
        assert_eq!(config.mesh.broker_port, Some(5673));
        assert_eq!(
            config.auth_file,
            Some(PathBuf::from("/root/authentications.json"))
        );
        assert!(config.enable_scheduling);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["peaches", "chips", "waffles"]);
        let peaches = &config.endpoints[0];
        assert_eq!(peaches.initial_value, json!(0.75));
        assert!(peaches.get_on_set && peaches.log_on_set);
        assert_eq!(peaches.log_interval, Duration::from_secs(10));
        assert_eq!(config.endpoints[2].initial_value, json!(4.0));
        assert!(config.endpoints[2].initial_value.is_f64());
    }

    #[test]
    fn v4_runtime_config_layout_with_warning() {
        let text = format!(
            "runtime-config:\n{}",
            V5.lines().map(|l| format!("  {l}\n")).collect::<String>()
        );
        let config = parse_text(&text).unwrap();
        assert_eq!(config.name, "my_store");
        assert_eq!(config.endpoints.len(), 3);
        assert_eq!(config.warnings.len(), 1);
        assert!(config.warnings[0].contains("runtime-config"));
    }

    #[test]
    fn defaults_and_dict_calibration_and_intervals() {
        let config = parse_text(
            "endpoints:\n  - name: switch\n    module: KeyValueStore\n    initial_value: 1\n    calibration: {1: on, 0: off, 2.5: half}\n    log_interval: {minutes: 2}\n",
        )
        .unwrap();
        assert_eq!(config.name, DEFAULT_NAME);
        assert_eq!(config.heartbeat_interval, None);
        let switch = &config.endpoints[0];
        assert_eq!(switch.log_interval, Duration::from_secs(120));
        assert_eq!(
            switch
                .calibration
                .as_ref()
                .unwrap()
                .apply(&json!(1))
                .unwrap(),
            Some(json!(true))
        );
        assert_eq!(
            switch
                .calibration
                .as_ref()
                .unwrap()
                .apply(&json!(2.5))
                .unwrap(),
            Some(json!("half"))
        );
    }

    #[test]
    fn env_substitution() {
        let env = |name: &str| (name == "STORE").then(|| "from_env".to_string());
        let config = parse(
            "name: ENV{STORE}\nauth_file: /etc/ENV{STORE}/auth.json\n",
            Path::new("x.yaml"),
            &env,
        )
        .unwrap();
        assert_eq!(config.name, "from_env");
        assert_eq!(
            config.auth_file,
            Some(PathBuf::from("/etc/from_env/auth.json"))
        );
        let error = parse("name: ENV{NOPE}\n", Path::new("x.yaml"), &env).unwrap_err();
        assert_eq!(error.problems[0].key, "name");
        let text = "endpoints:\n  - name: a\n    module: KeyValueStore\n    calibration: 'ENV{NOPE}*{}'\n  - name: ENV{STORE}\n    module: KeyValueStore\n";
        let error = parse(text, Path::new("x.yaml"), &env).unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(error.problems[0].key, "endpoints[0] (a).calibration");
        assert_eq!(error.problems[0].line, Some(4));
        assert!(
            error
                .to_string()
                .contains("environment variable NOPE is not set"),
            "{error}"
        );
    }

    fn error_of(text: &str) -> ConfigError {
        parse_text(text).unwrap_err()
    }

    /// The key of the one problem in `text`.
    fn key_of(text: &str) -> String {
        let error = error_of(text);
        assert_eq!(error.problems.len(), 1, "{error}");
        error.problems[0].key.clone()
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let e = error_of("name: s\nendpoints:\n  - name: peaches\n    module: Sensor\n");
        assert_eq!(
            e.to_string(),
            "test.yaml:4: endpoints[0] (peaches).module: 'Sensor' is not supported by dl-serve (supported: KeyValueStore, dripline.implementations.KeyValueStore, dripline.implementations.key_value_store.KeyValueStore)"
        );
        assert_eq!(key_of("module: AlertConsumer\n"), "module");
        assert_eq!(
            key_of("endpoints:\n  - module: KeyValueStore\n"),
            "endpoints[0].name"
        );
        let kvs = "endpoints:\n  - name: a\n    module: KeyValueStore\n";
        for (extra, key) in [
            ("    colour: red\n", "endpoints[0] (a).colour"),
            ("    log_on_set: true\n", "endpoints[0] (a).log_on_set"),
            ("    calibration: '{x}'\n", "endpoints[0] (a).calibration"),
            ("    log_interval: soon\n", "endpoints[0] (a).log_interval"),
            (
                "    log_routing_key_prefix: a.#\n",
                "endpoints[0] (a).log_routing_key_prefix",
            ),
            (
                "    initial_value: [7, 8]\n",
                "endpoints[0] (a).initial_value",
            ),
            (
                "  - name: a\n    module: KeyValueStore\n",
                "endpoints[1] (a).name",
            ),
        ] {
            assert_eq!(key_of(&format!("{kvs}{extra}")), key, "{extra}");
        }
        assert_eq!(key_of("name: my.store\n"), "name");
        assert_eq!(key_of("heartbeat_interval_s: -1\n"), "heartbeat_interval_s");
        assert_eq!(key_of("module_path: ./x.py\n"), "module_path");
        let e = error_of("name: [unclosed\n");
        assert!(e.problems[0].reason.starts_with("not valid YAML"), "{e}");
        assert_eq!(key_of(""), "");
    }

    #[test]
    fn every_problem_is_reported_in_file_order() {
        let text = "\
name: my.store
dripline_mesh:
  broker: rabbit
  broker_port: \"5999\"
  max_payload_size: lots
heartbeat_interval_s: soon
endpoints:
  - name: a
    module: KeyValueStore
    calibration: '{x}'
    colour: red
  - name: b
    module: dripline.implementations.Sensor
";
        let e = error_of(text);
        let found: Vec<(Option<usize>, &str)> = e
            .problems
            .iter()
            .map(|p| (p.line, p.key.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(1), "name"),
                (Some(4), "dripline_mesh.broker_port"),
                (Some(5), "dripline_mesh.max_payload_size"),
                (Some(6), "heartbeat_interval_s"),
                (Some(10), "endpoints[0] (a).calibration"),
                (Some(11), "endpoints[0] (a).colour"),
                (Some(13), "endpoints[1] (b).module"),
            ],
            "{e}"
        );
        assert!(e.problems[1].reason.contains("\"5999\""), "{e}");
        assert_eq!(e.to_string().lines().count(), 7);
    }

    #[test]
    fn a_calibration_string_is_taken_as_given_like_a_set_of_the_attribute() {
        // The config trimmed calibration strings and a set did not; both keep them now.
        let config = parse_text(
            "endpoints:\n  - name: a\n    module: KeyValueStore\n    calibration: ' 2*{} '\n",
        )
        .unwrap();
        let from_file = config.endpoints[0].calibration.clone().unwrap();
        let mut set = KeyValueStoreConfig::new("a");
        (attributes::find("calibration").unwrap().set)(&mut set, json!(" 2*{} ")).unwrap();
        assert_eq!(Some(from_file.clone()), set.calibration);
        assert_eq!(from_file.to_value(), json!(" 2*{} "));
        assert_eq!(from_file.apply(&json!(2)).unwrap(), Some(json!(4)));
    }

    #[test]
    fn dotted_module_names_of_dripline_python() {
        let config = parse_text(
            "name: s\nmodule: dripline.core.Service\nendpoints:\n  - name: a\n    module: dripline.implementations.KeyValueStore\n  - name: b\n    module: dripline.implementations.key_value_store.KeyValueStore\n",
        )
        .unwrap();
        assert_eq!(config.endpoints.len(), 2);
    }

    #[test]
    fn yaml11_booleans_unless_quoted() {
        let config = parse_text(
            "endpoints:\n  - name: valve\n    module: KeyValueStore\n    initial_value: on\n    calibration: {OPEN: on, CLOSE: \"on\", 1: yes, 0: 'no'}\n  - name: word\n    module: KeyValueStore\n    initial_value: \"off\"\n    get_on_set: yes\n",
        )
        .unwrap();
        let valve = &config.endpoints[0];
        assert_eq!(valve.initial_value, json!(true));
        assert_eq!(
            valve.calibration.as_ref().unwrap().to_value(),
            json!({"OPEN": true, "CLOSE": "on", "1": true, "0": "no"})
        );
        assert_eq!(config.endpoints[1].initial_value, json!("off"));
        assert!(config.endpoints[1].get_on_set);
        // A quoted word where a flag belongs is refused, not judged by Python truthiness.
        let e =
            error_of("endpoints:\n  - name: a\n    module: KeyValueStore\n    get_on_set: 'no'\n");
        assert!(
            e.to_string()
                .contains("must be true or false, not the string 'no'"),
            "{e}"
        );
    }

    #[test]
    fn hostile_config_files_are_refused() {
        let deep = format!("name: {}1{}\n", "[".repeat(100), "]".repeat(100));
        assert!(error_of(&deep).to_string().contains("nested"));
        let hostile = format!(
            "endpoints:\n  - name: a\n    module: KeyValueStore\n    calibration: '2*{{}}'\n    initial_value: '{}'\n",
            "(".repeat(50_000)
        );
        assert!(error_of(&hostile)
            .to_string()
            .contains("initial_value: value refused"));
        let dir = std::env::temp_dir().join(format!("dl-serve-config-test-{}", std::process::id()));
        std::fs::write(&dir, "#".repeat(MAX_CONFIG_BYTES as usize + 1)).unwrap();
        let e = load(&dir, &no_env).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(e.to_string().contains("larger than"), "{e}");
    }

    #[test]
    fn ignored_keys_are_warned_about() {
        let config = parse_text("name: s\nloop_timeout_ms: 500\ncolour: red\n").unwrap();
        assert_eq!(config.warnings.len(), 2);
        assert!(config
            .warnings
            .iter()
            .any(|w| w.contains("test.yaml:3: colour")));
    }
}
