//! The errors of this crate: one variant per failure a user can act on.

use crate::config::ConfigError;
use thiserror::Error;

/// Something went wrong talking to PostgreSQL. Messages name the server or table involved and
/// never contain a password.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The connection settings are unusable (auth file, password file, URL).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No connection could be made: refused, unresolvable host, timeout, TLS failure.
    #[error("cannot reach database at {target}: {reason}")]
    Unreachable {
        /// `host:port` tried.
        target: String,
        /// What the operating system or server said.
        reason: String,
    },
    /// The server refused the user or password.
    #[error("database at {target} refused user '{user}': {reason}")]
    Authentication {
        /// `host:port` tried.
        target: String,
        /// The user name offered.
        user: String,
        /// What the server said.
        reason: String,
    },
    /// The server has no database of that name.
    #[error("database '{database}' does not exist at {target}")]
    NoDatabase {
        /// `host:port` tried.
        target: String,
        /// The database name asked for.
        database: String,
    },
    /// The table to read or write does not exist.
    #[error("table {table} does not exist in database '{database}' at {target}")]
    MissingTable {
        /// The table, as given (`numeric_data` or `schema.table`).
        table: String,
        /// The database name.
        database: String,
        /// `host:port`.
        target: String,
    },
    /// A statement failed for another reason.
    #[error("{what}: {reason}")]
    Query {
        /// What was being done, e.g. `exporting from numeric_data`.
        what: String,
        /// The server's (or driver's) message.
        reason: String,
        /// The SQLSTATE code, when the server sent one.
        code: Option<String>,
        /// The connection was closed or broken under the statement (no SQLSTATE then).
        connection_lost: bool,
    },
}

impl StoreError {
    /// A failed statement, described by `what`, from a driver error.
    pub fn query(what: impl Into<String>, error: &postgres::Error) -> Self {
        StoreError::Query {
            what: what.into(),
            reason: reason_of(error),
            code: error.code().map(|c| c.code().to_string()),
            connection_lost: error.is_closed() || is_io_error(error),
        }
    }

    /// The SQLSTATE of a failed statement, if any.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            StoreError::Query { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The connection is gone or could not be made: closed, refused, reset, SQLSTATE class 08,
    /// `57P01`/`57P02` (the server shut down or crashed), `57P03` (cannot connect now: starting
    /// up). Reconnecting and retrying the same work may succeed.
    pub fn is_connection_problem(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } => true,
            StoreError::Query {
                code,
                connection_lost,
                ..
            } => {
                *connection_lost
                    || code.as_deref().is_some_and(|code| {
                        code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
                    })
            }
            _ => false,
        }
    }

    /// The data were refused: SQLSTATE class 22 (data exception: a NUL character in text,
    /// `\u0000` in `jsonb`, a timestamp out of range …) or class 23 (a constraint the insert
    /// does not absorb: NOT NULL, CHECK, another unique key). Retrying the same rows fails
    /// again; one of them is bad.
    pub fn is_data_problem(&self) -> bool {
        self.sqlstate()
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23"))
    }
}

/// Whether the driver failed on the socket (reset, broken pipe …) rather than in SQL.
fn is_io_error(error: &postgres::Error) -> bool {
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        if inner.is::<std::io::Error>() {
            return true;
        }
        cause = inner.source();
    }
    false
}

/// The most useful one-line reason inside a driver error: the server's message for database
/// errors, else the innermost cause (`Connection refused (os error 111)`).
pub(crate) fn reason_of(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let text = innermost.to_string();
    if text == error.to_string() {
        text
    } else {
        format!("{error}: {text}")
    }
}
