//! Writing sensor values in batches: the database half of `dl-log-to-pg`.
//!
//! A [`SensorWriter`] is prepared once per connection. It looks at the two tables
//! ([`SensorTables`]) and picks a route for each:
//!
//! - **deduplicating** (a unique key holding `message_id`, such as our recommended
//!   `(sensor_name, "timestamp", message_id)`): binary `COPY` straight into the table, the
//!   usual case, where no row of the batch is there yet. When that meets a unique violation (a
//!   redelivered alert), the whole batch is written again through a per-connection temporary
//!   staging table (`ON COMMIT DELETE ROWS`): `COPY` into it, then
//!   `INSERT INTO target … SELECT … FROM staging ON CONFLICT (…) DO NOTHING`, since COPY itself
//!   cannot skip rows. Going through staging every time would cost about a third more per row.
//! - **plain** (dripline's `numeric_data` from `10_setup.sql`, or any table without such a
//!   key): binary `COPY` straight into the table, every row new. The user's table is never
//!   altered; `message_id` is filled when the column exists.
//!
//! A numeric table partitioned by us ([`crate::partition`]) that has rollups
//! ([`crate::rollup`]) is written **into its partitions**: each row is COPied into the partition
//! of its period when that partition is known to exist (the others go through the parent), and
//! the batch's minutes are marked dirty in the same transaction. The parent's rollup trigger
//! has a transition table, and with such a trigger PostgreSQL COPies into a partitioned table
//! one row at a time instead of in batches; into the partition, COPY batches, and the parent's
//! statement trigger does not fire (hence the marking here). Measured, server CPU for 300 000
//! rows in batches of 5000, median of 5: 1010 ms through the parent, 880 ms into the partitions
//! (the plain table without rollups: 840 ms). A partition dropped or created meanwhile, or
//! rollups dropped, make the attempt fail (undefined table or function, partition constraint);
//! the batch is then written again through the parent, and the partitions are looked up anew.
//!
//! [`SensorWriter::write`] writes both kinds of rows in one transaction: all or nothing, so a
//! caller that acknowledges its alerts only after `write` returns `Ok` loses none and, with
//! the deduplicating tables, stores none twice.
//!
//! The rows are encoded by the driver's `BinaryCopyInWriter`: the server, not the encoding, is
//! the bottleneck (COPY into a table without indexes runs at over 400 000 rows/s here).

use crate::error::StoreError;
use crate::partition::{self, Layout, Period};
use crate::rollup::{self, RollupTables};
use crate::schema::{SensorTables, TableName};
use crate::sql::escape_identifier;
use chrono::{DateTime, DurationRound, Utc};
use futures_util::pin_mut;
use std::collections::{BTreeMap, BTreeSet};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement, ToStatement, Transaction};
use uuid::Uuid;

/// One numeric value for the numeric table.
#[derive(Clone, Debug, PartialEq)]
pub struct NumericRow {
    /// The sensor (endpoint) name, from the routing key `sensor_value.<name>`.
    pub sensor_name: String,
    /// When the value was taken: the alert's `timestamp` header.
    pub timestamp: DateTime<Utc>,
    /// The raw value.
    pub value_raw: f64,
    /// The calibrated value, when the endpoint has a calibration.
    pub value_cal: Option<f64>,
    /// The alert's key from [`message_key`]; `None` is never a duplicate of anything.
    pub message_id: Option<Uuid>,
}

impl NumericRow {
    /// Its values in COPY order ([`NUMERIC_TYPES`]).
    fn columns(&self) -> [&(dyn ToSql + Sync); 5] {
        [
            &self.sensor_name,
            &self.timestamp,
            &self.value_raw,
            &self.value_cal,
            &self.message_id,
        ]
    }
}

/// One non-numeric value (string, bool, object, array …) for the JSON table.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonRow {
    /// The sensor (endpoint) name.
    pub sensor_name: String,
    /// When the value was taken: the alert's `timestamp` header.
    pub timestamp: DateTime<Utc>,
    /// The value, stored as `jsonb`.
    pub payload: serde_json::Value,
    /// The alert's key from [`message_key`].
    pub message_id: Option<Uuid>,
}

