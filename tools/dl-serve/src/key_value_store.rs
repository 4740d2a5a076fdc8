//! dripline-python's `KeyValueStore` (an `Entity`): a stored value with calibration,
//! `get_on_set`, `log_on_set` and scheduled `sensor_value.<name>` alerts.
//!
//! Replies match dripline-python 5.1 (PROTOCOL.md §A2.6, §A5, §A6.2 and the wire samples):
//! - get → `{"value_raw": v, "value_cal": c}` (`value_cal` only when a calibration gives a
//!   value; raw `null` → payload `null`).
//! - set → stores `values[0]` (a list, or a value the calibration refuses, is refused with
//!   304 and nothing is stored: see [`storable`]); reply `null`, or with `get_on_set` the new get; with
//!   `log_on_set` that get is also sent as a `sensor_value.<name>` alert before the reply.
//! - get/set with a specifier → `name` (read-only), `_value`, and the settings in
//!   [`crate::attributes`] (the same table the config file's endpoint keys go through).
//! - cmd → `on_get`, `on_set(v)`, `start_logging`, `stop_logging`, `log_a_value(v)`,
//!   `scheduled_log`, `throw_something` (200 "in throw_something method, rasing
//!   resource_error", typo included); anything else 306.

use crate::attributes;
use crate::calibration::Calibration;
use dripline_mesh::service::{Context, Endpoint, ReplyError};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// How an Entity decides whether a scheduled check is logged (dripline-python 5.1).
#[derive(Clone, Debug, PartialEq)]
pub struct LogPolicy {
    /// Log at least this often (0 = every check).
    pub max_interval: Duration,
    /// Log when the checked field moved by more than this.
    pub max_absolute_change: f64,
    /// Log when 2|Δ|/|x1+x0| exceeds this.
    pub max_fractional_change: f64,
    /// The payload field compared (`value_cal`, falling back to `value_raw`).
    pub check_field: String,
}

impl Default for LogPolicy {
    fn default() -> Self {
        LogPolicy {
            max_interval: Duration::ZERO,
            max_absolute_change: 0.0,
            max_fractional_change: 0.0,
            check_field: "value_cal".into(),
        }
    }
}

/// Everything a KeyValueStore is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValueStoreConfig {
    /// Endpoint name.
    pub name: String,
    /// Starting value (`initial_value`, default null).
    pub initial_value: Value,
    /// Calibration.
    pub calibration: Option<Calibration>,
    /// Reply to a set with a fresh get.
    pub get_on_set: bool,
    /// Also send that get as an alert (requires `get_on_set`).
    pub log_on_set: bool,
    /// Scheduled logging period (0 = off).
    pub log_interval: Duration,
    /// First routing-key token of log alerts (`sensor_value`).
    pub log_routing_key_prefix: String,
    /// When scheduled checks are logged.
    pub policy: LogPolicy,
}

impl KeyValueStoreConfig {
    /// Defaults for an endpoint named `name`.
    pub fn new(name: &str) -> Self {
        KeyValueStoreConfig {
            name: name.to_string(),
            initial_value: Value::Null,
            calibration: None,
            get_on_set: false,
            log_on_set: false,
            log_interval: Duration::ZERO,
            log_routing_key_prefix: "sensor_value".into(),
            policy: LogPolicy::default(),
        }
    }
}

/// A KeyValueStore endpoint.
pub struct KeyValueStore {
    config: KeyValueStoreConfig,
    value: Value,
    logging: bool,
    last_log: Option<(Instant, Value)>,
    refusals: Refusals,
}

/// The values a store refused, counted, with a warning at most every
/// [`Refusals::WARN_EVERY`], so a flood of hostile sets cannot flood the log.
#[derive(Default)]
struct Refusals {
    total: u64,
    last_warning: Option<Instant>,
    since_warning: u64,
}

impl Refusals {
    const WARN_EVERY: Duration = Duration::from_secs(10);

    fn note(&mut self, endpoint: &str, reason: &str) {
        self.total += 1;
        self.since_warning += 1;
        let now = Instant::now();
        if self
            .last_warning
            .is_some_and(|at| now.duration_since(at) < Self::WARN_EVERY)
        {
            return;
        }
        tracing::warn!(
            endpoint,
            refused = self.since_warning,
            refused_in_all = self.total,
            "refused a value: {reason}"
        );
        self.last_warning = Some(now);
        self.since_warning = 0;
    }
}

