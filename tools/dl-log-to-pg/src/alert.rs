//! What one alert becomes: a numeric row, a JSON row, or a reason to set it aside.
//!
//! The rules (PROTOCOL.md §A5, §A6.4, and issue 3):
//! - the sensor is the routing key without its first word: `sensor_value.t1` → `t1`;
//! - the time is the alert's `timestamp` header, not the time it arrived;
//! - the payload must be an object with a `value_raw`; when `value_raw` is a number and
//!   `value_cal` is absent, null or a number, the alert is a numeric row, otherwise (strings,
//!   booleans, objects, lists) the whole payload is kept as a JSON row;
//! - anything else is a poison alert, with the reason why.

use chrono::{DateTime, Utc};
use dripline_protocol::timestamp::parse_timestamp;
use dripline_store::{message_key, JsonRow, NumericRow};
use serde_json::Value;

/// Where an alert goes.
#[derive(Debug, PartialEq)]
pub enum Row {
    /// Into the numeric table.
    Numeric(NumericRow),
    /// Into the JSON table.
    Json(JsonRow),
}

/// The parts of an alert the logger uses, however it arrived (broker or stdin).
pub struct AlertParts<'a> {
    /// `sensor_value.<name>`.
    pub routing_key: &'a str,
    /// The `timestamp` header.
    pub timestamp: &'a str,
    /// The dripline message id (`<uuid>` or `<uuid>/i/n`), `""` when unknown.
    pub message_id: &'a str,
    /// The payload.
    pub payload: Value,
}

/// Turn an alert into the row it is, or the reason it cannot be stored.
pub fn classify(alert: AlertParts<'_>) -> Result<Row, String> {
    let sensor_name = sensor_name(alert.routing_key)?;
    let timestamp = parse_alert_time(alert.timestamp)?;
    let message_id = message_key(alert.message_id);
    let Value::Object(fields) = &alert.payload else {
        return Err(format!(
            "payload is {}, not an object with value_raw",
            kind_of(&alert.payload)
        ));
    };
    let value_raw = match fields.get("value_raw") {
        None | Some(Value::Null) => return Err("payload has no value_raw".into()),
        Some(value) => value,
    };
    let value_cal = fields.get("value_cal").unwrap_or(&Value::Null);
    if let (Some(raw), Some(cal)) = (value_raw.as_f64(), as_optional_number(value_cal)) {
        return Ok(Row::Numeric(NumericRow {
            sensor_name,
            timestamp,
            value_raw: raw,
            value_cal: cal,
            message_id,
        }));
    }
    if contains_nul(&alert.payload) {
        return Err("payload contains a \\u0000 character, which PostgreSQL cannot store".into());
    }
    Ok(Row::Json(JsonRow {
        sensor_name,
        timestamp,
        payload: alert.payload,
        message_id,
    }))
}

/// `sensor_value.t1` → `t1` (and `sensor_value.a.b` → `a.b`).
fn sensor_name(routing_key: &str) -> Result<String, String> {
    match routing_key.split_once('.') {
        Some((_, name)) if !name.is_empty() && !name.contains('\0') => Ok(name.to_string()),
        _ => Err(format!(
            "routing key '{}' names no sensor (expected sensor_value.<name>)",
            routing_key.escape_debug()
        )),
    }
}

fn parse_alert_time(text: &str) -> Result<DateTime<Utc>, String> {
    if text.is_empty() {
        return Err("the timestamp header is missing".into());
    }
    parse_timestamp(text).map_err(|e| format!("timestamp '{}': {e}", text.escape_debug()))
}

/// `Some(None)` for null, `Some(Some(x))` for a number, `None` for anything else.
fn as_optional_number(value: &Value) -> Option<Option<f64>> {
    match value {
        Value::Null => Some(None),
        Value::Number(number) => number.as_f64().map(Some),
        _ => None,
    }
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || contains_nul(value)),
        _ => false,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "0b6ee1c4-5f3a-4a43-9d4e-4f3f2a0f6e11";
    const TIME: &str = "2026-11-26T05:00:00.123456Z";

    fn alert(routing_key: &str, payload: Value) -> Result<Row, String> {
        classify(AlertParts {
            routing_key,
            timestamp: TIME,
            message_id: &format!("{ID}/0/1"),
            payload,
        })
    }

    #[test]
    fn numbers_become_numeric_rows_named_by_the_routing_key() {
        let Ok(Row::Numeric(row)) = alert(
            "sensor_value.peaches",
            json!({"value_raw": 0.75, "value_cal": 1.5}),
        ) else {
            panic!("not numeric");
        };
        assert_eq!(row.sensor_name, "peaches");
        assert_eq!(row.value_raw, 0.75);
        assert_eq!(row.value_cal, Some(1.5));
        assert_eq!(row.timestamp, parse_timestamp(TIME).unwrap());
        assert_eq!(row.message_id.unwrap().to_string(), ID);
        let Ok(Row::Numeric(row)) = alert("sensor_value.a.b", json!({"value_raw": 3})) else {
            panic!("not numeric");
        };
        assert_eq!((row.sensor_name.as_str(), row.value_cal), ("a.b", None));
    }

    #[test]
    fn other_values_become_json_rows_with_the_whole_payload() {
        for payload in [
            json!({"value_raw": "on"}),
            json!({"value_raw": true}),
            json!({"value_raw": {"x": 1}}),
            json!({"value_raw": 1, "value_cal": "warm"}),
        ] {
            let Ok(Row::Json(row)) = alert("sensor_value.s", payload.clone()) else {
                panic!("{payload} is not a JSON row");
            };
            assert_eq!(row.payload, payload);
        }
    }

    #[test]
    fn poison_alerts_say_why() {
        let cases = [
            ("sensor_value.s", json!({"value_cal": 1}), "no value_raw"),
            ("sensor_value.s", json!({"value_raw": null}), "no value_raw"),
            ("sensor_value.s", json!(5), "a number, not an object"),
            ("sensor_value", json!({"value_raw": 1}), "names no sensor"),
            ("sensor_value.", json!({"value_raw": 1}), "names no sensor"),
            ("sensor_value.s", json!({"value_raw": "a\u{0}b"}), "\\u0000"),
        ];
        for (key, payload, reason) in cases {
            let error = alert(key, payload).unwrap_err();
            assert!(error.contains(reason), "{error}");
        }
        let error = classify(AlertParts {
            routing_key: "sensor_value.s",
            timestamp: "yesterday",
            message_id: "",
            payload: json!({"value_raw": 1}),
        })
        .unwrap_err();
        assert!(error.contains("timestamp 'yesterday'"), "{error}");
    }
}
