//! The service configuration file, in dripline-python's format (PROTOCOL.md §A6.5, §A6.6).
//!
//! Layouts: the flat v5 map, and the deprecated v4 layout with everything under
//! `runtime-config:` (accepted with a warning; its keys are moved to the top level, where they
//! win over keys already there, as dripline-python does).
//!
//! Service keys: `name` (default `dlpy_service`), `module` (only `Service`), `endpoints`,
//! `heartbeat_interval_s`, `broadcast_key`, `enable_scheduling` (default true, as in
//! dripline-python's dl-serve), `dripline_mesh` (broker, broker_port, exchange names,
//! max_payload_size, heartbeat_routing_key, max_connection_attempts), `auth_file`. Other
//! dripline-python service keys (`loop_timeout_ms`, `message_wait_ms`, `make_connection`,
//! `username`, …) and unknown keys are ignored with a warning, as dripline-python ignores
//! unknown keyword arguments.
//!
//! Endpoint keys (`module: KeyValueStore` only): `name`, `initial_value`, `calibration` (a
//! string over `{}` or a dict raw → calibrated), `get_on_set`, `log_on_set`, `log_interval`
//! (seconds or a dict of timedelta arguments), `log_routing_key_prefix`, `max_interval`,
//! `max_absolute_change`, `max_fractional_change`, `check_field`. An unknown endpoint key is
//! an error (dripline-python fails with "unexpected keyword argument").
//!
//! `ENV{VAR}` in any string value is replaced by the variable's value; a missing variable is
//! an error. Like dripline's config reader (yaml-cpp), YAML 1.1 words such as `on`/`off`/
//! `yes`/`no` in `initial_value` and calibration-dict values are booleans, and calibration
//! dict keys are the raw values' text.
//!
//! Every error names the file and the key (`endpoints[1] (chips).calibration`).

use crate::calibration::Calibration;
use crate::key_value_store::{
    parse_interval, storable, KeyValueStoreConfig, LOG_ON_SET_NEEDS_GET_ON_SET,
};
use crate::python::yaml11_bool;
use dripline_mesh::MeshDefaults;
use serde_json::{Map, Number, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default service name of dripline-python's dl-serve.
pub const DEFAULT_NAME: &str = "dlpy_service";

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

/// A configuration that cannot be used: the file, the key, what is wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{}: {}{reason}", file.display(), if key.is_empty() { String::new() } else { format!("{key}: ") })]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The key (`endpoints[0] (peaches).calibration`), empty for the whole file.
    pub key: String,
    /// What is wrong and, where possible, how to fix it.
    pub reason: String,
}

/// Read and check `path`, reading environment variables through `env`.
pub fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServiceConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        key: String::new(),
        reason: format!("cannot read the config file: {e}"),
    })?;
    parse(&text, path, env)
}

