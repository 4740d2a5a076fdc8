//! Opening connections, with failures sorted into [`StoreError`] variants.

use crate::config::{ConnectionConfig, Server, TargetSessionAttrs};
use crate::error::{reason_of, StoreError};
use crate::sql::escape_identifier;
use postgres::error::SqlState;
use tokio::io::{AsyncRead, AsyncWrite};

/// Connect synchronously (set-up scripts, tests). Here `connect_timeout` bounds the TCP
/// connect only (the `postgres` crate's own runtime does the rest); programs use
/// [`connect_async`], which bounds the whole start-up. With several hosts, each is tried in
/// turn as [`connect_session`] does.
///
/// Fails with [`StoreError::Unreachable`], [`StoreError::Authentication`],
/// [`StoreError::NoDatabase`] or [`StoreError::Config`].
pub fn connect(config: &ConnectionConfig) -> Result<postgres::Client, StoreError> {
    let mut search = Search::new(config);
    for (pass, server) in search.order() {
        let needs_facts = search.needs_facts();
        let attempt = connect_one_blocking(config, server).and_then(|mut client| {
            let facts = if needs_facts {
                let row = client
                    .query_one(FACTS_SQL, &[])
                    .map_err(|e| StoreError::query(format!("checking {server}"), &e))?;
                Some(Facts::from_row(&row))
            } else {
                None
            };
            Ok((client, facts))
        });
        match attempt {
            Ok((client, facts)) => {
                if search.accepts(pass, server, facts) {
                    return Ok(client);
                }
            }
            Err(error) => search.failed(server, error)?,
        }
    }
    Err(search.give_up())
}

fn connect_one_blocking(
    config: &ConnectionConfig,
    server: &Server,
) -> Result<postgres::Client, StoreError> {
    let pg = postgres::Config::from(config.pg_config(server));
    tracing::debug!(target_db = %server, ssl_mode = ?config.ssl_mode, "connecting to PostgreSQL");
    match crate::tls::connector(config, server)? {
        Some(tls) => pg.connect(tls),
        None => pg.connect(postgres::NoTls),
    }
    .map_err(|error| classify_connect_error(config, server, &error))
}

/// The task that drives a connection's I/O, spawned by [`connect_async`]. It ends when the
/// client is dropped (`Ok`) or the connection fails (`Err`, e.g. the server shut down): await
/// it, or poll `is_finished`, to notice a lost connection before the next statement does.
pub type ConnectionTask = tokio::task::JoinHandle<Result<(), StoreError>>;

/// What a server is, as far as `target_session_attrs` asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRole {
    /// Not in recovery: takes writes (unless set read-only).
    Primary,
    /// In recovery: a streaming (hot) standby, read-only.
    Standby,
}

impl std::fmt::Display for ServerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerRole::Primary => "primary",
            ServerRole::Standby => "standby",
        })
    }
}

/// A connection made by [`connect_session`]: the client, the task driving its I/O, and which
/// server of the list it reached.
pub struct Session {
    /// The client.
    pub client: tokio_postgres::Client,
    /// The connection's I/O; see [`ConnectionTask`].
    pub task: ConnectionTask,
    /// The server connected to.
    pub server: Server,
    /// Whether it is a primary or a standby; `None` when `target_session_attrs` is `any` (not
    /// asked, to spare a round trip).
    pub role: Option<ServerRole>,
}

impl Session {
    /// `host:port (standby)`, or `host:port` when the role was not asked: for messages.
    pub fn describe(&self) -> String {
        match self.role {
            Some(role) => format!("{} ({role})", self.server),
            None => self.server.to_string(),
        }
    }
}

/// Connect from async code (inside a tokio runtime). The connection's I/O runs in a task of
/// its own, returned beside the client. `connect_timeout` bounds the whole start-up (TCP, TLS,
/// login), as libpq's does: a server that accepts and then says nothing fails too.
///
/// Fails with [`StoreError::Unreachable`], [`StoreError::Authentication`],
/// [`StoreError::NoDatabase`] or [`StoreError::Config`].
pub async fn connect_async(
    config: &ConnectionConfig,
) -> Result<(tokio_postgres::Client, ConnectionTask), StoreError> {
    let session = connect_session(config).await?;
    Ok((session.client, session.task))
}

