//! # dripline-store
//!
//! The PostgreSQL side of dripline-tools, and nothing about AMQP or command lines.
//!
//! - [`config`]: where to connect and as whom. [`ConnectionOptions`] is what a user gave
//!   (a `postgresql://` URL, host/port/database/user, an auth file with a `postgres` group,
//!   a password file, `sslmode`); [`ConnectionConfig::resolve`] layers it over the environment
//!   (`POSTGRES_USER`, `POSTGRES_PASSWORD`) and dripline-python's defaults (`postgres`/`postgres`).
//!   Passwords are never printed: [`ConnectionConfig`] shows itself as `user@host:port/db`.
//! - [`connect_async`]: a `tokio_postgres` client (what the queries here take: the export
//!   stream runs inside one future, and the sensor logger is async anyway), and
//!   [`connect`](connect()) for a synchronous [`postgres::Client`] (set-up, tests); both map
//!   failures to [`StoreError`].
//! - [`schema`]: the dripline `numeric_data` table (PROTOCOL.md §A6.4), [`TableName`], and
//!   [`init_schema`] (and [`init_schema_blocking`]) which creates it with our recommended index
//!   on `(sensor_name, timestamp)`.
//! - [`time`]: the time grammar the tools share (`24h`, `2026-11-25T00:00:00Z`, `2026-11-25`,
//!   `now`) as a [`TimeSpec`], turned into SQL the database resolves.
//! - [`export`]: [`ExportQuery`], the one SELECT behind `dl-export` (filters, time range,
//!   incremental resume, downsampling into aligned buckets), and [`export::stream`], which runs
//!   it as `COPY … TO STDOUT (FORMAT binary)` and hands each row to a callback in constant memory.
//!   The SQL is built with literals (COPY takes no parameters), always through [`sql`].
//! - [`copy`]: the decoder of PostgreSQL's binary COPY stream.
//! - [`sql`]: quoting of identifiers and literals (COPY takes no parameters).
//!
//! ## Failure modes
//!
//! Every fallible function returns [`StoreError`], whose variants are the cases a user can act
//! on: the server cannot be reached ([`StoreError::Unreachable`]), refused the credentials
//! ([`StoreError::Authentication`]), has no such database or table
//! ([`StoreError::NoDatabase`], [`StoreError::MissingTable`]), the settings are wrong
//! ([`StoreError::Config`]), or a statement failed ([`StoreError::Query`]). Each message names
//! the server (`127.0.0.1:5433`) or the table, never a password.
#![deny(missing_docs)]

pub mod config;
mod connect;
pub mod copy;
mod error;
pub mod export;
pub mod schema;
pub mod sql;
pub mod time;

pub use config::{ConfigError, ConnectionConfig, ConnectionOptions, SslMode};
pub use connect::{connect, connect_async};
pub use error::StoreError;
pub use export::ExportQuery;
pub use schema::{init_schema, init_schema_blocking, table_exists, TableName};
pub use time::TimeSpec;

/// Re-exported so that users of this crate name the same client types.
pub use postgres;
/// Re-exported so that async users of this crate name the same client types.
pub use tokio_postgres;
