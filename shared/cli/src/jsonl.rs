//! Reading JSON lines: every line is used or refused on its own, by number.
//!
//! [`read_batches`] is the one stdin reader of every program that takes lines: it reads on a
//! thread of its own and hands lines over in batches. A line that is not UTF-8, or longer than
//! [`MAX_LINE_BYTES`], is refused by number and reading goes on with the next one; only a read
//! error ends the input. [`parse_object`] turns a line into a JSON object, its error naming the
//! line too.

use std::io::{BufRead, BufReader, Read};
use thiserror::Error;

/// The longest input line taken, in bytes: room for a dripline message at its largest (10 MB
/// of payload, escaped), while a stream with no newline cannot grow a program without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

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
    /// The line's bytes are not UTF-8.
    #[error("{source_name} line {line}: not UTF-8 text")]
    NotUtf8 {
        /// Where the lines come from, e.g. `stdin`.
        source_name: String,
        /// 1-based line number.
        line: usize,
    },
    /// The line is longer than the limit; it was skipped.
    #[error("{source_name} line {line}: longer than {limit} bytes; skipped")]
    TooLong {
        /// Where the lines come from, e.g. `stdin`.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// The limit in bytes.
        limit: usize,
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

impl LineError {
    /// The 1-based number of the line refused (none for a read error, which ends the input).
    pub fn line(&self) -> Option<usize> {
        match self {
            LineError::NotJson { line, .. }
            | LineError::NotObject { line, .. }
            | LineError::NotUtf8 { line, .. }
            | LineError::TooLong { line, .. } => Some(*line),
            LineError::Read { .. } => None,
        }
    }

    /// What is wrong with the line, without the `<source> line N: ` that `Display` starts with.
    pub fn reason(&self) -> String {
        let text = self.to_string();
        match self.line() {
            Some(_) => text
                .split_once(": ")
                .map_or(text.clone(), |(_, rest)| rest.to_string()),
            None => text,
        }
    }
}

/// One input line: its 1-based number and its text, or why it cannot be used.
#[derive(Debug)]
pub struct InputLine {
    /// 1-based line number in the input.
    pub number: usize,
    /// The text without its line end, or the refusal.
    pub text: Result<String, LineError>,
}

/// Read `input` on a thread of its own, turn each non-blank line into a `T` with `convert`
/// (on that thread too, so parsing runs beside the consumer) and send them in batches of at
/// most `batch`: a batch goes as soon as it is full or nothing more is buffered, so a fast
/// producer costs one hand-over per batch and a slow one's lines are not held back. The
/// channel ends after the last line; a read error is sent as the last item. When the input
/// held no line at all, "no input lines" is said on stderr (so a cron job fed nothing is not
/// silent).
pub fn read_batches<T: Send + 'static>(
    input: impl Read + Send + 'static,
    source_name: &'static str,
    batch: usize,
    convert: impl FnMut(InputLine) -> T + Send + 'static,
) -> tokio::sync::mpsc::Receiver<Vec<T>> {
    read_batches_limited(input, source_name, batch, MAX_LINE_BYTES, convert)
}

/// [`read_batches`] with another line-length limit.
pub fn read_batches_limited<T: Send + 'static>(
    input: impl Read + Send + 'static,
    source_name: &'static str,
    batch: usize,
    max_line_bytes: usize,
    mut convert: impl FnMut(InputLine) -> T + Send + 'static,
) -> tokio::sync::mpsc::Receiver<Vec<T>> {
    let batch = batch.max(1);
    let (sender, receiver) = tokio::sync::mpsc::channel(8);
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(256 * 1024, input);
        let mut lines = Vec::with_capacity(batch);
        let mut number = 0;
        let mut seen_any = false;
        loop {
            let item = next_line(&mut reader, source_name, max_line_bytes, &mut number);
            let ended = match item {
                None => true,
                Some(item) => {
                    let is_read_error = matches!(item.text, Err(LineError::Read { .. }));
                    let blank = matches!(&item.text, Ok(text) if text.trim().is_empty());
                    if !blank {
                        seen_any = true;
                        lines.push(convert(item));
                    }
                    is_read_error
                }
            };
            let drained = reader.buffer().is_empty();
            if !lines.is_empty() && (ended || lines.len() >= batch || drained) {
                let full = std::mem::replace(&mut lines, Vec::with_capacity(batch));
                if sender.blocking_send(full).is_err() {
                    return;
                }
            }
            if ended {
                break;
            }
        }
        if !seen_any {
            crate::report::warning(format_args!("{source_name}: no input lines"));
        }
    });
    receiver
}

