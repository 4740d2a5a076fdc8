//! The `--state` file of incremental exports: where the last run ended.
//!
//! ```json
//! {"dl_export_state": 1, "table": "numeric_data", "mode": "rows",
//!  "last_timestamp": "2026-11-25T10:00:00.000000Z", "last_timestamp_us": 1795600800000000,
//!  "rows_at_last_timestamp": [{"sensor_name": "peaches", "value_raw": "1.5",
//!                              "value_cal": "3.0", "count": 1}]}
//! {"dl_export_state": 1, "table": "numeric_data", "mode": "buckets", "every_us": 60000000,
//!  "next_bucket": "2026-11-25T10:01:00.000000Z", "next_bucket_us": 1795600860000000}
//! ```
//!
//! Values are strings holding Rust's shortest round-trip text of the `f64`, so they read back
//! bit for bit (JSON numbers may not). The `*_us` fields are authoritative; the RFC 3339 texts
//! are for people.

use crate::timefmt::{TimeFormatter, TimeStyle};
use dripline_store::export::{ExportedAt, Resume};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;

/// Where the previous run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Position {
    /// Raw rows: after this timestamp and these rows at it.
    Rows {
        /// µs since the Unix epoch.
        timestamp_micros: i64,
        /// Rows exported at that timestamp.
        exported: Vec<ExportedAt>,
    },
    /// Buckets: the next bucket to export starts here.
    Buckets {
        /// Bucket width the state was written with.
        every_micros: i64,
        /// Start of the next bucket, µs since the Unix epoch.
        next_micros: i64,
    },
}

