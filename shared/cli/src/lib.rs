//! # dripline-cli
//!
//! What every dripline-tools program shares at its edge, and nothing else:
//!
//! - [`Program`]: **the one start-up path** every program's `main` goes through: command line,
//!   logging, panic hook, signals ([`OnSignal`], [`Shutdown`]), runtime, and the outcome turned
//!   into one stderr line ([`report`]) and the documented exit status ([`exit_status`]).
//! - [`LogArgs`]: `-v`/`-q`, `RUST_LOG`, `--log-format text|json`; logs go to stderr through
//!   `tracing`, never to stdout (stdout is for data).
//! - [`Input`]: work from the arguments or JSON lines on stdin; [`jsonl`]: the batched stdin
//!   reader, whose refusals name the line (`stdin line 17: …`) and never end the input.
//! - [`output`]: writing to stdout so that a closed pipe (`| head -1`) ends a tool quietly.
//! - With the `broker` feature: [`BrokerArgs`], the broker flags of every AMQP program, and
//!   [`failures::mesh_failure`]. With the `database` feature: [`DatabaseArgs`] and
//!   [`AuthFileArgs`], the PostgreSQL flags, and [`failures::store_failure`]. A program enables
//!   only the side it talks to, so `dl-get` never builds the PostgreSQL client, nor
//!   `dl-export` the AMQP one.
//! - [`parse_duration`]: humantime durations (`500ms`, `10s`) and bare seconds (`2.5`).
//!
//! It holds no business logic: flags are parsed here, their meaning lives in `protocol`,
//! `mesh` and `store`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "broker")]
mod broker_args;
#[cfg(feature = "database")]
mod database_args;
pub mod exit_status;
#[cfg(any(feature = "broker", feature = "database"))]
pub mod failures;
pub mod input;
pub mod jsonl;
mod logging;
pub mod output;
pub mod report;
mod start;

#[cfg(feature = "broker")]
pub use broker_args::{BrokerArgs, BrokerOrderArg};
#[cfg(feature = "database")]
pub use database_args::{AuthFileArgs, DatabaseArgs};
pub use exit_status::ExitFailure;
pub use input::Input;
pub use logging::{init_logging, LogArgs, LogFormat};
pub use start::{OnSignal, Program, ProgramArgs, Shutdown, Threads};

/// Parse a duration given on the command line: a humantime string (`500ms`, `10s`, `1m 30s`)
/// or a bare number of seconds (`2`, `0.5`), as dl-agent's `-t` takes seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let trimmed = text.trim();
    if let Ok(seconds) = trimmed.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(std::time::Duration::from_secs_f64(seconds));
        }
        return Err(format!(
            "'{text}' is not a duration: seconds must be zero or more"
        ));
    }
    humantime::parse_duration(trimmed)
        .map_err(|e| format!("'{text}' is not a duration ({e}); try 500ms, 10s or 2m"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_take_humantime_and_bare_seconds() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
    }
}
