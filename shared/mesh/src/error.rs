//! Errors of the mesh layer, worded for the person at the terminal.

use crate::settings::SettingsError;
use thiserror::Error;

/// What can go wrong talking to the broker.
#[derive(Debug, Error)]
pub enum MeshError {
    /// The settings could not be resolved.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// No broker answered at the address.
    #[error("cannot reach broker at {address}: {reason}")]
    Unreachable {
        /// `host:port`.
        address: String,
        /// What the network said.
        reason: String,
    },
    /// The broker refused our user name or password (never printed).
    #[error("broker at {address} refused user \"{user}\" (check the user name and password)")]
    LoginRefused {
        /// `host:port`.
        address: String,
        /// The user name we tried.
        user: String,
    },
    /// An AMQP operation failed.
    #[error("{action}: {reason}")]
    Amqp {
        /// What we were doing.
        action: String,
        /// What the broker or library said.
        reason: String,
    },
    /// A name (routing key, queue) longer than AMQP allows (255 bytes).
    #[error("'{0}' is too long for an AMQP name (at most 255 bytes)")]
    NameTooLong(String),
}

impl MeshError {
    /// Wrap a lapin error with what we were doing.
    pub fn amqp(action: impl Into<String>, error: lapin::Error) -> Self {
        MeshError::Amqp {
            action: action.into(),
            reason: describe(&error),
        }
    }

    pub(crate) fn from_connect(error: lapin::Error, address: &str, user: &str) -> Self {
        let text = describe(&error);
        let lowered = text.to_ascii_lowercase();
        if lowered.contains("access_refused")
            || lowered.contains("access-refused")
            || lowered.contains("authentication")
            || lowered.contains("login was refused")
        {
            return MeshError::LoginRefused {
                address: address.to_string(),
                user: user.to_string(),
            };
        }
        MeshError::Unreachable {
            address: address.to_string(),
            reason: text,
        }
    }

    /// `address: what happened`, one item of the list of addresses a connection tried.
    pub(crate) fn per_address(&self) -> String {
        match self {
            MeshError::Unreachable { address, reason } => format!("{address}: {reason}"),
            MeshError::LoginRefused { address, user } => {
                format!("{address}: refused user \"{user}\"")
            }
            other => other.to_string(),
        }
    }

    /// True when the broker refused a declaration because the exchange or queue exists with
    /// other flags or arguments (AMQP 406 PRECONDITION_FAILED, e.g. another `x-queue-type`):
    /// a settings problem, not an outage.
    pub fn is_precondition_failed(&self) -> bool {
        // describe() keeps lapin's AMQPError text, which names the reply code.
        matches!(self, MeshError::Amqp { reason, .. } if reason.contains("PRECONDITION_FAILED"))
    }

    /// True when the broker refused an exclusive queue that another connection holds (AMQP
    /// 405 RESOURCE_LOCKED), e.g. a lost connection's queue the broker has not dropped yet.
    pub fn is_resource_locked(&self) -> bool {
        matches!(self, MeshError::Amqp { reason, .. }
            if reason.contains("RESOURCE_LOCKED") || reason.contains("RESOURCE-LOCKED"))
    }

    /// True when the broker said an exchange or queue does not exist (AMQP 404 NOT_FOUND),
    /// e.g. our own queue, just declared, deleted by a dead cluster node's clean-up.
    pub fn is_not_found(&self) -> bool {
        matches!(self, MeshError::Amqp { reason, .. }
            if reason.contains("NOT_FOUND") || reason.contains("NOT-FOUND"))
    }

    /// True when the broker itself is (still) unreachable or the connection dropped.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, MeshError::Unreachable { .. })
    }
}

fn describe(error: &lapin::Error) -> String {
    match error.kind() {
        lapin::ErrorKind::IOError(io) => io.to_string(),
        lapin::ErrorKind::ProtocolError(amqp) => amqp.to_string(),
        _ => error.to_string(),
    }
}
