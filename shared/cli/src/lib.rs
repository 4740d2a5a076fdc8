//! # dripline-cli
//!
//! What every dripline-tools program shares at its edge, and nothing else:
//!
//! - [`BrokerArgs`]: the broker connection flags of every AMQP program.
//! - [`DatabaseArgs`] (+ [`AuthFileArgs`]): the PostgreSQL connection flags of every database
//!   program, turned into `dripline_store` connection options.
//! - [`LogArgs`] and [`init_logging`]: `-v`/`-q`, `RUST_LOG`, `--log-format text|json`; logs go
//!   to stderr through `tracing`, never to stdout (stdout is for data).
//! - [`exit_status`]: the documented exit statuses, and [`run_main`], which turns a tool's
//!   `anyhow::Error` into one clear line on stderr and the right status (never a panic trace).
//! - [`jsonl`]: a JSON-lines reader whose errors name the line (`stdin line 17: …`).
//! - [`output`]: writing to stdout so that a closed pipe (`| head -1`) ends a tool quietly.
//! - [`failures`]: broker and database errors as one line with the right exit status.
//! - [`shutdown_signal`]: SIGINT/SIGTERM as a future, for programs that stop cleanly.
//! - [`parse_duration`]: humantime durations (`500ms`, `10s`) and bare seconds (`2.5`).
//!
//! It holds no business logic: flags are parsed here, their meaning lives in `protocol`,
//! `mesh` and `store`.
#![deny(missing_docs)]

mod broker_args;
mod database_args;
pub mod exit_status;
pub mod failures;
pub mod jsonl;
mod logging;
pub mod output;
mod signals;

pub use broker_args::BrokerArgs;
pub use database_args::{AuthFileArgs, DatabaseArgs};
pub use exit_status::{parse_args, run_main, ExitFailure};
pub use logging::{init_logging, LogArgs, LogFormat};
pub use signals::shutdown_signal;

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