/// What one [`SensorWriter::write`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows added.
    pub inserted: u64,
    /// Rows not added because a row with the same message id was already there (a redelivered
    /// alert) or came earlier in the same batch.
    pub duplicates: u64,
}

/// The namespace of the name-based keys [`message_key`] makes for ids that are not UUIDs:
/// UUID v5 of `https://github.com/driplineorg/dripline#message_id` in the URL namespace.
pub const MESSAGE_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x3024e9fc_87be_5636_8bb5_b93b46b3dc04);

/// The dripline message id (`<uuid>` or `<uuid>/i/n`) as the key stored in `message_id`: the
/// UUID when it is one (the chunk suffix `/i/n` dropped: every chunk belongs to the same
/// message), else a name-based UUID (v5, in [`MESSAGE_KEY_NAMESPACE`]) of the text (again
/// without the chunk suffix), so that a redelivery still deduplicates. `None` for `""`.
pub fn message_key(message_id: &str) -> Option<Uuid> {
    if message_id.is_empty() {
        return None;
    }
    let base = dripline_protocol::wire::ChunkId::parse(message_id)
        .map(|chunk| chunk.base)
        .unwrap_or_else(|| message_id.to_string());
    Some(
        Uuid::try_parse(&base)
            .unwrap_or_else(|_| Uuid::new_v5(&MESSAGE_KEY_NAMESPACE, base.as_bytes())),
    )
}

/// The staging tables, one pair per connection (temporary tables are per session).
const NUMERIC_STAGING: &str = "pg_temp.dl_ingest_numeric";
const JSON_STAGING: &str = "pg_temp.dl_ingest_json";

const NUMERIC_TYPES: [Type; 5] = [
    Type::TEXT,
    Type::TIMESTAMPTZ,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::UUID,
];
const JSON_TYPES: [Type; 4] = [Type::TEXT, Type::TIMESTAMPTZ, Type::JSONB, Type::UUID];

/// How rows reach one target table.
enum Route {
    /// The table does not exist (allowed for the JSON table until a JSON row comes).
    Missing,
    /// COPY straight into the table; `with_id` when it has a `message_id uuid` column.
    Plain { copy: Statement, with_id: bool },
    /// A unique key holds `message_id`. Usually no row of a batch is there yet, so the batch is
    /// COPied straight in (`copy`); when that meets a duplicate, the batch is written again
    /// through the staging table (`stage`, then `insert` with ON CONFLICT DO NOTHING), which
    /// costs about a third more per row.
    Deduplicating {
        copy: Statement,
        stage: Statement,
        insert: Statement,
    },
}

/// How one try writes a batch: COPY into the partitions (numeric rows of a partitioned table
/// with rollups), COPY straight into the table, or through staging skipping duplicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    IntoPartitions,
    Direct,
    SkipDuplicates,
}

/// One target table and how to write it.
struct Target {
    table: TableName,
    route: Route,
    /// `(columns)` of its COPY statements.
    copy_columns: String,
    /// It has a `message_id uuid` column (written into partitions only then).
    has_message_id: bool,
    /// Set when rows are written into the table's partitions.
    partitions: Option<Partitions>,
    /// Look at the table's partitions and rollups again before the next write.
    partitions_stale: bool,
}

/// A partitioned table of ours with rollups, written into its partitions (see the module
/// documentation).
struct Partitions {
    period: Period,
    /// The starts of the periods whose partition exists (with our name and bounds).
    known: BTreeSet<DateTime<Utc>>,
    /// Prepared COPY into the partition of each period start written so far: prepared once,
    /// not parsed again for every batch.
    copies: BTreeMap<DateTime<Utc>, Statement>,
    /// One prepared statement, one round trip a batch: the count of `$2` (partition names)
    /// still attached to `$1` (the table), and the rollups' marking function called on `$3`
    /// (minutes). Two unprepared statements cost four round trips and two parses a batch.
    check_and_mark: Statement,
}