struct Reader<'a> {
    file: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Reader<'_> {
    fn fail(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    /// YAML → JSON: keys become strings (as scarab's param nodes hold them), `ENV{VAR}`
    /// replaced in string values.
    fn to_json(&self, value: &serde_yaml::Value, key: &str) -> Result<Value, ConfigError> {
        use serde_yaml::Value as Y;
        Ok(match value {
            Y::Null => Value::Null,
            Y::Bool(flag) => Value::Bool(*flag),
            Y::Number(number) => {
                if let Some(int) = number.as_i64() {
                    Value::from(int)
                } else if let Some(int) = number.as_u64() {
                    Value::from(int)
                } else {
                    let float = number.as_f64().unwrap_or(f64::NAN);
                    Value::Number(Number::from_f64(float).ok_or_else(|| {
                        self.fail(key, format!("{float} cannot be used (only finite numbers)"))
                    })?)
                }
            }
            Y::String(text) => Value::String(self.substitute(text, key)?),
            Y::Sequence(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.to_json(item, &format!("{key}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Y::Mapping(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let name = match k {
                        Y::String(text) => text.clone(),
                        Y::Number(number) => number.to_string(),
                        Y::Bool(flag) => flag.to_string(),
                        Y::Null => "null".into(),
                        _ => return Err(self.fail(key, "mapping keys must be plain scalars")),
                    };
                    let child = if key.is_empty() {
                        name.clone()
                    } else {
                        format!("{key}.{name}")
                    };
                    let value = self.to_json(v, &child)?;
                    out.insert(name, value);
                }
                Value::Object(out)
            }
            Y::Tagged(tagged) => {
                return Err(self.fail(key, format!("YAML tags ({}) are not supported", tagged.tag)))
            }
        })
    }

    /// Replace every `ENV{VAR}`.
    fn substitute(&self, text: &str, key: &str) -> Result<String, ConfigError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("ENV{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 4..];
            let Some(end) = after.find('}') else {
                return Err(self.fail(key, format!("'ENV{{' without a closing '}}' in '{text}'")));
            };
            let name = &after[..end];
            let value = (self.env)(name).ok_or_else(|| {
                self.fail(
                    key,
                    format!("environment variable {name} is not set (used as ENV{{{name}}})"),
                )
            })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Parse the text of a config file (`path` names it in errors).
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServiceConfig, ConfigError> {
    let reader = Reader { file: path, env };
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| reader.fail("", format!("not valid YAML: {e}")))?;
    let mut top = match reader.to_json(&yaml, "")? {
        Value::Object(map) => map,
        Value::Null => return Err(reader.fail("", "the file is empty; it needs at least `name:`")),
        _ => return Err(reader.fail("", "the file must be a YAML mapping (name:, endpoints:, …)")),
    };
    let mut warnings = Vec::new();
    if let Some(runtime) = top.remove("runtime-config") {
        let Value::Object(runtime) = runtime else {
            return Err(reader.fail("runtime-config", "must be a mapping"));
        };
        warnings.push(format!(
            "{}: the `runtime-config:` layout is deprecated (dripline-python 4); move its keys to the top level",
            path.display()
        ));
        top.extend(runtime);
    }

    let name = match top.remove("name") {
        None => DEFAULT_NAME.to_string(),
        Some(Value::String(name)) => name,
        Some(other) => return Err(reader.fail("name", format!("must be a string, not {other}"))),
    };
    check_name(&name).map_err(|reason| reader.fail("name", reason))?;

    match top.remove("module") {
        None => {}
        Some(Value::String(module)) if module == "Service" => {}
        Some(other) => {
            return Err(reader.fail(
                "module",
                format!(
                    "{} is not supported by dl-serve (supported: Service)",
                    show(&other)
                ),
            ))
        }
    }
    if top.contains_key("module_path") {
        return Err(reader.fail(
            "module_path",
            "dl-serve cannot load Python extension code; remove module_path",
        ));
    }

    let heartbeat_interval = match top.remove("heartbeat_interval_s") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    reader.fail(
                        "heartbeat_interval_s",
                        format!("must be a number of seconds ≥ 0 (0 = off), not {value}"),
                    )
                })?,
        ),
    };
    let broadcast_key = match top.remove("broadcast_key") {
        None => dripline_mesh::service::DEFAULT_BROADCAST_KEY.to_string(),
        Some(Value::String(key)) => {
            check_name(&key).map_err(|reason| reader.fail("broadcast_key", reason))?;
            key
        }
        Some(other) => {
            return Err(reader.fail("broadcast_key", format!("must be a string, not {other}")))
        }
    };
    let enable_scheduling = match top.remove("enable_scheduling") {
        None => true,
        Some(value) => {
            flag(&value).ok_or_else(|| reader.fail("enable_scheduling", "must be true or false"))?
        }
    };
    let mesh = match top.remove("dripline_mesh") {
        None | Some(Value::Null) => MeshDefaults::default(),
        Some(value @ Value::Object(_)) => {
            let known = [
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
            if let Value::Object(map) = &value {
                for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
                    warnings.push(format!(
                        "dripline_mesh.{key} is not used by dl-serve; ignored"
                    ));
                }
            }
            serde_json::from_value(value)
                .map_err(|e| reader.fail("dripline_mesh", e.to_string()))?
        }
        Some(other) => {
            return Err(reader.fail("dripline_mesh", format!("must be a mapping, not {other}")))
        }
    };
    let auth_file = match top.remove("auth_file") {
        None | Some(Value::Null) => None,
        Some(Value::String(file)) => Some(PathBuf::from(file)),
        Some(other) => return Err(reader.fail("auth_file", format!("must be a path, not {other}"))),
    };

    let endpoints = match top.remove("endpoints") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(reader.fail(
                "endpoints",
                format!("must be a list of endpoints, not {other}"),
            ))
        }
    };
    let mut configs: Vec<KeyValueStoreConfig> = Vec::new();
    for (index, item) in endpoints.into_iter().enumerate() {
        let config = endpoint(&reader, index, item)?;
        let key = format!("endpoints[{index}] ({}).name", config.name);
        if config.name == name || config.name == broadcast_key {
            return Err(reader.fail(
                &key,
                format!(
                    "'{}' is already the service name or the broadcast key",
                    config.name
                ),
            ));
        }
        if configs.iter().any(|c| c.name == config.name) {
            return Err(reader.fail(&key, format!("'{}' is used by two endpoints", config.name)));
        }
        configs.push(config);
    }

    for key in top.keys() {
        let note = match key.as_str() {
            "loop_timeout_ms" | "message_wait_ms" | "make_connection" | "add_endpoints_now" => {
                "has no effect in dl-serve"
            }
            "username" | "password" | "authentication_obj" | "auth-file" => {
                "is not supported; use auth_file, DRIPLINE_USER/DRIPLINE_PASSWORD or --password-file"
            }
            _ => "is not a dl-serve setting",
        };
        warnings.push(format!("{}: {key} {note}; ignored", path.display()));
    }

    Ok(ServiceConfig {
        name,
        heartbeat_interval,
        broadcast_key,
        enable_scheduling,
        mesh,
        auth_file,
        endpoints: configs,
        warnings,
    })
}

