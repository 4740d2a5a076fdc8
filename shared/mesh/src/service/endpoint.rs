//! What an endpoint implements, and the replies and alerts it produces.

use dripline_protocol::{Message, ReturnCode};
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// A reply other than plain success: the return code, message and payload of an error (or
/// of a warning). Handlers return it as `Err`; the service replies with it and keeps running.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyError {
    /// The return code (3xx for service errors, 2xx for resource errors, 999 unhandled…).
    pub code: ReturnCode,
    /// The `return_message`.
    pub message: String,
    /// The payload (`null` unless given).
    pub payload: Value,
}

impl ReplyError {
    /// A reply with this code and message and a `null` payload.
    pub fn new(code: ReturnCode, message: impl Into<String>) -> Self {
        ReplyError {
            code,
            message: message.into(),
            payload: Value::Null,
        }
    }

    /// The same reply with a payload.
    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }

    /// 200 `resource_error`.
    pub fn resource_error(message: impl Into<String>) -> Self {
        Self::new(ReturnCode::RESOURCE_ERROR, message)
    }

    /// 303 `service_error_bad_payload`.
    pub fn bad_payload(message: impl Into<String>) -> Self {
        Self::new(ReturnCode::BAD_PAYLOAD, message)
    }

    /// 304 `service_error_invalid_value`.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(ReturnCode::INVALID_VALUE, message)
    }

    /// 306 `service_error_invalid_method`.
    pub fn invalid_method(message: impl Into<String>) -> Self {
        Self::new(ReturnCode::INVALID_METHOD, message)
    }

    /// 310 `service_error_invalid_specifier`.
    pub fn invalid_specifier(message: impl Into<String>) -> Self {
        Self::new(ReturnCode::INVALID_SPECIFIER, message)
    }

    /// 999 `unhandled_exception`.
    pub fn unhandled(message: impl Into<String>) -> Self {
        Self::new(ReturnCode::UNHANDLED_EXCEPTION, message)
    }
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ReplyError {}

/// A complete reply as the service sends it: code, message, payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// `return_code`.
    pub code: ReturnCode,
    /// `return_message`.
    pub message: String,
    /// The payload.
    pub payload: Value,
}

impl Reply {
    /// Success (0) with an empty message, as dl-py replies to a handled get/set/cmd.
    pub fn success(payload: Value) -> Self {
        Reply {
            code: ReturnCode::SUCCESS,
            message: String::new(),
            payload,
        }
    }

    /// A reply with this code and message and a `null` payload.
    pub fn new(code: ReturnCode, message: impl Into<String>) -> Self {
        Reply {
            code,
            message: message.into(),
            payload: Value::Null,
        }
    }

    /// The same reply with a payload.
    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
}

impl From<ReplyError> for Reply {
    fn from(error: ReplyError) -> Self {
        Reply {
            code: error.code,
            message: error.message,
            payload: error.payload,
        }
    }
}

/// An alert an endpoint asks the service to publish (on the alerts exchange), e.g.
/// `sensor_value.peaches` with `{"value_raw": …, "value_cal": …}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// The routing key.
    pub routing_key: String,
    /// The payload.
    pub payload: Value,
}

/// What a handler sees of the request it serves, and where it leaves alerts. Alerts are
/// published in order, before the reply to the request.
pub struct Context<'a> {
    request: Option<&'a Message>,
    alerts: Vec<Alert>,
}

impl<'a> Context<'a> {
    /// A context for handling `request`.
    pub fn for_request(request: &'a Message) -> Self {
        Context {
            request: Some(request),
            alerts: Vec::new(),
        }
    }

    /// A context for scheduled work (no request).
    pub fn scheduled() -> Self {
        Context {
            request: None,
            alerts: Vec::new(),
        }
    }

    /// The request being handled; `None` during scheduled work.
    pub fn request(&self) -> Option<&'a Message> {
        self.request
    }

    /// Queue an alert for publishing (before the reply, in call order).
    pub fn alert(&mut self, routing_key: impl Into<String>, payload: Value) {
        self.alerts.push(Alert {
            routing_key: routing_key.into(),
            payload,
        });
    }

    /// The alerts queued so far, taken out.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.alerts)
    }
}

/// One endpoint of a service (the service itself is one too), as dripline-python's
/// `Endpoint` + `RequestHandler` see it. The runtime does the protocol around the calls:
/// lockout, `ping`/`lock`/`unlock`/`set_condition`/`is-locked`, the payload conventions
/// (`{"values": [...]}` for set, `*values, **kwargs` for cmd, `{"values": [attr]}` for a get
/// with a specifier), and the dripline-python error texts.
///
/// Handlers are called one at a time (`&mut self`); a handler that panics gets a 999 reply
/// and the service goes on.
pub trait Endpoint: Send {
    /// The endpoint's name: its binding `<name>.#` and the first routing-key token it serves.
    fn name(&self) -> &str;

