//! # dripline-store
//!
//! The PostgreSQL side of dripline-tools, and nothing about AMQP or command lines.
//!
//! - [`config`]: where to connect and as whom. [`ConnectionOptions`] is what a user gave
//!   (a `postgresql://` URL, host/port/database/user, an auth file with a `postgres` group,
//!   a password file, `sslmode` and `sslrootcert`); [`ConnectionConfig::resolve`] layers it
//!   over libpq's environment (`PGHOST`, `PGUSER`, `PGPASSWORD`, `PGAPPNAME`, …), dripline's
//!   (`POSTGRES_USER`, `POSTGRES_PASSWORD`), the auth file, libpq's password file
//!   (`PGPASSFILE`, `~/.pgpass`) and dripline-python's defaults (`postgres`/`postgres`), in
//!   the order the [`config`] module lists. Passwords are never printed: [`ConnectionConfig`]
//!   shows itself as `user@host:port/db`. As libpq, the host may be a list (at most
//!   [`MAX_HOSTS`]) with [`TargetSessionAttrs`] choosing among them (`read-write` for the
//!   primary, `prefer-standby` to spare it); [`connect_session`] says which [`Server`] it
//!   reached and whether it is a primary or a standby ([`ServerRole`]).
//! - [`connect_async`]: a `tokio_postgres` client (what the queries here take: the export
//!   stream runs inside one future, and the sensor logger is async anyway) with its
//!   connection's I/O spawned as a [`ConnectionTask`], the whole start-up bounded by
//!   `connect_timeout`, and [`connect`](connect()) for a
//!   synchronous [`postgres::Client`] (set-up, tests); both map failures to [`StoreError`].
//!   [`create_database`] makes the configured database when it is missing. TLS is rustls,
//!   checked as libpq's `sslmode` says (`prefer` and `require` encrypt without checking the
//!   certificate; `verify-ca`, `verify-full` check it against the system trust store and
//!   `sslrootcert`); never over a Unix socket.
//! - [`schema`]: the dripline `numeric_data` table (PROTOCOL.md §A6.4), our recommended pair
//!   of tables ([`SensorTables`]: `numeric_data` with a unique `message_id`, and `json_data`),
//!   [`TableName`], and [`init_schema`] (and [`init_schema_blocking`]) which creates them.
//! - [`partition`]: time-partitioned sensor tables ([`partition::Period`]: month, week, day),
//!   their partitions listed, created ahead (rows of a new partition's range moved out of the
//!   default partition in the same transaction) and dropped; used by
//!   [`init_schema_partitioned`], `dl-log-to-pg` and `dl-history`.
//! - [`ingest`]: [`SensorWriter`], the batched writer behind `dl-log-to-pg`: binary COPY,
//!   one transaction per batch, redelivered alerts recognised by [`message_key`].
//! - [`time`]: the time grammar the tools share (`24h`, `2026-11-25T00:00:00Z`, `2026-11-25`,
//!   `now`) as a [`TimeSpec`], turned into SQL the database resolves, and the session time zone
//!   as a [`TimeZone`] (an ISO 8601 offset east of UTC, or a zone name; POSIX-style `UTC+2`
//!   refused).
//! - [`export`]: [`ExportQuery`], the one SELECT behind `dl-export` (filters, time range,
//!   incremental resume, downsampling into aligned buckets), and [`export::stream`], which runs
//!   it as `COPY … TO STDOUT (FORMAT binary)` and hands each row to a callback in constant memory.
//!   The SQL is built with literals (COPY takes no parameters), always through [`sql`].
//! - [`rollup`]: per-sensor aggregates at 1 minute and 1 hour beside the numeric table,
//!   marked dirty by a trigger and recomputed from raw rows by [`rollup::refresh`];
//!   [`rollup::complete_until`] says how far they reach. `dl-export --every` reads them when
//!   the answer is the same.
//! - [`copy`]: the decoder of PostgreSQL's binary COPY stream.
//! - [`sql`]: literals for the SQL we build (COPY takes no parameters): postgres-protocol's
//!   escapers for names and strings, and our own for numbers and instants.
//!
//! ## Failure modes
//!
//! Every fallible function returns [`StoreError`], whose variants are the cases a user can act
//! on: the server cannot be reached ([`StoreError::Unreachable`]), refused the credentials
//! ([`StoreError::Authentication`]), has no such database or table
//! ([`StoreError::NoDatabase`], [`StoreError::MissingTable`]), the settings are wrong
//! ([`StoreError::Config`]), or a statement failed ([`StoreError::Query`]). Each message names
//! the server (`127.0.0.1:5433`) or the table, never a password. A long-running writer sorts
//! failures with [`StoreError::is_connection_problem`] (reconnect, retry the batch) and
//! [`StoreError::is_data_problem`] (a bad row: split the batch to find it).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
mod connect;
pub mod copy;
mod error;
pub mod export;
pub mod ingest;
pub mod partition;
mod pgpass;
pub mod rollup;
pub mod schema;
pub mod sql;
pub mod time;
mod tls;

pub use config::{
    ConfigError, ConnectionConfig, ConnectionOptions, HostList, PortList, Server, SslMode,
    TargetSessionAttrs, MAX_HOSTS,
};
pub use connect::{
    connect, connect_async, connect_session, create_database, ConnectionTask, ServerRole, Session,
};
pub use error::StoreError;
pub use export::ExportQuery;
pub use ingest::{message_key, JsonRow, NumericRow, SensorWriter, Written};
pub use schema::{
    init_schema, init_schema_blocking, init_schema_partitioned, table_exists, SensorTables,
    TableName,
};
pub use time::{TimeSpec, TimeZone};

/// Re-exported so that users of this crate name the same client types.
pub use postgres;
/// Re-exported so that async users of this crate name the same client types.
pub use tokio_postgres;