/// [`connect_async`], saying which server it reached. The servers are tried in order (for
/// `prefer-standby`: every standby first, then any); each attempt is bounded by
/// `connect_timeout`. A server that is not what `target_session_attrs` asks for (a standby
/// when `read-write` is asked) is passed over; a refused login or a missing database ends
/// the search, as in libpq. When no server does, the [`StoreError::Unreachable`] names each
/// server and why.
pub async fn connect_session(config: &ConnectionConfig) -> Result<Session, StoreError> {
    let mut search = Search::new(config);
    for (pass, server) in search.order() {
        match connect_one(config, server, search.needs_facts()).await {
            Ok((client, task, facts)) => {
                if search.accepts(pass, server, facts) {
                    let session = Session {
                        client,
                        task,
                        server: server.clone(),
                        role: facts.map(Facts::role),
                    };
                    if config.servers.len() > 1 {
                        tracing::info!(database = %config.database, "connected to PostgreSQL at {}", session.describe());
                    } else {
                        tracing::debug!(database = %config.database, "connected to PostgreSQL at {}", session.describe());
                    }
                    return Ok(session);
                }
            }
            Err(error) => search.failed(server, error)?,
        }
    }
    Err(search.give_up())
}

/// One server: connect, and learn what it is when asked, within `connect_timeout`.
async fn connect_one(
    config: &ConnectionConfig,
    server: &Server,
    needs_facts: bool,
) -> Result<(tokio_postgres::Client, ConnectionTask, Option<Facts>), StoreError> {
    let attempt = async {
        let (client, task) = start_up(config, server).await?;
        let facts = if needs_facts {
            let row = client
                .query_one(FACTS_SQL, &[])
                .await
                .map_err(|e| StoreError::query(format!("checking {server}"), &e))?;
            Some(Facts::from_row(&row))
        } else {
            None
        };
        Ok((client, task, facts))
    };
    let Some(limit) = config.connect_timeout else {
        return attempt.await;
    };
    tokio::time::timeout(limit, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unreachable {
                target: server.to_string(),
                reason: format!(
                    "no answer within {} (connect timeout)",
                    humantime::format_duration(limit)
                ),
            })
        })
}

/// Connect to one server, without a time limit.
async fn start_up(
    config: &ConnectionConfig,
    server: &Server,
) -> Result<(tokio_postgres::Client, ConnectionTask), StoreError> {
    let pg = config.pg_config(server);
    tracing::debug!(target_db = %server, ssl_mode = ?config.ssl_mode, "connecting to PostgreSQL");
    let fail = |error: tokio_postgres::Error| classify_connect_error(config, server, &error);
    match crate::tls::connector(config, server)? {
        Some(tls) => {
            let (client, connection) = pg.connect(tls).await.map_err(fail)?;
            Ok((client, spawn_connection(server, connection)))
        }
        None => {
            let (client, connection) = pg.connect(tokio_postgres::NoTls).await.map_err(fail)?;
            Ok((client, spawn_connection(server, connection)))
        }
    }
}

/// Run a connection's I/O in a task of its own until it ends.
fn spawn_connection<T>(
    server: &Server,
    connection: tokio_postgres::Connection<tokio_postgres::Socket, T>,
) -> ConnectionTask
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let target = server.to_string();
    tokio::spawn(async move {
        connection.await.map_err(|error| {
            tracing::debug!(database = %target, %error, "database connection ended");
            StoreError::query(format!("connection to {target}"), &error)
        })
    })
}

/// What `target_session_attrs` is judged on: `pg_is_in_recovery()` and the session's
/// `transaction_read_only` (on in a hot standby, or where `default_transaction_read_only`).
const FACTS_SQL: &str =
    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'";

#[derive(Clone, Copy, Debug)]
struct Facts {
    in_recovery: bool,
    read_only: bool,
}

impl Facts {
    /// The answer to [`FACTS_SQL`].
    fn from_row(row: &tokio_postgres::Row) -> Self {
        Facts {
            in_recovery: row.get(0),
            read_only: row.get(1),
        }
    }

    fn role(self) -> ServerRole {
        if self.in_recovery {
            ServerRole::Standby
        } else {
            ServerRole::Primary
        }
    }
}

/// The walk through the server list, shared by [`connect`] and [`connect_session`]: the order
/// of attempts, which server to settle on, and why each other one was passed over.
struct Search<'a> {
    config: &'a ConnectionConfig,
    /// `server: why`, once per server and reason.
    passed_over: Vec<String>,
    /// The only failure, kept whole when there is one server (its own message is best).
    only: Option<StoreError>,
}