impl Partitions {
    /// Look at `table`: `Some` when it is partitioned by period and has rollups.
    async fn of(client: &Client, table: &TableName) -> Result<Option<Self>, StoreError> {
        let Layout::Partitioned {
            period: Some(period),
        } = partition::layout(client, table).await?
        else {
            return Ok(None);
        };
        if !rollup::exists(client, table).await? {
            return Ok(None);
        }
        let known = partition::list(client, table)
            .await?
            .into_iter()
            .filter_map(|p| match (p.from, p.to) {
                (Some(from), Some(to))
                    if period.start_of(from) == from
                        && period.next(from) == to
                        && p.table == partition::partition_name(table, from) =>
                {
                    Some(from)
                }
                _ => None,
            })
            .collect();
        let check_and_mark = format!(
            "SELECT (SELECT count(*) FROM pg_inherits
                     WHERE inhparent = $1::text::regclass
                       AND inhrelid = ANY($2::text[]::regclass[])),
                    {}",
            RollupTables::of(table).mark_minutes_call("$3")
        );
        let check_and_mark = match client.prepare(&check_and_mark).await {
            Ok(statement) => statement,
            // Rollups dropped since the look above: through the table.
            Err(e) if partitions_changed(&e) => return Ok(None),
            Err(e) => return Err(StoreError::query(format!("preparing to write {table}"), &e)),
        };
        Ok(Some(Partitions {
            period,
            known,
            copies: BTreeMap::new(),
            check_and_mark,
        }))
    }

    /// Prepare the COPY into each known partition that `rows` go into and that has none yet.
    async fn prepare_copies(
        &mut self,
        client: &Client,
        target: &TableName,
        copy_columns: &str,
        rows: &[NumericRow],
    ) -> Result<(), tokio_postgres::Error> {
        let starts: BTreeSet<DateTime<Utc>> = rows
            .iter()
            .map(|row| self.period.start_of(row.timestamp))
            .filter(|start| self.known.contains(start) && !self.copies.contains_key(start))
            .collect();
        for start in starts {
            let into = partition::partition_name(target, start).sql();
            let copy = client.prepare(&copy_sql(&into, copy_columns)).await?;
            self.copies.insert(start, copy);
        }
        Ok(())
    }
}

/// SQLSTATEs of a write into partitions that met a changed table: a partition dropped
/// (undefined_table), a row outside the partition's bounds (check_violation), the rollups'
/// marking function dropped (undefined_function).
const PARTITIONS_CHANGED: [&str; 3] = ["42P01", "23514", "42883"];

/// Whether preparing or writing into the partitions failed because they changed.
fn partitions_changed(error: &tokio_postgres::Error) -> bool {
    error
        .code()
        .is_some_and(|code| PARTITIONS_CHANGED.contains(&code.code()))
}

/// A binary COPY into `into` (quoted) of `columns` (`(a, b, …)`).
fn copy_sql(into: &str, columns: &str) -> String {
    format!("COPY {into} {columns} FROM STDIN (FORMAT binary)")
}

/// What the catalog says about a table.
struct Shape {
    exists: bool,
    has_message_id: bool,
    /// The columns of a unique key that holds `message_id` and nothing but the dripline key
    /// columns (what `ON CONFLICT (…)` can name), quoted and comma-separated.
    dedupe_key: Option<String>,
}

/// Writes batches of sensor rows into [`SensorTables`] over one connection. Prepared
/// statements and staging tables belong to the connection it was prepared on: prepare again
/// after reconnecting.
pub struct SensorWriter {
    numeric: Target,
    json: Target,
}

