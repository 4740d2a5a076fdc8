//! Payload conventions (PROTOCOL.md §A2.6).

use serde_json::{Map, Number, Value};

/// Type a command-line word like dl-agent does: `true`/`false` → bool, an integer → number,
/// a float → number, anything else → string.
///
/// Integers become unsigned when they fit a `u64`, else signed when they fit an `i64`; floats
/// include exponent forms (`1e3`) but `nan`/`inf` and overflowing values stay strings.
pub fn infer_value(word: &str) -> Value {
    match word {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if !looks_numeric(word) {
        return Value::String(word.to_string());
    }
    if let Ok(unsigned) = word.parse::<u64>() {
        return Value::Number(unsigned.into());
    }
    if let Ok(signed) = word.parse::<i64>() {
        return Value::Number(signed.into());
    }
    if let Some(number) = word.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(number);
    }
    Value::String(word.to_string())
}

/// Only digits, signs, `.` and `e`/`E`, with at least one digit: keeps Rust's float parser
/// from accepting `nan`, `inf` or `infinity`.
fn looks_numeric(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_digit())
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
}

/// The payload of a set request: `{"values": [value]}`.
pub fn set_payload(value: Value) -> Value {
    let mut map = Map::new();
    map.insert("values".to_string(), Value::Array(vec![value]));
    Value::Object(map)
}

/// `values[0]` of a payload, as a set handler reads it; `None` when there is no such value.
pub fn first_value(payload: &Value) -> Option<&Value> {
    payload.get("values")?.as_array()?.first()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans() {
        assert_eq!(infer_value("true"), json!(true));
        assert_eq!(infer_value("false"), json!(false));
        assert_eq!(infer_value("True"), json!("True"));
        assert_eq!(infer_value("yes"), json!("yes"));
    }

    #[test]
    fn integers() {
        assert_eq!(infer_value("500"), json!(500));
        assert!(infer_value("500").is_u64());
        assert_eq!(infer_value("-3"), json!(-3));
        assert!(infer_value("-3").is_i64());
        assert_eq!(infer_value("18446744073709551615"), json!(u64::MAX));
        assert_eq!(infer_value("-9223372036854775808"), json!(i64::MIN));
        assert_eq!(infer_value("0"), json!(0));
        assert_eq!(infer_value("+7"), json!(7));
    }

    #[test]
    fn floats() {
        assert_eq!(infer_value("3.5"), json!(3.5));
        assert_eq!(infer_value("-0.25"), json!(-0.25));
        assert_eq!(infer_value("1e3"), json!(1000.0));
        assert!(infer_value("1e3").is_f64());
        assert_eq!(infer_value("2.5E-1"), json!(0.25));
        assert_eq!(infer_value(".5"), json!(0.5));
        // Too big for an integer type: a float.
        assert!(infer_value("18446744073709551616").is_f64());
    }

    #[test]
    fn strings() {
        for word in [
            "", "nan", "NaN", "inf", "-inf", "infinity", "1e999", "peaches", "1.2.3", "-", "e",
            "0x10", " 5", "5 ", "1e", "--1", "3.5V",
        ] {
            assert_eq!(
                infer_value(word),
                Value::String(word.to_string()),
                "{word:?}"
            );
        }
    }

    #[test]
    fn payload_helpers() {
        let payload = set_payload(json!(500));
        assert_eq!(payload, json!({"values": [500]}));
        assert_eq!(first_value(&payload), Some(&json!(500)));
        assert_eq!(first_value(&json!({"values": []})), None);
        assert_eq!(first_value(&json!({"values": 3})), None);
        assert_eq!(first_value(&json!(null)), None);
        assert_eq!(first_value(&json!({})), None);
    }
}