    /// The class name used in dripline-python's messages (`'KeyValueStore' object has no
    /// attribute …`).
    fn class_name(&self) -> &str {
        "Endpoint"
    }

    /// How dripline-python prints the class (`<class 'dripline.core.service.Service'>`), used
    /// in "does not implement on_get".
    fn class_repr(&self) -> String {
        format!("<class '{}'>", self.class_name())
    }

    /// A get without specifier. Default: 306 `"<class> does not implement on_get"`.
    fn on_get(&mut self, ctx: &mut Context<'_>) -> Result<Value, ReplyError> {
        let _ = ctx;
        Err(ReplyError::invalid_method(format!(
            "{} does not implement on_get",
            self.class_repr()
        )))
    }

    /// A set without specifier, with `values[0]` of the request. The returned value is the
    /// reply payload. Default: 306 `"<class> does not implement on_set"`.
    fn on_set(&mut self, value: Value, ctx: &mut Context<'_>) -> Result<Value, ReplyError> {
        let _ = (value, ctx);
        Err(ReplyError::invalid_method(format!(
            "{} does not implement on_set",
            self.class_repr()
        )))
    }

    /// A get with a specifier: the attribute's value, or `None` when there is no such
    /// attribute (310). The reply payload is `{"values": [value]}`.
    fn get_attribute(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }

    /// A set with a specifier: `None` when there is no such attribute (310), else whether
    /// the value was taken. The reply payload is `null`.
    fn set_attribute(&mut self, name: &str, value: Value) -> Option<Result<(), ReplyError>> {
        let _ = (name, value);
        None
    }

    /// A cmd with method `method` (the specifier), positional `args` (`values`) and keyword
    /// `kwargs` (the other payload keys). `None` when there is no such method (306).
    fn on_cmd(
        &mut self,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
        ctx: &mut Context<'_>,
    ) -> Option<Result<Value, ReplyError>> {
        let _ = (method, args, kwargs, ctx);
        None
    }

    /// The `set_condition` cmd (bypasses the lockout). Default: 0 "No action taken (this is
    /// the default method)", as dl-cpp.
    fn on_set_condition(&mut self, ctx: &mut Context<'_>) -> Result<Reply, ReplyError> {
        let _ = ctx;
        Ok(Reply::new(
            ReturnCode::SUCCESS,
            "No action taken (this is the default method)",
        ))
    }

    /// How often [`Endpoint::on_schedule`] should run now; `None` = not scheduled. Asked
    /// again after every request, so a cmd can start or stop it.
    fn schedule_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic work (e.g. logging a `sensor_value` alert), every
    /// [`Endpoint::schedule_interval`].
    fn on_schedule(&mut self, ctx: &mut Context<'_>) {
        let _ = ctx;
    }
}

/// The service itself as an endpoint, like dripline-python's plain `Service`: no `on_get` /
/// `on_set` (306 "<class 'dripline.core.service.Service'> does not implement on_get"), no cmd
/// methods beyond the built-ins, and a few read-only attributes (`name`, plus any added with
/// [`ServiceEndpoint::with_attribute`]).
pub struct ServiceEndpoint {
    name: String,
    attributes: Map<String, Value>,
}

impl ServiceEndpoint {
    /// The service endpoint named `name`.
    pub fn new(name: &str) -> Self {
        let mut attributes = Map::new();
        attributes.insert("name".into(), Value::String(name.to_string()));
        ServiceEndpoint {
            name: name.to_string(),
            attributes,
        }
    }

    /// Add a read-only attribute answered by a get with that specifier.
    pub fn with_attribute(mut self, name: &str, value: Value) -> Self {
        self.attributes.insert(name.to_string(), value);
        self
    }
}

impl Endpoint for ServiceEndpoint {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &str {
        "Service"
    }

    fn class_repr(&self) -> String {
        "<class 'dripline.core.service.Service'>".to_string()
    }

    fn get_attribute(&self, name: &str) -> Option<Value> {
        self.attributes.get(name).cloned()
    }

    fn set_attribute(&mut self, name: &str, _value: Value) -> Option<Result<(), ReplyError>> {
        self.attributes.contains_key(name).then(|| {
            Err(ReplyError::invalid_value(format!(
                "attribute {name} of service {} is read-only",
                self.name
            )))
        })
    }
}
