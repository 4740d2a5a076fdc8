//! Reading what `dl-export` prints: JSON lines or CSV/TSV with a header, one row per sensor
//! and time. The first non-blank line decides: `{` starts JSON lines, anything else is the
//! CSV header (tab-separated when it holds a tab).
//!
//! The value plotted is `value_cal` or `value_raw` (`--value`), or, from a downsampled export
//! (`--every`), `value_cal_mean` (else the first `value_cal_<agg>` column). Timestamps are
//! RFC 3339 (any offset) or seconds since the epoch (`dl-export --epoch`).

use crate::args::ValueChoice;
use chrono::DateTime;
use dripline_cli::jsonl::InputLine;
use serde_json::Value;

/// The longest input line taken (a dl-export row is well under 1 KiB).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Timestamps outside years 1000..9999 are refused (they would be typos, and keep the time
/// arithmetic far from overflow).
const MIN_MICROS: i64 = -30_610_224_000_000_000;
const MAX_MICROS: i64 = 253_402_300_799_000_000;

/// One input line, read.
#[derive(Debug)]
pub enum Item {
    /// A row: sensor, µs since the epoch, the value (None when empty, null or not finite),
    /// and the timestamp's UTC offset in seconds when it had one.
    Row {
        sensor: String,
        time: i64,
        value: Option<f64>,
        offset: Option<i32>,
    },
    /// A line with no row (the CSV header).
    Nothing,
    /// A line refused, with the reason (already naming the line).
    Bad(String),
    /// The input cannot be read at all (the reason names the line).
    Fatal(String),
}

/// Where each field is, once known.
enum Layout {
    Unknown,
    Json {
        value_key: Option<String>,
    },
    Csv {
        delimiter: u8,
        sensor: usize,
        time: usize,
        value: usize,
    },
    Failed,
}

/// Turns input lines into [`Item`]s; keeps the layout learnt from the first line.
pub struct Parser {
    choice: ValueChoice,
    layout: Layout,
}

impl Parser {
    /// A parser taking the `--value` column.
    pub fn new(choice: ValueChoice) -> Self {
        Parser {
            choice,
            layout: Layout::Unknown,
        }
    }

    /// Read one line.
    pub fn line(&mut self, line: InputLine) -> Item {
        let number = line.number;
        let text = match line.text {
            Ok(text) => text,
            Err(error) => return Item::Bad(error.to_string()),
        };
        if text.trim().is_empty() {
            return Item::Nothing;
        }
        if matches!(self.layout, Layout::Failed) {
            return Item::Nothing;
        }
        if matches!(self.layout, Layout::Unknown) {
            if text.trim_start().starts_with('{') {
                self.layout = Layout::Json { value_key: None };
            } else {
                return match self.header(&text) {
                    Ok(layout) => {
                        self.layout = layout;
                        Item::Nothing
                    }
                    Err(reason) => {
                        self.layout = Layout::Failed;
                        Item::Fatal(format!("stdin line {number}: {reason}"))
                    }
                };
            }
        }
        let result = match &mut self.layout {
            Layout::Json { value_key } => json_row(&text, self.choice, value_key),
            Layout::Csv {
                delimiter,
                sensor,
                time,
                value,
            } => csv_row(&text, *delimiter, *sensor, *time, *value),
            Layout::Unknown | Layout::Failed => return Item::Nothing,
        };
        match result {
            Ok(item) => item,
            Err(Problem::Line(reason)) => Item::Bad(format!("stdin line {number}: {reason}")),
            Err(Problem::Layout(reason)) => {
                self.layout = Layout::Failed;
                Item::Fatal(format!("stdin line {number}: {reason}"))
            }
        }
    }

    fn header(&self, text: &str) -> Result<Layout, String> {
        let delimiter = if text.contains('\t') { b'\t' } else { b',' };
        let names = split_csv(text, delimiter)
            .map_err(|e| format!("not JSON lines nor a CSV header ({e})"))?;
        let find = |wanted: &str| names.iter().position(|n| n == wanted);
        let (Some(sensor), Some(time)) = (find("sensor_name"), find("timestamp")) else {
            return Err(format!(
                "expected JSON lines or a CSV header with sensor_name and timestamp (as dl-export writes them), got '{}'",
                shorten(text)
            ));
        };
        let value = value_column(names.iter().map(String::as_str), self.choice)
            .and_then(find)
            .ok_or_else(|| no_value_column(self.choice, &names))?;
        Ok(Layout::Csv {
            delimiter,
            sensor,
            time,
            value,
        })
    }
}

