//! How a request's result is printed on stdout.

use dripline_protocol::{Message, ReturnCode};
use serde_json::{json, Map, Value};

/// The end of one request: a reply, or a failure on our side (403, 404, 400 …).
#[derive(Clone, Debug)]
pub struct RequestResult {
    /// The target as requested.
    pub target: String,
    /// The specifier as requested.
    pub specifier: String,
    /// The return code (from the reply, or ours for client-side failures).
    pub return_code: ReturnCode,
    /// The return message.
    pub return_message: String,
    /// The reply, when one came.
    pub reply: Option<Box<Message>>,
    /// The batch input line, when the request came from one.
    pub line: Option<usize>,
}

impl RequestResult {
    /// A failure detected on our side, with no reply.
    pub fn client_failure(
        target: &str,
        specifier: &str,
        code: ReturnCode,
        message: String,
    ) -> Self {
        RequestResult {
            target: target.to_string(),
            specifier: specifier.to_string(),
            return_code: code,
            return_message: message,
            reply: None,
            line: None,
        }
    }

    /// A reply from the mesh.
    pub fn from_reply(target: &str, specifier: &str, reply: Message) -> Self {
        let return_code = ReturnCode(reply.return_code().unwrap_or(999));
        let return_message = match &reply.kind {
            dripline_protocol::MessageKind::Reply { return_message, .. } => return_message.clone(),
            _ => String::new(),
        };
        RequestResult {
            target: target.to_string(),
            specifier: specifier.to_string(),
            return_code,
            return_message,
            reply: Some(Box::new(reply)),
            line: None,
        }
    }

    /// True for return codes 0–99.
    pub fn succeeded(&self) -> bool {
        self.return_code.is_success()
    }

    /// The reply payload (`null` when there was no reply).
    pub fn payload(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.reply.as_ref().map_or(&NULL, |reply| &reply.payload)
    }

    /// `peaches: 307 service_error_access_denied: Request denied …`, for stderr.
    pub fn describe_failure(&self) -> String {
        let line = self
            .line
            .map(|n| format!("stdin line {n}: "))
            .unwrap_or_default();
        format!(
            "{line}{}: {} {}: {}",
            self.target,
            self.return_code.0,
            self.return_code.name().unwrap_or("error"),
            self.return_message
        )
    }

    /// The whole result as one JSON object (`--full`).
    pub fn to_full_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("routing_key".into(), json!(self.target));
        object.insert("specifier".into(), json!(self.specifier));
        object.insert("return_code".into(), json!(self.return_code.0));
        object.insert("return_name".into(), json!(self.return_code.name()));
        object.insert("return_message".into(), json!(self.return_message));
        object.insert("payload".into(), self.payload().clone());
        if let Some(reply) = &self.reply {
            object.insert("message_type".into(), json!("reply"));
            object.insert("timestamp".into(), json!(reply.timestamp));
            object.insert("correlation_id".into(), json!(reply.correlation_id));
            object.insert("message_id".into(), json!(reply.message_id));
            object.insert(
                "sender_info".into(),
                serde_json::to_value(&reply.sender_info).unwrap_or(Value::Null),
            );
        }
        if let Some(line) = self.line {
            object.insert("line".into(), json!(line));
        }
        Value::Object(object)
    }
}

/// The output options.
#[derive(Clone, Debug, Default)]
pub struct OutputStyle {
    /// Whole replies as JSON.
    pub full: bool,
    /// Only this dotted path of the payload.
    pub field: Option<String>,
    /// Indented JSON.
    pub pretty: bool,
}

impl OutputStyle {
    /// The stdout text for a result, or `None` when nothing is printed on stdout (a failed
    /// single request prints only its stderr line). In a batch every result gives a line
    /// (`batch` = true) so output lines match input lines.
    pub fn render(&self, result: &RequestResult, batch: bool) -> Result<Option<String>, String> {
        if self.full {
            return Ok(Some(self.json(&result.to_full_json())));
        }
        if !result.succeeded() {
            if !batch {
                return Ok(None);
            }
            if self.field.is_some() {
                return Ok(Some(String::new()));
            }
            let error = json!({"error": {
                "line": result.line,
                "target": result.target,
                "return_code": result.return_code.0,
                "return_name": result.return_code.name(),
                "return_message": result.return_message,
            }});
            return Ok(Some(self.json(&error)));
        }
        match &self.field {
            None => Ok(Some(self.json(result.payload()))),
            Some(path) => match select_field(result.payload(), path) {
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(value) => Ok(Some(self.json(value))),
                None => Err(format!(
                    "{}: the reply has no field '{path}' (payload: {})",
                    result.target,
                    result.payload()
                )),
            },
        }
    }

    fn json(&self, value: &Value) -> String {
        if self.pretty {
            serde_json::to_string_pretty(value).unwrap_or_default()
        } else {
            value.to_string()
        }
    }
}

/// Walk a dotted path (`value_cal`, `values.0`, `tag.exe`) into a JSON value.
pub fn select_field<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |current, step| match current {
            Value::Object(map) => map.get(step),
            Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_dotted_path() {
        let payload = json!({"values": [1, {"a": "x"}], "value_cal": 2.5});
        assert_eq!(select_field(&payload, "value_cal"), Some(&json!(2.5)));
        assert_eq!(select_field(&payload, "values.1.a"), Some(&json!("x")));
        assert_eq!(select_field(&payload, "values.7"), None);
        assert_eq!(select_field(&payload, "nope"), None);
    }

    #[test]
    fn failures_render_per_mode() {
        let mut result = RequestResult::client_failure(
            "ghost",
            "",
            ReturnCode::CLIENT_TIMEOUT,
            "no reply within 1s".into(),
        );
        result.line = Some(3);
        let plain = OutputStyle::default();
        assert_eq!(plain.render(&result, false).unwrap(), None);
        let line = plain.render(&result, true).unwrap().unwrap();
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["error"]["return_code"], 404);
        assert_eq!(parsed["error"]["line"], 3);
        let field = OutputStyle {
            field: Some("value_cal".into()),
            ..OutputStyle::default()
        };
        assert_eq!(field.render(&result, true).unwrap(), Some(String::new()));
        assert_eq!(
            result.describe_failure(),
            "stdin line 3: ghost: 404 client_error_timeout: no reply within 1s"
        );
    }
}
