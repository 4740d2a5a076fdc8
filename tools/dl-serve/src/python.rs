//! How Python (dripline-python) prints values, where our replies must match it:
//! `str()` of a value, `repr()` of a float, `str()` of a `timedelta`.

use serde_json::Value;
use std::time::Duration;

/// Python's `repr(float)` (and `str(float)`): the shortest round-trip digits, in fixed
/// notation with at least one decimal for exponents −4 … 15, else `1e+16` / `1.5e-05`.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "7.5e-1", "-1.2345e3".
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        let text = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs())
    }
}

/// Python's `str()` of a value as dripline-python holds it (JSON → Python objects).
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a value (strings quoted as Python does).
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(number) => match (number.as_i64(), number.as_u64()) {
            (Some(int), _) => int.to_string(),
            (_, Some(int)) => int.to_string(),
            _ => float_repr(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => string_repr(text),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{}: {}", string_repr(key), py_repr(value)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn string_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `type(value)` as printed: `<class 'float'>`.
pub fn py_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(number) if number.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

/// Python's `str(timedelta)`: `0:00:10`, `0:00:00.500000`, `1 day, 2:03:04`.
pub fn timedelta_str(duration: Duration) -> String {
    let total = duration.as_secs();
    let micros = duration.subsec_micros();
    let days = total / 86_400;
    let rest = total % 86_400;
    let clock = format!("{}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
    let clock = if micros > 0 {
        format!("{clock}.{micros:06}")
    } else {
        clock
    };
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        n => format!("{n} days, {clock}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_python() {
        for (x, text) in [
            (0.75, "0.75"),
            (4.0, "4.0"),
            (7.0, "7.0"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.0, "123456789012345.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e300, "1e+300"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(float_repr(x), text, "{x}");
        }
    }

    #[test]
    fn str_and_repr() {
        assert_eq!(py_str(&json!(1.75)), "1.75");
        assert_eq!(py_str(&json!(500)), "500");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!("3.5")), "3.5");
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(
            py_repr(&json!({"1": true, "it's": "x"})),
            "{'1': True, \"it's\": 'x'}"
        );
        assert_eq!(py_repr(&json!([1, 2.0, "a"])), "[1, 2.0, 'a']");
        assert_eq!(py_type(&json!(1.0)), "<class 'float'>");
        assert_eq!(py_type(&json!(1)), "<class 'int'>");
    }

    #[test]
    fn timedeltas() {
        assert_eq!(timedelta_str(Duration::from_secs(10)), "0:00:10");
        assert_eq!(timedelta_str(Duration::from_millis(500)), "0:00:00.500000");
        assert_eq!(timedelta_str(Duration::from_secs(3661)), "1:01:01");
        assert_eq!(
            timedelta_str(Duration::from_secs(86_400 + 5)),
            "1 day, 0:00:05"
        );
        assert_eq!(
            timedelta_str(Duration::from_secs(3 * 86_400)),
            "3 days, 0:00:00"
        );
    }
}
