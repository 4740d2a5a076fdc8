//! Broker and database errors turned into one line and the exit status a user can act on.

use crate::exit_status::{CONFIG, NO_PERMISSION, UNAVAILABLE};
#[cfg(feature = "database")]
use crate::exit_status::{FAILURE, NO_INPUT};
use crate::ExitFailure;
#[cfg(feature = "broker")]
use dripline_mesh::MeshError;
#[cfg(feature = "database")]
use dripline_store::StoreError;

#[cfg(feature = "broker")]
/// The exit status a broker error deserves: 77 refused login, 78 bad settings, 69 otherwise.
pub fn mesh_status(error: &MeshError) -> u8 {
    match error {
        MeshError::LoginRefused { .. } => NO_PERMISSION,
        MeshError::Settings(_) | MeshError::NameTooLong(_) => CONFIG,
        _ => UNAVAILABLE,
    }
}

#[cfg(feature = "broker")]
/// A broker error as one line with [`mesh_status`].
pub fn mesh_failure(error: MeshError) -> anyhow::Error {
    ExitFailure::new(mesh_status(&error), error.to_string()).into()
}

#[cfg(feature = "database")]
/// The exit status a database error deserves: 78 bad settings, 69 unreachable, 77 refused
/// (login or privilege), 66 no such database or table, 1 any other failed statement.
pub fn store_status(error: &StoreError) -> u8 {
    match error {
        StoreError::Config(_) => CONFIG,
        StoreError::Unreachable { .. } => UNAVAILABLE,
        StoreError::Authentication { .. } => NO_PERMISSION,
        StoreError::NoDatabase { .. } | StoreError::MissingTable { .. } => NO_INPUT,
        StoreError::Query { code, .. } => match code.as_deref() {
            Some("42501") => NO_PERMISSION,
            Some("42P01") | Some("3F000") => NO_INPUT,
            Some(code) if code.starts_with("08") => UNAVAILABLE,
            _ => FAILURE,
        },
    }
}

#[cfg(feature = "database")]
/// A database error as one line with [`store_status`].
pub fn store_failure(error: StoreError) -> anyhow::Error {
    ExitFailure::new(store_status(&error), error.to_string()).into()
}
