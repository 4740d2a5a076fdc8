//! The logger's database side: one connection, rebuilt when lost, and batches written until
//! they are committed — retried through outages, split when one row is refused.
//!
//! With several hosts the logger connects to the one that takes writes (`read-write`, its
//! default then). When that primary goes away, the batch in hand stays unacknowledged and is
//! retried with back-off, each retry walking the host list again, until a host is primary
//! (a promoted standby): the batch is written there. A row the old primary committed and
//! the standby had received is recognised by its message id, so nothing is stored twice.

use crate::batch::Batch;
use crate::metrics::{Link, Metrics};
use dripline_mesh::Backoff;
use dripline_store::partition::{self, Layout, Period};
use dripline_store::{
    connect_async, connect_session, create_database, init_schema, init_schema_partitioned,
    ConnectionConfig, ConnectionTask, JsonRow, NumericRow, SensorTables, SensorWriter, StoreError,
    TableName, Written,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The retries were given up because the program is stopping.
#[derive(Debug)]
pub struct Stopping;

struct Session {
    client: dripline_store::tokio_postgres::Client,
    writer: SensorWriter,
    task: ConnectionTask,
}

/// Where rows go, and the connection they go through.
pub struct Database {
    config: ConnectionConfig,
    tables: SensorTables,
    session: Option<Session>,
    metrics: Arc<Metrics>,
    /// The server the last session reached (`host:port (primary)`), to say when it changes.
    server: Option<String>,
    /// The partitioned tables (ours, with a period) whose partitions are kept ahead.
    partitioned: Vec<(TableName, Period)>,
    /// When to look at the partitions again.
    next_partition_check: Instant,
}

/// How often the logger makes sure the partitions of a partitioned table exist ahead
/// ([`partition::AHEAD`] periods: two days at the shortest, so a check every 10 minutes leaves
/// days of margin). One look at the catalog per check; nothing on a batch's path otherwise.
/// Rows for times further ahead (a clock far off) go to the default partition and move into
/// their own when it is created.
const PARTITION_CHECK_EVERY: Duration = Duration::from_secs(600);

impl Database {
    /// Connect (creating the database and tables first with `init`: `Some(partition)`), and
    /// check the tables. Errors are returned as they are: at start-up a wrong setting should
    /// stop the program.
    pub async fn open(
        config: ConnectionConfig,
        tables: SensorTables,
        init: Option<Option<Period>>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        if init.is_some() && create_database(&config).await? {
            tracing::info!(database = %config.database, "created the database");
        }
        let mut database = Database {
            config,
            tables,
            session: None,
            metrics,
            server: None,
            partitioned: Vec::new(),
            next_partition_check: Instant::now(),
        };
        match init {
            Some(Some(period)) => {
                let (mut client, _task) = connect_async(&database.config).await?;
                init_schema_partitioned(&mut client, &database.tables, period).await?;
            }
            Some(None) => {
                let (client, _task) = connect_async(&database.config).await?;
                init_schema(&client, &database.tables).await?;
            }
            None => {}
        }
        database.session = Some(database.connect().await?);
        let session = database.session.as_ref().expect("just connected");
        for table in [&database.tables.numeric, &database.tables.json] {
            match partition::layout(&session.client, table).await? {
                Layout::Partitioned {
                    period: Some(period),
                } => database.partitioned.push((table.clone(), period)),
                Layout::Partitioned { period: None } => tracing::warn!(
                    %table,
                    "the table is partitioned without a period recorded: its partitions are \
                     not created ahead (rows without one need a default partition)"
                ),
                _ => {}
            }
        }
        let session = database.session.as_ref().expect("just connected");
        if !session.writer.deduplicates() {
            tracing::warn!(
                table = %database.tables.numeric,
                "the table has no unique message_id: an alert redelivered after a crash or a \
                 lost connection will be stored twice (run with --init-schema on a new table \
                 to avoid this)"
            );
        }
        Ok(database)
    }

    async fn connect(&mut self) -> Result<Session, StoreError> {
        let session = connect_session(&self.config).await?;
        let writer = SensorWriter::prepare(&session.client, &self.tables).await?;
        let server = session.describe();
        match self.server.as_deref() {
            None => {
                tracing::info!(database = %self.config.database, "writing to the database at {server}")
            }
            Some(before) if before != server => tracing::warn!(
                database = %self.config.database,
                "writing to the database at {server} now (was {before})"
            ),
            Some(_) => {}
        }
        self.metrics.database_server(&session.server.to_string());
        self.server = Some(server);
        self.metrics.link(Link::Database, true);
        Ok(Session {
            client: session.client,
            writer,
            task: session.task,
        })
    }

    /// Commit the batch's rows, retrying through database outages until it works or `stop`
    /// turns true. Rows the database refuses (a data error) are found one by one and moved to
    /// the batch's poison list; the others are committed.
    pub async fn write(
        &mut self,
        batch: &mut Batch<impl Sized>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Written, Stopping> {
        self.keep_partitions_ahead().await;
        match self.write_rows(&batch.numeric, &batch.json, stop).await? {
            Ok(written) => Ok(written),
            Err(error) => {
                tracing::warn!("{error}; writing the batch's rows one by one to find the bad ones");
                self.write_one_by_one(batch, stop).await
            }
        }
    }

    async fn write_one_by_one(
        &mut self,
        batch: &mut Batch<impl Sized>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Written, Stopping> {
        let mut written = Written::default();
        let mut refused_numeric = Vec::new();
        let mut refused_json = Vec::new();
        for index in 0..batch.numeric.len() {
            let row = std::slice::from_ref(&batch.numeric[index]);
            match self.write_rows(row, &[], stop).await? {
                Ok(one) => add(&mut written, one),
                Err(error) => refused_numeric.push((index, refusal(&error))),
            }
        }
        for index in 0..batch.json.len() {
            let row = std::slice::from_ref(&batch.json[index]);
            match self.write_rows(&[], row, stop).await? {
                Ok(one) => add(&mut written, one),
                Err(error) => refused_json.push((index, refusal(&error))),
            }
        }
        batch.refuse_rows(refused_numeric, refused_json);
        Ok(written)
    }

    /// One transaction, retried until it commits, fails on the data, or `stop`.
    async fn write_rows(
        &mut self,
        numeric: &[NumericRow],
        json: &[JsonRow],
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Result<Written, StoreError>, Stopping> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        let mut reported: Option<String> = None;
        let started = Instant::now();
        loop {
            let error = match self.try_write(numeric, json).await {
                Ok(written) => {
                    if reported.is_some() {
                        tracing::warn!(
                            "database writes work again after {}",
                            humantime::format_duration(round(started.elapsed()))
                        );
                    }
                    return Ok(Ok(written));
                }
                Err(error) if error.is_data_problem() => return Ok(Err(error)),
                Err(error) => error,
            };
            // 25006: the server has turned read-only under us (demoted, or set so): find the
            // primary again rather than retry there.
            if error.is_connection_problem() || error.sqlstate() == Some("25006") {
                self.lose_session();
            }
            let text = error.to_string();
            if reported.as_deref() != Some(&text) {
                tracing::warn!("{text}; consuming is paused, retrying until it works");
                reported = Some(text);
            }
            let delay = backoff.next_delay();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.wait_for(|stop| *stop) => return Err(Stopping),
            }
        }
    }

    async fn try_write(
        &mut self,
        numeric: &[NumericRow],
        json: &[JsonRow],
    ) -> Result<Written, StoreError> {
        if self.session.as_ref().is_some_and(|s| s.task.is_finished()) {
            self.lose_session();
        }
        if self.session.is_none() {
            self.session = Some(self.connect().await?);
        }
        let session = self.session.as_mut().expect("connected above");
        session
            .writer
            .write(&mut session.client, numeric, json)
            .await
    }

    /// Every [`PARTITION_CHECK_EVERY`], create the partitions the next periods need. A failure
    /// is a warning and is tried again at the next check: the rows of a period without a
    /// partition are stored in the default partition meanwhile, never refused.
    async fn keep_partitions_ahead(&mut self) {
        if self.partitioned.is_empty() || Instant::now() < self.next_partition_check {
            return;
        }
        let Some(session) = self.session.as_mut() else {
            return;
        };
        self.next_partition_check = Instant::now() + PARTITION_CHECK_EVERY;
        for (table, period) in &self.partitioned {
            match dripline_store::schema::ensure_ahead(
                &mut session.client,
                table,
                *period,
                partition::Patience::Once,
            )
            .await
            {
                Ok(created) => {
                    for c in &created {
                        tracing::info!(partition = %c.table, moved = c.moved, "created partition");
                    }
                    if !created.is_empty() {
                        // So that the writer copies their rows into them.
                        session.writer.forget_partitions();
                    }
                }
                Err(error) => tracing::warn!(
                    %table,
                    "{error}; rows without a partition go to the default partition, retrying \
                     in {}",
                    humantime::format_duration(PARTITION_CHECK_EVERY)
                ),
            }
        }
    }

    fn lose_session(&mut self) {
        if self.session.take().is_some() {
            self.metrics.link(Link::Database, false);
        }
    }
}

fn add(total: &mut Written, one: Written) {
    total.inserted += one.inserted;
    total.duplicates += one.duplicates;
}

/// The reason given for a row the database refused.
fn refusal(error: &StoreError) -> String {
    format!("the database refused the row: {error}")
}

fn round(elapsed: Duration) -> Duration {
    Duration::from_millis(elapsed.as_millis() as u64)
}