enum Problem {
    /// This line is bad; the next may be fine.
    Line(String),
    /// The input's layout does not fit (no value column): nothing can be read.
    Layout(String),
}

fn json_row(
    text: &str,
    choice: ValueChoice,
    value_key: &mut Option<String>,
) -> Result<Item, Problem> {
    let object: serde_json::Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(Problem::Line("expected a JSON object".into())),
        Err(e) => return Err(Problem::Line(format!("not valid JSON ({e})"))),
    };
    if value_key.is_none() {
        let name = value_column(object.keys().map(String::as_str), choice).ok_or_else(|| {
            Problem::Layout(no_value_column(
                choice,
                &object.keys().cloned().collect::<Vec<_>>(),
            ))
        })?;
        *value_key = Some(name.to_string());
    }
    let key = value_key.as_deref().unwrap_or_default();
    let sensor = match object.get("sensor_name") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => return Err(Problem::Line("no \"sensor_name\" string".into())),
    };
    let (time, offset) = match object.get("timestamp") {
        Some(Value::String(text)) => parse_time(text),
        Some(Value::Number(number)) => number
            .as_f64()
            .ok_or_else(|| "timestamp out of range".to_string())
            .and_then(|s| epoch_seconds(s).map(|t| (t, None))),
        _ => Err("no \"timestamp\"".to_string()),
    }
    .map_err(Problem::Line)?;
    let value = match object.get(key) {
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => parse_value(text).map_err(Problem::Line)?,
        Some(Value::Null) | None => None,
        Some(other) => {
            return Err(Problem::Line(format!(
                "\"{key}\" is not a number: {}",
                shorten(&other.to_string())
            )))
        }
    };
    Ok(Item::Row {
        sensor,
        time,
        value: value.filter(|v| v.is_finite()),
        offset,
    })
}

fn csv_row(
    text: &str,
    delimiter: u8,
    sensor: usize,
    time: usize,
    value: usize,
) -> Result<Item, Problem> {
    let fields = split_csv(text, delimiter).map_err(Problem::Line)?;
    let field = |i: usize| {
        fields
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| Problem::Line(format!("{} fields, the header has more", fields.len())))
    };
    let name = field(sensor)?;
    if name.is_empty() {
        return Err(Problem::Line("empty sensor_name".into()));
    }
    let (time, offset) = parse_time(field(time)?).map_err(Problem::Line)?;
    let value = parse_value(field(value)?).map_err(Problem::Line)?;
    Ok(Item::Row {
        sensor: name.to_string(),
        time,
        value: value.filter(|v| v.is_finite()),
        offset,
    })
}

fn split_csv(text: &str, delimiter: u8) -> Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => Ok(record.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(format!("not CSV ({e})")),
        None => Ok(Vec::new()),
    }
}

/// The column plotted for `choice`: `value_cal`, else `value_cal_mean`, else the first
/// `value_cal_<agg>` (likewise for raw).
fn value_column<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
    choice: ValueChoice,
) -> Option<&'a str> {
    let base = match choice {
        ValueChoice::Raw => "value_raw",
        ValueChoice::Cal => "value_cal",
    };
    let mean = format!("{base}_mean");
    let prefix = format!("{base}_");
    names
        .clone()
        .find(|n| *n == base)
        .or_else(|| names.clone().find(|n| *n == mean))
        .or_else(|| names.clone().find(|n| n.starts_with(&prefix)))
}

fn no_value_column(choice: ValueChoice, names: &[String]) -> String {
    let (wanted, other) = match choice {
        ValueChoice::Raw => ("value_raw", "cal"),
        ValueChoice::Cal => ("value_cal", "raw"),
    };
    format!(
        "no {wanted} column in the input (columns: {}); try --value {other}, or export it (dl-export --value both)",
        shorten(&names.join(", "))
    )
}

