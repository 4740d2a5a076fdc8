//! The output formats: JSON lines (the contract other programs read), indented JSON, and one
//! human line per message.

use clap::ValueEnum;
use dripline_protocol::{MessageRecord, RecordType};
use serde_json::Value;
use std::io::{self, Write};

/// How each message is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line ([`MessageRecord`]).
    #[default]
    Jsonl,
    /// The same object, indented over several lines.
    Pretty,
    /// `<timestamp> <routing key> <value>`, like camonitor.
    Text,
}

/// Write `record` in `format`, ending with a newline.
pub fn write_record(
    out: &mut impl Write,
    format: Format,
    record: &MessageRecord,
) -> io::Result<()> {
    match format {
        Format::Jsonl => serde_json::to_writer(&mut *out, record)?,
        Format::Pretty => serde_json::to_writer_pretty(&mut *out, record)?,
        Format::Text => out.write_all(text_line(record).as_bytes())?,
    }
    out.write_all(b"\n")
}

/// The human line of a message: when it was sent, its routing key, and what it says.
///
/// - alert: the value (`value_cal`, with `value_raw` in brackets when both are there), else
///   the payload as compact JSON;
/// - request: operation, specifier, payload;
/// - reply: `reply`, return code and message, payload.
pub fn text_line(record: &MessageRecord) -> String {
    let mut line = format!(
        "{} {}",
        record.timestamp.as_deref().unwrap_or("-"),
        record.routing_key
    );
    match record.message_type {
        Some(RecordType::Request) => {
            line.push(' ');
            line.push_str(record.operation.as_deref().unwrap_or("request"));
            if let Some(specifier) = &record.specifier {
                line.push(' ');
                line.push_str(specifier);
            }
            line.push(' ');
            line.push_str(&record.payload.to_string());
        }
        Some(RecordType::Reply) => {
            line.push_str(" reply ");
            if let Some(code) = record.return_code {
                line.push_str(&code.to_string());
            }
            if let Some(message) = record.return_message.as_deref().filter(|m| !m.is_empty()) {
                line.push(' ');
                line.push_str(message);
            }
            line.push(' ');
            line.push_str(&value_summary(&record.payload));
        }
        Some(RecordType::Alert) | None => {
            line.push(' ');
            line.push_str(&value_summary(&record.payload));
        }
    }
    line
}

/// A sensor value as a person reads it: `value_cal (raw value_raw)`, or one of them, or the
/// payload as compact JSON. Strings are shown without quotes.
fn value_summary(payload: &Value) -> String {
    let plain = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let Value::Object(fields) = payload else {
        return plain(payload);
    };
    match (fields.get("value_cal"), fields.get("value_raw")) {
        (Some(cal), Some(raw)) => format!("{} (raw {})", plain(cal), plain(raw)),
        (Some(value), None) | (None, Some(value)) => plain(value),
        (None, None) => payload.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(line: Value) -> MessageRecord {
        serde_json::from_value(line).unwrap()
    }

    #[test]
    fn alerts_show_the_value() {
        let alert = record(json!({
            "routing_key": "sensor_value.t1", "message_type": "alert",
            "timestamp": "2026-11-26T00:29:08.315196Z",
            "payload": {"value_raw": 0.75, "value_cal": 1.5}
        }));
        assert_eq!(
            text_line(&alert),
            "2026-11-26T00:29:08.315196Z sensor_value.t1 1.5 (raw 0.75)"
        );
        let raw_only = record(json!({"routing_key": "k", "payload": {"value_raw": "on"}}));
        assert_eq!(text_line(&raw_only), "- k on");
        let other = record(json!({"routing_key": "heartbeat.s", "payload": {"name": "s"}}));
        assert_eq!(text_line(&other), "- heartbeat.s {\"name\":\"s\"}");
    }

    #[test]
    fn requests_and_replies_say_what_they_are() {
        let request = record(json!({
            "routing_key": "peaches", "message_type": "request", "operation": "set",
            "specifier": "calibration", "timestamp": "t", "payload": {"values": [2]}
        }));
        assert_eq!(
            text_line(&request),
            "t peaches set calibration {\"values\":[2]}"
        );
        let reply = record(json!({
            "routing_key": "amq.gen-1", "message_type": "reply", "return_code": 200,
            "return_message": "", "timestamp": "t", "payload": {"value_cal": 3}
        }));
        assert_eq!(text_line(&reply), "t amq.gen-1 reply 200 3");
    }

    #[test]
    fn jsonl_is_one_line_and_pretty_is_indented() {
        let alert = record(json!({"routing_key": "k", "payload": {"a": [1, 2]}}));
        let mut out = Vec::new();
        write_record(&mut out, Format::Jsonl, &alert).unwrap();
        assert_eq!(out, b"{\"routing_key\":\"k\",\"payload\":{\"a\":[1,2]}}\n");
        out.clear();
        write_record(&mut out, Format::Pretty, &alert).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().count() > 3, "{text}");
        assert_eq!(serde_json::from_str::<MessageRecord>(&text).unwrap(), alert);
    }
}
