//! Fast timestamp text for millions of rows: RFC 3339 with microseconds, or epoch seconds.
//! (chrono's formatter parses its format string for every call; this writes digits directly
//! and reuses the date text while consecutive rows share a day.)

/// How timestamps are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeStyle {
    /// `2026-11-25T00:00:00.000000Z`, or with the row's offset (`+01:00`) when one is given.
    Rfc3339,
    /// `1795564800.25`: seconds since the Unix epoch, microseconds kept, no trailing zeros.
    Epoch,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Writes timestamps, caching the current day's date text.
pub struct TimeFormatter {
    style: TimeStyle,
    day: i64,
    date: Vec<u8>,
}

impl TimeFormatter {
    /// A formatter in `style`.
    pub fn new(style: TimeStyle) -> Self {
        Self {
            style,
            day: i64::MIN,
            date: Vec::with_capacity(16),
        }
    }

    /// True when the output is a JSON number rather than a string.
    pub fn is_numeric(&self) -> bool {
        self.style == TimeStyle::Epoch
    }

    /// Append the text of `unix_micros` (with `offset_seconds` east of UTC, if any) to `out`.
    pub fn write(&mut self, out: &mut Vec<u8>, unix_micros: i64, offset_seconds: Option<i32>) {
        match (unix_micros, self.style) {
            (i64::MAX, _) => out.extend_from_slice(b"infinity"),
            (i64::MIN, _) => out.extend_from_slice(b"-infinity"),
            (_, TimeStyle::Epoch) => write_epoch(out, unix_micros),
            (_, TimeStyle::Rfc3339) => self.write_rfc3339(out, unix_micros, offset_seconds),
        }
    }

    fn write_rfc3339(&mut self, out: &mut Vec<u8>, unix_micros: i64, offset: Option<i32>) {
        let local = unix_micros.saturating_add(i64::from(offset.unwrap_or(0)) * 1_000_000);
        let day = local.div_euclid(MICROS_PER_DAY);
        let mut in_day = local.rem_euclid(MICROS_PER_DAY);
        if day != self.day {
            self.day = day;
            self.date.clear();
            let (year, month, mday) = civil_from_days(day);
            if (0..=9999).contains(&year) {
                push_digits(&mut self.date, year as u64, 4);
            } else {
                self.date
                    .extend_from_slice(format!("{year:+05}").as_bytes());
            }
            self.date.push(b'-');
            push_digits(&mut self.date, u64::from(month), 2);
            self.date.push(b'-');
            push_digits(&mut self.date, u64::from(mday), 2);
            self.date.push(b'T');
        }
        out.extend_from_slice(&self.date);
        let micros = (in_day % 1_000_000) as u64;
        in_day /= 1_000_000;
        let (hour, minute, second) = (in_day / 3600, in_day / 60 % 60, in_day % 60);
        push_digits(out, hour as u64, 2);
        out.push(b':');
        push_digits(out, minute as u64, 2);
        out.push(b':');
        push_digits(out, second as u64, 2);
        out.push(b'.');
        push_digits(out, micros, 6);
        match offset {
            None => out.push(b'Z'),
            Some(offset) => {
                out.push(if offset < 0 { b'-' } else { b'+' });
                let minutes = offset.unsigned_abs() / 60;
                push_digits(out, u64::from(minutes / 60), 2);
                out.push(b':');
                push_digits(out, u64::from(minutes % 60), 2);
            }
        }
    }
}

fn write_epoch(out: &mut Vec<u8>, unix_micros: i64) {
    let magnitude = unix_micros.unsigned_abs();
    if unix_micros < 0 {
        out.push(b'-');
    }
    let mut buffer = itoa::Buffer::new();
    out.extend_from_slice(buffer.format(magnitude / 1_000_000).as_bytes());
    let mut fraction = magnitude % 1_000_000;
    if fraction != 0 {
        let mut width = 6;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        out.push(b'.');
        push_digits(out, fraction, width);
    }
}

/// Append `value` as exactly `width` decimal digits (zero-padded).
fn push_digits(out: &mut Vec<u8>, value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    let mut value = value;
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn rfc(micros: i64, offset: Option<i32>) -> String {
        let mut out = Vec::new();
        TimeFormatter::new(TimeStyle::Rfc3339).write(&mut out, micros, offset);
        String::from_utf8(out).unwrap()
    }

    fn epoch(micros: i64) -> String {
        let mut out = Vec::new();
        TimeFormatter::new(TimeStyle::Epoch).write(&mut out, micros, None);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_chrono_over_many_days() {
        let mut formatter = TimeFormatter::new(TimeStyle::Rfc3339);
        let mut micros = -5_000_000_000_000_000i64; // 1811
        while micros < 7_000_000_000_000_000 {
            let mut out = Vec::new();
            formatter.write(&mut out, micros, None);
            let expected = DateTime::<Utc>::from_timestamp_micros(micros)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
            micros += 86_399_999_999 + 1234;
        }
    }

    #[test]
    fn offsets_and_specials() {
        assert_eq!(rfc(0, None), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc(0, Some(3600)), "1970-01-01T01:00:00.000000+01:00");
        assert_eq!(rfc(0, Some(-34_200)), "1969-12-31T14:30:00.000000-09:30");
        assert_eq!(rfc(i64::MAX, None), "infinity");
        assert_eq!(rfc(i64::MIN, Some(0)), "-infinity");
    }

    #[test]
    fn epoch_seconds() {
        assert_eq!(epoch(1_795_564_800_000_000), "1795564800");
        assert_eq!(epoch(1_795_564_800_250_000), "1795564800.25");
        assert_eq!(epoch(1), "0.000001");
        assert_eq!(epoch(-500_000), "-0.5");
    }
}