/// The next line of `reader`, or `None` at the end of the input.
fn next_line(
    reader: &mut impl BufRead,
    source_name: &str,
    max_line_bytes: usize,
    number: &mut usize,
) -> Option<InputLine> {
    let mut bytes = Vec::new();
    let limit = max_line_bytes as u64 + 1;
    let read = reader.by_ref().take(limit).read_until(b'\n', &mut bytes);
    let source_name = source_name.to_string();
    match read {
        Ok(0) => return None,
        Ok(_) => {}
        Err(source) => {
            return Some(InputLine {
                number: *number + 1,
                text: Err(LineError::Read {
                    source_name,
                    source,
                }),
            })
        }
    }
    *number += 1;
    let line = *number;
    if bytes.last() != Some(&b'\n') && bytes.len() as u64 >= limit {
        // Skip the rest of the overlong line without keeping it.
        loop {
            let available = match reader.fill_buf() {
                Ok([]) | Err(_) => break,
                Ok(available) => available,
            };
            match available.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    reader.consume(end + 1);
                    break;
                }
                None => {
                    let all = available.len();
                    reader.consume(all);
                }
            }
        }
        return Some(InputLine {
            number: line,
            text: Err(LineError::TooLong {
                source_name,
                line,
                limit: max_line_bytes,
            }),
        });
    }
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    let text = String::from_utf8(bytes).map_err(|_| LineError::NotUtf8 { source_name, line });
    Some(InputLine { number: line, text })
}

impl InputLine {
    /// The line as a JSON object, or why not (for [`read_batches`]' `convert`).
    pub fn into_object(self, source_name: &str) -> Result<JsonLine, LineError> {
        self.text
            .and_then(|text| parse_object(&text, source_name, self.number))
    }
}

/// One JSON object read from a line, with its 1-based line number.
#[derive(Debug)]
pub struct JsonLine {
    /// 1-based line number in the input.
    pub line: usize,
    /// The object on that line.
    pub object: serde_json::Map<String, serde_json::Value>,
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

    fn read_all(input: &'static [u8], max_line_bytes: usize) -> Vec<InputLine> {
        let mut receiver = read_batches_limited(input, "stdin", 2, max_line_bytes, |line| line);
        let mut lines = Vec::new();
        while let Some(batch) = receiver.blocking_recv() {
            lines.extend(batch);
        }
        lines
    }

    #[test]
    fn a_bad_line_is_refused_by_number_and_reading_goes_on() {
        let lines = read_all(b"{\"a\":1}\n\xff\xfe\n\n{\"b\":2}\r\nlast", 100);
        let numbers: Vec<usize> = lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [1, 2, 4, 5]);
        assert_eq!(lines[0].text.as_ref().unwrap(), "{\"a\":1}");
        let error = lines[1].text.as_ref().unwrap_err();
        assert_eq!(error.to_string(), "stdin line 2: not UTF-8 text");
        assert_eq!(error.line(), Some(2));
        assert_eq!(error.reason(), "not UTF-8 text");
        assert_eq!(lines[2].text.as_ref().unwrap(), "{\"b\":2}");
        assert_eq!(lines[3].text.as_ref().unwrap(), "last");
    }

    #[test]
    fn an_overlong_line_is_skipped_whole() {
        let lines = read_all(b"short\n0123456789abcdef\nnext\n", 8);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1].text.as_ref().unwrap_err().to_string(),
            "stdin line 2: longer than 8 bytes; skipped"
        );
        assert_eq!(lines[2].number, 3);
        assert_eq!(lines[2].text.as_ref().unwrap(), "next");
    }

    #[test]
    fn objects_are_parsed_with_the_line_named() {
        assert_eq!(
            parse_object("{\"b\":2}", "stdin", 5).unwrap().object["b"],
            2
        );
        assert_eq!(
            parse_object("[1]", "stdin", 3).unwrap_err().to_string(),
            "stdin line 3: expected a JSON object"
        );
        assert!(parse_object("not json", "stdin", 4)
            .unwrap_err()
            .to_string()
            .starts_with("stdin line 4: not valid JSON"));
    }
}
