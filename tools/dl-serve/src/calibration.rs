//! Endpoint calibrations as dripline-python's `@calibrate` applies them (PROTOCOL.md §A6.3):
//! a string expression over `{}` (Python `str.format` of the raw value, then evaluated), or a
//! dict from the raw value's `str()` to the calibrated value.
//!
//! Limits: a calibration string is checked once, when it is configured (its placeholders,
//! its length, and that it parses with a number in place of `{}`). The raw value pasted into
//! it at run time comes from any request, so its text is bounded ([`MAX_RAW_CHARS`],
//! [`MAX_RAW_NESTING`]) and the evaluation is bounded (`pyexpr`'s limits); a value beyond
//! them is refused with 304 (`service_error_invalid_value`, what dripline-python's
//! `@calibrate` replies when evaluating a calibration raises), never evaluated.

use crate::pyexpr::{evaluate, EvalError, PyValue};
use crate::python::{py_repr, py_str, py_type};
use dripline_mesh::service::ReplyError;
use serde_json::{Map, Number, Value};

/// The longest raw value text pasted into a calibration string, in characters. Generous:
/// a long string that is no expression only leaves `value_cal` out, as in dripline-python,
/// and evaluation is linear in the length; nesting is what must stay small.
pub const MAX_RAW_CHARS: usize = 1 << 20;

/// The deepest parenthesis nesting in a raw value's text.
pub const MAX_RAW_NESTING: usize = 32;

/// The longest calibration string, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 2048;

/// The most placeholders (`{0}` may repeat) in a calibration string.
pub const MAX_PLACEHOLDERS: usize = 4;

/// One piece of a calibration template.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// Where the raw value goes.
    Raw,
}

/// A calibration.
#[derive(Clone, Debug, PartialEq)]
pub enum Calibration {
    /// A Python expression with `{}` (or `{0}`) where the raw value goes: `2*{}`, `times3({})`.
    Expression {
        /// The string as configured.
        source: String,
        /// The template, split at the placeholders.
        pieces: Vec<Piece>,
    },
    /// `str(raw)` → calibrated value.
    Table(Map<String, Value>),
}

/// Why a calibration string cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("calibration '{calibration}': {reason}")]
pub struct TemplateError {
    /// The calibration string.
    pub calibration: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Calibration {
    /// Parse a calibration string as Python's `str.format` would use it with one positional
    /// argument: `{}` or `{0}` (any number of `{0}`, at most one `{}`, not both), `{{` and `}}`
    /// for braces. Anything else (`{x}`, `{1}`, format specs) would fail at every get in
    /// dripline-python, so it is refused here, at start-up; so is a string that is too long,
    /// has more than [`MAX_PLACEHOLDERS`] placeholders, or cannot be parsed even with a
    /// number in place of `{}` (a Python error such as an unknown name is fine: it only
    /// leaves `value_cal` out, as in dripline-python).
    pub fn expression(source: &str) -> Result<Self, TemplateError> {
        let fail = |reason: String| TemplateError {
            calibration: source.to_string(),
            reason,
        };
        let length = source.chars().count();
        if length > MAX_TEMPLATE_CHARS {
            return Err(fail(format!(
                "is {length} characters long (at most {MAX_TEMPLATE_CHARS})"
            )));
        }
        let pieces = split_template(source).map_err(fail)?;
        let probe = format_with(&pieces, "1");
        match evaluate(&probe) {
            Err(EvalError::Limit(why)) => return Err(fail(why)),
            Err(EvalError::Python(why)) if why.starts_with("SyntaxError") => {
                return Err(fail(format!(
                    "is not a Python expression even with a number for {{}} ({probe}: {why})"
                )))
            }
            _ => {}
        }
        Ok(Calibration::Expression {
            source: source.to_string(),
            pieces,
        })
    }

    /// The calibration as configured, for a get of the `calibration` attribute.
    pub fn to_value(&self) -> Value {
        match self {
            Calibration::Expression { source, .. } => Value::String(source.clone()),
            Calibration::Table(table) => Value::Object(table.clone()),
        }
    }

    /// Refuse a raw value that this calibration must not evaluate (too long, nested too
    /// deeply): a set checks this before it stores the value, so one hostile request cannot
    /// leave a value behind that fails every later get.
    pub fn admit(&self, raw: &Value) -> Result<(), ReplyError> {
        match self {
            Calibration::Expression { source, pieces } => {
                evaluate_raw(source, pieces, raw).map(|_| ())
            }
            Calibration::Table(_) => Ok(()),
        }
    }

    /// The calibrated value of `raw`: `Ok(None)` when the expression has no value (asteval
    /// prints the error and returns `None`; dripline-python then leaves `value_cal` out), an
    /// error reply (304) for a raw value missing from a table or refused by the limits.
    pub fn apply(&self, raw: &Value) -> Result<Option<Value>, ReplyError> {
        match self {
            Calibration::Expression { source, pieces } => {
                match evaluate_raw(source, pieces, raw)? {
                    Ok(value) => Ok(to_json(value)),
                    Err((formatted, error)) => {
                        tracing::warn!(calibration = %source, expression = %formatted, "calibration has no value: {error}");
                        Ok(None)
                    }
                }
            }
            Calibration::Table(table) => {
                let key = py_str(raw);
                match table.get(&key) {
                    Some(value) => Ok(Some(value.clone())),
                    None => Err(ReplyError::invalid_value(format!(
                        "raw value <{key}> {} not in cal dict with calibrate dict {}",
                        py_type(raw),
                        py_repr(&Value::Object(table.clone()))
                    ))),
                }
            }
        }
    }
}

/// Split a calibration string at its placeholders, as Python's `str.format` reads it with one
/// positional argument.
fn split_template(source: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let (mut automatic, mut manual) = (0, 0);
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                text.push(c);
            }
            '{' => {
                let mut field = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    closed = c == '}';
                    if closed {
                        break;
                    }
                    field.push(c);
                }
                if !closed {
                    return Err("a '{' is not closed (use '{{' for a brace)".into());
                }
                match field.as_str() {
                    "" => automatic += 1,
                    "0" => manual += 1,
                    _ => {
                        return Err(format!(
                            "only {{}} (the raw value) may be used, not {{{field}}}"
                        ))
                    }
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Raw);
            }
            '}' => return Err("a single '}' (use '}}' for a brace)".into()),
            c => text.push(c),
        }
    }
    if automatic > 1 {
        return Err(
            "{} may appear only once (there is one raw value); use {0} to repeat it".into(),
        );
    }
    if automatic > 0 && manual > 0 {
        return Err("cannot mix {} and {0}".into());
    }
    if automatic + manual > MAX_PLACEHOLDERS {
        return Err(format!(
            "has {} placeholders (at most {MAX_PLACEHOLDERS})",
            automatic + manual
        ));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The template with `raw` in every placeholder (Python's `str.format`).
fn format_with(pieces: &[Piece], raw: &str) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.as_str(),
            Piece::Raw => raw,
        })
        .collect()
}