/// A name usable as a queue and first routing-key token.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '.' | '#' | '*') || c.is_whitespace())
    {
        return Err(format!(
            "'{name}' contains '{c}'; names are routing-key words (no dots, wildcards or spaces)"
        ));
    }
    if name.len() > 200 {
        return Err(format!("'{name}' is too long (at most 200 bytes)"));
    }
    Ok(())
}

fn show(value: &Value) -> String {
    match value {
        Value::String(text) => format!("'{text}'"),
        other => other.to_string(),
    }
}

fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => yaml11_bool(text),
        _ => None,
    }
}

/// YAML 1.1 booleans in a value read the way dripline's config reader does.
fn yaml11(value: Value) -> Value {
    match value {
        Value::String(text) => match yaml11_bool(&text) {
            Some(flag) => Value::Bool(flag),
            None => Value::String(text),
        },
        other => other,
    }
}

fn endpoint(
    reader: &Reader<'_>,
    index: usize,
    item: Value,
) -> Result<KeyValueStoreConfig, ConfigError> {
    let at = format!("endpoints[{index}]");
    let Value::Object(mut map) = item else {
        return Err(reader.fail(&at, "must be a mapping with name: and module:"));
    };
    let name = match map.remove("name") {
        Some(Value::String(name)) => name,
        None => return Err(reader.fail(&format!("{at}.name"), "is missing")),
        Some(other) => {
            return Err(reader.fail(
                &format!("{at}.name"),
                format!("must be a string, not {other}"),
            ))
        }
    };
    check_name(&name).map_err(|reason| reader.fail(&format!("{at}.name"), reason))?;
    let at = format!("{at} ({name})");
    let key = |k: &str| format!("{at}.{k}");
    match map.remove("module") {
        Some(Value::String(module)) if module == "KeyValueStore" => {}
        None => {
            return Err(reader.fail(
                &key("module"),
                "is missing (dl-serve supports module: KeyValueStore)",
            ))
        }
        Some(other) => {
            return Err(reader.fail(
                &key("module"),
                format!(
                    "{} is not supported by dl-serve (supported: KeyValueStore)",
                    show(&other)
                ),
            ))
        }
    }
    let mut config = KeyValueStoreConfig::new(&name);
    for (k, value) in map {
        match k.as_str() {
            "initial_value" => config.initial_value = yaml11(value),
            "calibration" => {
                config.calibration = match value {
                    Value::Null => None,
                    Value::String(text) => Some(
                        Calibration::expression(text.trim())
                            .map_err(|e| reader.fail(&key("calibration"), e.reason))?,
                    ),
                    Value::Object(table) => Some(Calibration::Table(
                        table.into_iter().map(|(k, v)| (k, yaml11(v))).collect(),
                    )),
                    other => {
                        return Err(reader.fail(
                            &key("calibration"),
                            format!("must be a string such as '2*{{}}' or a mapping raw: calibrated, not {other}"),
                        ))
                    }
                }
            }
            "get_on_set" | "log_on_set" => {
                let flag = flag(&value)
                    .ok_or_else(|| reader.fail(&key(&k), format!("must be true or false, not {value}")))?;
                if k == "get_on_set" {
                    config.get_on_set = flag;
                } else {
                    config.log_on_set = flag;
                }
            }
            "log_interval" => {
                config.log_interval =
                    parse_interval(&value).map_err(|reason| reader.fail(&key(&k), reason))?
            }
            "max_interval" => {
                config.policy.max_interval =
                    parse_interval(&value).map_err(|reason| reader.fail(&key(&k), reason))?
            }
            "max_absolute_change" | "max_fractional_change" => {
                let number = value
                    .as_f64()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| reader.fail(&key(&k), format!("must be a number ≥ 0, not {value}")))?;
                if k == "max_absolute_change" {
                    config.policy.max_absolute_change = number;
                } else {
                    config.policy.max_fractional_change = number;
                }
            }
            "log_routing_key_prefix" | "check_field" => {
                let Value::String(text) = value else {
                    return Err(reader.fail(&key(&k), format!("must be a string, not {value}")));
                };
                if k == "check_field" {
                    config.policy.check_field = text;
                } else {
                    check_name(&text).map_err(|reason| reader.fail(&key(&k), reason))?;
                    config.log_routing_key_prefix = text;
                }
            }
            "module_path" => {
                return Err(reader.fail(&key(&k), "dl-serve cannot load Python extension code"))
            }
            other => {
                return Err(reader.fail(
                    &key(other),
                    "is not a KeyValueStore setting (known: initial_value, calibration, get_on_set, log_on_set, log_interval, log_routing_key_prefix, max_interval, max_absolute_change, max_fractional_change, check_field)",
                ))
            }
        }
    }
    if let Err(refused) = storable(&config.initial_value, config.calibration.as_ref()) {
        return Err(reader.fail(&key("initial_value"), refused.message));
    }
    if config.log_on_set && !config.get_on_set {
        return Err(reader.fail(
            &key("log_on_set"),
            format!("{LOG_ON_SET_NEEDS_GET_ON_SET}; add get_on_set: true"),
        ));
    }
    Ok(config)
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
        assert_eq!(error.key, "name");
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

    #[test]
    fn errors_name_the_key() {
        let e = error_of("name: s\nendpoints:\n  - name: peaches\n    module: Sensor\n");
        assert_eq!(e.key, "endpoints[0] (peaches).module");
        assert_eq!(
            e.to_string(),
            "test.yaml: endpoints[0] (peaches).module: 'Sensor' is not supported by dl-serve (supported: KeyValueStore)"
        );
        let e = error_of("module: AlertConsumer\n");
        assert_eq!(e.key, "module");
        let e = error_of("endpoints:\n  - module: KeyValueStore\n");
        assert_eq!(e.key, "endpoints[0].name");
        let e = error_of("endpoints:\n  - name: a\n    module: KeyValueStore\n    colour: red\n");
        assert_eq!(e.key, "endpoints[0] (a).colour");
        let e =
            error_of("endpoints:\n  - name: a\n    module: KeyValueStore\n    log_on_set: true\n");
        assert_eq!(e.key, "endpoints[0] (a).log_on_set");
        let e = error_of(
            "endpoints:\n  - name: a\n    module: KeyValueStore\n    calibration: '{x}'\n",
        );
        assert_eq!(e.key, "endpoints[0] (a).calibration");
        let e = error_of(
            "endpoints:\n  - name: a\n    module: KeyValueStore\n    log_interval: soon\n",
        );
        assert_eq!(e.key, "endpoints[0] (a).log_interval");
        let e = error_of("endpoints:\n  - name: a\n    module: KeyValueStore\n  - name: a\n    module: KeyValueStore\n");
        assert_eq!(e.key, "endpoints[1] (a).name");
        let e = error_of("name: my.store\n");
        assert_eq!(e.key, "name");
        let e = error_of("heartbeat_interval_s: -1\n");
        assert_eq!(e.key, "heartbeat_interval_s");
        let e = error_of("name: [unclosed\n");
        assert!(e.reason.starts_with("not valid YAML"), "{e}");
        let e = error_of("");
        assert_eq!(e.key, "");
        let e = error_of("dripline_mesh:\n  broker_port: lots\n");
        assert_eq!(e.key, "dripline_mesh");
        let e = error_of("module_path: ./x.py\n");
        assert_eq!(e.key, "module_path");
    }

    #[test]
    fn ignored_keys_are_warned_about() {
        let config = parse_text("name: s\nloop_timeout_ms: 500\ncolour: red\n").unwrap();
        assert_eq!(config.warnings.len(), 2);
        assert!(config.warnings.iter().any(|w| w.contains("colour")));
    }
}
