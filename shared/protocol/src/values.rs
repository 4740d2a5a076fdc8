//! Payload conventions (PROTOCOL.md §A2.6).

use serde_json::{Map, Value};

/// Type a command-line word like dl-agent does: `true`/`false` → bool, an integer → number,
/// a float → number, anything else → string.
pub fn infer_value(word: &str) -> Value {
    let _ = word;
    todo!()
}

/// The payload of a set request: `{"values": [value]}`.
pub fn set_payload(value: Value) -> Value {
    let mut map = Map::new();
    map.insert("values".to_string(), Value::Array(vec![value]));
    Value::Object(map)
}

/// `values[0]` of a payload, as a set handler reads it; `None` when there is no such value.
pub fn first_value(payload: &Value) -> Option<&Value> {
    payload.get("values")?.as_array()?.first()
}
