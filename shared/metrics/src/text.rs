//! The Prometheus text exposition format, version 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>).
//!
//! [`Text`] writes metric families one after another: [`Text::family`] starts one (its
//! `# HELP` and `# TYPE` lines), [`Text::sample`] adds a sample with its labels. Label values
//! are escaped as the format asks (`\` → `\\`, `"` → `\"`, line feed → `\n`); help texts are
//! escaped too. Values are written in the shortest form that reads back exactly, with `NaN`,
//! `+Inf` and `-Inf` spelled as Prometheus spells them.

use std::fmt::Write;

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (until the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, a sum and a count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample value: an integer count or a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A whole number (a count).
    Count(u64),
    /// Any float, including NaN and the infinities.
    Float(f64),
}

impl From<u64> for Value {
    fn from(count: u64) -> Self {
        Value::Count(count)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Float(value)
    }
}

/// A text exposition being written.
#[derive(Default)]
pub struct Text {
    out: String,
}

impl Text {
    /// An empty exposition.
    pub fn new() -> Self {
        Text::default()
    }

    /// Start the family `name` (a valid metric name, chosen by the program) of `kind`.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        let _ = writeln!(self.out, "\n# TYPE {name} {}", kind.as_str());
    }

    /// One sample of `name` (the family's name, or a histogram's `_bucket`/`_sum`/`_count`)
    /// with `labels` (names chosen by the program, values any text).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(label);
                self.out.push_str("=\"");
                escape_label_value(value, &mut self.out);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        match value.into() {
            Value::Count(count) => self.out.push_str(itoa::Buffer::new().format(count)),
            Value::Float(value) if value.is_nan() => self.out.push_str("NaN"),
            Value::Float(value) if value.is_infinite() => {
                self.out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" })
            }
            Value::Float(value) => self.out.push_str(ryu::Buffer::new().format_finite(value)),
        }
        self.out.push('\n');
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Append `value` to `out` escaped for a label value: `\` → `\\`, `"` → `\"`, line feed →
/// `\n`; everything else (any UTF-8) as it is.
pub fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_label_values_stay_on_one_line_and_inside_their_quotes() {
        let mut text = Text::new();
        text.family("x_total", Kind::Counter, "Help with a \\ and a\nline feed.");
        text.sample("x_total", &[("sensor", "a\"b\\c\nd},e=\"f")], 3u64);
        let text = text.finish();
        assert_eq!(
            text,
            "# HELP x_total Help with a \\\\ and a\\nline feed.\n\
             # TYPE x_total counter\n\
             x_total{sensor=\"a\\\"b\\\\c\\nd},e=\\\"f\"} 3\n"
        );
    }

    #[test]
    fn floats_use_prometheus_spellings() {
        let mut text = Text::new();
        for value in [
            1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -0.25,
        ] {
            text.sample("v", &[], value);
        }
        assert_eq!(
            text.finish(),
            "v 1.5\nv NaN\nv +Inf\nv -Inf\nv 1e300\nv -0.25\n"
        );
    }
}
