//! Lines for people on stderr: the one line a failure prints, in the format the user chose.
//!
//! With `--log-format text` (the default) a line is `<program>: <message>`. With
//! `--log-format json` every line on stderr is one JSON object, these too:
//! `{"timestamp":"…Z","level":"ERROR","message":"…","program":"dl-get"}`, the same fields as
//! the `tracing` log lines, so a log collector needs one parser.

use crate::logging::LogFormat;
use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;

static PROGRAM: OnceLock<(&'static str, LogFormat)> = OnceLock::new();

/// Name the program and the stderr format for every later line (the first call wins).
pub fn set_program(name: &'static str, format: LogFormat) {
    let _ = PROGRAM.set((name, format));
}

/// Print one error line on stderr.
pub fn error(message: impl Display) {
    line("ERROR", &message.to_string());
}

/// Print one warning line on stderr (shown even with `-q`: it is part of the program's
/// answer, not a log line, e.g. "no input lines").
pub fn warning(message: impl Display) {
    line("WARN", &message.to_string());
}

/// Print one line for people on stderr that is neither an error nor a warning: a summary of
/// what was done, beside machine-readable stdout (e.g. `dl-history prune --dry-run`).
pub fn note(message: impl Display) {
    line("INFO", &message.to_string());
}

/// A message of several lines (e.g. every problem of a config file) becomes several lines,
/// each with the program's name (or each its own JSON object).
fn line(level: &str, message: &str) {
    let (program, format) = PROGRAM
        .get()
        .copied()
        .unwrap_or(("dripline-tools", LogFormat::Text));
    let mut text = String::new();
    for part in message.lines() {
        match format {
            LogFormat::Text => text.push_str(&format!("{program}: {part}\n")),
            LogFormat::Json => {
                let object = serde_json::json!({
                    "timestamp": humantime::format_rfc3339_micros(std::time::SystemTime::now())
                        .to_string(),
                    "level": level,
                    "message": part,
                    "program": program,
                });
                text.push_str(&format!("{object}\n"));
            }
        }
    }
    // One write, so lines from several threads never interleave; a closed stderr is ignored.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Replace Rust's panic message and backtrace with one line naming the bug. The program then
/// exits with status 70 (see `start`); a panic caught by a task runtime is reported the same
/// way and the program goes on.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        error(format_args!(
            "internal error (a bug, please report it): {payload}{place}"
        ));
    }));
}
