//! Opening connections, with failures sorted into [`StoreError`] variants.

use crate::config::ConnectionConfig;
use crate::error::{reason_of, StoreError};
use crate::sql::escape_identifier;
use postgres::error::SqlState;
use tokio::io::{AsyncRead, AsyncWrite};

/// Connect synchronously (set-up scripts, tests). Here `connect_timeout` bounds the TCP
/// connect only (the `postgres` crate's own runtime does the rest); programs use
/// [`connect_async`], which bounds the whole start-up.
///
/// Fails with [`StoreError::Unreachable`], [`StoreError::Authentication`],
/// [`StoreError::NoDatabase`] or [`StoreError::Config`].
pub fn connect(config: &ConnectionConfig) -> Result<postgres::Client, StoreError> {
    let pg = postgres::Config::from(config.pg_config()?);
    tracing::debug!(target_db = %config, ssl_mode = ?config.ssl_mode, "connecting to PostgreSQL");
    match crate::tls::connector(config)? {
        Some(tls) => pg.connect(tls),
        None => pg.connect(postgres::NoTls),
    }
    .map_err(|error| classify_connect_error(config, &error))
}

/// The task that drives a connection's I/O, spawned by [`connect_async`]. It ends when the
/// client is dropped (`Ok`) or the connection fails (`Err`, e.g. the server shut down): await
/// it, or poll `is_finished`, to notice a lost connection before the next statement does.
pub type ConnectionTask = tokio::task::JoinHandle<Result<(), StoreError>>;

/// Connect from async code (inside a tokio runtime). The connection's I/O runs in a task of
/// its own, returned beside the client. `connect_timeout` bounds the whole start-up (TCP, TLS,
/// login), as libpq's does: a server that accepts and then says nothing fails too.
///
/// Fails with [`StoreError::Unreachable`], [`StoreError::Authentication`],
/// [`StoreError::NoDatabase`] or [`StoreError::Config`].
pub async fn connect_async(
    config: &ConnectionConfig,
) -> Result<(tokio_postgres::Client, ConnectionTask), StoreError> {
    let Some(limit) = config.connect_timeout else {
        return start_up(config).await;
    };
    tokio::time::timeout(limit, start_up(config))
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unreachable {
                target: config.target(),
                reason: format!(
                    "no answer within {} (connect timeout)",
                    humantime::format_duration(limit)
                ),
            })
        })
}

/// [`connect_async`] without its time limit.
async fn start_up(
    config: &ConnectionConfig,
) -> Result<(tokio_postgres::Client, ConnectionTask), StoreError> {
    let pg = config.pg_config()?;
    tracing::debug!(target_db = %config, ssl_mode = ?config.ssl_mode, "connecting to PostgreSQL");
    let fail = |error: tokio_postgres::Error| classify_connect_error(config, &error);
    match crate::tls::connector(config)? {
        Some(tls) => {
            let (client, connection) = pg.connect(tls).await.map_err(fail)?;
            Ok((client, spawn_connection(config, connection)))
        }
        None => {
            let (client, connection) = pg.connect(tokio_postgres::NoTls).await.map_err(fail)?;
            Ok((client, spawn_connection(config, connection)))
        }
    }
}

/// Run a connection's I/O in a task of its own until it ends.
fn spawn_connection<T>(
    config: &ConnectionConfig,
    connection: tokio_postgres::Connection<tokio_postgres::Socket, T>,
) -> ConnectionTask
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let target = config.to_string();
    tokio::spawn(async move {
        connection.await.map_err(|error| {
            tracing::debug!(database = %target, %error, "database connection ended");
            StoreError::query(format!("connection to {target}"), &error)
        })
    })
}

/// Create the configured database if it does not exist, connecting to the `postgres`
/// maintenance database with the same settings and credentials. Returns whether it was
/// created (`false`: it was there already, perhaps made by another process just now).
pub async fn create_database(config: &ConnectionConfig) -> Result<bool, StoreError> {
    let maintenance = ConnectionConfig {
        database: "postgres".to_string(),
        ..config.clone()
    };
    let (client, _task) = connect_async(&maintenance).await?;
    let what = format!(
        "creating database '{}' at {}",
        config.database,
        config.target()
    );
    let exists = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&config.database],
        )
        .await
        .map_err(|e| StoreError::query(&what, &e))?;
    if exists.get(0) {
        return Ok(false);
    }
    match client
        .batch_execute(&format!(
            "CREATE DATABASE {}",
            escape_identifier(&config.database)
        ))
        .await
    {
        Ok(()) => {
            tracing::info!(database = %config.database, target = %config.target(), "database created");
            Ok(true)
        }
        Err(error) if error.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(false),
        Err(error) => Err(StoreError::query(&what, &error)),
    }
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
