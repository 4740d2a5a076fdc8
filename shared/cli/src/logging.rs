//! Logging set-up: every program logs to stderr through `tracing`.

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, for log aggregation (ELK, Loki).
    Json,
}

/// The logging flags every program takes.
#[derive(Args, Clone, Debug, Default)]
pub struct LogArgs {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less log output on stderr (-q errors only, -qq nothing).
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// Log line format on stderr.
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// The level filter these flags ask for, starting from `warn`.
    pub fn level(&self) -> &'static str {
        let level = 2i16 + i16::from(self.verbose) - i16::from(self.quiet);
        match level {
            i16::MIN..=0 => "off",
            1 => "error",
            2 => "warn",
            3 => "info",
            4 => "debug",
            _ => "trace",
        }
    }
}

/// Install the global `tracing` subscriber: stderr, the level from `-v`/`-q` unless `RUST_LOG`
/// is set, text or JSON lines. Safe to call more than once (later calls do nothing).
pub fn init_logging(args: &LogArgs) {
    // The AMQP library logs what we already report in one clear line (refused logins,
    // returned messages); its own lines appear only from -vv (debug) on.
    let library_level = if args.verbose >= 2 {
        args.level()
    } else {
        "off"
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},lapin={library_level}", args.level())));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_counts_move_the_level() {
        let mut args = LogArgs::default();
        assert_eq!(args.level(), "warn");
        args.verbose = 2;
        assert_eq!(args.level(), "debug");
        args.verbose = 0;
        args.quiet = 1;
        assert_eq!(args.level(), "error");
        args.quiet = 5;
        assert_eq!(args.level(), "off");
    }
}
