//! One received message as a JSON line: what `dl-listen` prints and what `dl-log-to-pg --stdin`
//! and `dl-alert` read back.
//!
//! The field names are a public contract between programs:
//!
//! | field | JSON | present |
//! |---|---|---|
//! | `routing_key` | string | always (required when reading) |
//! | `exchange` | string | as received |
//! | `message_type` | `"request"`, `"reply"` or `"alert"` | as received |
//! | `message_id` | the UUID, without the `/i/n` chunk suffix | as received |
//! | `correlation_id` | string | requests and replies (pairs a reply with its request) |
//! | `operation` | `"get"`, `"set"` or `"cmd"` | requests with a known operation |
//! | `timestamp` | the `timestamp` header as sent | as received |
//! | `sender` | the `sender_info` table as an object | as received |
//! | `specifier` | string | when not empty |
//! | `return_code`, `return_message` | number, string | replies |
//! | `payload` | any JSON | always (required when reading) |
//! | `received` | receive time, dripline timestamp format, UTC | as received |
//!
//! Absent fields are left out of the JSON. When reading, only `routing_key` and `payload` are
//! required, so `{"routing_key": "sensor_value.t1", "payload": {"value_raw": 1.5}}` is a record,
//! and unknown fields are ignored.

use crate::message::{Message, MessageKind};
use crate::timestamp::format_timestamp;
use crate::SenderInfo;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The three kinds of dripline message, by their names in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordType {
    /// `message_type` 3.
    Request,
    /// `message_type` 2.
    Reply,
    /// `message_type` 4.
    Alert,
}

/// One dripline message as a JSON line (see the module documentation for the fields).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// The AMQP routing key.
    pub routing_key: String,
    /// The exchange it was published to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Request, reply or alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<RecordType>,
    /// The message id without the `/<chunk>/<count>` suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// `correlation_id` of requests and replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// `get`, `set` or `cmd` for requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The `timestamp` header as sent (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The `sender_info` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderInfo>,
    /// The `specifier` header, when not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specifier: Option<String>,
    /// `return_code` of a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_code: Option<u32>,
    /// `return_message` of a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_message: Option<String>,
    /// The payload.
    pub payload: Value,
    /// When the message was received (dripline timestamp format, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
}

impl MessageRecord {
    /// The record of `message`, received from `exchange` at `received`.
    pub fn new(message: Message, exchange: impl Into<String>, received: DateTime<Utc>) -> Self {
        Self::with_received_text(message, exchange, format_timestamp(received))
    }