/// Evaluate the template with `raw` (stripped if a string, as dripline-python does): the
/// value, or the Python error with the formatted expression (no value, not a failure); an
/// error reply (304) when the raw value is beyond the limits.
#[allow(clippy::type_complexity)]
fn evaluate_raw(
    source: &str,
    pieces: &[Piece],
    raw: &Value,
) -> Result<Result<PyValue, (String, EvalError)>, ReplyError> {
    let refuse = |why: String| {
        ReplyError::invalid_value(format!("value refused by calibration '{source}': {why}"))
    };
    let raw_text = match raw {
        Value::String(text) => text.trim().to_string(),
        other => py_str(other),
    };
    let length = raw_text.chars().count();
    if length > MAX_RAW_CHARS {
        return Err(refuse(format!(
            "its text is {length} characters long (at most {MAX_RAW_CHARS})"
        )));
    }
    let nesting = paren_nesting(&raw_text);
    if nesting > MAX_RAW_NESTING {
        return Err(refuse(format!(
            "its text nests parentheses {nesting} deep (at most {MAX_RAW_NESTING})"
        )));
    }
    let formatted = format_with(pieces, &raw_text);
    match evaluate(&formatted) {
        Ok(value) => Ok(Ok(value)),
        Err(EvalError::Limit(why)) => Err(refuse(why)),
        Err(error) => Ok(Err((formatted, error))),
    }
}