impl SensorWriter {
    /// Look at the tables (does the numeric table have a `message_id` column in a unique
    /// constraint or index? does the JSON table exist?), create this connection's staging
    /// tables, and prepare the statements.
    ///
    /// Fails with a [`StoreError::Query`] (SQLSTATE `42P01`) when the numeric table does not
    /// exist; a missing JSON table only fails a [`write`](Self::write) that has JSON rows.
    pub async fn prepare(client: &Client, tables: &SensorTables) -> Result<Self, StoreError> {
        let numeric = prepare_target(
            client,
            &tables.numeric,
            "value_raw, value_cal",
            "value_raw float8, value_cal float8",
            NUMERIC_STAGING,
        )
        .await?;
        if matches!(numeric.route, Route::Missing) {
            return Err(missing_table(&tables.numeric));
        }
        let json = prepare_target(
            client,
            &tables.json,
            "payload",
            "payload jsonb",
            JSON_STAGING,
        )
        .await?;
        Ok(SensorWriter { numeric, json })
    }

    /// Whether a redelivered alert is recognised: true when the numeric table (and the JSON
    /// table, if it exists) has a unique key on `message_id`; false against dripline's plain
    /// table.
    pub fn deduplicates(&self) -> bool {
        self.numeric.deduplicates()
            && (self.json.deduplicates() || matches!(self.json.route, Route::Missing))
    }

    /// Write both slices in ONE transaction (all or nothing). Returns how many rows were new
    /// and how many were already there (duplicates of a redelivered alert).
    ///
    /// On error nothing was written; [`StoreError::is_connection_problem`] and
    /// [`StoreError::is_data_problem`] tell whether to reconnect, or to look for the bad row.
    pub async fn write(
        &mut self,
        client: &mut Client,
        numeric: &[NumericRow],
        json: &[JsonRow],
    ) -> Result<Written, StoreError> {
        if !json.is_empty() && matches!(self.json.route, Route::Missing) {
            return Err(missing_table(&self.json.table));
        }
        if numeric.is_empty() && json.is_empty() {
            return Ok(Written::default());
        }
        if self.numeric.partitions_stale {
            self.numeric.partitions = Partitions::of(client, &self.numeric.table).await?;
            self.numeric.partitions_stale = false;
        }
        let mut attempt = Attempt::Direct;
        if let Some(partitions) = self
            .numeric
            .partitions
            .as_mut()
            .filter(|_| !numeric.is_empty())
        {
            let target = &self.numeric.table;
            match partitions
                .prepare_copies(client, target, &self.numeric.copy_columns, numeric)
                .await
            {
                Ok(()) => attempt = Attempt::IntoPartitions,
                Err(e) if partitions_changed(&e) => {
                    tracing::debug!(error = %e, "a partition is gone; writing the batch through the table, looking them up again next time");
                    self.forget_partitions();
                }
                Err(e) => {
                    return Err(StoreError::query(
                        format!("preparing to write {target}"),
                        &e,
                    ))
                }
            }
        }
        loop {
            match self.write_once(client, numeric, json, attempt).await {
                Err(error)
                    if attempt == Attempt::IntoPartitions
                        && error
                            .sqlstate()
                            .is_some_and(|code| PARTITIONS_CHANGED.contains(&code)) =>
                {
                    tracing::debug!(%error, "the partitions changed; writing the batch through the table, looking them up again next time");
                    self.forget_partitions();
                    attempt = Attempt::Direct;
                }
                Err(error)
                    if attempt != Attempt::SkipDuplicates
                        && error.sqlstate() == Some(UNIQUE_VIOLATION)
                        && (self.numeric.deduplicates() || self.json.deduplicates()) =>
                {
                    tracing::debug!(%error, "batch holds rows already stored; writing it again without them");
                    attempt = Attempt::SkipDuplicates;
                }
                result => return result,
            }
        }
    }

    /// Look at the numeric table's partitions (and rollups) again before the next write: after
    /// partitions were created, so that their rows go into them, or rollups made.
    pub fn forget_partitions(&mut self) {
        self.numeric.partitions_stale = self.numeric.has_message_id;
    }

