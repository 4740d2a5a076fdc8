//! The `timestamp` header format: UTC, microseconds, trailing `Z`.

use chrono::{DateTime, Utc};

/// Format a time as dripline does: `2026-11-26T00:29:08.315196Z`.
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parse a `timestamp` header: the dripline form, and also any RFC 3339 time (other
/// precisions or offsets), and a naive `YYYY-MM-DDTHH:MM:SS[.f]` or `YYYY-MM-DD HH:MM:SS[.f]`
/// taken as UTC.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let _ = text;
    todo!()
}

/// A `timestamp` header that is not a time.
#[derive(Debug, thiserror::Error)]
#[error("'{text}' is not a timestamp (expected e.g. 2026-11-26T00:29:08.315196Z)")]
pub struct TimestampError {
    /// The text that could not be read.
    pub text: String,
}