/// The deepest nesting of `(` in `text`.
fn paren_nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// An expression result as JSON; `None` for Python `None` and for floats JSON cannot hold
/// (inf, nan).
fn to_json(value: PyValue) -> Option<Value> {
    match value {
        PyValue::None => None,
        PyValue::Bool(flag) => Some(Value::Bool(flag)),
        PyValue::Int(int) => i64::try_from(int)
            .map(Number::from)
            .or_else(|_| u64::try_from(int).map(Number::from))
            .ok()
            .or_else(|| Number::from_f64(int as f64))
            .map(Value::Number),
        PyValue::Float(float) => {
            let number = Number::from_f64(float);
            if number.is_none() {
                tracing::warn!(
                    "calibration result {float} is not a JSON number; value_cal left out"
                );
            }
            number.map(Value::Number)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(source: &str, raw: Value) -> Option<Value> {
        Calibration::expression(source)
            .unwrap()
            .apply(&raw)
            .unwrap()
    }

    #[test]
    fn controls_guide_calibrations() {
        assert_eq!(apply("2*{}", json!(0.75)), Some(json!(1.5)));
        assert_eq!(apply("2*{}", json!(500)), Some(json!(1000)));
        assert!(apply("2*{}", json!(500)).unwrap().is_i64());
        // dl-agent --values 3.5 sends the string "3.5": substituted as text → 7.0.
        assert_eq!(apply("2*{}", json!("3.5")), Some(json!(7.0)));
        assert_eq!(apply("2*{}", json!(" 2.5 ")), Some(json!(5.0)));
        assert_eq!(apply("times3({})", json!(1.75)), None);
        assert_eq!(apply("1.*{}", json!(4.0)), Some(json!(4.0)));
        assert_eq!(apply("1.*{}", json!(4)), Some(json!(4.0)));
    }

    #[test]
    fn failures_leave_value_cal_out() {
        assert_eq!(apply("2*{}", json!("abc")), None);
        assert_eq!(apply("1/{}", json!(0)), None);
        assert_eq!(apply("sqrt({})", json!(-1)), None);
        assert_eq!(apply("{}", json!(null)), None);
        assert_eq!(apply("2*{}", json!(true)), Some(json!(2)));
        assert_eq!(apply("{0} + {0}", json!(2)), Some(json!(4)));
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(Calibration::expression("{x}*2").is_err());
        assert!(Calibration::expression("{1}").is_err());
        assert!(Calibration::expression("{} + {}").is_err());
        assert!(Calibration::expression("{} + {0}").is_err());
        assert!(Calibration::expression("2*{").is_err());
        assert!(Calibration::expression("{} + {")
            .unwrap_err()
            .reason
            .contains("not closed"));
        assert!(Calibration::expression("2}").is_err());
        assert!(Calibration::expression("{:.2f}").is_err());
        assert!(Calibration::expression("{{}}").is_err());
    }

    #[test]
    fn hostile_raw_values_are_refused_with_304_not_evaluated() {
        let calibration = Calibration::expression("2*{}").unwrap();
        for raw in [
            json!("(".repeat(50_000)),
            json!("1".repeat(MAX_RAW_CHARS + 1)),
            json!(format!("{}1{}", "(".repeat(33), ")".repeat(33))),
            json!(format!("{}1", "-".repeat(200))),
        ] {
            let error = calibration.apply(&raw).unwrap_err();
            assert_eq!(error.code.0, 304, "{}", error.message);
            assert!(
                error
                    .message
                    .starts_with("value refused by calibration '2*{}': "),
                "{}",
                error.message
            );
            assert_eq!(calibration.admit(&raw).unwrap_err(), error);
        }
        // At the limits, still evaluated.
        let nested = format!("{}3{}", "(".repeat(32), ")".repeat(32));
        assert_eq!(calibration.apply(&json!(nested)).unwrap(), Some(json!(6)));
        assert!(calibration.admit(&json!("1".repeat(MAX_RAW_CHARS))).is_ok());
        // A table calibration takes any value (a miss is the get's 304, as in dripline-python).
        assert!(Calibration::Table(Map::new())
            .admit(&json!("(".repeat(50_000)))
            .is_ok());
    }

    #[test]
    fn templates_are_checked_once_at_configuration() {
        let long = format!("{}+{{}}", "1+".repeat(MAX_TEMPLATE_CHARS));
        assert!(Calibration::expression(&long)
            .unwrap_err()
            .reason
            .contains("characters long"));
        assert!(Calibration::expression("{0}+{0}+{0}+{0}+{0}")
            .unwrap_err()
            .reason
            .contains("placeholders"));
        let deep = format!("{}{{}}{}", "(".repeat(150), ")".repeat(150));
        assert!(Calibration::expression(&deep)
            .unwrap_err()
            .reason
            .contains("nested"));
        assert!(Calibration::expression("2*{} +")
            .unwrap_err()
            .reason
            .contains("SyntaxError"));
        // A Python error at run time is fine (dripline-python's times3 example).
        assert!(Calibration::expression("times3({})").is_ok());
    }

    #[test]
    fn tables() {
        let mut table = Map::new();
        table.insert("1".into(), json!(true));
        table.insert("0".into(), json!(false));
        table.insert("1.5".into(), json!("high"));
        let calibration = Calibration::Table(table);
        assert_eq!(calibration.apply(&json!(1)).unwrap(), Some(json!(true)));
        assert_eq!(calibration.apply(&json!("0")).unwrap(), Some(json!(false)));
        assert_eq!(calibration.apply(&json!(1.5)).unwrap(), Some(json!("high")));
        let error = calibration.apply(&json!(2.0)).unwrap_err();
        assert_eq!(error.code.0, 304);
        assert_eq!(
            error.message,
            "raw value <2.0> <class 'float'> not in cal dict with calibrate dict {'0': False, '1': True, '1.5': 'high'}"
        );
    }
}
