//! SQL text we build ourselves. `COPY (SELECT …) TO STDOUT` takes no parameters, so values
//! chosen by the user (sensor names, patterns, times) are written as literals, always through
//! this module: strings and names through postgres-protocol's escapers (re-exported here),
//! numbers and instants through the literal builders below.

/// Quote an identifier (`numeric_data` → `"numeric_data"`) or a string literal (`o'neil` →
/// `'o''neil'`; text with a backslash gets the ` E'…'` form, right whatever
/// `standard_conforming_strings` is), as libpq's `PQescapeIdentifier` and `PQescapeLiteral`.
pub use postgres_protocol::escape::{escape_identifier, escape_literal};

/// A `double precision` literal that reads back as exactly `value` (NaN and infinities too).
pub fn float8_literal(value: f64) -> String {
    if value.is_nan() {
        "'NaN'::float8".to_string()
    } else if value.is_infinite() {
        if value > 0.0 {
            "'Infinity'::float8".to_string()
        } else {
            "'-Infinity'::float8".to_string()
        }
    } else {
        // Rust prints the shortest text that parses back to the same bits.
        format!("'{value:?}'::float8")
    }
}

/// A `timestamptz` literal for an instant in microseconds since the Unix epoch.
pub fn timestamptz_literal(unix_micros: i64) -> String {
    let seconds = unix_micros.div_euclid(1_000_000);
    let micros = unix_micros.rem_euclid(1_000_000);
    match chrono::DateTime::from_timestamp(seconds, 0) {
        Some(time) => format!(
            "'{}.{micros:06}+00'::timestamptz",
            time.format("%Y-%m-%d %H:%M:%S")
        ),
        // Outside chrono's range: let the server do the arithmetic.
        None => format!("(timestamptz 'epoch' + {unix_micros} * interval '1 microsecond')"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(escape_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(escape_literal("peaches"), "'peaches'");
        assert_eq!(escape_literal("o'neil"), "'o''neil'");
        assert_eq!(escape_literal("a\\b'"), " E'a\\\\b'''");
    }

    #[test]
    fn floats_round_trip_as_text() {
        assert_eq!(float8_literal(0.1), "'0.1'::float8");
        assert_eq!(float8_literal(1.0), "'1.0'::float8");
        assert_eq!(float8_literal(-0.0), "'-0.0'::float8");
        assert_eq!(float8_literal(f64::NAN), "'NaN'::float8");
        assert_eq!(float8_literal(f64::NEG_INFINITY), "'-Infinity'::float8");
        assert_eq!(float8_literal(1e300), "'1e300'::float8");
    }

    #[test]
    fn timestamps_keep_microseconds() {
        assert_eq!(
            timestamptz_literal(1_764_028_800_000_001),
            "'2025-11-25 00:00:00.000001+00'::timestamptz"
        );
        assert_eq!(
            timestamptz_literal(-1),
            "'1969-12-31 23:59:59.999999+00'::timestamptz"
        );
    }
}
