//! The `timestamp` header format: UTC, microseconds, trailing `Z`.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Format a time as dripline does: `2026-11-26T00:29:08.315196Z`.
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parse a `timestamp` header: the dripline form, and also any RFC 3339 time (other
/// precisions or offsets), and a naive `YYYY-MM-DDTHH:MM:SS[.f]` or `YYYY-MM-DD HH:MM:SS[.f]`
/// taken as UTC.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let trimmed = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(trimmed, format) {
            return Ok(naive.and_utc());
        }
    }
    Err(TimestampError {
        text: text.to_string(),
    })
}

/// A `timestamp` header that is not a time.
#[derive(Debug, thiserror::Error)]
#[error("'{text}' is not a timestamp (expected e.g. 2026-11-26T00:29:08.315196Z)")]
pub struct TimestampError {
    /// The text that could not be read.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};

    fn micros(text: &str) -> (String, u32) {
        let t = parse_timestamp(text).unwrap();
        (
            t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            t.nanosecond() / 1000,
        )
    }

    #[test]
    fn dripline_form_round_trips() {
        let text = "2026-11-26T00:29:08.315196Z";
        let t = parse_timestamp(text).unwrap();
        assert_eq!(format_timestamp(t), text);
        assert_eq!(micros(text), ("2026-11-26T00:29:08".into(), 315196));
    }

    #[test]
    fn format_pads_microseconds() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_timestamp(t), "2026-01-02T03:04:05.000000Z");
    }

    #[test]
    fn rfc3339_variants() {
        assert_eq!(
            micros("2026-11-26T00:29:08Z"),
            ("2026-11-26T00:29:08".into(), 0)
        );
        assert_eq!(
            micros("2026-11-26T00:29:08.5Z"),
            ("2026-11-26T00:29:08".into(), 500000)
        );
        assert_eq!(
            micros("2026-11-26T01:29:08.315196+01:00"),
            ("2026-11-26T00:29:08".into(), 315196)
        );
        assert_eq!(
            micros("2026-11-26T00:29:08.315196123Z"),
            ("2026-11-26T00:29:08".into(), 315196)
        );
    }

    #[test]
    fn naive_forms_are_utc() {
        assert_eq!(
            micros("2026-11-26T00:29:08"),
            ("2026-11-26T00:29:08".into(), 0)
        );
        assert_eq!(
            micros("2026-11-26 00:29:08.315196"),
            ("2026-11-26T00:29:08".into(), 315196)
        );
        assert_eq!(
            micros("2026-11-26 00:29:08"),
            ("2026-11-26T00:29:08".into(), 0)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for text in [
            "",
            "yesterday",
            "2026-11-26",
            "2026-13-26T00:29:08Z",
            "2026-11-26T25:00:00",
        ] {
            let err = parse_timestamp(text).unwrap_err();
            assert_eq!(err.text, text);
        }
    }
}
