//! The exit statuses every program documents: one number per kind of failure, the same in
//! every program.
//!
//! | status | meaning | where |
//! |---|---|---|
//! | 0 | success (request tools: also a dripline warning, codes 1–99) | all |
//! | 1–10+ | the dripline return code / 100 of the reply, like dl-agent: 1 AMQP (also a broker that cannot be reached or refuses the login), 2 resource, 3 service, 4 client (403 unroutable, 404 timeout, a bad input line), 9 unhandled, ≥10 application codes | request tools only |
//! | 1 | a failure with no more precise status (e.g. a statement the database refused) | others |
//! | 64 | usage: bad flag or argument (EX_USAGE) | all |
//! | 65 | some input lines were bad; the others were used (EX_DATAERR) | programs reading stdin lines |
//! | 66 | an input (file, database, table) does not exist (EX_NOINPUT) | |
//! | 69 | the broker or database cannot be reached (EX_UNAVAILABLE) | all but the request tools |
//! | 70 | internal error: a bug, or the runtime could not start (EX_SOFTWARE) | all |
//! | 73 | an output file cannot be written (EX_CANTCREAT) | |
//! | 75 | a wait ended without its condition: `--timeout` reached (EX_TEMPFAIL) | dl-watch --until, dl-set --wait-until |
//! | 77 | credentials or permissions refused (EX_NOPERM) | all but the request tools |
//! | 78 | bad configuration: settings, auth file, config file (EX_CONFIG) | all |
//! | 130 | interrupted by a signal before the work was done | all one-shot programs |
//!
//! The request tools keep dl-agent's meaning of 1 (any AMQP failure, including an unreachable
//! broker or a refused login) so that scripts written for dl-agent go on working; every other
//! status means the same in every program. The sysexits numbers are all ≥ 64, so they never
//! collide with the return-code classes.

use std::fmt;
use std::io;

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
/// A wait for a condition (`dl-watch --until`) reached its timeout first (EX_TEMPFAIL: try
/// again later).
pub const TIMED_OUT: u8 = 75;
/// A service refused our credentials or permissions (EX_NOPERM).
pub const NO_PERMISSION: u8 = 77;
/// A configuration file or setting is wrong (EX_CONFIG).
pub const CONFIG: u8 = 78;
/// Interrupted by a signal before the work was done (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// An error that carries the exit status the program must end with.
///
/// Attach it with `anyhow::Error::from(ExitFailure::new(..))` or `.context(..)` on top of it;
/// `start::Program::run` looks for it anywhere in the error chain.
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
