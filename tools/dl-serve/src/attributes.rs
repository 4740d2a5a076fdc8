//! A KeyValueStore's settings as one table. An endpoint key in the config file and a get or
//! set with a specifier (dripline-python's `getattr`/`setattr`) both go through
//! [`ATTRIBUTES`], so they take the same values and check them the same way.
//!
//! | attribute | get answers | set takes |
//! |---|---|---|
//! | `calibration` | the string or dict | a string over `{}` (checked: see `calibration`), a dict raw → calibrated, or null |
//! | `get_on_set`, `log_on_set` | bool | true/false (a number by Python truthiness, null = false); log_on_set needs get_on_set |
//! | `log_interval` | Python `str(timedelta)`, e.g. `0:00:10` | seconds, or a dict of timedelta arguments |
//! | `max_interval` | seconds | seconds, or a dict of timedelta arguments |
//! | `max_absolute_change`, `max_fractional_change` | number | a number ≥ 0 |
//! | `log_routing_key_prefix` | string | a routing-key word (no `.`, `#`, `*`, spaces) |
//! | `check_field` | string | a string |
//!
//! Beyond the table, a get or set also reaches `name` (read-only) and `_value` (the stored
//! value), and a config endpoint has `name`, `module` and `initial_value`.

use crate::calibration::Calibration;
use crate::key_value_store::KeyValueStoreConfig;
use crate::python::{py_type, timedelta_str};
use serde_json::{json, Value};
use std::time::Duration;

/// One setting: its name, what a get answers, how a value is checked and taken.
pub struct Attribute {
    /// The attribute (and config key) name.
    pub name: &'static str,
    /// The value a get with this specifier answers.
    pub get: fn(&KeyValueStoreConfig) -> Value,
    /// Check `value` and take it, or say why not.
    pub set: fn(&mut KeyValueStoreConfig, Value) -> Result<(), String>,
}

/// Every KeyValueStore setting.
pub const ATTRIBUTES: &[Attribute] = &[
    Attribute {
        name: "calibration",
        get: |c| {
            c.calibration
                .as_ref()
                .map_or(Value::Null, Calibration::to_value)
        },
        set: |c, v| {
            c.calibration = calibration(v)?;
            Ok(())
        },
    },
    Attribute {
        name: "get_on_set",
        get: |c| json!(c.get_on_set),
        set: |c, v| {
            c.get_on_set = flag(&v)?;
            Ok(())
        },
    },
    Attribute {
        name: "log_on_set",
        get: |c| json!(c.log_on_set),
        set: |c, v| {
            c.log_on_set = flag(&v)?;
            Ok(())
        },
    },
    Attribute {
        name: "log_interval",
        get: |c| json!(timedelta_str(c.log_interval)),
        set: |c, v| {
            c.log_interval = interval(&v)?;
            Ok(())
        },
    },
    Attribute {
        name: "max_interval",
        get: |c| json!(c.policy.max_interval.as_secs_f64()),
        set: |c, v| {
            c.policy.max_interval = interval(&v)?;
            Ok(())
        },
    },
    Attribute {
        name: "max_absolute_change",
        get: |c| json!(c.policy.max_absolute_change),
        set: |c, v| {
            c.policy.max_absolute_change = non_negative(&v)?;
            Ok(())
        },
    },
    Attribute {
        name: "max_fractional_change",
        get: |c| json!(c.policy.max_fractional_change),
        set: |c, v| {
            c.policy.max_fractional_change = non_negative(&v)?;
            Ok(())
        },
    },
    Attribute {
        name: "log_routing_key_prefix",
        get: |c| json!(c.log_routing_key_prefix),
        set: |c, v| {
            let word = string(v)?;
            check_word(&word)?;
            c.log_routing_key_prefix = word;
            Ok(())
        },
    },
    Attribute {
        name: "check_field",
        get: |c| json!(c.policy.check_field),
        set: |c, v| {
            c.policy.check_field = string(v)?;
            Ok(())
        },
    },
];

/// The setting called `name`.
pub fn find(name: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|attribute| attribute.name == name)
}

/// The names of all settings, for error messages.
pub fn names() -> String {
    let names: Vec<&str> = ATTRIBUTES.iter().map(|a| a.name).collect();
    names.join(", ")
}

/// dripline-python's rule (its setters and its constructor).
pub const LOG_ON_SET_NEEDS_GET_ON_SET: &str =
    "unable to enable log_on_set when get_on_set is disabled";

/// What a set of `changed` must not break: log_on_set needs get_on_set.
pub fn check_together(config: &KeyValueStoreConfig, changed: &str) -> Result<(), String> {
    if config.log_on_set && !config.get_on_set {
        return Err(if changed == "get_on_set" {
            "unable to disable get_on_set while log_on_set is enabled".into()
        } else {
            LOG_ON_SET_NEEDS_GET_ON_SET.into()
        });
    }
    Ok(())
}

/// A value as a message shows it: `the string 'on'`, `a list`, `-1`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => format!("the string '{text}'"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
        other => other.to_string(),
    }
}

