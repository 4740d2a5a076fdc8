//! Where a program's work comes from: its arguments, or lines on stdin.

use crate::exit_status::{ExitFailure, USAGE};
use std::io::IsTerminal;

/// The work named on the command line, or "read JSON lines from stdin".
#[derive(Debug)]
pub enum Input<T> {
    /// Work from the command-line arguments.
    Arguments(T),
    /// JSON lines on stdin (`-` was given, or nothing while stdin is not a terminal).
    StdinLines,
}

impl<T> Input<T> {
    /// Decide from the first positional argument: `-` means stdin; none means stdin when it is
    /// not a terminal (a pipe, a file, cron) and a usage error naming `missing` on a terminal;
    /// anything else is built by `from_arguments`, whose error is a usage error too.
    pub fn choose(
        first: Option<&str>,
        missing: &str,
        from_arguments: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Self, ExitFailure> {
        match first {
            Some("-") => Ok(Input::StdinLines),
            Some(first) => from_arguments(first)
                .map(Input::Arguments)
                .map_err(|message| ExitFailure::new(USAGE, message)),
            None if !std::io::stdin().is_terminal() => Ok(Input::StdinLines),
            None => Err(ExitFailure::new(
                USAGE,
                format!("{missing} (or '-' to read JSON lines from stdin)"),
            )),
        }
    }
}
