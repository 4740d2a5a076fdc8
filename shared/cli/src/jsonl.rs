//! A JSON-lines reader whose errors say which line was wrong.

use std::io::BufRead;
use thiserror::Error;

/// One input line that could not be used.
#[derive(Debug, Error)]
pub enum LineError {
    /// The line was not valid JSON.
    #[error("{source_name} line {line}: not valid JSON ({reason})")]
    NotJson {
        /// Where the lines come from, e.g. `stdin`.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What the JSON parser said.
        reason: String,
    },
    /// The line was JSON but not an object.
    #[error("{source_name} line {line}: expected a JSON object")]
    NotObject {
        /// Where the lines come from, e.g. `stdin`.
        source_name: String,
        /// 1-based line number.
        line: usize,
    },
    /// The input could not be read at all.
    #[error("{source_name}: cannot read: {source}")]
    Read {
        /// Where the lines come from, e.g. `stdin`.
        source_name: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One JSON object read from a line, with its 1-based line number.
#[derive(Debug)]
pub struct JsonLine {
    /// 1-based line number in the input.
    pub line: usize,
    /// The object on that line.
    pub object: serde_json::Map<String, serde_json::Value>,
}

/// Iterate over the JSON objects of `input`, one per line; blank lines are skipped.
/// Each item is a [`JsonLine`] or the [`LineError`] for that line; a read error ends iteration.
pub fn read_objects<'a, R: BufRead + 'a>(
    input: R,
    source_name: &'a str,
) -> impl Iterator<Item = Result<JsonLine, LineError>> + 'a {
    let mut lines = input.lines().enumerate();
    let mut failed = false;
    std::iter::from_fn(move || loop {
        if failed {
            return None;
        }
        let (index, line) = lines.next()?;
        let line_no = index + 1;
        let text = match line {
            Ok(text) => text,
            Err(source) => {
                failed = true;
                return Some(Err(LineError::Read {
                    source_name: source_name.to_string(),
                    source,
                }));
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        return Some(parse_object(&text, source_name, line_no));
    })
}

/// Parse one line's text as a JSON object, naming `source_name` and `line` in any error.
pub fn parse_object(text: &str, source_name: &str, line: usize) -> Result<JsonLine, LineError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => Ok(JsonLine { line, object }),
        Ok(_) => Err(LineError::NotObject {
            source_name: source_name.to_string(),
            line,
        }),
        Err(e) => Err(LineError::NotJson {
            source_name: source_name.to_string(),
            line,
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line_and_reading_goes_on() {
        let input = "{\"a\":1}\n\n[1]\nnot json\n{\"b\":2}\n";
        let items: Vec<_> = read_objects(input.as_bytes(), "stdin").collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].as_ref().unwrap().line, 1);
        assert_eq!(
            items[1].as_ref().unwrap_err().to_string(),
            "stdin line 3: expected a JSON object"
        );
        assert!(items[2]
            .as_ref()
            .unwrap_err()
            .to_string()
            .starts_with("stdin line 4: not valid JSON"));
        assert_eq!(items[3].as_ref().unwrap().object["b"], 2);
    }
}