/// An RFC 3339 time, or seconds since the epoch: µs and the offset (seconds east) if given.
pub fn parse_time(text: &str) -> Result<(i64, Option<i32>), String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return epoch_seconds(seconds).map(|t| (t, None));
    }
    let time = DateTime::parse_from_rfc3339(text).map_err(|_| {
        format!(
            "'{}' is not an RFC 3339 time nor epoch seconds",
            shorten(text)
        )
    })?;
    let micros = time.timestamp_micros();
    if !(MIN_MICROS..=MAX_MICROS).contains(&micros) {
        return Err(format!(
            "'{}' is out of range (years 1000 to 9999)",
            shorten(text)
        ));
    }
    Ok((micros, Some(time.offset().local_minus_utc())))
}

fn epoch_seconds(seconds: f64) -> Result<i64, String> {
    let micros = (seconds * 1e6).round();
    if micros.is_finite() && (MIN_MICROS as f64..=MAX_MICROS as f64).contains(&micros) {
        Ok(micros as i64)
    } else {
        Err(format!(
            "timestamp {seconds} is out of range (years 1000 to 9999)"
        ))
    }
}

/// A value cell: empty is none; NaN and infinities (as dl-export writes them) are read and
/// then skipped by the caller.
fn parse_value(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text {
        "NaN" => return Ok(Some(f64::NAN)),
        "Infinity" => return Ok(Some(f64::INFINITY)),
        "-Infinity" => return Ok(Some(f64::NEG_INFINITY)),
        _ => {}
    }
    text.parse::<f64>()
        .map(Some)
        .map_err(|_| format!("'{}' is not a number", shorten(text)))
}

/// At most 60 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(choice: ValueChoice, input: &[&str]) -> Vec<Item> {
        let mut parser = Parser::new(choice);
        input
            .iter()
            .enumerate()
            .map(|(i, text)| {
                parser.line(InputLine {
                    number: i + 1,
                    text: Ok(text.to_string()),
                })
            })
            .collect()
    }

    #[test]
    fn csv_and_json_from_dl_export() {
        let items = lines(
            ValueChoice::Cal,
            &[
                "sensor_name,timestamp,value_raw,value_cal",
                "peaches,2026-11-25T00:00:00.000000Z,1,2",
                "peaches,2026-11-25T01:00:00.000000+01:00,1,NaN",
                "peaches,1795564800.5,1,",
            ],
        );
        assert!(matches!(items[0], Item::Nothing));
        assert!(
            matches!(&items[1], Item::Row { sensor, time: 1_795_564_800_000_000, value: Some(v), offset: Some(0) } if sensor == "peaches" && *v == 2.0)
        );
        assert!(matches!(
            &items[2],
            Item::Row {
                value: None,
                offset: Some(3600),
                ..
            }
        ));
        assert!(matches!(
            &items[3],
            Item::Row {
                value: None,
                time: 1_795_564_800_500_000,
                ..
            }
        ));

        let items = lines(
            ValueChoice::Raw,
            &[
                r#"{"sensor_name":"a","timestamp":"2026-11-25T00:00:00Z","value_raw_min":1,"value_raw_mean":3}"#,
            ],
        );
        assert!(matches!(&items[0], Item::Row { value: Some(v), .. } if *v == 3.0));
    }

    #[test]
    fn hostile_lines_are_refused_by_number() {
        let items = lines(
            ValueChoice::Cal,
            &[
                r#"{"sensor_name":"a","timestamp":"2026-11-25T00:00:00Z","value_cal":1}"#,
                "[1,2]",
                r#"{"sensor_name":"a","timestamp":"99999-01-01T00:00:00Z","value_cal":1}"#,
                r#"{"sensor_name":"a","timestamp":1e300,"value_cal":1}"#,
                r#"{"sensor_name":"a","timestamp":"2026-11-25T00:00:00Z","value_cal":"x"}"#,
            ],
        );
        for (i, item) in items.iter().enumerate().skip(1) {
            assert!(
                matches!(item, Item::Bad(m) if m.starts_with(&format!("stdin line {}:", i + 1))),
                "{item:?}"
            );
        }
        let items = lines(ValueChoice::Cal, &["hello world", "a,b"]);
        assert!(matches!(&items[0], Item::Fatal(m) if m.contains("sensor_name")));
        let items = lines(ValueChoice::Cal, &["sensor_name,timestamp,value_raw"]);
        assert!(
            matches!(&items[0], Item::Fatal(m) if m.contains("try --value raw")),
            "{items:?}"
        );
    }
}
