//! Turning records into lines of CSV, TSV or JSON: a header, then one line per record.
//!
//! A record is an optional sensor name, a timestamp and value cells. Everything is written into
//! one reused buffer; sensor names are quoted/escaped once and cached, numbers go through
//! `ryu`/`itoa`, so a row costs no allocation.

use crate::args::Format;
use crate::timefmt::TimeFormatter;
use std::collections::HashMap;

/// One value cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// A `double precision` value (`None` for NULL).
    Float(Option<f64>),
    /// A row count (`None` for no data, in wide layouts).
    Count(Option<i64>),
}

impl Cell {
    /// The empty cell of the same kind.
    pub fn empty(self) -> Cell {
        match self {
            Cell::Float(_) => Cell::Float(None),
            Cell::Count(_) => Cell::Count(None),
        }
    }

    /// True when the cell holds no value.
    pub fn is_empty(self) -> bool {
        matches!(self, Cell::Float(None) | Cell::Count(None))
    }
}

/// Writes records of one fixed column layout.
pub struct RecordWriter {
    format: Format,
    names: Vec<String>,
    has_sensor: bool,
    /// JSON: `{"name":` for the first column, `,"name":` for the others.
    json_keys: Vec<Vec<u8>>,
    time: TimeFormatter,
    line: Vec<u8>,
    sensors: HashMap<Vec<u8>, Vec<u8>>,
    floats: ryu::Buffer,
    ints: itoa::Buffer,
}

impl RecordWriter {
    /// A writer for `names`: `sensor_name` first when `has_sensor`, then `timestamp`, then one
    /// name per value cell.
    pub fn new(format: Format, names: Vec<String>, has_sensor: bool, time: TimeFormatter) -> Self {
        let json_keys = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut key = if i == 0 { b"{".to_vec() } else { b",".to_vec() };
                key.extend_from_slice(
                    serde_json::to_string(name)
                        .expect("a string serializes")
                        .as_bytes(),
                );
                key.push(b':');
                key
            })
            .collect();
        Self {
            format,
            names,
            has_sensor,
            json_keys,
            time,
            line: Vec::with_capacity(256),
            sensors: HashMap::new(),
            floats: ryu::Buffer::new(),
            ints: itoa::Buffer::new(),
        }
    }

    fn delimiter(&self) -> u8 {
        match self.format {
            Format::Tsv => b'\t',
            _ => b',',
        }
    }

    /// The header line (CSV/TSV only), without newline.
    pub fn header(&self) -> Option<Vec<u8>> {
        if self.format == Format::Jsonl {
            return None;
        }
        let mut line = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                line.push(self.delimiter());
            }
            line.extend_from_slice(&delimited_field(name.as_bytes(), self.delimiter()));
        }
        Some(line)
    }

    /// Format one record; returns the line without newline.
    pub fn record(
        &mut self,
        sensor: Option<&[u8]>,
        unix_micros: i64,
        utc_offset: Option<i32>,
        cells: &[Cell],
    ) -> &[u8] {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let json = self.format == Format::Jsonl;
        let delimiter = self.delimiter();
        let mut column = 0;
        let mut separator = |line: &mut Vec<u8>, keys: &[Vec<u8>]| {
            if json {
                line.extend_from_slice(&keys[column]);
            } else if column > 0 {
                line.push(delimiter);
            }
            column += 1;
        };
        if self.has_sensor {
            separator(&mut line, &self.json_keys);
            line.extend_from_slice(self.sensor_field(sensor.unwrap_or_default()));
        }
        separator(&mut line, &self.json_keys);
        // Epoch seconds are JSON numbers; RFC 3339 text and ±infinity are strings.
        let quote =
            json && (!self.time.is_numeric() || unix_micros == i64::MAX || unix_micros == i64::MIN);
        if quote {
            line.push(b'"');
        }
        self.time.write(&mut line, unix_micros, utc_offset);
        if quote {
            line.push(b'"');
        }
        for cell in cells {
            separator(&mut line, &self.json_keys);
            self.write_cell(&mut line, *cell);
        }
        if json {
            line.push(b'}');
        }
        self.line = line;
        &self.line
    }
}

