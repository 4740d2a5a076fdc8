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
            TimeSpec::Ago(duration) => write!(f, "{} ago", humantime::format_duration(*duration)),
            TimeSpec::At(time) => f.write_str(&time.to_rfc3339()),
            TimeSpec::Local(time) => write!(f, "{}", time.format("%Y-%m-%d %H:%M:%S%.f")),
        }
    }
}

/// The longest time zone text taken (IANA names are under 40 characters).
const MAX_ZONE_LEN: usize = 64;

/// A session time zone as users write it: an ISO 8601 offset east of UTC (`+02:00`, `-0530`,
/// `+02`, `Z`) or a name the database knows (`Europe/Berlin`, `UTC`).
///
/// PostgreSQL reads a bare offset given to `SET TIME ZONE` as a POSIX zone, whose sign is the
/// other way round (`'+02:00'` there is two hours *west* of UTC); [`TimeZone::set_sql`] sets an
/// offset as an interval instead, which keeps the ISO meaning. POSIX-style text with a sign
/// (`UTC+2`, `CET-1`, `Etc/GMT+2`, `<+02>-02`) is refused: its sign means the opposite of what
/// most readers expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeZone {
    /// A fixed offset, seconds east of UTC.
    Offset(i32),
    /// A zone name, resolved by the server.
    Named(String),
}

/// A `--tz` that is refused before it reaches the database.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimeZoneError {
    /// POSIX-style text with a sign, whose sign PostgreSQL reads the other way round.
    #[error("'{text}' is a POSIX-style zone whose sign means the opposite of ISO 8601 (UTC+2 is 2 hours west of UTC there); write an ISO offset east of UTC (+02:00 for UTC+2, -05:30) or a zone name (Europe/Berlin)")]
    Posix {
        /// The text given.
        text: String,
    },
    /// Not an offset and not a plausible name (empty, too long, control characters, an offset
    /// out of range).
    #[error("'{text}' is not a time zone: write an ISO offset east of UTC (+02:00, -05:30, Z) or a zone name (UTC, Europe/Berlin)")]
    Invalid {
        /// The text given (shortened when long).
        text: String,
    },
}

impl FromStr for TimeZone {
    type Err = TimeZoneError;

    fn from_str(text: &str) -> Result<Self, TimeZoneError> {
        let trimmed = text.trim();
        let invalid = || TimeZoneError::Invalid {
            text: trimmed.chars().take(MAX_ZONE_LEN).collect(),
        };
        if trimmed.is_empty()
            || trimmed.len() > MAX_ZONE_LEN
            || trimmed.chars().any(char::is_control)
        {
            return Err(invalid());
        }
        if trimmed == "Z" || trimmed == "z" {
            return Ok(TimeZone::Offset(0));
        }
        if trimmed.starts_with(['+', '-']) {
            return iso_offset(trimmed)
                .map(TimeZone::Offset)
                .ok_or_else(invalid);
        }
        let signed_number = trimmed
            .as_bytes()
            .windows(2)
            .any(|pair| matches!(pair[0], b'+' | b'-') && pair[1].is_ascii_digit());
        if signed_number {
            return Err(TimeZoneError::Posix {
                text: trimmed.to_string(),
            });
        }
        if trimmed.bytes().all(|b| b.is_ascii_digit() || b == b':') {
            // `2`, `0200`: an offset without its sign.
            return Err(invalid());
        }
        Ok(TimeZone::Named(trimmed.to_string()))
    }
}

/// Seconds east of UTC of `+HH:MM`, `+HHMM`, `+HH` or `+H` (or `-`); hours 0–23, minutes 0–59.
fn iso_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.split_at(1) {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = match (rest.len(), rest.split_once(':')) {
        (_, Some((h, m))) if m.len() == 2 => (h, m),
        (4, None) => rest.split_at(2),
        (1 | 2, None) => (rest, "0"),
        _ => return None,
    };
    if hours.is_empty()
        || hours.len() > 2
        || !(hours.bytes().chain(minutes.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

impl TimeZone {
    /// The `SET TIME ZONE` statement for this zone (an offset as an interval, which PostgreSQL
    /// reads with the ISO sign; a name as a literal).
    pub fn set_sql(&self) -> String {
        match self {
            TimeZone::Offset(seconds) => {
                let minutes = seconds.unsigned_abs() / 60;
                format!(
                    "SET TIME ZONE INTERVAL '{}{:02}:{:02}' HOUR TO MINUTE",
                    if *seconds < 0 { '-' } else { '+' },
                    minutes / 60,
                    minutes % 60
                )
            }
            TimeZone::Named(name) => format!("SET TIME ZONE {}", crate::sql::escape_literal(name)),
        }
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeZone::Offset(seconds) => {
                let minutes = seconds.unsigned_abs() / 60;
                let sign = if *seconds < 0 { '-' } else { '+' };
                write!(f, "{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
            TimeZone::Named(name) => f.write_str(name),
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
    fn iso_offsets_are_east_of_utc() {
        let zone = |text: &str| text.parse::<TimeZone>();
        assert_eq!(zone("+02:00"), Ok(TimeZone::Offset(7200)));
        assert_eq!(zone("-05:30"), Ok(TimeZone::Offset(-19_800)));
        assert_eq!(zone("+0545"), Ok(TimeZone::Offset(20_700)));
        assert_eq!(zone("+2"), Ok(TimeZone::Offset(7200)));
        assert_eq!(zone("-00"), Ok(TimeZone::Offset(0)));
        assert_eq!(zone("Z"), Ok(TimeZone::Offset(0)));
        assert_eq!(
            zone("Europe/Berlin"),
            Ok(TimeZone::Named("Europe/Berlin".into()))
        );
        assert_eq!(
            zone("America/Port-au-Prince"),
            Ok(TimeZone::Named("America/Port-au-Prince".into()))
        );
        assert_eq!(
            TimeZone::Offset(-19_800).set_sql(),
            "SET TIME ZONE INTERVAL '-05:30' HOUR TO MINUTE"
        );
        assert_eq!(
            TimeZone::Named("o'zone".into()).set_sql(),
            "SET TIME ZONE 'o''zone'"
        );
        assert_eq!(TimeZone::Offset(20_700).to_string(), "+05:45");
    }

    #[test]
    fn posix_and_broken_zones_are_refused() {
        for text in ["UTC+2", "GMT-05:00", "CET-1CEST", "Etc/GMT+2", "<+02>-02"] {
            let error = text.parse::<TimeZone>().unwrap_err();
            assert!(matches!(error, TimeZoneError::Posix { .. }), "{text}");
            assert!(error.to_string().contains("+02:00 for UTC+2"), "{error}");
        }
        for text in ["", "+24:00", "+02:60", "+123", "2", "0200", "+2:0", "a\nb"] {
            assert!(
                matches!(text.parse::<TimeZone>(), Err(TimeZoneError::Invalid { .. })),
                "{text:?}"
            );
        }
        assert!("x".repeat(65).parse::<TimeZone>().is_err());
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
