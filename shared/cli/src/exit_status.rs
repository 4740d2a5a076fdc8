//! Exit statuses every program documents, and the `main` wrapper that applies them.
//!
//! Request tools (`dl-get`, `dl-set`, `dl-cmd`) exit with the dripline return code divided by 100,
//! like dl-agent (0 success or warning, 1 AMQP, 2 resource, 3 service, 4 client incl. timeout
//! and no route, 9 unhandled). Everything else uses the BSD `sysexits.h` numbers below, which
//! are all ≥ 64 and so never collide with those classes.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Success, or a dripline warning (return codes 1–99).
pub const SUCCESS: u8 = 0;
/// A general failure that has no more precise status.
pub const FAILURE: u8 = 1;
/// Bad command-line usage: unknown flag, missing argument, malformed value (EX_USAGE).
pub const USAGE: u8 = 64;
/// Bad input data, e.g. a malformed JSON line on stdin (EX_DATAERR).
pub const DATA_ERROR: u8 = 65;
/// An input file could not be opened or read (EX_NOINPUT).
pub const NO_INPUT: u8 = 66;
/// A needed service (broker, database) could not be reached (EX_UNAVAILABLE).
pub const UNAVAILABLE: u8 = 69;
/// An internal error: a bug in dripline-tools (EX_SOFTWARE).
pub const SOFTWARE: u8 = 70;
/// An output file could not be created or written (EX_CANTCREAT).
pub const CANNOT_CREATE: u8 = 73;
/// A service refused our credentials or permissions (EX_NOPERM).
pub const NO_PERMISSION: u8 = 77;
/// A configuration file or setting is wrong (EX_CONFIG).
pub const CONFIG: u8 = 78;

/// An error that carries the exit status the program must end with.
///
/// Attach it with `anyhow::Error::from(ExitFailure::new(..))` or `.context(..)` on top of it;
/// [`run_main`] looks for it anywhere in the error chain.
#[derive(Debug)]
pub struct ExitFailure {
    /// The process exit status.
    pub status: u8,
    /// The one-line explanation printed on stderr.
    pub message: String,
}

impl ExitFailure {
    /// A failure with this status and message.
    pub fn new(status: u8, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl fmt::Display for ExitFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitFailure {}

/// The exit status an error asks for: the first [`ExitFailure`] in its chain, else `FAILURE`.
pub fn status_of(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ExitFailure>())
        .map_or(FAILURE, |failure| failure.status)
}

/// True when the error is (caused by) writing to a closed pipe, e.g. `dl-get - | head -1`.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Parse the command line; on a usage error print clap's message and exit with [`USAGE`]
/// (`--help` and `--version` still exit 0).
pub fn parse_args<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(error) => {
            let status = if error.use_stderr() { USAGE } else { SUCCESS };
            let _ = error.print();
            std::process::exit(i32::from(status));
        }
    }
}

/// Run a program's body and turn its outcome into the process exit status.
///
/// `Ok(status)` exits with that status. An error prints one line, `<program>: <error: causes>`,
/// on stderr and exits with [`status_of`] it; a closed stdout ends quietly with status 0.
pub fn run_main(program: &str, body: impl FnOnce() -> anyhow::Result<u8>) -> ExitCode {
    match body() {
        Ok(status) => ExitCode::from(status),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: {error:#}");
            ExitCode::from(status_of(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn status_is_found_anywhere_in_the_chain() {
        let error = anyhow::Error::from(ExitFailure::new(UNAVAILABLE, "cannot reach broker"))
            .context("while sending");
        assert_eq!(status_of(&error), UNAVAILABLE);
        assert_eq!(status_of(&anyhow::anyhow!("plain")), FAILURE);
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let error: anyhow::Result<()> =
            Err(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing stdout");
        assert!(is_broken_pipe(&error.unwrap_err()));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
