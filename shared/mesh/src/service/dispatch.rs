//! Request → reply decisions, without any I/O: routing on the first routing-key token, the
//! lockout, the built-in commands and dripline-python's request-handler conventions.

use super::endpoint::{Alert, Context, Endpoint, Reply, ReplyError};
use super::lockout::{force_flag, Lockout};
use dripline_protocol::{DecodeError, LockoutKey, Message, MessageKind, Operation, ReturnCode};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// The default broadcast routing-key token.
pub const DEFAULT_BROADCAST_KEY: &str = "broadcast";

/// What handling one request produced: alerts to publish first, then the reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Alerts (e.g. a `log_on_set` sensor value), in order, published before the reply.
    pub alerts: Vec<Alert>,
    /// The reply (sent only when the request has a `reply_to`).
    pub reply: Reply,
}

impl Outcome {
    fn reply(reply: impl Into<Reply>) -> Self {
        Outcome {
            alerts: Vec::new(),
            reply: reply.into(),
        }
    }
}

/// What a service does with one received message ([`Dispatcher::answer`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A request handled: publish the outcome's alerts, then its reply.
    Reply {
        /// The request (its `reply_to` and correlation id address the reply).
        request: Box<Message>,
        /// What handling it produced.
        outcome: Outcome,
    },
    /// A request whose body could not be decoded (or was over the size bound): reply 302.
    Refused {
        /// The request's envelope.
        request: Box<Message>,
        /// The 302 reply.
        outcome: Outcome,
        /// Why the body was refused.
        reason: String,
    },
    /// A decodable message that is not a request (a reply or an alert): nothing to do.
    Ignored,
    /// Not a dripline request at all (unusable properties or headers): dropped, for this
    /// reason; nobody can be answered.
    Dropped(String),
}

/// Two endpoints (or an endpoint and the service, or the broadcast key) share a name.
#[derive(Debug, thiserror::Error)]
#[error("endpoint name '{0}' is used twice (names must be unique within a service and differ from the broadcast key)")]
pub struct DuplicateName(pub String);

struct Slot {
    endpoint: Box<dyn Endpoint>,
    lock: Lockout,
}

/// The service's endpoints (slot 0 is the service itself) and their locks.
pub struct Dispatcher {
    broadcast_key: String,
    slots: Vec<Slot>,
    by_name: HashMap<String, usize>,
}

impl Dispatcher {
    /// A dispatcher for `service` (the endpoint named like the service, which also answers
    /// broadcasts) and its child `endpoints`.
    pub fn new(
        service: Box<dyn Endpoint>,
        endpoints: Vec<Box<dyn Endpoint>>,
        broadcast_key: &str,
    ) -> Result<Self, DuplicateName> {
        let mut by_name = HashMap::new();
        let mut slots = Vec::new();
        for endpoint in std::iter::once(service).chain(endpoints) {
            let name = endpoint.name().to_string();
            if name == broadcast_key || by_name.insert(name.clone(), slots.len()).is_some() {
                return Err(DuplicateName(name));
            }
            slots.push(Slot {
                endpoint,
                lock: Lockout::default(),
            });
        }
        Ok(Dispatcher {
            broadcast_key: broadcast_key.to_string(),
            slots,
            by_name,
        })
    }

    /// The service's name.
    pub fn service_name(&self) -> &str {
        self.slots[0].endpoint.name()
    }

    /// The broadcast routing-key token.
    pub fn broadcast_key(&self) -> &str {
        &self.broadcast_key
    }