impl<'a> Search<'a> {
    fn new(config: &'a ConnectionConfig) -> Self {
        Search {
            config,
            passed_over: Vec::new(),
            only: None,
        }
    }

    /// (pass, server) in the order to try: `prefer-standby` walks the list twice.
    fn order(&self) -> Vec<(usize, &'a Server)> {
        let passes = match self.config.target_session_attrs {
            TargetSessionAttrs::PreferStandby => 2,
            _ => 1,
        };
        (0..passes)
            .flat_map(|pass| self.config.servers.iter().map(move |server| (pass, server)))
            .collect()
    }

    fn needs_facts(&self) -> bool {
        self.config.target_session_attrs != TargetSessionAttrs::Any
    }

    /// Whether the server reached on `pass` will do; if not, it is noted as passed over (and
    /// its connection is dropped by the caller).
    fn accepts(&mut self, pass: usize, server: &Server, facts: Option<Facts>) -> bool {
        use TargetSessionAttrs as A;
        let attrs = self.config.target_session_attrs;
        let Some(facts) = facts else { return true };
        let (fits, is) = match attrs {
            A::Any => (true, ""),
            A::ReadWrite => (!facts.read_only, "read-only"),
            A::ReadOnly => (facts.read_only, "read-write"),
            A::Primary => (!facts.in_recovery, "a standby"),
            A::Standby => (facts.in_recovery, "a primary"),
            // The second walk takes any server.
            A::PreferStandby => (facts.in_recovery || pass == 1, "a primary"),
        };
        if !fits {
            let reason = format!("{is} (target_session_attrs={attrs})");
            self.note(
                server,
                StoreError::Unreachable {
                    target: server.to_string(),
                    reason,
                },
            );
        }
        fits
    }

    /// A server could not be used: passed over if another might do, else the end (a refused
    /// login or a missing database is not a reason to try the next, as in libpq).
    fn failed(&mut self, server: &Server, error: StoreError) -> Result<(), StoreError> {
        match error {
            StoreError::Unreachable { .. } => {
                self.note(server, error);
                Ok(())
            }
            error if error.is_connection_problem() => {
                self.note(server, error);
                Ok(())
            }
            error => Err(error),
        }
    }

    fn note(&mut self, server: &Server, error: StoreError) {
        let reason = match &error {
            StoreError::Unreachable { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        let line = format!("{server}: {reason}");
        if !self.passed_over.contains(&line) {
            self.passed_over.push(line);
        }
        if self.config.servers.len() == 1 {
            self.only = Some(error);
        }
    }

    /// The error when no server would do.
    fn give_up(self) -> StoreError {
        if let Some(only) = self.only {
            return only;
        }
        StoreError::Unreachable {
            target: self.config.target(),
            reason: self.passed_over.join("; "),
        }
    }
}

/// Create the configured database if it does not exist, connecting to the `postgres`
/// maintenance database with the same settings and credentials. Returns whether it was
/// created (`false`: it was there already, perhaps made by another process just now).
pub async fn create_database(config: &ConnectionConfig) -> Result<bool, StoreError> {
    let maintenance = ConnectionConfig {
        database: "postgres".to_string(),
        ..config.clone()
    };
    let session = connect_session(&maintenance).await?;
    let client = session.client;
    let what = format!(
        "creating database '{}' at {}",
        config.database, session.server
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
            tracing::info!(database = %config.database, target = %session.server, "database created");
            Ok(true)
        }
        Err(error) if error.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(false),
        Err(error) => Err(StoreError::query(&what, &error)),
    }
}

/// Sort a failure to connect to `server` into the variant a user can act on.
pub(crate) fn classify_connect_error(
    config: &ConnectionConfig,
    server: &Server,
    error: &postgres::Error,
) -> StoreError {
    match error.code() {
        Some(code)
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            StoreError::Authentication {
                target: server.to_string(),
                user: config.user.clone(),
                reason: reason_of(error),
            }
        }
        Some(code) if *code == SqlState::UNDEFINED_DATABASE => StoreError::NoDatabase {
            target: server.to_string(),
            database: config.database.clone(),
        },
        _ => StoreError::Unreachable {
            target: server.to_string(),
            reason: reason_of(error),
        },
    }
}