impl Position {
    /// The resume clause for a rows export.
    pub fn resume(&self) -> Option<Resume> {
        match self {
            Position::Rows {
                timestamp_micros,
                exported,
            } => Some(Resume::AfterRows {
                timestamp_micros: *timestamp_micros,
                exported: exported.clone(),
            }),
            Position::Buckets { .. } => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    dl_export_state: u32,
    table: String,
    #[serde(flatten)]
    position: PositionFile,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum PositionFile {
    Rows {
        last_timestamp: String,
        last_timestamp_us: i64,
        rows_at_last_timestamp: Vec<RowFile>,
    },
    Buckets {
        every_us: i64,
        next_bucket: String,
        next_bucket_us: i64,
    },
}

#[derive(Serialize, Deserialize)]
struct RowFile {
    sensor_name: String,
    value_raw: String,
    value_cal: Option<String>,
    count: u64,
}

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Unreadable or not a state.
    #[error("state file {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Cannot be written.
    #[error("cannot write state file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Read the state at `path`; `None` when the file does not exist yet (first run).
pub fn load(path: &Path, table: &str) -> Result<Option<Position>, StateError> {
    let invalid = |reason: String| StateError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    // The state is replaced by renaming a file over it: a device, FIFO or directory is
    // refused before anything is exported (a FIFO would also block this read).
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(invalid(e.to_string())),
        Ok(meta) if !meta.is_file() => {
            return Err(invalid("not a regular file".to_string()));
        }
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
    let file: StateFile =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not a dl-export state ({e})")))?;
    if file.dl_export_state != VERSION {
        return Err(invalid(format!(
            "written by a newer dl-export (state version {})",
            file.dl_export_state
        )));
    }
    if file.table != table {
        return Err(invalid(format!(
            "belongs to table {}, not {table}",
            file.table
        )));
    }
    let position = match file.position {
        PositionFile::Rows {
            last_timestamp_us,
            rows_at_last_timestamp,
            ..
        } => {
            let float = |text: &str| -> Result<f64, StateError> {
                text.parse::<f64>()
                    .map_err(|_| invalid(format!("'{text}' is not a number")))
            };
            let mut exported = Vec::new();
            for row in rows_at_last_timestamp {
                exported.push(ExportedAt {
                    value_raw: float(&row.value_raw)?,
                    value_cal: row.value_cal.as_deref().map(float).transpose()?,
                    sensor_name: row.sensor_name,
                    count: row.count,
                });
            }
            Position::Rows {
                timestamp_micros: last_timestamp_us,
                exported,
            }
        }
        PositionFile::Buckets {
            every_us,
            next_bucket_us,
            ..
        } => Position::Buckets {
            every_micros: every_us,
            next_micros: next_bucket_us,
        },
    };
    Ok(Some(position))
}

/// Write `position` to `path` atomically (temporary file, fsync, rename).
pub fn save(path: &Path, table: &str, position: &Position) -> Result<(), StateError> {
    let text_time = |micros: i64| {
        let mut out = Vec::new();
        TimeFormatter::new(TimeStyle::Rfc3339).write(&mut out, micros, None);
        String::from_utf8(out).expect("ASCII")
    };
    let position = match position {
        Position::Rows {
            timestamp_micros,
            exported,
        } => PositionFile::Rows {
            last_timestamp: text_time(*timestamp_micros),
            last_timestamp_us: *timestamp_micros,
            rows_at_last_timestamp: exported
                .iter()
                .map(|row| RowFile {
                    sensor_name: row.sensor_name.clone(),
                    value_raw: format!("{:?}", row.value_raw),
                    value_cal: row.value_cal.map(|v| format!("{v:?}")),
                    count: row.count,
                })
                .collect(),
        },
        Position::Buckets {
            every_micros,
            next_micros,
        } => PositionFile::Buckets {
            every_us: *every_micros,
            next_bucket: text_time(*next_micros),
            next_bucket_us: *next_micros,
        },
    };
    let file = StateFile {
        dl_export_state: VERSION,
        table: table.to_string(),
        position,
    };
    let mut text = serde_json::to_string_pretty(&file).expect("state serializes");
    text.push('\n');
    let fail = |source| StateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".dl-export-state.")
        .tempfile_in(directory)
        .map_err(fail)?;
    io::Write::write_all(&mut temporary, text.as_bytes()).map_err(fail)?;
    temporary.as_file().sync_all().map_err(fail)?;
    temporary.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Follows the rows of a run to know the last timestamp and which rows were at it, without
/// allocating per row (names go into a reused arena).
#[derive(Default)]
pub struct Tracker {
    timestamp: Option<i64>,
    names: Vec<u8>,
    rows: Vec<(usize, usize, f64, Option<f64>)>,
}

impl Tracker {
    /// Note one exported row.
    pub fn row(&mut self, sensor: &[u8], timestamp: i64, raw: f64, cal: Option<f64>) {
        if self.timestamp != Some(timestamp) {
            self.timestamp = Some(timestamp);
            self.names.clear();
            self.rows.clear();
        }
        let start = self.names.len();
        self.names.extend_from_slice(sensor);
        self.rows.push((start, self.names.len(), raw, cal));
    }

    /// The position after this run, given the one it started from.
    pub fn position(&self, previous: Option<&Position>) -> Option<Position> {
        let timestamp = self.timestamp?;
        let mut exported: Vec<ExportedAt> = Vec::new();
        if let Some(Position::Rows {
            timestamp_micros,
            exported: before,
        }) = previous
        {
            if *timestamp_micros == timestamp {
                exported.extend(before.iter().cloned());
            }
        }
        for &(start, end, raw, cal) in &self.rows {
            let name = String::from_utf8_lossy(&self.names[start..end]).into_owned();
            let same = |e: &ExportedAt| {
                e.sensor_name == name
                    && e.value_raw.to_bits() == raw.to_bits()
                    && e.value_cal.map(f64::to_bits) == cal.map(f64::to_bits)
            };
            match exported.iter_mut().find(|e| same(e)) {
                Some(entry) => entry.count += 1,
                None => exported.push(ExportedAt {
                    sensor_name: name,
                    value_raw: raw,
                    value_cal: cal,
                    count: 1,
                }),
            }
        }
        Some(Position::Rows {
            timestamp_micros: timestamp,
            exported,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_keeps_rows_at_the_last_timestamp_and_merges() {
        let mut tracker = Tracker::default();
        tracker.row(b"a", 1, 1.0, None);
        tracker.row(b"a", 2, 1.0, None);
        tracker.row(b"b", 2, 0.1, Some(f64::NAN));
        tracker.row(b"a", 2, 1.0, None);
        let previous = Position::Rows {
            timestamp_micros: 2,
            exported: vec![ExportedAt {
                sensor_name: "a".into(),
                value_raw: 1.0,
                value_cal: None,
                count: 3,
            }],
        };
        let Some(Position::Rows { exported, .. }) = tracker.position(Some(&previous)) else {
            panic!("rows position");
        };
        assert_eq!(exported.len(), 2);
        assert_eq!(exported[0].count, 5);
        assert_eq!(exported[1].sensor_name, "b");
        assert!(Tracker::default().position(None).is_none());
    }

    #[test]
    fn round_trip_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        assert_eq!(load(&path, "t").unwrap(), None);
        let position = Position::Rows {
            timestamp_micros: 1_795_564_800_000_001,
            exported: vec![ExportedAt {
                sensor_name: "p\"q".into(),
                value_raw: 0.1 + 0.2,
                value_cal: Some(f64::NEG_INFINITY),
                count: 2,
            }],
        };
        save(&path, "t", &position).unwrap();
        assert_eq!(load(&path, "t").unwrap(), Some(position));
        assert!(load(&path, "other")
            .unwrap_err()
            .to_string()
            .contains("belongs to table t"));
        std::fs::write(&path, "{}").unwrap();
        assert!(load(&path, "t")
            .unwrap_err()
            .to_string()
            .contains("not a dl-export state"));
        for not_a_file in [Path::new("/dev/null"), dir.path()] {
            assert!(load(not_a_file, "t")
                .unwrap_err()
                .to_string()
                .contains("not a regular file"));
        }
    }
}