    /// How many endpoints, the service included.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Never true: the service itself is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The names in slot order (the service first).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|slot| slot.endpoint.name())
    }

    /// The binding keys on the requests exchange: `<service>.#`, `<broadcast>.#`, then
    /// `<endpoint>.#` for every endpoint.
    pub fn binding_keys(&self) -> Vec<String> {
        let mut keys = vec![
            format!("{}.#", self.service_name()),
            format!("{}.#", self.broadcast_key),
        ];
        keys.extend(
            self.slots[1..]
                .iter()
                .map(|s| format!("{}.#", s.endpoint.name())),
        );
        keys
    }

    /// The slot serving `routing_key`: its first dot-separated token names the service, the
    /// broadcast key (both slot 0) or an endpoint; further tokens are ignored.
    pub fn route(&self, routing_key: &str) -> Option<usize> {
        let first = routing_key.split('.').next().unwrap_or_default();
        if first == self.broadcast_key {
            return Some(0);
        }
        self.by_name.get(first).copied()
    }

    /// The lock of slot `index`.
    pub fn lockout(&self, index: usize) -> Option<&Lockout> {
        self.slots.get(index).map(|slot| &slot.lock)
    }

    /// The current schedule interval of slot `index`.
    pub fn schedule_interval(&self, index: usize) -> Option<Duration> {
        self.slots
            .get(index)
            .and_then(|slot| slot.endpoint.schedule_interval())
            .filter(|interval| !interval.is_zero())
    }

    /// Run the scheduled work of slot `index`; returns the alerts it queued.
    pub fn run_scheduled(&mut self, index: usize) -> Vec<Alert> {
        let Some(slot) = self.slots.get_mut(index) else {
            return Vec::new();
        };
        let mut ctx = Context::scheduled();
        let name = slot.endpoint.name().to_string();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| slot.endpoint.on_schedule(&mut ctx))) {
            tracing::error!(endpoint = %name, "scheduled work panicked: {}", panic_text(&panic));
        }
        ctx.take_alerts()
    }

    /// The reply to a request whose body could not be decoded (302), as dl-cpp words it.
    pub fn decoding_failure(invalid: &str) -> Outcome {
        Outcome::reply(
            Reply::new(ReturnCode::DECODING_FAIL, "Request message was not valid").with_payload(
                json!({
                    "error": "Message body could not be parsed; skipping request",
                    "invalid": invalid,
                }),
            ),
        )
    }

    /// The whole decision for one received message: a decoded request is handled, an
    /// undecodable request body is refused with 302, anything else is ignored or dropped.
    pub fn answer(&mut self, received: Result<Message, DecodeError>) -> Answer {
        match received {
            Ok(message) if matches!(message.kind, MessageKind::Request { .. }) => {
                let outcome = self.handle(&message);
                Answer::Reply {
                    request: Box::new(message),
                    outcome,
                }
            }
            Ok(_) => Answer::Ignored,
            Err(DecodeError::Body {
                message,
                invalid,
                reason,
            }) if matches!(message.kind, MessageKind::Request { .. }) => Answer::Refused {
                request: message,
                outcome: Dispatcher::decoding_failure(&invalid),
                reason,
            },
            Err(error) => Answer::Dropped(error.to_string()),
        }
    }

    /// Handle a decoded request. Anything that is not a request gets a 300-free answer:
    /// callers should only pass requests.
    pub fn handle(&mut self, request: &Message) -> Outcome {
        let (operation, operation_code, key) = match &request.kind {
            MessageKind::Request {
                operation,
                operation_code,
                lockout_key,
            } => (*operation, *operation_code, lockout_key),
            _ => {
                return Outcome::reply(ReplyError::new(
                    ReturnCode::SERVICE_ERROR,
                    "only requests are handled",
                ))
            }
        };
        let Some(index) = self.route(&request.routing_key) else {
            return Outcome::reply(ReplyError::new(
                ReturnCode::SERVICE_ERROR,
                format!(
                    "service {} has no endpoint for routing key {}",
                    self.service_name(),
                    request.routing_key
                ),
            ));
        };
        if let LockoutKey::Invalid(_) = key {
            return Outcome::reply(Reply::new(
                ReturnCode::INVALID_KEY,
                "Lockout key could not be parsed",
            ));
        }
        let Some(operation) = operation else {
            return Outcome::reply(ReplyError::invalid_method(format!(
                "Unrecognized message operation: <{operation_code}>"
            )));
        };
        let slot = &mut self.slots[index];
        let mut ctx = Context::for_request(request);
        let result = catch_unwind(AssertUnwindSafe(|| match operation {
            Operation::Get => get(slot, request, &mut ctx),
            Operation::Set => set(slot, request, key, &mut ctx),
            Operation::Cmd => cmd(slot, request, key, &mut ctx),
        }));
        let reply = match result {
            Ok(reply) => reply,
            Err(panic) => {
                let text = panic_text(&panic);
                tracing::error!(endpoint = %slot.endpoint.name(), "handler panicked: {text}");
                ReplyError::unhandled(text).into()
            }
        };
        Outcome {
            alerts: ctx.take_alerts(),
            reply,
        }
    }
}

