//! Opening connections, with failures sorted into [`StoreError`] variants.

use crate::config::ConnectionConfig;
use crate::error::{reason_of, StoreError};
use postgres::error::SqlState;

/// Connect synchronously (for streaming tools such as `dl-export`).
///
/// Fails with [`StoreError::Unreachable`], [`StoreError::Authentication`],
/// [`StoreError::NoDatabase`] or [`StoreError::Config`].
pub fn connect(config: &ConnectionConfig) -> Result<postgres::Client, StoreError> {
    let pg = postgres::Config::from(config.pg_config()?);
    tracing::debug!(target_db = %config, "connecting to PostgreSQL");
    pg.connect(postgres::NoTls)
        .map_err(|error| classify_connect_error(config, &error))
}

/// Connect from async code. The returned connection future must be spawned (it performs the
/// actual I/O), e.g. `tokio::spawn(connection)`.
pub async fn connect_async(
    config: &ConnectionConfig,
) -> Result<
    (
        tokio_postgres::Client,
        tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
    ),
    StoreError,
> {
    let pg = config.pg_config()?;
    pg.connect(tokio_postgres::NoTls)
        .await
        .map_err(|error| classify_connect_error(config, &error))
}

/// Sort a failure to connect into the variant a user can act on.
pub(crate) fn classify_connect_error(
    config: &ConnectionConfig,
    error: &postgres::Error,
) -> StoreError {
    match error.code() {
        Some(code)
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            StoreError::Authentication {
                target: config.target(),
                user: config.user.clone(),
                reason: reason_of(error),
            }
        }
        Some(code) if *code == SqlState::UNDEFINED_DATABASE => StoreError::NoDatabase {
            target: config.target(),
            database: config.database.clone(),
        },
        _ => StoreError::Unreachable {
            target: config.target(),
            reason: reason_of(error),
        },
    }
}
