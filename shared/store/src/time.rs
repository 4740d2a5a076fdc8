//! Times as users write them (`--since 24h`, `--until 2026-11-25T00:00:00Z`, `now`), and their
//! resolution by the database, so that "now" is the server's clock (the one `numeric_data`'s
//! `DEFAULT now()` uses) and times without an offset are read in the session's time zone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

/// A point in time as given on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// `now`.
    Now,
    /// A humantime duration before now: `24h`, `90m`, `1d 12h`, `2weeks` (an `ago` suffix is
    /// allowed).
    Ago(Duration),
    /// An RFC 3339 / ISO 8601 time with an offset: `2026-11-25T00:00:00Z`.
    At(DateTime<FixedOffset>),
    /// A date or time without offset (`2026-11-25`, `2026-11-25 08:00`), read in the session's
    /// time zone (UTC unless the tool sets one).
    Local(NaiveDateTime),
}

/// A time that could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{text}' is not a time: use a duration before now (24h, 90m, \"1d 12h\"), an RFC 3339 time (2026-11-25T00:00:00Z), a date (2026-11-25) or now")]
pub struct TimeSpecError {
    /// The text given.
    pub text: String,
}

impl FromStr for TimeSpec {
    type Err = TimeSpecError;

    fn from_str(text: &str) -> Result<Self, TimeSpecError> {
        let trimmed = text.trim();
        let fail = || TimeSpecError {
            text: text.to_string(),
        };
        if trimmed.eq_ignore_ascii_case("now") {
            return Ok(TimeSpec::Now);
        }
        if let Ok(time) = DateTime::parse_from_rfc3339(trimmed) {
            return Ok(TimeSpec::At(time));
        }
        // ISO 8601 forms chrono's RFC 3339 parser refuses: no seconds, `+0100`, space.
        for format in [
            "%Y-%m-%dT%H:%M%:z",
            "%Y-%m-%d %H:%M%:z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
        ] {
            if let Ok(time) = DateTime::parse_from_str(trimmed, format) {
                return Ok(TimeSpec::At(time));
            }
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(time) = NaiveDateTime::parse_from_str(trimmed, format) {
                return Ok(TimeSpec::Local(time));
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
            return Ok(TimeSpec::Local(date.and_hms_opt(0, 0, 0).ok_or_else(fail)?));
        }
        let duration_text = trimmed
            .strip_suffix("ago")
            .map(str::trim_end)
            .unwrap_or(trimmed);
        if duration_text.starts_with(|c: char| c.is_ascii_digit()) {
            if let Ok(duration) = humantime_like(duration_text) {
                return Ok(TimeSpec::Ago(duration));
            }
        }
        Err(fail())
    }
}

/// humantime's duration grammar (`1h 30m`, `2days`, `500ms`), and bare seconds.
fn humantime_like(text: &str) -> Result<Duration, ()> {
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(Duration::from_secs_f64(seconds));
        }
        return Err(());
    }
    humantime::parse_duration(text).map_err(|_| ())
}

impl TimeSpec {
    /// A SQL expression of type `timestamptz` for this time, evaluated by the server
    /// (`now()` is the start of the current transaction).
    pub fn sql(&self) -> String {
        match self {
            TimeSpec::Now => "now()".to_string(),
            TimeSpec::Ago(duration) => format!(
                "(now() - {} * interval '1 microsecond')",
                duration.as_micros().min(i64::MAX as u128)
            ),
            TimeSpec::At(time) => format!(
                "'{}'::timestamptz",
                time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            ),
            TimeSpec::Local(time) => {
                format!("'{}'::timestamptz", time.format("%Y-%m-%d %H:%M:%S%.f"))
            }
        }
    }
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSpec::Now => f.write_str("now"),
            TimeSpec::Ago(duration) => write!(f, "{}s ago", duration.as_secs_f64()),
            TimeSpec::At(time) => f.write_str(&time.to_rfc3339()),
            TimeSpec::Local(time) => write!(f, "{}", time.format("%Y-%m-%d %H:%M:%S%.f")),
        }
    }
}

/// Resolve times on the server, in one statement (so all share one `now()`): microseconds since
/// the Unix epoch for each. Times without offset are read in the session's `TimeZone`.
pub async fn resolve(
    client: &tokio_postgres::Client,
    times: &[&TimeSpec],
) -> Result<Vec<i64>, crate::StoreError> {
    if times.is_empty() {
        return Ok(Vec::new());
    }
    let columns: Vec<String> = times
        .iter()
        .map(|t| format!("(extract(epoch FROM {}) * 1000000)::numeric::int8", t.sql()))
        .collect();
    let row = client
        .query_one(&format!("SELECT {}", columns.join(", ")), &[])
        .await
        .map_err(|e| crate::StoreError::query("resolving --since/--until", &e))?;
    Ok((0..times.len()).map(|i| row.get::<_, i64>(i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> TimeSpec {
        text.parse().unwrap()
    }

    #[test]
    fn durations_dates_and_times() {
        assert_eq!(parse("now"), TimeSpec::Now);
        assert_eq!(parse("24h"), TimeSpec::Ago(Duration::from_secs(86_400)));
        assert_eq!(parse("1d 12h"), TimeSpec::Ago(Duration::from_secs(129_600)));
        assert_eq!(parse("90m ago"), TimeSpec::Ago(Duration::from_secs(5_400)));
        assert_eq!(
            parse("2weeks"),
            TimeSpec::Ago(Duration::from_secs(1_209_600))
        );
        assert_eq!(parse("30"), TimeSpec::Ago(Duration::from_secs(30)));
        assert!(matches!(parse("2026-11-25T00:00:00Z"), TimeSpec::At(_)));
        assert!(matches!(
            parse("2026-11-25T01:00:00.5+01:00"),
            TimeSpec::At(_)
        ));
        assert!(matches!(parse("2026-11-25T01:00+01:00"), TimeSpec::At(_)));
        assert!(matches!(parse("2026-11-25"), TimeSpec::Local(_)));
        assert!(matches!(parse("2026-11-25 08:00"), TimeSpec::Local(_)));
    }

    #[test]
    fn bad_times_are_named() {
        let error = "yesterdayy".parse::<TimeSpec>().unwrap_err();
        assert!(error.to_string().starts_with("'yesterdayy' is not a time"));
        assert!("24 parsecs".parse::<TimeSpec>().is_err());
        assert!("2026-13-01".parse::<TimeSpec>().is_err());
        assert!("-5h".parse::<TimeSpec>().is_err());
    }

    #[test]
    fn sql_forms() {
        assert_eq!(parse("now").sql(), "now()");
        assert_eq!(
            parse("1s").sql(),
            "(now() - 1000000 * interval '1 microsecond')"
        );
        assert_eq!(
            parse("2026-11-25T00:00:00Z").sql(),
            "'2026-11-25T00:00:00+00:00'::timestamptz"
        );
        assert_eq!(
            parse("2026-11-25").sql(),
            "'2026-11-25 00:00:00'::timestamptz"
        );
    }
}