fn first_token(specifier: &str) -> &str {
    specifier.split('.').next().unwrap_or_default()
}

fn get(slot: &mut Slot, request: &Message, ctx: &mut Context<'_>) -> Reply {
    let specifier = request.specifier.as_str();
    if first_token(specifier) == "is-locked" {
        return slot.lock.status();
    }
    let endpoint = &mut slot.endpoint;
    if specifier.is_empty() {
        return into_reply(endpoint.on_get(ctx));
    }
    match endpoint.get_attribute(specifier) {
        Some(value) => Reply::success(json!({ "values": [value] })),
        None => ReplyError::invalid_specifier(format!(
            "endpoint {} has no attribute {specifier}, unable to get",
            endpoint.name()
        ))
        .into(),
    }
}

fn set(slot: &mut Slot, request: &Message, key: &LockoutKey, ctx: &mut Context<'_>) -> Reply {
    if !slot.lock.authenticate(key) {
        return Lockout::denied(key);
    }
    let Some(value) = request
        .payload
        .get("values")
        .and_then(Value::as_array)
        .and_then(|values| values.first())
        .cloned()
    else {
        return ReplyError::bad_payload(
            "setting called without values, but values are required for set",
        )
        .into();
    };
    let endpoint = &mut slot.endpoint;
    let specifier = request.specifier.as_str();
    if specifier.is_empty() {
        return into_reply(endpoint.on_set(value, ctx));
    }
    match endpoint.set_attribute(specifier, value) {
        Some(Ok(())) => Reply::success(Value::Null),
        Some(Err(error)) => error.into(),
        None => ReplyError::invalid_specifier(format!(
            "endpoint {} has no attribute {specifier}, unable to set",
            endpoint.name()
        ))
        .into(),
    }
}

fn cmd(slot: &mut Slot, request: &Message, key: &LockoutKey, ctx: &mut Context<'_>) -> Reply {
    let instruction = first_token(&request.specifier);
    let bypasses_lock = matches!(instruction, "unlock" | "ping" | "set_condition");
    if !bypasses_lock && !slot.lock.authenticate(key) {
        return Lockout::denied(key);
    }
    match instruction {
        "lock" => return slot.lock.lock(key, &request.sender_info),
        "unlock" => return slot.lock.unlock(key, force_flag(&request.payload)),
        "ping" => {
            return Reply::new(
                ReturnCode::SUCCESS,
                format!("Hello, {}", request.sender_info.exe),
            )
        }
        "set_condition" => {
            return match slot.endpoint.on_set_condition(ctx) {
                Ok(reply) => reply,
                Err(error) => error.into(),
            }
        }
        _ => {}
    }
    let method = request.specifier.as_str();
    let endpoint = &mut slot.endpoint;
    if method.is_empty() {
        return ReplyError::invalid_method("No specifier was provided for an OP_CMD request")
            .into();
    }
    let mut kwargs = match &request.payload {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => {
            return ReplyError::bad_payload(format!(
                "cmd payload must be an object of keyword arguments, got {other}"
            ))
            .into()
        }
    };
    let args = match kwargs.remove("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values,
        Some(other) => vec![other],
    };
    match endpoint.on_cmd(method, args, kwargs, ctx) {
        Some(result) => into_reply(result),
        None => ReplyError::invalid_method(format!(
            "error getting command's corresponding method: '{}' object has no attribute '{method}'",
            endpoint.class_name()
        ))
        .into(),
    }
}