    async fn write_once(
        &self,
        client: &mut Client,
        numeric: &[NumericRow],
        json: &[JsonRow],
        attempt: Attempt,
    ) -> Result<Written, StoreError> {
        let what = format!(
            "writing {} rows to {} and {} to {}",
            numeric.len(),
            self.numeric.table,
            json.len(),
            self.json.table
        );
        let fail = |e: tokio_postgres::Error| StoreError::query(&what, &e);
        let transaction = client.transaction().await.map_err(fail)?;
        let mut written = Written::default();
        if !numeric.is_empty() {
            let rows = numeric.iter().map(NumericRow::columns);
            let part = match (&self.numeric.partitions, attempt) {
                (Some(partitions), Attempt::IntoPartitions) => {
                    write_partitions(&transaction, &self.numeric, partitions, numeric)
                        .await
                        .map_err(fail)?
                        .ok_or_else(|| StoreError::Query {
                            what: what.clone(),
                            reason: "a partition written into was detached meanwhile".into(),
                            code: Some(PARTITIONS_CHANGED[0].into()),
                            connection_lost: false,
                        })?
                }
                _ => write_target(&transaction, &self.numeric, attempt, &NUMERIC_TYPES, rows)
                    .await
                    .map_err(fail)?,
            };
            add(&mut written, part);
        }
        if !json.is_empty() {
            let rows = json.iter().map(|row| {
                [
                    &row.sensor_name as &(dyn ToSql + Sync),
                    &row.timestamp,
                    &row.payload,
                    &row.message_id,
                ]
            });
            let part = write_target(&transaction, &self.json, attempt, &JSON_TYPES, rows)
                .await
                .map_err(fail)?;
            add(&mut written, part);
        }
        transaction.commit().await.map_err(fail)?;
        Ok(written)
    }
}

/// SQLSTATE unique_violation.
const UNIQUE_VIOLATION: &str = "23505";

impl Target {
    fn deduplicates(&self) -> bool {
        matches!(self.route, Route::Deduplicating { .. })
    }
}

fn add(total: &mut Written, part: Written) {
    total.inserted += part.inserted;
    total.duplicates += part.duplicates;
}

/// Copy `rows` (all columns, `message_id` last) into `target` by its route.
async fn write_target<const N: usize>(
    transaction: &Transaction<'_>,
    target: &Target,
    attempt: Attempt,
    types: &[Type; N],
    rows: impl Iterator<Item = [&(dyn ToSql + Sync); N]>,
) -> Result<Written, tokio_postgres::Error> {
    let (copied, inserted) = match &target.route {
        Route::Missing => unreachable!("write checks for a missing table first"),
        Route::Plain { copy, with_id } => {
            // Without a message_id column the last value is not sent.
            let width = if *with_id { N } else { N - 1 };
            let copied = copy_rows(transaction, copy, &types[..width], rows, width).await?;
            (copied, copied)
        }
        Route::Deduplicating { copy, .. } if attempt != Attempt::SkipDuplicates => {
            let copied = copy_rows(transaction, copy, types, rows, N).await?;
            (copied, copied)
        }
        Route::Deduplicating { stage, insert, .. } => {
            let copied = copy_rows(transaction, stage, types, rows, N).await?;
            (copied, transaction.execute(insert, &[]).await?)
        }
    };
    Ok(Written {
        inserted,
        duplicates: copied - inserted,
    })
}

