//! One request to send, from command-line words or from a JSON input line.

use dripline_protocol::values::{infer_value, set_payload};
use dripline_protocol::Operation;
use serde_json::{Map, Value};

/// A request as the user asked for it, before it becomes a wire message.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestSpec {
    /// Endpoint or service name (the routing key), or `broadcast`.
    pub target: String,
    /// get, set or cmd.
    pub operation: Operation,
    /// The `specifier` header (`""` if none).
    pub specifier: String,
    /// The request body.
    pub payload: Value,
    /// Lockout key text from `-k` or the input line (validated when sent).
    pub lockout_key: Option<String>,
}

/// How command-line values are typed: like dl-agent (bool/int/float/string) or as JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueTyping {
    /// `true` → bool, `5` → integer, `2.5` → float, anything else → string.
    Inferred,
    /// Each value is a JSON text (`'"5"'` is the string 5, `'[1,2]'` an array).
    Json,
}

impl ValueTyping {
    /// The typing a tool's `--json` flag asks for.
    pub fn from_json_flag(json: bool) -> Self {
        if json {
            ValueTyping::Json
        } else {
            ValueTyping::Inferred
        }
    }

    /// Type one command-line value.
    pub fn value(self, word: &str) -> Result<Value, String> {
        match self {
            ValueTyping::Inferred => Ok(infer_value(word)),
            ValueTyping::Json => serde_json::from_str(word).map_err(|e| {
                format!("'{word}' is not valid JSON ({e}); drop --json to send it as text")
            }),
        }
    }
}

impl RequestSpec {
    /// A get of `target` (payload `{}`, as dl-agent sends).
    pub fn get(target: &str, specifier: Option<&str>) -> Self {
        RequestSpec {
            target: target.to_string(),
            operation: Operation::Get,
            specifier: specifier.unwrap_or_default().to_string(),
            payload: Value::Object(Map::new()),
            lockout_key: None,
        }
    }

    /// A set of `target` to `value` (payload `{"values": [value]}`).
    pub fn set(target: &str, specifier: Option<&str>, value: Value) -> Self {
        RequestSpec {
            target: target.to_string(),
            operation: Operation::Set,
            specifier: specifier.unwrap_or_default().to_string(),
            payload: set_payload(value),
            lockout_key: None,
        }
    }

    /// A cmd: `method` on `target` with positional `ARGS` and `key=value` words
    /// (payload `{"values": [args…], key: value, …}`).
    pub fn cmd(
        target: &str,
        method: &str,
        words: &[String],
        typing: ValueTyping,
    ) -> Result<Self, String> {
        let mut payload = Map::new();
        let mut values = Vec::new();
        for word in words {
            match word.split_once('=') {
                Some((key, value)) if is_keyword(key) => {
                    payload.insert(key.to_string(), typing.value(value)?);
                }
                _ => values.push(typing.value(word)?),
            }
        }
        if !values.is_empty() {
            payload.insert("values".into(), Value::Array(values));
        }
        Ok(RequestSpec {
            target: target.to_string(),
            operation: Operation::Cmd,
            specifier: method.to_string(),
            payload: Value::Object(payload),
            lockout_key: None,
        })
    }

    /// Read one batch input line for `operation`:
    /// `{"target": "peaches", "specifier": "…", "lockout_key": "…"}` plus, for set, `"value"`
    /// (or `"values": [v]`), for cmd, `"values": [args]` and `"kwargs": {…}`; any operation
    /// may give the whole body as `"payload"` instead. Errors say what is missing.
    pub fn from_line(object: &Map<String, Value>, operation: Operation) -> Result<Self, String> {
        let target = match object.get("target") {
            Some(Value::String(target)) if !target.is_empty() => target.clone(),
            Some(_) => return Err("\"target\" must be a non-empty string".into()),
            None => return Err("missing \"target\"".into()),
        };
        let specifier = optional_string(object, "specifier")?;
        let lockout_key = optional_string(object, "lockout_key")?;
        let payload = if let Some(payload) = object.get("payload") {
            payload.clone()
        } else {
            match operation {
                Operation::Get => Value::Object(Map::new()),
                Operation::Set => match (object.get("value"), object.get("values")) {
                    (Some(value), _) => set_payload(value.clone()),
                    (None, Some(Value::Array(values))) if !values.is_empty() => {
                        let mut map = Map::new();
                        map.insert("values".into(), Value::Array(values.clone()));
                        Value::Object(map)
                    }
                    _ => return Err("missing \"value\" for set".into()),
                },
                Operation::Cmd => {
                    let mut payload = match object.get("kwargs") {
                        Some(Value::Object(kwargs)) => kwargs.clone(),
                        Some(_) => return Err("\"kwargs\" must be an object".into()),
                        None => Map::new(),
                    };
                    match object.get("values") {
                        Some(Value::Array(values)) => {
                            payload.insert("values".into(), Value::Array(values.clone()));
                        }
                        Some(_) => return Err("\"values\" must be an array".into()),
                        None => {}
                    }
                    Value::Object(payload)
                }
            }
        };
        if operation == Operation::Cmd && specifier.as_deref().unwrap_or_default().is_empty() {
            return Err("missing \"specifier\" (the method) for cmd".into());
        }
        Ok(RequestSpec {
            target,
            operation,
            specifier: specifier.unwrap_or_default(),
            payload,
            lockout_key,
        })
    }
}

/// `key=value` words become keyword arguments only when `key` looks like a name.
fn is_keyword(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !key.starts_with(|c: char| c.is_ascii_digit() || c == '-')
}

fn optional_string(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(format!("\"{key}\" must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn cmd_words_split_into_values_and_keywords() {
        let words: Vec<String> = ["1", "two", "force=true", "x=2.5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let spec = RequestSpec::cmd("peaches", "unlock", &words, ValueTyping::Inferred).unwrap();
        assert_eq!(
            spec.payload,
            json!({"values": [1, "two"], "force": true, "x": 2.5})
        );
        let spec = RequestSpec::cmd("p", "m", &["\"5\"".to_string()], ValueTyping::Json).unwrap();
        assert_eq!(spec.payload, json!({"values": ["5"]}));
        assert!(RequestSpec::cmd("p", "m", &["nope".to_string()], ValueTyping::Json).is_err());
    }

    #[test]
    fn lines_become_requests_or_say_what_is_missing() {
        let spec = RequestSpec::from_line(
            &object(json!({"target": "peaches", "value": 5})),
            Operation::Set,
        )
        .unwrap();
        assert_eq!(spec.payload, json!({"values": [5]}));
        let spec = RequestSpec::from_line(
            &object(json!({"target": "p", "specifier": "m", "values": [1], "kwargs": {"a": 1}})),
            Operation::Cmd,
        )
        .unwrap();
        assert_eq!(spec.payload, json!({"values": [1], "a": 1}));
        assert_eq!(
            RequestSpec::from_line(&object(json!({"value": 1})), Operation::Set).unwrap_err(),
            "missing \"target\""
        );
        assert_eq!(
            RequestSpec::from_line(&object(json!({"target": "p"})), Operation::Set).unwrap_err(),
            "missing \"value\" for set"
        );
        assert!(RequestSpec::from_line(&object(json!({"target": "p"})), Operation::Cmd).is_err());
        let spec = RequestSpec::from_line(
            &object(json!({"target": "p", "specifier": "is-locked"})),
            Operation::Get,
        )
        .unwrap();
        assert_eq!(spec.specifier, "is-locked");
        assert_eq!(spec.payload, json!({}));
    }
}