fn into_reply(result: Result<Value, ReplyError>) -> Reply {
    match result {
        Ok(payload) => Reply::success(payload),
        Err(error) => error.into(),
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "handler panicked".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ServiceEndpoint;
    use dripline_protocol::SenderInfo;

    /// A tiny endpoint: stores a value, has attribute `unit`, cmd `double(x)` and `boom`.
    struct Store {
        name: String,
        value: Value,
    }

    impl Endpoint for Store {
        fn name(&self) -> &str {
            &self.name
        }
        fn class_name(&self) -> &str {
            "Store"
        }
        fn on_get(&mut self, _ctx: &mut Context<'_>) -> Result<Value, ReplyError> {
            Ok(json!({ "value_raw": self.value }))
        }
        fn on_set(&mut self, value: Value, ctx: &mut Context<'_>) -> Result<Value, ReplyError> {
            self.value = value;
            ctx.alert(
                format!("sensor_value.{}", self.name),
                json!({ "value_raw": self.value }),
            );
            Ok(Value::Null)
        }
        fn get_attribute(&self, name: &str) -> Option<Value> {
            (name == "unit").then(|| json!("K"))
        }
        fn on_cmd(
            &mut self,
            method: &str,
            args: Vec<Value>,
            _kwargs: Map<String, Value>,
            _ctx: &mut Context<'_>,
        ) -> Option<Result<Value, ReplyError>> {
            match method {
                "double" => Some(Ok(json!(args[0].as_f64().unwrap_or(0.0) * 2.0))),
                "boom" => panic!("kaboom"),
                _ => None,
            }
        }
    }

    fn dispatcher() -> Dispatcher {
        Dispatcher::new(
            Box::new(ServiceEndpoint::new("my_store")),
            vec![Box::new(Store {
                name: "peaches".into(),
                value: json!(0.75),
            })],
            DEFAULT_BROADCAST_KEY,
        )
        .unwrap()
    }

    fn request(target: &str, op: Operation, specifier: &str, payload: Value, key: &str) -> Message {
        let mut message = Message::request(
            target,
            op,
            specifier,
            payload,
            LockoutKey::parse(key),
            SenderInfo::ours("/usr/local/bin/dl-agent", "vm", "root", "unknown", "0.1.0"),
            "2026-11-26T00:29:09.560749Z".into(),
        );
        message.reply_to = "amq.gen-x".into();
        message
    }

    fn run(d: &mut Dispatcher, target: &str, op: Operation, spec: &str, payload: Value) -> Outcome {
        d.handle(&request(target, op, spec, payload, ""))
    }

    fn code_msg(outcome: &Outcome) -> (u32, &str) {
        (outcome.reply.code.0, outcome.reply.message.as_str())
    }

    #[test]
    fn bindings_and_routing() {
        let d = dispatcher();
        assert_eq!(d.binding_keys(), ["my_store.#", "broadcast.#", "peaches.#"]);
        assert_eq!(d.route("peaches"), Some(1));
        assert_eq!(d.route("peaches.is-locked"), Some(1));
        assert_eq!(d.route("my_store.peaches"), Some(0));
        assert_eq!(d.route("broadcast"), Some(0));
        assert_eq!(d.route("chips"), None);
        assert!(Dispatcher::new(
            Box::new(ServiceEndpoint::new("a")),
            vec![Box::new(ServiceEndpoint::new("a"))],
            "broadcast"
        )
        .is_err());
    }

    #[test]
    fn get_set_and_attributes() {
        let mut d = dispatcher();
        let out = run(&mut d, "peaches", Operation::Get, "", json!({}));
        assert_eq!(code_msg(&out), (0, ""));
        assert_eq!(out.reply.payload, json!({"value_raw": 0.75}));

        let out = run(
            &mut d,
            "peaches",
            Operation::Set,
            "",
            json!({"values": [5]}),
        );
        assert_eq!(code_msg(&out), (0, ""));
        assert_eq!(out.alerts.len(), 1);
        assert_eq!(out.alerts[0].routing_key, "sensor_value.peaches");

        let out = run(&mut d, "peaches", Operation::Set, "", json!({}));
        assert_eq!(
            code_msg(&out),
            (
                303,
                "setting called without values, but values are required for set"
            )
        );

        let out = run(&mut d, "peaches", Operation::Get, "unit", json!({}));
        assert_eq!(out.reply.payload, json!({"values": ["K"]}));
        let out = run(&mut d, "peaches", Operation::Get, "no_such_attr", json!({}));
        assert_eq!(
            code_msg(&out),
            (
                310,
                "endpoint peaches has no attribute no_such_attr, unable to get"
            )
        );
        let out = run(
            &mut d,
            "peaches",
            Operation::Set,
            "nope",
            json!({"values": [1]}),
        );
        assert_eq!(
            code_msg(&out),
            (310, "endpoint peaches has no attribute nope, unable to set")
        );
    }

    #[test]
    fn service_itself() {
        let mut d = dispatcher();
        let out = run(&mut d, "my_store", Operation::Get, "", json!({}));
        assert_eq!(
            code_msg(&out),
            (
                306,
                "<class 'dripline.core.service.Service'> does not implement on_get"
            )
        );
        let out = run(
            &mut d,
            "my_store",
            Operation::Get,
            "no_such_endpoint",
            json!({}),
        );
        assert_eq!(
            code_msg(&out),
            (
                310,
                "endpoint my_store has no attribute no_such_endpoint, unable to get"
            )
        );
        let out = run(&mut d, "my_store.peaches", Operation::Get, "", json!({}));
        assert_eq!(out.reply.code.0, 306);
    }

    #[test]
    fn cmds() {
        let mut d = dispatcher();
        let out = run(&mut d, "peaches", Operation::Cmd, "ping", json!({}));
        assert_eq!(code_msg(&out), (0, "Hello, /usr/local/bin/dl-agent"));
        assert_eq!(out.reply.payload, Value::Null);
        let out = run(&mut d, "broadcast", Operation::Cmd, "ping", json!({}));
        assert_eq!(code_msg(&out), (0, "Hello, /usr/local/bin/dl-agent"));
        let out = run(
            &mut d,
            "peaches",
            Operation::Cmd,
            "double",
            json!({"values": [2.5]}),
        );
        assert_eq!(out.reply.payload, json!(5.0));
        let out = run(
            &mut d,
            "peaches",
            Operation::Cmd,
            "no_such_method",
            json!({}),
        );
        assert_eq!(
            code_msg(&out),
            (
                306,
                "error getting command's corresponding method: 'Store' object has no attribute 'no_such_method'"
            )
        );
        let out = run(&mut d, "peaches", Operation::Cmd, "", json!({}));
        assert_eq!(
            code_msg(&out),
            (306, "No specifier was provided for an OP_CMD request")
        );
        let out = run(
            &mut d,
            "peaches",
            Operation::Cmd,
            "set_condition",
            json!({"values": [10]}),
        );
        assert_eq!(
            code_msg(&out),
            (0, "No action taken (this is the default method)")
        );
    }

    #[test]
    fn panics_become_999_and_the_service_goes_on() {
        let mut d = dispatcher();
        let out = run(&mut d, "peaches", Operation::Cmd, "boom", json!({}));
        assert_eq!(code_msg(&out), (999, "kaboom"));
        let out = run(&mut d, "peaches", Operation::Get, "", json!({}));
        assert_eq!(out.reply.code.0, 0);
    }

    #[test]
    fn unknown_operation_and_bad_key() {
        let mut d = dispatcher();
        let mut message = request("peaches", Operation::Get, "", json!({}), "");
        message.kind = MessageKind::Request {
            operation: None,
            operation_code: 7,
            lockout_key: LockoutKey::None,
        };
        assert_eq!(
            code_msg(&d.handle(&message)),
            (306, "Unrecognized message operation: <7>")
        );
        let message = request("peaches", Operation::Get, "", json!({}), "not-a-key");
        assert_eq!(
            code_msg(&d.handle(&message)),
            (308, "Lockout key could not be parsed")
        );
    }

    #[test]
    fn decoding_failure_reply() {
        let out = Dispatcher::decoding_failure("not json");
        assert_eq!(code_msg(&out), (302, "Request message was not valid"));
        assert_eq!(
            out.reply.payload,
            json!({"error": "Message body could not be parsed; skipping request", "invalid": "not json"})
        );
    }

    #[test]
    fn lockout_through_requests() {
        let key = "64e62ec3-2167-48ee-bb18-2e177ed2094c";
        let mut d = dispatcher();
        let out = d.handle(&request("peaches", Operation::Cmd, "lock", json!({}), key));
        assert_eq!(code_msg(&out), (0, "Server is now locked"));
        assert_eq!(out.reply.payload, json!({"key": key}));

        // Set without key: 307 before the payload is even looked at.
        let out = run(&mut d, "peaches", Operation::Set, "", json!({}));
        assert_eq!(
            code_msg(&out),
            (
                307,
                "Request denied due to lockout (key used: 00000000-0000-0000-0000-000000000000)"
            )
        );
        // Locking again without the key: 307; with it: 200.
        assert_eq!(
            run(&mut d, "peaches", Operation::Cmd, "lock", json!({}))
                .reply
                .code
                .0,
            307
        );
        let out = d.handle(&request("peaches", Operation::Cmd, "lock", json!({}), key));
        assert_eq!(code_msg(&out), (200, "Unable to lock server"));
        // Gets, ping and set_condition are never locked.
        assert_eq!(
            run(&mut d, "peaches", Operation::Get, "", json!({}))
                .reply
                .code
                .0,
            0
        );
        assert_eq!(
            run(&mut d, "peaches", Operation::Cmd, "ping", json!({}))
                .reply
                .code
                .0,
            0
        );
        assert_eq!(
            run(
                &mut d,
                "peaches",
                Operation::Cmd,
                "set_condition",
                json!({})
            )
            .reply
            .code
            .0,
            0
        );
        // Other cmds are.
        assert_eq!(
            run(
                &mut d,
                "peaches",
                Operation::Cmd,
                "double",
                json!({"values": [1]})
            )
            .reply
            .code
            .0,
            307
        );
        // is-locked on the endpoint vs the service: locks are per endpoint.
        let out = run(&mut d, "peaches", Operation::Get, "is-locked", json!({}));
        assert_eq!(code_msg(&out), (0, "Checked lock status"));
        assert_eq!(out.reply.payload["is_locked"], json!(true));
        assert_eq!(
            out.reply.payload["tag"]["exe"],
            json!("/usr/local/bin/dl-agent")
        );
        let out = run(&mut d, "my_store", Operation::Get, "is-locked", json!({}));
        assert_eq!(out.reply.payload, json!({"is_locked": false}));
        // Set with the key works.
        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "",
            json!({"values": [2]}),
            key,
        ));
        assert_eq!(out.reply.code.0, 0);
        // Unlock: wrong key 200, force 0, then already unlocked 1.
        let out = run(&mut d, "peaches", Operation::Cmd, "unlock", json!({}));
        assert_eq!(code_msg(&out), (200, "Failed to unlock server"));
        let out = run(
            &mut d,
            "peaches",
            Operation::Cmd,
            "unlock",
            json!({"force": true}),
        );
        assert_eq!(code_msg(&out), (0, "Server unlocked"));
        let out = run(&mut d, "peaches", Operation::Cmd, "unlock", json!({}));
        assert_eq!(code_msg(&out), (1, "Already unlocked"));
    }
}