    /// As [`MessageRecord::new`], with the receive time already formatted (a caller receiving
    /// many messages per second can format each second's prefix once).
    pub fn with_received_text(
        message: Message,
        exchange: impl Into<String>,
        received: String,
    ) -> Self {
        let Message {
            kind,
            routing_key,
            correlation_id,
            message_id,
            specifier,
            timestamp,
            sender_info,
            payload,
            ..
        } = message;
        let (message_type, correlation_id, operation, return_code, return_message) = match kind {
            MessageKind::Request { operation, .. } => (
                RecordType::Request,
                Some(correlation_id),
                operation.map(|op| op.name().to_string()),
                None,
                None,
            ),
            MessageKind::Reply {
                return_code,
                return_message,
            } => (
                RecordType::Reply,
                Some(correlation_id),
                None,
                Some(return_code),
                Some(return_message),
            ),
            MessageKind::Alert => (RecordType::Alert, None, None, None, None),
        };
        MessageRecord {
            routing_key,
            exchange: Some(exchange.into()),
            message_type: Some(message_type),
            message_id: Some(message_id),
            correlation_id,
            operation,
            timestamp: Some(timestamp),
            sender: Some(sender_info),
            specifier: Some(specifier).filter(|s| !s.is_empty()),
            return_code,
            return_message,
            payload,
            received: Some(received),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LockoutKey, Operation};
    use chrono::TimeZone;
    use serde_json::json;

    fn sender() -> SenderInfo {
        SenderInfo::ours("/bin/dl-alert", "host", "me", "unknown", "0.1.0")
    }

    fn received() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 0, 29, 8).unwrap()
    }

    #[test]
    fn an_alert_has_exactly_the_alert_fields() {
        let message = Message::alert(
            "sensor_value.t1",
            json!({"value_raw": 1.5}),
            sender(),
            "2026-11-26T00:29:07.123456Z".into(),
        );
        let id = message.message_id.clone();
        let record = MessageRecord::new(message, "alerts", received());
        let value = serde_json::to_value(&record).unwrap();
        let object = value.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "exchange",
                "message_id",
                "message_type",
                "payload",
                "received",
                "routing_key",
                "sender",
                "timestamp"
            ]
        );
        assert_eq!(value["routing_key"], "sensor_value.t1");
        assert_eq!(value["exchange"], "alerts");
        assert_eq!(value["message_type"], "alert");
        assert_eq!(value["message_id"], id);
        assert_eq!(value["timestamp"], "2026-11-26T00:29:07.123456Z");
        assert_eq!(value["received"], "2026-11-26T00:29:08.000000Z");
        assert_eq!(value["payload"], json!({"value_raw": 1.5}));
        assert_eq!(value["sender"]["exe"], "/bin/dl-alert");
        assert_eq!(value["sender"]["service_name"], "unknown");
        assert_eq!(
            value["sender"]["versions"]["dripline-tools"]["version"],
            "0.1.0"
        );
    }

    #[test]
    fn a_reply_carries_its_code_and_a_request_its_specifier() {
        let mut request = Message::request(
            "peaches",
            Operation::Set,
            "calibration",
            json!({"values": [2]}),
            LockoutKey::None,
            sender(),
            "2026-11-26T00:29:07.000001Z".into(),
        );
        request.reply_to = "amq.gen-x".into();
        let reply = Message::reply(
            &request,
            307,
            "locked",
            Value::Null,
            sender(),
            "2026-11-26T00:29:07.000002Z".into(),
        );
        let request_record = MessageRecord::new(request.clone(), "requests", received());
        let value = serde_json::to_value(&request_record).unwrap();
        assert_eq!(value["message_type"], "request");
        assert_eq!(value["specifier"], "calibration");
        assert_eq!(value["operation"], "set");
        assert_eq!(value["correlation_id"], request.correlation_id);
        assert!(value.get("return_code").is_none());

        let value =
            serde_json::to_value(MessageRecord::new(reply, "requests", received())).unwrap();
        assert_eq!(value["message_type"], "reply");
        assert_eq!(value["routing_key"], "amq.gen-x");
        assert_eq!(value["return_code"], 307);
        assert_eq!(value["return_message"], "locked");
        assert_eq!(value["payload"], Value::Null);
        assert!(
            value.get("specifier").is_none(),
            "empty specifier is left out"
        );
        assert_eq!(value["correlation_id"], request.correlation_id);
    }

    #[test]
    fn a_line_round_trips() {
        let message = Message::alert(
            "heartbeat.s",
            json!({"name": "s", "id": "x"}),
            sender(),
            "2026-11-26T00:29:07.123456Z".into(),
        );
        let record = MessageRecord::new(message, "alerts", received());
        let line = serde_json::to_string(&record).unwrap();
        assert!(!line.contains('\n'));
        let back: MessageRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn routing_key_and_payload_are_enough() {
        let record: MessageRecord = serde_json::from_str(
            r#"{"routing_key": "sensor_value.t1", "payload": {"value_raw": 1.5}, "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(record.routing_key, "sensor_value.t1");
        assert_eq!(record.payload, json!({"value_raw": 1.5}));
        assert_eq!(record.timestamp, None);
        assert_eq!(record.sender, None);
        assert_eq!(record.message_type, None);
        let line = serde_json::to_string(&record).unwrap();
        assert_eq!(
            line,
            r#"{"routing_key":"sensor_value.t1","payload":{"value_raw":1.5}}"#
        );
    }

    #[test]
    fn routing_key_and_payload_are_required() {
        let missing_key = serde_json::from_str::<MessageRecord>(r#"{"payload": 1}"#).unwrap_err();
        assert!(
            missing_key.to_string().contains("routing_key"),
            "{missing_key}"
        );
        let missing_payload =
            serde_json::from_str::<MessageRecord>(r#"{"routing_key": "a"}"#).unwrap_err();
        assert!(
            missing_payload.to_string().contains("payload"),
            "{missing_payload}"
        );
        let null_payload: MessageRecord =
            serde_json::from_str(r#"{"routing_key": "a", "payload": null}"#).unwrap();
        assert_eq!(null_payload.payload, Value::Null);
        assert!(serde_json::from_str::<MessageRecord>(
            r#"{"routing_key": "a", "payload": 1, "message_type": "bogus"}"#
        )
        .is_err());
    }
}
