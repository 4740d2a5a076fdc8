//! Alerts gathered for one transaction, each row remembering where it came from.

use crate::alert::Row;
use chrono::{DateTime, Utc};
use dripline_store::{JsonRow, NumericRow};
use std::time::{Duration, Instant};

/// The rows of one transaction and the alerts that could not be stored. `O` is where an alert
/// came from (its raw deliveries, or its stdin line number), so that a row the database
/// refuses can still be reported or passed on.
pub struct Batch<O> {
    /// Rows for the numeric table.
    pub numeric: Vec<NumericRow>,
    numeric_origins: Vec<O>,
    /// Rows for the JSON table.
    pub json: Vec<JsonRow>,
    json_origins: Vec<O>,
    /// Alerts that cannot be stored, with the reason.
    pub poison: Vec<(O, String)>,
    /// When the first alert of the batch arrived.
    started: Option<Instant>,
    /// The newest alert timestamp among the rows (for the lag metric).
    pub newest: Option<DateTime<Utc>>,
}

impl<O> Default for Batch<O> {
    fn default() -> Self {
        Batch {
            numeric: Vec::new(),
            numeric_origins: Vec::new(),
            json: Vec::new(),
            json_origins: Vec::new(),
            poison: Vec::new(),
            started: None,
            newest: None,
        }
    }
}

impl<O> Batch<O> {
    /// Add one alert: its row, or why it cannot be stored.
    pub fn push(&mut self, row: Result<Row, String>, origin: O) {
        self.started.get_or_insert_with(Instant::now);
        match row {
            Ok(Row::Numeric(row)) => {
                self.note_time(row.timestamp);
                self.numeric.push(row);
                self.numeric_origins.push(origin);
            }
            Ok(Row::Json(row)) => {
                self.note_time(row.timestamp);
                self.json.push(row);
                self.json_origins.push(origin);
            }
            Err(reason) => self.poison.push((origin, reason)),
        }
    }

    fn note_time(&mut self, time: DateTime<Utc>) {
        if self.newest.is_none_or(|newest| time > newest) {
            self.newest = Some(time);
        }
    }

    /// Alerts in the batch (rows and poison).
    pub fn len(&self) -> usize {
        self.numeric.len() + self.json.len() + self.poison.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows to write.
    pub fn rows(&self) -> usize {
        self.numeric.len() + self.json.len()
    }

    /// When the batch must be committed at the latest (`None` while it is empty).
    pub fn deadline(&self, longest_wait: Duration) -> Option<Instant> {
        self.started.map(|started| started + longest_wait)
    }

    /// Whether the batch must be written now: it holds `size` alerts, or its first alert has
    /// waited `longest_wait`.
    pub fn is_due(&self, size: usize, longest_wait: Duration) -> bool {
        self.len() >= size
            || self
                .deadline(longest_wait)
                .is_some_and(|deadline| deadline <= Instant::now())
    }

    /// Move rows the database refused (indexes into `numeric` and `json`, with the reason)
    /// to the poison list, from the highest index down so that lower indexes stay valid.
    pub fn refuse_rows(
        &mut self,
        mut numeric: Vec<(usize, String)>,
        mut json: Vec<(usize, String)>,
    ) {
        numeric.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
        for (index, reason) in numeric {
            self.numeric.remove(index);
            let origin = self.numeric_origins.remove(index);
            self.poison.push((origin, reason));
        }
        json.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
        for (index, reason) in json {
            self.json.remove(index);
            let origin = self.json_origins.remove(index);
            self.poison.push((origin, reason));
        }
    }
}

/// Wait until a batch's [`Batch::deadline`]; for ever while there is none (empty batch).
pub async fn sleep_until_deadline(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{classify, AlertParts};
    use serde_json::json;

    fn alert(value: serde_json::Value) -> Result<Row, String> {
        classify(AlertParts {
            routing_key: "sensor_value.s",
            timestamp: "2026-11-26T05:00:00Z",
            message_id: "",
            payload: value,
        })
    }

    #[test]
    fn rows_keep_their_origins_when_some_are_refused() {
        let mut batch = Batch::default();
        assert!(batch.deadline(Duration::from_secs(1)).is_none());
        batch.push(alert(json!({"value_raw": 1})), 1);
        batch.push(alert(json!({"value_raw": "x"})), 2);
        batch.push(alert(json!({"value_raw": 3})), 3);
        batch.push(alert(json!({})), 4);
        assert_eq!((batch.len(), batch.rows(), batch.poison.len()), (4, 3, 1));
        assert!(batch.deadline(Duration::from_secs(1)).is_some());
        batch.refuse_rows(vec![(0, "bad".into())], vec![(0, "worse".into())]);
        assert_eq!(batch.numeric.len(), 1);
        assert_eq!(batch.numeric[0].value_raw, 3.0);
        let origins: Vec<_> = batch.poison.iter().map(|(origin, _)| *origin).collect();
        assert_eq!(origins, vec![4, 1, 2]);
    }
}