/// Copy numeric `rows` into the partitions of their periods that are known to exist (the rest
/// through the table), and mark their minutes dirty: the rollup trigger on the table does not
/// see rows written into a partition. `None` when a partition written into is no longer one
/// (detached meanwhile: the rows would have left the table); the caller rolls back.
async fn write_partitions(
    transaction: &Transaction<'_>,
    target: &Target,
    partitions: &Partitions,
    rows: &[NumericRow],
) -> Result<Option<Written>, tokio_postgres::Error> {
    let mut groups: BTreeMap<Option<DateTime<Utc>>, Vec<&NumericRow>> = BTreeMap::new();
    let mut minutes = BTreeSet::new();
    for row in rows {
        let start = partitions.period.start_of(row.timestamp);
        // Prepared by `write` for every known partition of the batch.
        let into = partitions.copies.contains_key(&start).then_some(start);
        groups.entry(into).or_default().push(row);
        // The marking function takes any instant of the minute; whole minutes make fewer.
        minutes.insert(
            row.timestamp
                .duration_trunc(chrono::Duration::minutes(1))
                .unwrap_or(row.timestamp),
        );
    }
    let mut copied = 0;
    let mut children = Vec::new();
    for (start, group) in groups {
        let rows = group.iter().map(|row| row.columns());
        copied += match start.and_then(|start| partitions.copies.get(&start).map(|c| (start, c))) {
            Some((start, copy)) => {
                children.push(partition::partition_name(&target.table, start).sql());
                copy_rows(transaction, copy, &NUMERIC_TYPES, rows, 5).await?
            }
            None => {
                let (Route::Deduplicating { copy, .. } | Route::Plain { copy, .. }) = &target.route
                else {
                    unreachable!("write checks for a missing table first")
                };
                copy_rows(transaction, copy, &NUMERIC_TYPES, rows, 5).await?
            }
        };
    }
    let written = Written {
        inserted: copied,
        duplicates: 0,
    };
    if children.is_empty() {
        // All through the table: its trigger marked them.
        return Ok(Some(written));
    }
    // Still partitions of the table, now that this transaction holds them (a DETACH waits
    // for it from here on); the minutes are marked in the same statement, and unmarked with
    // the rest when the caller rolls back.
    let minutes: Vec<DateTime<Utc>> = minutes.into_iter().collect();
    let attached: i64 = transaction
        .query_one(
            &partitions.check_and_mark,
            &[&target.table.sql(), &children, &minutes],
        )
        .await?
        .get(0);
    if attached != children.len() as i64 {
        return Ok(None);
    }
    Ok(Some(written))
}

/// One binary COPY of the first `width` values of each row.
async fn copy_rows<const N: usize, S: ?Sized + ToStatement>(
    transaction: &Transaction<'_>,
    copy: &S,
    types: &[Type],
    rows: impl Iterator<Item = [&(dyn ToSql + Sync); N]>,
    width: usize,
) -> Result<u64, tokio_postgres::Error> {
    let sink = transaction.copy_in(copy).await?;
    let writer = BinaryCopyInWriter::new(sink, types);
    pin_mut!(writer);
    for row in rows {
        writer.as_mut().write(&row[..width]).await?;
    }
    writer.finish().await
}

/// Inspect `table` and prepare its route. `values` are the table's own value columns (between
/// `"timestamp"` and `message_id`), `staging_columns` their staging definition.
async fn prepare_target(
    client: &Client,
    table: &TableName,
    values: &str,
    staging_columns: &str,
    staging: &str,
) -> Result<Target, StoreError> {
    let shape = inspect(client, table).await?;
    let fail =
        |e: tokio_postgres::Error| StoreError::query(format!("preparing to write {table}"), &e);
    let key_columns = "sensor_name, \"timestamp\"";
    let copy_columns = |with_id: bool| {
        let id = if with_id { ", message_id" } else { "" };
        format!("({key_columns}, {values}{id})")
    };
    let route = match (&shape.dedupe_key, shape.exists) {
        (_, false) => Route::Missing,
        (Some(dedupe_key), true) => {
            client
                .batch_execute(&format!(
                    "CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (sensor_name text, \"timestamp\" timestamptz, {staging_columns}, message_id uuid) ON COMMIT DELETE ROWS"
                ))
                .await
                .map_err(fail)?;
            let columns = format!("{key_columns}, {values}, message_id");
            let insert = format!(
                "INSERT INTO {} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT ({dedupe_key}) DO NOTHING",
                table.sql()
            );
            Route::Deduplicating {
                copy: client
                    .prepare(&copy_sql(&table.sql(), &copy_columns(true)))
                    .await
                    .map_err(fail)?,
                stage: client
                    .prepare(&copy_sql(staging, &copy_columns(true)))
                    .await
                    .map_err(fail)?,
                insert: client.prepare(&insert).await.map_err(fail)?,
            }
        }
        (None, true) => Route::Plain {
            copy: client
                .prepare(&copy_sql(&table.sql(), &copy_columns(shape.has_message_id)))
                .await
                .map_err(fail)?,
            with_id: shape.has_message_id,
        },
    };
    tracing::debug!(
        %table,
        exists = shape.exists,
        message_id = shape.has_message_id,
        dedupe_key = shape.dedupe_key.as_deref().unwrap_or(""),
        "sensor table inspected"
    );
    // Only the numeric table has rollups, and only a table with a message_id column is
    // written by all five numeric columns.
    let partitions = if shape.exists && shape.has_message_id {
        Partitions::of(client, table).await?
    } else {
        None
    };
    Ok(Target {
        table: table.clone(),
        route,
        copy_columns: copy_columns(shape.has_message_id),
        has_message_id: shape.has_message_id,
        partitions,
        partitions_stale: false,
    })
}

