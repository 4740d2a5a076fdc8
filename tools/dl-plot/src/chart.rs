//! What is drawn, whatever draws it: the series (downsampled), the ranges, where lines break,
//! and the axis ticks (times in the chosen zone, values with a unit).

use crate::args::Gap;
use crate::downsample::{Point, Series};
use chrono::{DateTime, FixedOffset};

/// Everything a renderer needs.
pub struct Chart {
    /// The series, in the order their sensors first appeared.
    pub series: Vec<Series>,
    /// Seconds east of UTC for the time axis.
    pub offset: i32,
    /// The unit of the values, if given.
    pub unit: Option<String>,
    /// `--gap`, if given.
    pub gap: Option<Gap>,
}

impl Chart {
    /// Earliest and latest time over all series (µs); None when nothing was added.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        self.series
            .iter()
            .filter_map(Series::time_range)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }

    /// Smallest and largest value over `series`.
    pub fn value_range<'a>(series: impl IntoIterator<Item = &'a Series>) -> Option<(f64, f64)> {
        series
            .into_iter()
            .filter_map(Series::value_range)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }

    /// A series' points as runs without gaps (see `--gap`).
    pub fn segments(&self, series: &Series) -> Vec<Vec<Point>> {
        let gap = match self.gap {
            Some(Gap::Never) => f64::INFINITY,
            Some(Gap::After(duration)) => duration.as_micros() as f64,
            None => series.mean_interval().map_or(f64::INFINITY, |m| 3.0 * m),
        };
        // Neighbouring buckets' points can be two bucket widths apart without any gap.
        series.segments(gap.max(2.0 * series.bucket_width() as f64))
    }

    /// The zone of the time axis, as chrono's.
    pub fn zone(&self) -> FixedOffset {
        FixedOffset::east_opt(self.offset).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap())
    }

    /// The zone's name for an axis title: UTC or UTC+02:00.
    pub fn zone_name(&self) -> String {
        if self.offset == 0 {
            "UTC".to_string()
        } else {
            format!("UTC{}", self.zone())
        }
    }
}

/// Tick steps for time axes, in seconds: round numbers of seconds, minutes, hours, days.
const TIME_STEPS: [i64; 22] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172_800, 604_800, 2_592_000, 31_536_000,
];

/// Time ticks: the smallest round step that gives at most `max_ticks` ticks from the tick at
/// or before `start` to the one at or after `end` (µs), aligned in the zone `offset`.
/// Returns (first tick, last tick, step), all in µs.
pub fn time_ticks(start: i64, end: i64, max_ticks: usize, offset: i32) -> (i64, i64, i64) {
    let max_ticks = max_ticks.max(2) as i64;
    let shift = offset as i64 * 1_000_000;
    let mut chosen = (start, end.max(start + 1), (end - start).max(1));
    for seconds in TIME_STEPS {
        let step = seconds * 1_000_000;
        let first = (start + shift).div_euclid(step) * step - shift;
        let last = (end + shift + step - 1).div_euclid(step) * step - shift;
        let last = last.max(first + step);
        chosen = (first, last, step);
        if (last - first) / step < max_ticks {
            break;
        }
    }
    chosen
}

/// A time label for ticks `step` µs apart on an axis spanning `span` µs.
pub fn time_label(micros: i64, step: i64, span: i64, zone: FixedOffset) -> String {
    let Some(time) = DateTime::from_timestamp_micros(micros) else {
        return String::new();
    };
    let time = time.with_timezone(&zone);
    let day = 86_400_000_000;
    let format = if step >= day {
        "%Y-%m-%d"
    } else if span > day {
        "%m-%d %H:%M"
    } else if step >= 60_000_000 {
        "%H:%M"
    } else {
        "%H:%M:%S"
    };
    time.format(format).to_string()
}

/// Value ticks: a round step (1, 2 or 5 × 10^k) giving at most `max_ticks` ticks; returns the
/// tick at or below `lo`, the one at or above `hi`, and the step.
pub fn value_ticks(lo: f64, hi: f64, max_ticks: usize) -> (f64, f64, f64) {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    };
    let raw = (hi - lo) / max_ticks.max(2) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

/// A value label with as many decimals as the step needs, and the unit.
pub fn value_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let value = if value.abs() < step / 2.0 { 0.0 } else { value };
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_are_round_in_the_zone() {
        let hour = 3_600_000_000;
        // 00:10 to 05:50 UTC, at most 8 ticks: hourly, from 00:00 to 06:00.
        let (first, last, step) = time_ticks(hour / 6, 6 * hour - hour / 6, 8, 0);
        assert_eq!((first, last, step), (0, 6 * hour, hour));
        // In +05:30, ticks fall on whole local hours.
        let zone = FixedOffset::east_opt(19_800).unwrap();
        let (first, _, step) = time_ticks(hour / 6, 6 * hour, 8, 19_800);
        assert_eq!(time_label(first, step, 6 * hour, zone), "05:00");
    }

    #[test]
    fn value_ticks_are_round() {
        assert_eq!(value_ticks(0.3, 9.7, 5), (0.0, 10.0, 2.0));
        assert_eq!(value_label(0.25, 0.05), "0.25");
        assert_eq!(value_ticks(5.0, 5.0, 4).2, 0.5);
    }
}
