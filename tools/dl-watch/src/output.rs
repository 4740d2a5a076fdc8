//! What one observed value looks like on stdout.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// The output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// One line for people: endpoint, local-free UTC time, value (like camonitor).
    Text,
}

/// Where a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A get sent by dl-watch.
    Poll,
    /// A `sensor_value.<endpoint>` alert.
    Alert,
}

/// What an endpoint said: its payload, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// The reply or alert payload.
    Value(Value),
    /// A failed get: return code and message.
    Error(u32, String),
}

/// One value of one endpoint at one time.
#[derive(Clone, Debug)]
pub struct Observation {
    /// The endpoint.
    pub endpoint: String,
    /// When it was received.
    pub time: DateTime<Utc>,
    /// How.
    pub source: Source,
    /// What.
    pub reading: Reading,
}

impl Observation {
    /// The line to print in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Jsonl => {
                let mut line = json!({
                    "time": self.time.to_rfc3339_opts(SecondsFormat::Millis, true),
                    "endpoint": self.endpoint,
                    "source": match self.source {
                        Source::Poll => "poll",
                        Source::Alert => "alert",
                    },
                });
                match &self.reading {
                    Reading::Value(value) => line["value"] = value.clone(),
                    Reading::Error(code, message) => {
                        line["error"] = json!({"return_code": code, "return_message": message});
                    }
                }
                line.to_string()
            }
            Format::Text => format!(
                "{}  {}  {}",
                self.endpoint,
                self.time.format("%Y-%m-%d %H:%M:%S%.3f"),
                self.short_value()
            ),
        }
    }

    /// `value_cal`, else `value_raw`, else the whole payload; strings without quotes.
    pub fn short_value(&self) -> String {
        match &self.reading {
            Reading::Error(code, message) => format!("error {code}: {message}"),
            Reading::Value(value) => {
                let shown = value
                    .get("value_cal")
                    .or_else(|| value.get("value_raw"))
                    .unwrap_or(value);
                let text = match shown {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                text.chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(reading: Reading) -> Observation {
        Observation {
            endpoint: "temp".into(),
            time: DateTime::parse_from_rfc3339("2026-12-07T01:02:03.456Z")
                .unwrap()
                .with_timezone(&Utc),
            source: Source::Poll,
            reading,
        }
    }

    #[test]
    fn lines_in_both_formats() {
        let value = observation(Reading::Value(json!({"value_cal": 1.5, "value_raw": 0.75})));
        assert_eq!(
            value.render(Format::Jsonl),
            r#"{"endpoint":"temp","source":"poll","time":"2026-12-07T01:02:03.456Z","value":{"value_cal":1.5,"value_raw":0.75}}"#
        );
        assert_eq!(
            value.render(Format::Text),
            "temp  2026-12-07 01:02:03.456  1.5"
        );
        let error = observation(Reading::Error(404, "no reply within 5s".into()));
        assert!(error
            .render(Format::Jsonl)
            .contains(r#""error":{"return_code":404"#));
        let hostile = observation(Reading::Value(json!({"value_raw": "a\u{1b}[2Jb"})));
        assert_eq!(hostile.short_value(), "a?[2Jb");
    }
}