impl RecordWriter {
    /// A sensor name as a CSV/TSV field or JSON string, encoded once per name.
    fn sensor_field(&mut self, name: &[u8]) -> &[u8] {
        if !self.sensors.contains_key(name) {
            let encoded = if self.format == Format::Jsonl {
                let text = String::from_utf8_lossy(name);
                serde_json::to_string(&text)
                    .expect("a string serializes")
                    .into_bytes()
            } else {
                delimited_field(name, self.delimiter())
            };
            self.sensors.insert(name.to_vec(), encoded);
        }
        &self.sensors[name]
    }

    /// Append one value: shortest round-trip decimal, NaN/Infinity/-Infinity (strings in JSON),
    /// empty (null in JSON) for none.
    fn write_cell(&mut self, line: &mut Vec<u8>, cell: Cell) {
        let json = self.format == Format::Jsonl;
        match cell {
            Cell::Float(Some(value)) if value.is_finite() => {
                line.extend_from_slice(self.floats.format_finite(value).as_bytes());
            }
            Cell::Float(Some(value)) => {
                let text: &[u8] = if value.is_nan() {
                    b"NaN"
                } else if value > 0.0 {
                    b"Infinity"
                } else {
                    b"-Infinity"
                };
                if json {
                    line.push(b'"');
                    line.extend_from_slice(text);
                    line.push(b'"');
                } else {
                    line.extend_from_slice(text);
                }
            }
            Cell::Count(Some(count)) => {
                line.extend_from_slice(self.ints.format(count).as_bytes());
            }
            Cell::Float(None) | Cell::Count(None) => {
                if json {
                    line.extend_from_slice(b"null");
                }
            }
        }
    }
}

/// One CSV/TSV field, quoted by the csv crate when it needs to be.
fn delimited_field(field: &[u8], delimiter: u8) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    // A whole record, so the writer closes any quotes; then drop its line terminator.
    writer.write_record([field]).expect("writing to memory");
    let mut bytes = writer.into_inner().expect("writing to memory");
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::TimeStyle;

    fn writer(format: Format, style: TimeStyle) -> RecordWriter {
        RecordWriter::new(
            format,
            vec![
                "sensor_name".into(),
                "timestamp".into(),
                "value_raw".into(),
                "value_cal".into(),
            ],
            true,
            TimeFormatter::new(style),
        )
    }

    fn line(w: &mut RecordWriter, sensor: &str, cells: &[Cell]) -> String {
        String::from_utf8(w.record(Some(sensor.as_bytes()), 0, None, cells).to_vec()).unwrap()
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut w = writer(Format::Csv, TimeStyle::Rfc3339);
        assert_eq!(
            String::from_utf8(w.header().unwrap()).unwrap(),
            "sensor_name,timestamp,value_raw,value_cal"
        );
        assert_eq!(
            line(
                &mut w,
                "peaches",
                &[Cell::Float(Some(1.5)), Cell::Float(None)]
            ),
            "peaches,1970-01-01T00:00:00.000000Z,1.5,"
        );
        assert_eq!(
            line(
                &mut w,
                "a,\"b\"",
                &[Cell::Float(Some(f64::NAN)), Cell::Float(Some(-0.0))]
            ),
            "\"a,\"\"b\"\"\",1970-01-01T00:00:00.000000Z,NaN,-0.0"
        );
    }

    #[test]
    fn tsv_uses_tabs() {
        let mut w = writer(Format::Tsv, TimeStyle::Epoch);
        assert_eq!(
            line(
                &mut w,
                "x y",
                &[Cell::Float(Some(2.0)), Cell::Float(Some(1e21))]
            ),
            "x y\t0\t2.0\t1e21"
        );
    }

    #[test]
    fn jsonl_objects_parse_back() {
        let mut w = writer(Format::Jsonl, TimeStyle::Rfc3339);
        assert!(w.header().is_none());
        let text = line(
            &mut w,
            "we\"ird\n",
            &[Cell::Float(Some(f64::INFINITY)), Cell::Float(None)],
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["sensor_name"], "we\"ird\n");
        assert_eq!(value["timestamp"], "1970-01-01T00:00:00.000000Z");
        assert_eq!(value["value_raw"], "Infinity");
        assert!(value["value_cal"].is_null());
        let mut w = writer(Format::Jsonl, TimeStyle::Epoch);
        let text = line(&mut w, "a", &[Cell::Float(Some(0.1)), Cell::Count(Some(7))]);
        assert_eq!(
            text,
            "{\"sensor_name\":\"a\",\"timestamp\":0,\"value_raw\":0.1,\"value_cal\":7}"
        );
    }
}
