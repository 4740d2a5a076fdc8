//! The message model: requests, replies and alerts.

use crate::{LockoutKey, SenderInfo};
use serde_json::Value;

/// What a request asks an endpoint to do (`message_operation` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 0: set a value (`{"values": [v]}`).
    Set,
    /// 1: get a value.
    Get,
    /// 9: run a command named by the specifier.
    Cmd,
}

impl Operation {
    /// The header value on the wire.
    pub fn code(self) -> u32 {
        match self {
            Operation::Set => 0,
            Operation::Get => 1,
            Operation::Cmd => 9,
        }
    }

    /// The operation for a header value, if it is one of 0, 1, 9.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Operation::Set),
            1 => Some(Operation::Get),
            9 => Some(Operation::Cmd),
            _ => None,
        }
    }

    /// The lower-case name (`set`, `get`, `cmd`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Set => "set",
            Operation::Get => "get",
            Operation::Cmd => "cmd",
        }
    }
}

/// The three kinds of dripline message and what only that kind carries.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageKind {
    /// `message_type` 3.
    Request {
        /// `message_operation`; `None` when the header held an unknown value (reply 306).
        operation: Option<Operation>,
        /// The raw `message_operation` value, kept to name it in a 306 reply.
        operation_code: i64,
        /// `lockout_key`; nil when absent or empty.
        lockout_key: LockoutKey,
    },
    /// `message_type` 2.
    Reply {
        /// `return_code` (999 when absent, as dl-cpp reads it).
        return_code: u32,
        /// `return_message` (`""` when absent).
        return_message: String,
    },
    /// `message_type` 4.
    Alert,
}

/// A whole dripline message (all chunks joined), independent of AMQP.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Request, reply or alert, with what only that kind carries.
    pub kind: MessageKind,
    /// The AMQP routing key (the target for requests, `reply_to` for replies).
    pub routing_key: String,
    /// `correlation_id`: fresh for requests and alerts, copied from the request in a reply.
    pub correlation_id: String,
    /// `reply_to`: the client's reply queue on requests, `""` otherwise.
    pub reply_to: String,
    /// The message id without the `/<chunk>/<count>` suffix.
    pub message_id: String,
    /// `specifier` header (`""` if none).
    pub specifier: String,
    /// `timestamp` header as sent (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), `""` if absent.
    pub timestamp: String,
    /// `sender_info` header.
    pub sender_info: SenderInfo,
    /// The body, decoded from JSON (`null` for an empty payload).
    pub payload: Value,
}

impl Message {
    /// The request operation, if this is a request with a known one.
    pub fn operation(&self) -> Option<Operation> {
        match &self.kind {
            MessageKind::Request { operation, .. } => *operation,
            _ => None,
        }
    }

    /// The return code, if this is a reply.
    pub fn return_code(&self) -> Option<u32> {
        match &self.kind {
            MessageKind::Reply { return_code, .. } => Some(*return_code),
            _ => None,
        }
    }

    /// The `message_type` header value: 2 reply, 3 request, 4 alert.
    pub fn type_code(&self) -> u32 {
        match self.kind {
            MessageKind::Reply { .. } => 2,
            MessageKind::Request { .. } => 3,
            MessageKind::Alert => 4,
        }
    }
}

/// A fresh random id (UUID, hyphenated, lower case) for `correlation_id` and `message_id`.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Message {
    /// A new request to `target` with fresh ids; `reply_to` is left empty for the client to fill.
    pub fn request(
        target: &str,
        operation: Operation,
        specifier: &str,
        payload: Value,
        lockout_key: LockoutKey,
        sender_info: SenderInfo,
        timestamp: String,
    ) -> Self {
        Message {
            kind: MessageKind::Request {
                operation: Some(operation),
                operation_code: i64::from(operation.code()),
                lockout_key,
            },
            routing_key: target.to_string(),
            correlation_id: new_id(),
            reply_to: String::new(),
            message_id: new_id(),
            specifier: specifier.to_string(),
            timestamp,
            sender_info,
            payload,
        }
    }

    /// The reply to `request`: routed to its `reply_to`, same `correlation_id`, specifier `""`.
    pub fn reply(
        request: &Message,
        return_code: u32,
        return_message: impl Into<String>,
        payload: Value,
        sender_info: SenderInfo,
        timestamp: String,
    ) -> Self {
        Message {
            kind: MessageKind::Reply {
                return_code,
                return_message: return_message.into(),
            },
            routing_key: request.reply_to.clone(),
            correlation_id: request.correlation_id.clone(),
            reply_to: String::new(),
            message_id: new_id(),
            specifier: String::new(),
            timestamp,
            sender_info,
            payload,
        }
    }

    /// A new alert on `routing_key` (e.g. `sensor_value.peaches`) with fresh ids.
    pub fn alert(
        routing_key: &str,
        payload: Value,
        sender_info: SenderInfo,
        timestamp: String,
    ) -> Self {
        Message {
            kind: MessageKind::Alert,
            routing_key: routing_key.to_string(),
            correlation_id: new_id(),
            reply_to: String::new(),
            message_id: new_id(),
            specifier: String::new(),
            timestamp,
            sender_info,
            payload,
        }
    }
}