impl KeyValueStore {
    /// A store; scheduled logging starts when `log_interval` is non-zero and `scheduling` is
    /// on (dl-serve enables scheduling, like dripline-python's dl-serve).
    pub fn new(config: KeyValueStoreConfig, scheduling: bool) -> Self {
        let logging = scheduling && !config.log_interval.is_zero();
        KeyValueStore {
            value: config.initial_value.clone(),
            config,
            logging,
            last_log: None,
            refusals: Refusals::default(),
        }
    }

    /// The `@calibrate`d `on_get`.
    fn get(&self) -> Result<Value, ReplyError> {
        let raw = self.value.clone();
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let mut payload = Map::new();
        if let Some(calibration) = &self.config.calibration {
            if let Some(cal) = calibration.apply(&raw)? {
                payload.insert("value_cal".into(), cal);
            }
        }
        payload.insert("value_raw".into(), raw);
        Ok(Value::Object(payload))
    }

    /// The decorated `on_set`: check, store, then maybe get, then maybe log.
    fn set(&mut self, value: Value, ctx: &mut Context<'_>) -> Result<Value, ReplyError> {
        self.store(value.clone())?;
        if !self.config.get_on_set {
            return Ok(Value::Null);
        }
        let result = self.get()?;
        if self.config.log_on_set {
            let logged = match &result {
                Value::Object(_) => result.clone(),
                Value::Null => json!({ "value_raw": value }),
                other => json!({ "value_raw": other }),
            };
            self.log_a_value(logged, ctx);
        }
        Ok(result)
    }

    /// Store `value` if it can be stored (see [`storable`]); a refused value leaves the
    /// stored one as it was.
    fn store(&mut self, value: Value) -> Result<(), ReplyError> {
        if let Err(refused) = storable(&value, self.config.calibration.as_ref()) {
            self.refusals.note(&self.config.name, &refused.message);
            return Err(refused);
        }
        self.value = value;
        Ok(())
    }

    fn log_routing_key(&self) -> String {
        format!(
            "{}.{}",
            self.config.log_routing_key_prefix, self.config.name
        )
    }

    fn log_a_value(&mut self, value: Value, ctx: &mut Context<'_>) {
        self.last_log = Some((Instant::now(), value.clone()));
        ctx.alert(self.log_routing_key(), value);
    }