fn calibration(value: Value) -> Result<Option<Calibration>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Calibration::expression(&text)
            .map(Some)
            .map_err(|e| e.reason),
        Value::Object(table) => Ok(Some(Calibration::Table(table))),
        other => Err(format!(
            "must be a string such as '2*{{}}', a mapping raw: calibrated, or null, not {}",
            describe(&other)
        )),
    }
}

/// A flag: true/false; a number by Python truthiness; null is false. A string is refused
/// rather than judged by Python truthiness, where `"false"` would be true.
fn flag(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::Null => Ok(false),
        Value::Number(number) => Ok(number.as_f64().is_some_and(|n| n != 0.0)),
        other => Err(format!("must be true or false, not {}", describe(other))),
    }
}

fn non_negative(value: &Value) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("must be a number ≥ 0, not {}", describe(value)))
}

fn string(value: Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(format!("must be a string, not {}", describe(&other))),
    }
}

/// A name usable as a queue name and a routing-key word: the service name, an endpoint's
/// name, the broadcast key, a log routing-key prefix.
pub fn check_word(name: &str) -> Result<(), String> {
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

/// `log_interval` as dripline-python reads it: seconds, or a dict of `timedelta` arguments.
pub fn interval(value: &Value) -> Result<Duration, String> {
    let seconds = match value {
        Value::Number(number) => number.as_f64().unwrap_or(f64::NAN),
        Value::Object(parts) => {
            let mut total = 0.0;
            for (unit, amount) in parts {
                let amount = amount
                    .as_f64()
                    .ok_or_else(|| format!("{unit}: {amount} is not a number"))?;
                total += amount * timedelta_unit(unit)?;
            }
            total
        }
        other => {
            return Err(format!(
                "unable to interpret a new_interval of type <{}>",
                py_type(other)
                    .trim_start_matches("<class '")
                    .trim_end_matches("'>")
            ))
        }
    };
    if !seconds.is_finite() || !(0.0..=1e12).contains(&seconds) {
        return Err(format!("{seconds} is not a usable interval (seconds ≥ 0)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn timedelta_unit(unit: &str) -> Result<f64, String> {
    Ok(match unit {
        "weeks" => 604_800.0,
        "days" => 86_400.0,
        "hours" => 3600.0,
        "minutes" => 60.0,
        "seconds" => 1.0,
        "milliseconds" => 1e-3,
        "microseconds" => 1e-6,
        other => {
            return Err(format!(
                "'{other}' is not a timedelta argument (weeks, days, hours, minutes, seconds, milliseconds, microseconds)"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, value: Value) -> Result<KeyValueStoreConfig, String> {
        let mut config = KeyValueStoreConfig::new("x");
        (find(name).unwrap().set)(&mut config, value)?;
        Ok(config)
    }

    #[test]
    fn every_attribute_reads_back_what_was_set() {
        for (name, value, read) in [
            ("calibration", json!("3*{}"), json!("3*{}")),
            ("calibration", json!({"1": "on"}), json!({"1": "on"})),
            ("calibration", Value::Null, Value::Null),
            ("get_on_set", json!(true), json!(true)),
            ("get_on_set", json!(0), json!(false)),
            ("log_on_set", json!(1), json!(true)),
            ("log_interval", json!(10), json!("0:00:10")),
            ("log_interval", json!({"minutes": 2}), json!("0:02:00")),
            ("max_interval", json!(2.5), json!(2.5)),
            ("max_absolute_change", json!(0.5), json!(0.5)),
            ("max_fractional_change", json!(1), json!(1.0)),
            ("log_routing_key_prefix", json!("temps"), json!("temps")),
            ("check_field", json!("value_raw"), json!("value_raw")),
        ] {
            let config = set(name, value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((find(name).unwrap().get)(&config), read, "{name} = {value}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for (name, value, reason) in [
            ("log_routing_key_prefix", json!("a.#"), "contains '.'"),
            ("log_routing_key_prefix", json!(""), "must not be empty"),
            ("get_on_set", json!("on"), "not the string 'on'"),
            ("calibration", json!("{x}"), "only {} (the raw value)"),
            ("calibration", json!(2), "not 2"),
            ("log_interval", json!("10s"), "type <str>"),
            ("log_interval", json!({"fortnights": 1}), "fortnights"),
            ("log_interval", json!(-1), "not a usable interval"),
            ("max_absolute_change", json!(-1), "must be a number ≥ 0"),
            ("check_field", json!(["a"]), "not a list"),
        ] {
            let error = set(name, value).unwrap_err();
            assert!(error.contains(reason), "{name}: {error}");
        }
    }

    #[test]
    fn log_on_set_needs_get_on_set() {
        let mut config = KeyValueStoreConfig::new("x");
        config.log_on_set = true;
        assert_eq!(
            check_together(&config, "log_on_set").unwrap_err(),
            LOG_ON_SET_NEEDS_GET_ON_SET
        );
        assert!(check_together(&config, "get_on_set")
            .unwrap_err()
            .contains("unable to disable get_on_set"));
        config.get_on_set = true;
        assert!(check_together(&config, "log_on_set").is_ok());
    }
}