/// Whether `table` exists, has a `message_id uuid` column, and a unique key (constraint or
/// index: valid, not partial, not on expressions) made of `message_id` and perhaps
/// `sensor_name` and `"timestamp"`: what `ON CONFLICT (…)` can use to skip a redelivered row.
async fn inspect(client: &Client, table: &TableName) -> Result<Shape, StoreError> {
    let fail =
        |e: tokio_postgres::Error| StoreError::query(format!("looking up table {table}"), &e);
    let name = table.sql();
    let row = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL,
                    EXISTS (SELECT 1 FROM pg_attribute
                            WHERE attrelid = to_regclass($1) AND attname = 'message_id'
                              AND NOT attisdropped AND atttypid = 'uuid'::regtype)",
            &[&name],
        )
        .await
        .map_err(fail)?;
    let (exists, has_message_id): (bool, bool) = (row.get(0), row.get(1));
    let mut dedupe_key = None;
    if has_message_id {
        let keys = client
            .query(
                "SELECT array_agg(a.attname::text ORDER BY k.n)
                 FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid
                   AND i.indpred IS NULL AND i.indexprs IS NULL AND k.n <= i.indnkeyatts
                 GROUP BY i.indexrelid
                 ORDER BY i.indexrelid",
                &[&name],
            )
            .await
            .map_err(fail)?;
        dedupe_key = keys
            .iter()
            .map(|row| row.get::<_, Vec<String>>(0))
            .find(|columns| {
                columns.iter().any(|c| c == "message_id")
                    && columns
                        .iter()
                        .all(|c| matches!(c.as_str(), "message_id" | "sensor_name" | "timestamp"))
            })
            .map(|columns| {
                columns
                    .iter()
                    .map(|c| escape_identifier(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
    }
    Ok(Shape {
        exists,
        has_message_id,
        dedupe_key,
    })
}

/// The error for a table that is not there, with the way out.
fn missing_table(table: &TableName) -> StoreError {
    StoreError::Query {
        what: format!("writing to {table}"),
        reason: format!("table {table} does not exist (create it with --init-schema)"),
        code: Some("42P01".to_string()),
        connection_lost: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keys() {
        let id = "2d2a4d36-3b38-4c43-9b8a-6c1d2b1f7e01";
        let uuid = Uuid::parse_str(id).unwrap();
        assert_eq!(message_key(id), Some(uuid));
        assert_eq!(message_key(&format!("{id}/0/1")), Some(uuid));
        assert_eq!(message_key(&format!("{id}/2/3")), Some(uuid));
        assert_eq!(message_key(""), None);
        let odd = message_key("fz-split/0/1").unwrap();
        assert_eq!(odd.get_version_num(), 5);
        assert_eq!(message_key("fz-split"), Some(odd));
        assert_ne!(message_key("fz-splat"), Some(odd));
    }

    #[test]
    fn namespace_is_what_its_comment_says() {
        assert_eq!(
            MESSAGE_KEY_NAMESPACE,
            Uuid::new_v5(
                &Uuid::NAMESPACE_URL,
                b"https://github.com/driplineorg/dripline#message_id"
            )
        );
    }
}
