//! The rows: per sensor, its last value and the values within the window.

use crate::Sort;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// The most sensors shown; more are counted.
pub const MAX_ROWS: usize = 1000;
/// The most values kept per sensor for the sparkline and rate.
const MAX_HISTORY: usize = 600;

/// One sensor's row.
pub struct Row {
    /// The last value as shown.
    pub shown: String,
    /// When the last alert came.
    pub at: Instant,
    /// (arrival, numeric value) within the window, oldest first.
    history: VecDeque<(Instant, Option<f64>)>,
}

/// Every sensor seen.
pub struct Table {
    rows: BTreeMap<String, Row>,
    window: Duration,
    /// Sensors not shown because the table was full.
    pub dropped: u64,
}

impl Table {
    /// An empty table whose rates and sparklines look back `window`.
    pub fn new(window: Duration) -> Self {
        Table {
            rows: BTreeMap::new(),
            window,
            dropped: 0,
        }
    }

    /// Note an alert on `routing_key` with `payload`, arrived `now`.
    pub fn add(&mut self, routing_key: &str, payload: &Value, now: Instant) {
        let name = routing_key
            .strip_prefix("sensor_value.")
            .unwrap_or(routing_key);
        let value = ["value_cal", "value_raw"]
            .iter()
            .find_map(|key| payload.get(key).filter(|v| !v.is_null()))
            .unwrap_or(payload);
        let number = value.as_f64();
        let shown: String = match value {
            Value::String(text) => text.chars().take(40).collect(),
            other => other.to_string().chars().take(40).collect(),
        };
        if !self.rows.contains_key(name) && self.rows.len() >= MAX_ROWS {
            self.dropped += 1;
            return;
        }
        let row = self.rows.entry(name.to_string()).or_insert_with(|| Row {
            shown: String::new(),
            at: now,
            history: VecDeque::new(),
        });
        row.shown = shown;
        row.at = now;
        row.history.push_back((now, number));
        if row.history.len() > MAX_HISTORY {
            row.history.pop_front();
        }
    }

    /// Forget values older than the window.
    pub fn expire(&mut self, now: Instant) {
        for row in self.rows.values_mut() {
            while row
                .history
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > self.window)
            {
                row.history.pop_front();
            }
        }
    }

    /// Alerts per minute over the window.
    pub fn rate(&self, row: &Row) -> f64 {
        row.history.len() as f64 * 60.0 / self.window.as_secs_f64().max(1.0)
    }

    /// The rows in `sort` order.
    pub fn sorted(&self, sort: Sort) -> Vec<(&String, &Row)> {
        let mut rows: Vec<(&String, &Row)> = self.rows.iter().collect();
        match sort {
            Sort::Name => {}
            Sort::Age => rows.sort_by_key(|row| std::cmp::Reverse(row.1.at)),
            Sort::Rate => rows.sort_by(|a, b| self.rate(b.1).total_cmp(&self.rate(a.1))),
        }
        rows
    }

    /// A sparkline of the row's numeric values, `width` characters, newest on the right.
    pub fn sparkline(row: &Row, width: usize) -> String {
        const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let values: Vec<f64> = row.history.iter().filter_map(|(_, v)| *v).collect();
        let values = &values[values.len().saturating_sub(width)..];
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        values
            .iter()
            .map(|v| {
                let level = if hi > lo {
                    (v - lo) / (hi - lo) * 7.0
                } else {
                    3.0
                };
                BARS[(level.round() as usize).min(7)]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_values_and_sparklines() {
        let now = Instant::now();
        let mut table = Table::new(Duration::from_secs(60));
        for i in 0..8 {
            table.add(
                "sensor_value.ramp",
                &json!({"value_raw": i, "value_cal": i * 2}),
                now,
            );
        }
        table.add("sensor_value.text", &json!("hello"), now);
        let rows = table.sorted(Sort::Name);
        assert_eq!(rows[0].0, "ramp");
        assert_eq!(rows[0].1.shown, "14");
        assert_eq!(Table::sparkline(rows[0].1, 20), "▁▂▃▄▅▆▇█");
        assert_eq!(rows[1].1.shown, "hello");
        assert_eq!(table.rate(rows[0].1), 8.0);
    }
}
