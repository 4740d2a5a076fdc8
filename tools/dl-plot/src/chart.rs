//! What is drawn, whatever draws it: the series (downsampled), the ranges, where lines break,
//! and the axis ticks (times in the chosen zone, values with a unit).

use crate::args::Gap;
use crate::downsample::{Point, Series};
use crate::zone::Zone;
use chrono::DateTime;

/// Everything a renderer needs.
pub struct Chart {
    /// The series, in the order their sensors first appeared.
    pub series: Vec<Series>,
    /// The zone of the time axis.
    pub zone: Zone,
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
}

/// Tick steps for time axes, in seconds: round numbers of seconds, minutes, hours, days.
const TIME_STEPS: [i64; 22] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172_800, 604_800, 2_592_000, 31_536_000,
];

/// Time ticks: instants at round wall-clock times in a zone.
#[derive(Debug, PartialEq)]
pub struct TimeTicks {
    /// The ticks (µs since the epoch), ascending; the first at or before the axis start, the
    /// last at or after its end.
    pub ticks: Vec<i64>,
    /// The step in wall-clock time (µs). In a zone with daylight saving time, neighbouring
    /// ticks of a step of a day or more can be an hour more or less apart.
    pub step: i64,
}

impl TimeTicks {
    /// The first tick.
    pub fn first(&self) -> i64 {
        self.ticks[0]
    }

    /// The last tick.
    pub fn last(&self) -> i64 {
        self.ticks[self.ticks.len() - 1]
    }

    /// A label for `micros`, with as much of the date and time as the step needs.
    pub fn label(&self, micros: i64, zone: &Zone) -> String {
        time_label(micros, self.step, self.last() - self.first(), zone)
    }
}

/// Time ticks from `start` to `end` (µs): the smallest round step that gives at most
/// `max_ticks` ticks, at round times of the wall clock in `zone` (whole local hours, local
/// midnights), so a named zone's ticks follow its daylight saving time.
pub fn time_ticks(start: i64, end: i64, max_ticks: usize, zone: &Zone) -> TimeTicks {
    let max_ticks = max_ticks.max(2) as i64;
    let end = end.max(start.saturating_add(1));
    // Wall-clock times as µs since the (naive) epoch, where rounding is plain arithmetic.
    let wall = |t: i64| {
        zone.local(t)
            .map_or(t, |local| local.naive_local().and_utc().timestamp_micros())
    };
    let (wall_start, wall_end) = (wall(start), wall(end));
    let year = 31_536_000_000_000_i64;
    // Beyond the largest round step, whole multiples of a year: the count stays bounded
    // whatever the input's timestamps.
    let years = (wall_end.saturating_sub(wall_start) / year / max_ticks + 1).saturating_mul(year);
    let step = TIME_STEPS
        .iter()
        .map(|seconds| seconds * 1_000_000)
        .chain([years])
        .find(|step| {
            let (first, last) = wall_bounds(wall_start, wall_end, *step);
            last.saturating_sub(first) / step < max_ticks
        })
        .unwrap_or(years);
    let (first, last) = wall_bounds(wall_start, wall_end, step);
    let ticks: Vec<i64> = (0..=last.saturating_sub(first) / step)
        .filter_map(|i| {
            let wall = i
                .checked_mul(step)
                .and_then(|offset| first.checked_add(offset))?;
            let wall = DateTime::from_timestamp_micros(wall)?.naive_utc();
            zone.instant(wall)
        })
        .collect();
    if ticks.len() < 2 {
        // Only where every round time fell into a skipped hour: ticks at the ends.
        return TimeTicks {
            ticks: vec![start, end],
            step: end.saturating_sub(start),
        };
    }
    TimeTicks { ticks, step }
}

/// The round wall-clock times at or before `start` and at or after `end`, `step` apart.
fn wall_bounds(start: i64, end: i64, step: i64) -> (i64, i64) {
    let first = start.saturating_sub(start.rem_euclid(step));
    let end = end.saturating_add(step - 1);
    let last = end - end.rem_euclid(step);
    (first, last.max(first.saturating_add(step)))
}

/// A time label for ticks `step` µs apart on an axis spanning `span` µs.
pub fn time_label(micros: i64, step: i64, span: i64, zone: &Zone) -> String {
    let Some(time) = zone.local(micros) else {
        return String::new();
    };
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

/// The most value ticks an axis gets, whatever the values (a bound for extreme inputs, where
/// the step's arithmetic loses precision).
pub const MAX_VALUE_TICKS: usize = 32;

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
        let ticks = time_ticks(hour / 6, 6 * hour - hour / 6, 8, &Zone::utc());
        assert_eq!(
            (ticks.first(), ticks.last(), ticks.step),
            (0, 6 * hour, hour)
        );
        assert_eq!(ticks.ticks.len(), 7);
        // In +05:30, ticks fall on whole local hours.
        let zone = Zone::fixed(19_800);
        let ticks = time_ticks(hour / 6, 6 * hour, 8, &zone);
        assert_eq!(ticks.label(ticks.first(), &zone), "05:00");
    }

    #[test]
    fn daily_ticks_stay_on_local_midnight_across_daylight_saving_time() {
        let zone = Zone::Named(chrono_tz::Europe::Berlin);
        // 2026-03-26 12:00 UTC to 2026-04-02 12:00 UTC; Berlin moves its clocks on 03-29.
        let start = 1_774_526_400_000_000;
        let end = start + 7 * 86_400_000_000;
        let ticks = time_ticks(start, end, 10, &zone);
        assert_eq!(ticks.step, 86_400_000_000);
        let labels: Vec<String> = ticks
            .ticks
            .iter()
            .map(|t| {
                zone.local(*t)
                    .unwrap()
                    .format("%m-%d %H:%M %:z")
                    .to_string()
            })
            .collect();
        assert_eq!(labels[0], "03-26 00:00 +01:00");
        assert!(labels.contains(&"03-29 00:00 +01:00".to_string()));
        assert!(labels.contains(&"03-30 00:00 +02:00".to_string()));
        assert_eq!(labels.last().unwrap(), "04-03 00:00 +02:00");
        // The day the clocks skip an hour is 23 hours long.
        let gaps: Vec<i64> = ticks.ticks.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps.iter().filter(|g| **g == 23 * 3_600_000_000).count(), 1);
    }

    #[test]
    fn hostile_spans_give_a_bounded_number_of_ticks() {
        for (start, end) in [
            (i64::MIN / 4, i64::MAX / 4),
            (i64::MIN, i64::MAX),
            (0, i64::MAX),
        ] {
            let ticks = time_ticks(start, end, 10, &Zone::utc());
            assert!(ticks.ticks.len() <= 12, "{}", ticks.ticks.len());
        }
        let one = time_ticks(5, 5, 10, &Zone::Named(chrono_tz::Europe::Berlin));
        assert!(one.ticks.len() >= 2 && one.first() <= 5 && one.last() >= 5);
    }

    #[test]
    fn value_ticks_are_round() {
        assert_eq!(value_ticks(0.3, 9.7, 5), (0.0, 10.0, 2.0));
        assert_eq!(value_label(0.25, 0.05), "0.25");
        assert_eq!(value_ticks(5.0, 5.0, 4).2, 0.5);
    }
}