    /// dripline-python 5.1's decision whether a scheduled check is worth an alert.
    fn worth_logging(&self, result: &Value, now: Instant) -> bool {
        let Some((at, last)) = &self.last_log else {
            return true;
        };
        let policy = &self.config.policy;
        if policy.max_interval.is_zero() || now.duration_since(*at) > policy.max_interval {
            return true;
        }
        let field = |payload: &Value| -> Value {
            payload
                .get(&policy.check_field)
                .or_else(|| payload.get("value_raw"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let (new, old) = (field(result), field(last));
        match (new.as_f64(), old.as_f64()) {
            (Some(x1), Some(x0)) => {
                let delta = (x1 - x0).abs();
                let sum = (x1 + x0).abs();
                delta > policy.max_absolute_change
                    || (sum > 0.0 && 2.0 * delta / sum > policy.max_fractional_change)
            }
            _ => new != old,
        }
    }

    fn scheduled_log(&mut self, ctx: &mut Context<'_>) -> Result<(), ReplyError> {
        let result = self.get()?;
        if self.worth_logging(&result, Instant::now()) {
            self.log_a_value(result, ctx);
        }
        Ok(())
    }

    fn start_logging(&mut self) -> Result<Value, ReplyError> {
        if self.config.log_interval.is_zero() {
            return Err(ReplyError::invalid_value(
                "unable to start logging when log_interval evaluates false",
            ));
        }
        self.logging = true;
        Ok(Value::Null)
    }
}

/// Whether a KeyValueStore may hold `value`, for a set, a set of `_value` and
/// `initial_value`: not a list (dripline-python's `@calibrate` reads back only a list's first
/// item, so storing `[7,8]` would answer 7: we refuse rather than truncate), and nothing its
/// calibration refuses to evaluate (too long, nested too deeply). Refusals are 304.
pub fn storable(value: &Value, calibration: Option<&Calibration>) -> Result<(), ReplyError> {
    if let Value::Array(items) = value {
        return Err(ReplyError::invalid_value(format!(
            "a KeyValueStore holds one value, not a list ({} items): dripline-python would answer \
             only the first item to a get; set a number, string, boolean, null or JSON object",
            items.len()
        )));
    }
    if let Some(calibration) = calibration {
        calibration.admit(value)?;
    }
    Ok(())
}

/// Python's TypeError text for a method called with the wrong arguments, as dripline-python
/// wraps it (304).
fn type_error(endpoint: &str, method: &str, detail: String) -> ReplyError {
    ReplyError::invalid_value(format!(
        "A TypeError occurred while calling the requested method for endpoint {endpoint}: {method}. Values provided may be invalid.\nOriginal error: {detail}"
    ))
}

/// Check a call against a method taking exactly the named positional parameters.
fn bind_args(
    endpoint: &str,
    method: &str,
    params: &[&str],
    mut args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> Result<Vec<Value>, ReplyError> {
    let qualified = format!("KeyValueStore.{method}()");
    if args.len() > params.len() {
        let takes = params.len() + 1; // Python counts `self`
        return Err(type_error(
            endpoint,
            method,
            format!(
                "{qualified} takes {takes} positional argument{} but {} were given",
                if takes == 1 { "" } else { "s" },
                args.len() + 1
            ),
        ));
    }
    for (key, value) in kwargs {
        match params.iter().position(|p| *p == key) {
            Some(index) if index >= args.len() => {
                args.resize(index, Value::Null);
                args.push(value);
            }
            Some(_) => {
                return Err(type_error(
                    endpoint,
                    method,
                    format!("{qualified} got multiple values for argument '{key}'"),
                ))
            }
            None => {
                return Err(type_error(
                    endpoint,
                    method,
                    format!("{qualified} got an unexpected keyword argument '{key}'"),
                ))
            }
        }
    }
    if args.len() < params.len() {
        let missing = &params[args.len()..];
        let names: Vec<String> = missing.iter().map(|p| format!("'{p}'")).collect();
        return Err(type_error(
            endpoint,
            method,
            format!(
                "{qualified} missing {} required positional argument{}: {}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                names.join(" and ")
            ),
        ));
    }
    Ok(args)
}

impl Endpoint for KeyValueStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn class_name(&self) -> &str {
        "KeyValueStore"
    }

    fn class_repr(&self) -> String {
        "<class 'dripline.implementations.key_value_store.KeyValueStore'>".into()
    }

    fn on_get(&mut self, _ctx: &mut Context<'_>) -> Result<Value, ReplyError> {
        self.get()
    }

    fn on_set(&mut self, value: Value, ctx: &mut Context<'_>) -> Result<Value, ReplyError> {
        self.set(value, ctx)
    }

    fn get_attribute(&self, name: &str) -> Option<Value> {
        match name {
            "name" => Some(json!(self.config.name)),
            "_value" => Some(self.value.clone()),
            _ => attributes::find(name).map(|attribute| (attribute.get)(&self.config)),
        }
    }

    fn set_attribute(&mut self, name: &str, value: Value) -> Option<Result<(), ReplyError>> {
        match name {
            "name" => Some(Err(ReplyError::invalid_value(format!(
                "attribute name of endpoint {} is read-only",
                self.config.name
            )))),
            "_value" => Some(self.store(value)),
            _ => {
                let attribute = attributes::find(name)?;
                let mut changed = self.config.clone();
                let result = (attribute.set)(&mut changed, value)
                    .map_err(|reason| format!("{name}: {reason}"))
                    .and_then(|()| attributes::check_together(&changed, name))
                    .map(|()| self.config = changed)
                    .map_err(ReplyError::invalid_value);
                Some(result)
            }
        }
    }

    fn on_cmd(
        &mut self,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
        ctx: &mut Context<'_>,
    ) -> Option<Result<Value, ReplyError>> {
        let params: &[&str] = match method {
            "on_get" | "start_logging" | "stop_logging" | "scheduled_log" | "throw_something" => {
                &[]
            }
            "on_set" => &["new_value"],
            "log_a_value" => &["the_value"],
            _ => return None,
        };
        let name = self.config.name.clone();
        let mut args = match bind_args(&name, method, params, args, kwargs) {
            Ok(args) => args,
            Err(error) => return Some(Err(error)),
        };
        Some(match method {
            "on_get" => self.get(),
            "on_set" => self.set(args.remove(0), ctx),
            "start_logging" => self.start_logging(),
            "stop_logging" => {
                self.logging = false;
                Ok(Value::Null)
            }
            "log_a_value" => {
                self.log_a_value(args.remove(0), ctx);
                Ok(Value::Null)
            }
            "scheduled_log" => self.scheduled_log(ctx).map(|()| Value::Null),
            "throw_something" => {
                tracing::warn!("in throw_something");
                Err(ReplyError::resource_error(
                    "in throw_something method, rasing resource_error",
                ))
            }
            _ => return None,
        })
    }

    fn schedule_interval(&self) -> Option<Duration> {
        (self.logging && !self.config.log_interval.is_zero()).then_some(self.config.log_interval)
    }

    fn on_schedule(&mut self, ctx: &mut Context<'_>) {
        if let Err(error) = self.scheduled_log(ctx) {
            tracing::warn!(endpoint = %self.config.name, "scheduled log skipped: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dripline_mesh::service::{Dispatcher, ServiceEndpoint, DEFAULT_BROADCAST_KEY};
    use dripline_protocol::{LockoutKey, Message, Operation, SenderInfo};

    fn peaches() -> KeyValueStore {
        let mut config = KeyValueStoreConfig::new("peaches");
        config.calibration = Some(Calibration::expression("2*{}").unwrap());
        config.initial_value = json!(0.75);
        config.log_interval = Duration::from_secs(10);
        config.get_on_set = true;
        config.log_on_set = true;
        KeyValueStore::new(config, true)
    }

    fn store(name: &str, calibration: &str, initial: Value) -> KeyValueStore {
        let mut config = KeyValueStoreConfig::new(name);
        config.calibration = Some(Calibration::expression(calibration).unwrap());
        config.initial_value = initial;
        KeyValueStore::new(config, true)
    }

    fn dispatcher() -> Dispatcher {
        Dispatcher::new(
            Box::new(ServiceEndpoint::new("my_store")),
            vec![
                Box::new(peaches()),
                Box::new(store("chips", "times3({})", json!(1.75))),
                Box::new(store("waffles", "1.*{}", json!(4.0))),
            ],
            DEFAULT_BROADCAST_KEY,
        )
        .unwrap()
    }

    fn request(target: &str, op: Operation, specifier: &str, payload: Value) -> Message {
        let mut message = Message::request(
            target,
            op,
            specifier,
            payload,
            LockoutKey::None,
            SenderInfo::ours("/usr/local/bin/dl-agent", "vm", "root", "unknown", "0.1.0"),
            String::new(),
        );
        message.reply_to = "amq.gen-x".into();
        message
    }

    fn body(value: &Value) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn gets_match_the_wire_samples() {
        let mut d = dispatcher();
        let out = d.handle(&request("peaches", Operation::Get, "", json!({})));
        assert_eq!((out.reply.code.0, out.reply.message.as_str()), (0, ""));
        assert_eq!(
            body(&out.reply.payload),
            r#"{"value_cal":1.5,"value_raw":0.75}"#
        );
        let out = d.handle(&request("chips", Operation::Get, "", json!({})));
        assert_eq!(body(&out.reply.payload), r#"{"value_raw":1.75}"#);
        let out = d.handle(&request("waffles", Operation::Get, "", json!({})));
        assert_eq!(
            body(&out.reply.payload),
            r#"{"value_cal":4.0,"value_raw":4.0}"#
        );
    }

    #[test]
    fn set_with_get_on_set_and_log_on_set() {
        let mut d = dispatcher();
        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "",
            json!({"values": ["3.5"]}),
        ));
        assert_eq!(out.reply.code.0, 0);
        assert_eq!(
            body(&out.reply.payload),
            r#"{"value_cal":7.0,"value_raw":"3.5"}"#
        );
        assert_eq!(out.alerts.len(), 1);
        assert_eq!(out.alerts[0].routing_key, "sensor_value.peaches");
        assert_eq!(
            body(&out.alerts[0].payload),
            r#"{"value_cal":7.0,"value_raw":"3.5"}"#
        );
        let out = d.handle(&request("peaches", Operation::Get, "", json!({})));
        assert_eq!(
            body(&out.reply.payload),
            r#"{"value_cal":7.0,"value_raw":"3.5"}"#
        );

        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "",
            json!({"values": [500]}),
        ));
        assert_eq!(
            body(&out.reply.payload),
            r#"{"value_cal":1000,"value_raw":500}"#
        );

        // waffles: no get_on_set → null, no alert.
        let out = d.handle(&request(
            "waffles",
            Operation::Set,
            "",
            json!({"values": [5.5]}),
        ));
        assert_eq!((out.reply.code.0, &out.reply.payload), (0, &Value::Null));
        assert!(out.alerts.is_empty());
        let out = d.handle(&request("waffles", Operation::Get, "", json!({})));
        assert_eq!(
            body(&out.reply.payload),
            r#"{"value_cal":5.5,"value_raw":5.5}"#
        );
    }

    #[test]
    fn set_errors() {
        let mut d = dispatcher();
        let out = d.handle(&request("peaches", Operation::Set, "", json!({})));
        assert_eq!(out.reply.code.0, 303);
        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "nope",
            json!({"values": [1]}),
        ));
        assert_eq!(
            (out.reply.code.0, out.reply.message.as_str()),
            (310, "endpoint peaches has no attribute nope, unable to set")
        );
    }

    #[test]
    fn attributes() {
        let mut d = dispatcher();
        let get = |d: &mut Dispatcher, spec: &str| {
            d.handle(&request("peaches", Operation::Get, spec, json!({})))
                .reply
        };
        assert_eq!(
            get(&mut d, "calibration").payload,
            json!({"values": ["2*{}"]})
        );
        assert_eq!(
            get(&mut d, "log_interval").payload,
            json!({"values": ["0:00:10"]})
        );
        assert_eq!(get(&mut d, "get_on_set").payload, json!({"values": [true]}));
        assert_eq!(get(&mut d, "name").payload, json!({"values": ["peaches"]}));
        assert_eq!(get(&mut d, "_value").payload, json!({"values": [0.75]}));
        let reply = get(&mut d, "no_such_attr");
        assert_eq!(
            (reply.code.0, reply.message.as_str()),
            (
                310,
                "endpoint peaches has no attribute no_such_attr, unable to get"
            )
        );
        // setattr: reply null, value taken.
        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "calibration",
            json!({"values": ["3*{}"]}),
        ));
        assert_eq!((out.reply.code.0, &out.reply.payload), (0, &Value::Null));
        assert_eq!(
            body(&get(&mut d, "").payload),
            r#"{"value_cal":2.25,"value_raw":0.75}"#
        );
        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "get_on_set",
            json!({"values": [false]}),
        ));
        assert_eq!(out.reply.code.0, 304);
        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "name",
            json!({"values": ["x"]}),
        ));
        assert_eq!(out.reply.code.0, 304);
        let out = d.handle(&request(
            "peaches",
            Operation::Set,
            "log_interval",
            json!({"values": [{"minutes": 1}]}),
        ));
        assert_eq!(out.reply.code.0, 0);
        assert_eq!(
            get(&mut d, "log_interval").payload,
            json!({"values": ["0:01:00"]})
        );
    }

    #[test]
    fn commands() {
        let mut d = dispatcher();
        let cmd = |d: &mut Dispatcher, target: &str, spec: &str, payload: Value| {
            d.handle(&request(target, Operation::Cmd, spec, payload))
        };
        let out = cmd(&mut d, "peaches", "throw_something", json!({}));
        assert_eq!(
            (out.reply.code.0, out.reply.message.as_str()),
            (200, "in throw_something method, rasing resource_error")
        );
        let out = cmd(&mut d, "peaches", "no_such_method", json!({}));
        assert_eq!(
            (out.reply.code.0, out.reply.message.as_str()),
            (306, "error getting command's corresponding method: 'KeyValueStore' object has no attribute 'no_such_method'")
        );
        let out = cmd(&mut d, "peaches", "on_get", json!({}));
        assert_eq!(
            body(&out.reply.payload),
            r#"{"value_cal":1.5,"value_raw":0.75}"#
        );
        let out = cmd(
            &mut d,
            "peaches",
            "log_a_value",
            json!({"values": [{"value_raw": 1}]}),
        );
        assert_eq!(out.reply.code.0, 0);
        assert_eq!(out.alerts[0].payload, json!({"value_raw": 1}));
        let out = cmd(&mut d, "peaches", "log_a_value", json!({}));
        assert_eq!(out.reply.code.0, 304);
        assert!(out.reply.message.ends_with(
            "Original error: KeyValueStore.log_a_value() missing 1 required positional argument: 'the_value'"
        ));
        let out = cmd(&mut d, "peaches", "throw_something", json!({"values": [1]}));
        assert_eq!(out.reply.code.0, 304);
        assert!(out
            .reply
            .message
            .ends_with("takes 1 positional argument but 2 were given"));
        let out = cmd(&mut d, "peaches", "on_set", json!({"new_value": 2}));
        assert_eq!(body(&out.reply.payload), r#"{"value_cal":4,"value_raw":2}"#);
        let out = cmd(&mut d, "peaches", "scheduled_log", json!({}));
        assert_eq!(out.alerts.len(), 1);
        // Logging on and off.
        assert_eq!(d.schedule_interval(1), Some(Duration::from_secs(10)));
        cmd(&mut d, "peaches", "stop_logging", json!({}));
        assert_eq!(d.schedule_interval(1), None);
        cmd(&mut d, "peaches", "start_logging", json!({}));
        assert_eq!(d.schedule_interval(1), Some(Duration::from_secs(10)));
        let out = cmd(&mut d, "chips", "start_logging", json!({}));
        assert_eq!(out.reply.code.0, 304);
    }

    #[test]
    fn scheduled_logging_and_policy() {
        let mut d = dispatcher();
        let alerts = d.run_scheduled(1);
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            body(&alerts[0].payload),
            r#"{"value_cal":1.5,"value_raw":0.75}"#
        );
        // Default policy: every check is logged.
        assert_eq!(d.run_scheduled(1).len(), 1);

        let mut config = KeyValueStoreConfig::new("slow");
        config.initial_value = json!(1.0);
        config.log_interval = Duration::from_secs(1);
        config.policy.max_interval = Duration::from_secs(3600);
        config.policy.max_absolute_change = 0.5;
        config.policy.max_fractional_change = 0.5;
        let mut kvs = KeyValueStore::new(config, true);
        let mut ctx = Context::scheduled();
        kvs.on_schedule(&mut ctx);
        kvs.on_schedule(&mut ctx);
        assert_eq!(
            ctx.take_alerts().len(),
            1,
            "unchanged value within max_interval"
        );
        kvs.value = json!(1.2);
        kvs.on_schedule(&mut ctx);
        assert_eq!(ctx.take_alerts().len(), 0, "small change");
        kvs.value = json!(2.0);
        kvs.on_schedule(&mut ctx);
        assert_eq!(ctx.take_alerts().len(), 1, "big change");
    }

    #[test]
    fn null_values_and_refused_lists_and_hostile_values() {
        let mut kvs = store("x", "2*{}", json!(5));
        let mut ctx = Context::scheduled();
        for (refused, why) in [
            (json!([7, 8]), "not a list (2 items)"),
            (json!([]), "not a list (0 items)"),
            (
                json!("(".repeat(50_000)),
                "value refused by calibration '2*{}'",
            ),
        ] {
            let error = kvs.on_set(refused.clone(), &mut ctx).unwrap_err();
            assert_eq!(error.code.0, 304);
            assert!(error.message.contains(why), "{}", error.message);
            let error = kvs.set_attribute("_value", refused).unwrap().unwrap_err();
            assert!(error.message.contains(why), "{}", error.message);
            // Nothing was stored: the old value answers.
            assert_eq!(
                kvs.on_get(&mut ctx).unwrap(),
                json!({"value_raw": 5, "value_cal": 10})
            );
        }
        // Counted; the warning is rate-limited (one so far, 5 refusals since).
        assert_eq!(kvs.refusals.total, 6);
        assert_eq!(kvs.refusals.since_warning, 5);
        kvs.on_set(Value::Null, &mut ctx).unwrap();
        assert_eq!(kvs.on_get(&mut ctx).unwrap(), Value::Null);
        kvs.on_set(json!({"a": [1, 2]}), &mut ctx).unwrap();
        assert_eq!(
            kvs.on_get(&mut ctx).unwrap()["value_raw"],
            json!({"a": [1, 2]})
        );
    }

    #[test]
    fn intervals() {
        assert_eq!(
            attributes::interval(&json!(10)).unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            attributes::interval(&json!(0.5)).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            attributes::interval(&json!({"minutes": 1, "seconds": 30})).unwrap(),
            Duration::from_secs(90)
        );
        assert!(attributes::interval(&json!({"fortnights": 1}))
            .unwrap_err()
            .contains("fortnights"));
        assert!(attributes::interval(&json!("10s")).is_err());
        assert!(attributes::interval(&json!(-1)).is_err());
    }
}
