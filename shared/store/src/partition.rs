//! Time partitions of the sensor tables: years of history without one ever-growing table.
//!
//! A partitioned `numeric_data` (and `json_data`) is a PostgreSQL declaratively partitioned
//! table, `PARTITION BY RANGE ("timestamp")`, with the same columns, the same unique key and the
//! same name as the plain one, so every query (the controls guide's, Grafana's, `dl-export`'s)
//! reads it unchanged and the planner skips the partitions outside a query's time range.
//!
//! - One partition per UTC [`Period`] (month, ISO week from Monday, or day), named
//!   `<table>_pYYYYMMDD` after its first day ([`partition_name`]).
//! - `<table>_default`, the DEFAULT partition, catches a row for a time that has no partition
//!   yet (a clock far ahead, an old file loaded with `dl-log-to-pg --stdin`): a row is never
//!   refused for want of a partition. [`ensure`] moves such rows into the partition it creates
//!   for their period.
//! - The parent's comment records the period (`dripline: partitioned by month`), so the logger
//!   and `dl-history` know which partitions to create ahead ([`layout`]).
//!
//! ## The unique key
//!
//! PostgreSQL requires a unique key on a partitioned table to contain the partition key. Ours,
//! `(sensor_name, "timestamp", message_id)` (see [`crate::schema`]), already does, so the
//! partitioned table keeps it unchanged, and with it the logger's at-least-once deduplication
//! (`ON CONFLICT (sensor_name, "timestamp", message_id) DO NOTHING`): a redelivered alert
//! repeats its routing key, its `timestamp` header and its message id, so it is routed to the
//! same partition as its first copy and meets that row's key there. A key without the time,
//! such as `UNIQUE (message_id)`, is not possible on a partitioned table (and would be only
//! per partition).
//!
//! ## Creating a partition when the default holds rows of its range
//!
//! PostgreSQL refuses to create a partition while the default partition holds rows of its range
//! ("updated partition constraint for default partition would be violated"). [`ensure`]
//! therefore creates each partition in one transaction that takes the rows of that range out of
//! the default (`DELETE … RETURNING` into a temporary table), creates the partition (which scans
//! the default, now without them), and inserts them again, routed into the new partition:
//! readers see the rows in the default or in the partition, never in neither. Its cost is the
//! rows moved plus one scan of the default, which is small when partitions are created ahead
//! (the logger does, see [`AHEAD`]). The other way, creating a partition on the spot before
//! each insert, would put catalog work (and its locks) on the logger's path for every new period
//! and hostile timestamps (years apart) would create a partition each; the default partition
//! takes any time at the cost of one insert, and the partitions are made once, ahead.
//!
//! ## Indexes
//!
//! Each partition gets the key's index, `(sensor_name, "timestamp", message_id)`, which also
//! serves "one sensor, a time range", and the rollups' refresh (one sensor at a time, see
//! [`crate::rollup`]). A time range over all sensors is served by partition pruning plus a scan
//! of the partitions left. There is no index on time: a BRIN index on `"timestamp"` cost the
//! logger 3–7 % of its insert rate under PostgreSQL 15, which reads a BRIN index's metapage for
//! every row inserted (the README's dl-history section has the figures).

use crate::error::StoreError;
use crate::schema::TableName;
use crate::sql::{escape_identifier, escape_literal};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use std::fmt;
use std::str::FromStr;
use tokio_postgres::Client;

/// How many periods ahead of the current one the logger keeps partitions for (the current
/// one plus this many).
pub const AHEAD: u32 = 2;

/// The most partitions one [`ensure`] call creates: a bound on what a hostile or mistaken range
/// can do to the catalog (1000 partitions is 83 years of months, or 2.7 years of days).
pub const MAX_CREATE: usize = 1000;

/// The longest table name a partitioned table may have: `<table>_pYYYYMMDD` must fit in
/// PostgreSQL's 63 bytes, or names would be cut and collide.
pub const MAX_TABLE_NAME: usize = 63 - "_pYYYYMMDD".len();

/// The comment on a partitioned parent that records its period.
const COMMENT_PREFIX: &str = "dripline: partitioned by ";

/// The length of each partition, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// Calendar months.
    Month,
    /// ISO weeks, Monday to Monday.
    Week,
    /// Days.
    Day,
}

impl Period {
    /// The name used on the command line and in the table comment.
    pub fn name(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Week => "week",
            Period::Day => "day",
        }
    }

    /// The start of the period holding `time`.
    pub fn start_of(self, time: DateTime<Utc>) -> DateTime<Utc> {
        let date = time.date_naive();
        let first = match self {
            Period::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date),
            Period::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Period::Day => date,
        };
        midnight(first)
    }

    /// The start of the period after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        let date = start.date_naive();
        let next = match self {
            Period::Month => date
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(date),
            Period::Week => date + Duration::days(7),
            Period::Day => date + Duration::days(1),
        };
        midnight(next)
    }
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Period {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "month" => Ok(Period::Month),
            "week" => Ok(Period::Week),
            "day" => Ok(Period::Day),
            _ => Err(format!(
                "'{text}' is not a partition period (expected month, week or day)"
            )),
        }
    }
}

/// The partition of `table` for the period starting at `start`: `<table>_pYYYYMMDD`, in the
/// same schema.
pub fn partition_name(table: &TableName, start: DateTime<Utc>) -> TableName {
    sibling(table, &format!("_p{}", start.format("%Y%m%d")))
}

/// The default partition of `table`: `<table>_default`.
pub fn default_name(table: &TableName) -> TableName {
    sibling(table, "_default")
}

/// The partition a migration makes of the whole old plain table: `<table>_legacy`.
pub fn legacy_name(table: &TableName) -> TableName {
    sibling(table, "_legacy")
}

fn sibling(table: &TableName, suffix: &str) -> TableName {
    TableName {
        schema: table.schema.clone(),
        name: format!("{}{suffix}", table.name),
    }
}

/// A table name too long for its partitions' names.
pub fn check_name(table: &TableName) -> Result<(), StoreError> {
    if table.name.len() > MAX_TABLE_NAME {
        return Err(StoreError::Query {
            what: format!("partitioning {table}"),
            reason: format!(
                "the table name is over {MAX_TABLE_NAME} bytes, too long for its partitions' \
                 names (<table>_pYYYYMMDD must fit in 63)"
            ),
            code: Some("42622".to_string()),
            connection_lost: false,
        });
    }
    Ok(())
}

/// The SQL literal of an instant, as partition bounds take it.
fn bound(time: DateTime<Utc>) -> String {
    escape_literal(&time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The clause that turns `CREATE TABLE t (…)` into a partitioned table, and the statements that
/// follow it (the period comment and the default partition). `create_table` is the table's
/// `CREATE TABLE IF NOT EXISTS … (…)` statement.
pub fn partitioned_statements(
    table: &TableName,
    create_table: &str,
    period: Period,
) -> Vec<String> {
    vec![
        format!("{create_table} PARTITION BY RANGE (\"timestamp\")"),
        comment_statement(table, period),
        format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT",
            default_name(table).sql(),
            table.sql()
        ),
    ]
}

/// `COMMENT ON TABLE` recording the period.
pub fn comment_statement(table: &TableName, period: Period) -> String {
    format!(
        "COMMENT ON TABLE {} IS {}",
        table.sql(),
        escape_literal(&format!("{COMMENT_PREFIX}{period}"))
    )
}

/// What a table is, for partitioning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// There is no such table.
    Missing,
    /// A plain table (or a view, or anything not partitioned).
    Plain,
    /// Partitioned by range on `"timestamp"`; `period` from the comment, `None` when the
    /// comment is not ours (then no partitions are created for it).
    Partitioned {
        /// The partition length.
        period: Option<Period>,
    },
    /// Partitioned in another way (other column, list or hash): left alone.
    Foreign,
}

/// Look at `table`: plain, partitioned by us (and how), or something else.
pub async fn layout(client: &Client, table: &TableName) -> Result<Layout, StoreError> {
    let fail =
        |e: tokio_postgres::Error| StoreError::query(format!("looking up table {table}"), &e);
    let row = client
        .query_opt(
            "SELECT c.relkind::text,
                    obj_description(c.oid, 'pg_class'),
                    p.partstrat::text = 'r' AND p.partnatts = 1
                      AND p.partattrs[0] = (SELECT attnum FROM pg_attribute
                                            WHERE attrelid = c.oid AND attname = 'timestamp')
             FROM pg_class c LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
             WHERE c.oid = to_regclass($1)",
            &[&table.sql()],
        )
        .await
        .map_err(fail)?;
    let Some(row) = row else {
        return Ok(Layout::Missing);
    };
    let kind: String = row.get(0);
    if kind != "p" {
        return Ok(Layout::Plain);
    }
    if row.get::<_, Option<bool>>(2) != Some(true) {
        return Ok(Layout::Foreign);
    }
    let period = row
        .get::<_, Option<String>>(1)
        .and_then(|comment| comment.strip_prefix(COMMENT_PREFIX)?.trim().parse().ok());
    Ok(Layout::Partitioned { period })
}

/// One partition of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    /// The partition's own table.
    pub table: TableName,
    /// Its lower bound (inclusive); `None` for MINVALUE or the default partition.
    pub from: Option<DateTime<Utc>>,
    /// Its upper bound (exclusive); `None` for MAXVALUE or the default partition.
    pub to: Option<DateTime<Utc>>,
    /// The DEFAULT partition.
    pub is_default: bool,
    /// The planner's row estimate (`pg_class.reltuples`; -1 when never analysed).
    pub rows_estimate: i64,
    /// Table, index and TOAST bytes on disk.
    pub bytes: i64,
}

/// The partitions of `table`, by lower bound (the default last). Empty for a plain table.
pub async fn list(client: &Client, table: &TableName) -> Result<Vec<Partition>, StoreError> {
    list_in(client, table)
        .await
        .map_err(|e| StoreError::query(format!("listing the partitions of {table}"), &e))
}

/// [`list`] on any client, a transaction too (the rollups' refresh lists the sensors in its
/// own, [`sensors_holding`]).
async fn list_in(
    client: &impl tokio_postgres::GenericClient,
    table: &TableName,
) -> Result<Vec<Partition>, tokio_postgres::Error> {
    // pg_get_expr prints the bounds in the session's TimeZone and DateStyle, and the cast reads
    // them back in the same session, so the round trip holds whatever those are.
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, b.bound = 'DEFAULT',
                    substring(b.bound from $$FROM \\('([^']*)'\\)$$)::timestamptz,
                    substring(b.bound from $$TO \\('([^']*)'\\)$$)::timestamptz,
                    c.reltuples::bigint, pg_total_relation_size(c.oid)
             FROM pg_inherits i
             JOIN pg_class c ON c.oid = i.inhrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
             WHERE i.inhparent = to_regclass($1)
             ORDER BY 3, 4 NULLS FIRST",
            &[&table.sql()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Partition {
            table: TableName::qualified(row.get::<_, String>(0), row.get::<_, String>(1)),
            is_default: row.get(2),
            from: row.get(3),
            to: row.get(4),
            rows_estimate: row.get(5),
            bytes: row.get(6),
        })
        .collect())
}

/// A time range `[lo, hi)`, either end open when `None`.
pub(crate) type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The partitions (of [`list`]) that may hold rows of any of `ranges`: those whose bounds meet
/// one, and the default partition.
fn holding<'a>(partitions: &'a [Partition], ranges: &[TimeRange]) -> Vec<&'a TableName> {
    partitions
        .iter()
        .filter(|p| {
            p.is_default
                || ranges.iter().any(|(lo, hi)| {
                    let starts_before_hi = match (p.from, hi) {
                        (Some(from), Some(hi)) => from < *hi,
                        _ => true,
                    };
                    let ends_after_lo = match (p.to, lo) {
                        (Some(to), Some(lo)) => to > *lo,
                        _ => true,
                    };
                    starts_before_hi && ends_after_lo
                })
        })
        .map(|p| &p.table)
        .collect()
}

/// The sensors in the partitions of `table` that may hold rows of any of `ranges` ([`holding`],
/// by [`sensors_in`]); `None` when `table` is not partitioned.
pub(crate) async fn sensors_holding(
    client: &impl tokio_postgres::GenericClient,
    table: &TableName,
    ranges: &[TimeRange],
) -> Result<Option<Vec<String>>, tokio_postgres::Error> {
    let partitions = list_in(client, table).await?;
    if partitions.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        sensors_in(client, &holding(&partitions, ranges)).await?,
    ))
}

/// The distinct sensor names in `tables` (partitions, or a plain table), sorted, by a loose
/// scan of their `(sensor_name, …)` index: one descent per sensor and table, for the next name
/// after the last one found, where `SELECT DISTINCT` would read every row. What lets a time
/// range over all sensors be read sensor by sensor through that index, without an index on
/// time.
pub(crate) async fn sensors_in(
    client: &impl tokio_postgres::GenericClient,
    tables: &[&TableName],
) -> Result<Vec<String>, tokio_postgres::Error> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let scans: Vec<String> = tables
        .iter()
        .enumerate()
        .map(|(i, table)| {
            format!(
                "s{i}(name) AS (
                     (SELECT sensor_name FROM {t} ORDER BY sensor_name LIMIT 1)
                     UNION ALL
                     SELECT (SELECT sensor_name FROM {t} WHERE sensor_name > s{i}.name
                             ORDER BY sensor_name LIMIT 1)
                     FROM s{i} WHERE s{i}.name IS NOT NULL
                 )",
                t = table.sql()
            )
        })
        .collect();
    let names: Vec<String> = (0..tables.len())
        .map(|i| format!("SELECT name FROM s{i} WHERE name IS NOT NULL"))
        .collect();
    let sql = format!(
        "WITH RECURSIVE {} {} ORDER BY 1",
        scans.join(", "),
        names.join(" UNION ")
    );
    let rows = client.query(&sql, &[]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// A partition [`ensure`] created.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    /// The new partition.
    pub table: TableName,
    /// Its first instant.
    pub from: DateTime<Utc>,
    /// The first instant after it.
    pub to: DateTime<Utc>,
    /// Rows moved into it out of the default partition.
    pub moved: u64,
}

/// The period starts from the one holding `from` to the one holding `until`, at most
/// [`MAX_CREATE`] of them.
pub fn starts(period: Period, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut starts = Vec::new();
    let mut start = period.start_of(from);
    while start <= until && starts.len() < MAX_CREATE {
        starts.push(start);
        let next = period.next(start);
        if next <= start {
            break;
        }
        start = next;
    }
    starts
}

/// Make sure `table` has a partition for every period from the one holding `from` to the one
/// holding `until` (at most [`MAX_CREATE`]); see [`ensure_starts`].
pub async fn ensure(
    client: &mut Client,
    table: &TableName,
    period: Period,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    patience: Patience,
) -> Result<Vec<Created>, StoreError> {
    ensure_starts(
        client,
        table,
        period,
        &starts(period, from, until),
        patience,
    )
    .await
}

/// What to do when a partition cannot be created because the table is busy: creating one takes
/// a moment's exclusive lock on the parent, which waits for running queries (a long export);
/// each try waits at most a few seconds, so that readers and writers do not queue behind the
/// waiting lock request for long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// One try: the caller tries again later (the logger, between batches).
    Once,
    /// Up to a minute of tries (`dl-history`, start-up).
    Retry,
}

/// Make sure `table` has a partition for each period starting at one of `starts` (at most
/// [`MAX_CREATE`] are created), creating the missing ones, each in its own transaction with
/// the rows of its range moved out of the default partition. Periods that overlap an existing
/// partition (a legacy one, or one made by hand) are skipped. Safe to run from several
/// processes at once: an advisory lock per table serialises the creations.
pub async fn ensure_starts(
    client: &mut Client,
    table: &TableName,
    period: Period,
    starts: &[DateTime<Utc>],
    patience: Patience,
) -> Result<Vec<Created>, StoreError> {
    check_name(table)?;
    let mut created = Vec::new();
    if starts.is_empty() {
        return Ok(created);
    }
    let existing = list(client, table).await?;
    for &start in starts.iter().take(MAX_CREATE) {
        let start = period.start_of(start);
        let end = period.next(start);
        if overlaps(&existing, start, end) || created.iter().any(|c: &Created| c.from == start) {
            continue;
        }
        let tries = match patience {
            Patience::Once => 1,
            Patience::Retry => LOCK_TRIES,
        };
        let mut tried = 0;
        let one = loop {
            tried += 1;
            match create_one(client, table, start, end).await {
                Err(error) if error.sqlstate() == Some(LOCK_NOT_AVAILABLE) && tried < tries => {
                    tracing::warn!("{error}; trying again");
                }
                result => break result?,
            }
        };
        created.extend(one);
    }
    Ok(created)
}

/// The starts of the periods that rows in the default partition of `table` belong to (at most
/// [`MAX_CREATE`], oldest first): what [`ensure_starts`] needs to empty it. Scans the default
/// partition, which is small while partitions are made ahead.
pub async fn default_periods(
    client: &Client,
    table: &TableName,
    period: Period,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    let fail = |e: tokio_postgres::Error| {
        StoreError::query(format!("reading the default partition of {table}"), &e)
    };
    let default: Option<String> = client
        .query_opt(
            "SELECT c.oid::regclass::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass($1) AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'",
            &[&table.sql()],
        )
        .await
        .map_err(fail)?
        .map(|row| row.get(0));
    let Some(default) = default else {
        return Ok(Vec::new());
    };
    let unit = match period {
        Period::Month => "month",
        Period::Week => "week",
        Period::Day => "day",
    };
    // Only times a partition can be named for (not infinity, nor years chrono cannot hold).
    let rows = client
        .query(
            &format!(
                "SELECT DISTINCT date_trunc('{unit}', \"timestamp\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start
                 FROM {default} WHERE \"timestamp\" BETWEEN '0001-01-01Z' AND '200000-01-01Z'
                 ORDER BY start LIMIT {MAX_CREATE}"
            ),
            &[],
        )
        .await
        .map_err(fail)?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Whether a non-default partition overlaps `[start, end)`.
fn overlaps(partitions: &[Partition], start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    partitions
        .iter()
        .filter(|p| !p.is_default)
        .any(|p| p.from.is_none_or(|from| from < end) && p.to.is_none_or(|to| to > start))
}

/// Create the partition `[start, end)` of `table` in one transaction, moving the default's rows
/// of that range into it. `None` when another process made it (or an overlapping one) first.
async fn create_one(
    client: &mut Client,
    table: &TableName,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Option<Created>, StoreError> {
    let partition = partition_name(table, start);
    let what = format!("creating partition {partition}");
    let fail = |e: tokio_postgres::Error| StoreError::query(&what, &e);
    let transaction = client.transaction().await.map_err(fail)?;
    transaction
        .batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        .await
        .map_err(fail)?;
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtext('dripline partitions ' || to_regclass($1::text)::oid::text))",
            &[&table.sql()],
        )
        .await
        .map_err(fail)?;
    // Under the lock: another process may have made it (or another covering one) meanwhile.
    let taken = transaction
        .query_one(
            "SELECT EXISTS (
                 SELECT 1 FROM pg_inherits i
                 JOIN pg_class c ON c.oid = i.inhrelid
                 CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
                 WHERE i.inhparent = to_regclass($1::text) AND b.bound <> 'DEFAULT'
                   AND coalesce(substring(b.bound from $$FROM \\('([^']*)'\\)$$)::timestamptz < $3, true)
                   AND coalesce(substring(b.bound from $$TO \\('([^']*)'\\)$$)::timestamptz > $2, true))
             OR to_regclass($4::text) IS NOT NULL",
            &[&table.sql(), &start, &end, &partition.sql()],
        )
        .await
        .map_err(fail)?;
    if taken.get::<_, bool>(0) {
        return Ok(None);
    }
    // The default partition by its real name (it may not be <table>_default).
    let default: Option<String> = transaction
        .query_opt(
            "SELECT c.oid::regclass::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass($1::text) AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'",
            &[&table.sql()],
        )
        .await
        .map_err(fail)?
        .map(|row| row.get(0));
    let range = format!(
        "\"timestamp\" >= {} AND \"timestamp\" < {}",
        bound(start),
        bound(end)
    );
    let mut moved = 0;
    if let Some(default) = &default {
        transaction
            .batch_execute(&format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS dl_partition_moving (LIKE {}) ON COMMIT DROP",
                table.sql()
            ))
            .await
            .map_err(fail)?;
        moved = transaction
            .execute(
                &format!(
                    "WITH moved AS (DELETE FROM {default} WHERE {range} RETURNING *)
                     INSERT INTO dl_partition_moving SELECT * FROM moved"
                ),
                &[],
            )
            .await
            .map_err(fail)?;
    }
    transaction
        .batch_execute(&format!(
            "CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})",
            partition.sql(),
            table.sql(),
            bound(start),
            bound(end)
        ))
        .await
        .map_err(fail)?;
    if moved > 0 {
        transaction
            .batch_execute(&format!(
                "INSERT INTO {} SELECT * FROM dl_partition_moving",
                partition.sql()
            ))
            .await
            .map_err(fail)?;
    }
    transaction.commit().await.map_err(fail)?;
    tracing::info!(partition = %partition, from = %start, to = %end, moved, "created partition");
    Ok(Some(Created {
        table: partition,
        from: start,
        to: end,
        moved,
    }))
}

/// Drop one partition of `table` with its rows. `DROP TABLE` needs a moment's exclusive lock on
/// the parent (`DETACH … CONCURRENTLY`, which would not, is refused while a default partition
/// exists), so it waits at most a few seconds at a time, as [`migrate`] does, rather than
/// queueing every reader and writer behind a lock request that waits on a long query.
pub async fn drop_partition(
    client: &mut Client,
    table: &TableName,
    partition: &TableName,
) -> Result<(), StoreError> {
    let what = format!("dropping partition {partition} of {table}");
    let sql = format!("DROP TABLE {}", partition.sql());
    with_lock_retries(client, &what, |transaction| {
        let sql = sql.clone();
        Box::pin(async move { transaction.batch_execute(&sql).await })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn periods_start_and_follow() {
        let t = at("2026-12-07T03:30:00Z"); // a Monday
        assert_eq!(Period::Month.start_of(t), at("2026-12-01T00:00:00Z"));
        assert_eq!(
            Period::Month.next(at("2026-12-01T00:00:00Z")),
            at("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            Period::Week.start_of(at("2026-12-13T23:59:59Z")),
            at("2026-12-07T00:00:00Z")
        );
        assert_eq!(
            Period::Week.next(at("2026-12-07T00:00:00Z")),
            at("2026-12-14T00:00:00Z")
        );
        assert_eq!(Period::Day.start_of(t), at("2026-12-07T00:00:00Z"));
        assert_eq!(
            Period::Day.next(at("2028-02-28T00:00:00Z")),
            at("2028-02-29T00:00:00Z")
        );
        assert_eq!("week".parse::<Period>(), Ok(Period::Week));
        assert!("year"
            .parse::<Period>()
            .unwrap_err()
            .contains("month, week or day"));
    }

    #[test]
    fn names_and_bounds() {
        let table = TableName::qualified("s", "numeric_data");
        assert_eq!(
            partition_name(&table, at("2026-12-01T00:00:00Z")).sql(),
            "\"s\".\"numeric_data_p20261201\""
        );
        assert_eq!(default_name(&table).name, "numeric_data_default");
        assert_eq!(bound(at("2026-12-01T00:00:00Z")), "'2026-12-01T00:00:00Z'");
        assert!(check_name(&TableName::new("x".repeat(54))).is_err());
        assert!(check_name(&TableName::new("x".repeat(53))).is_ok());
    }

    #[test]
    fn starts_are_bounded() {
        let all = starts(
            Period::Day,
            at("1970-01-01T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(all.len(), MAX_CREATE);
        let three = starts(
            Period::Month,
            at("2026-12-07T00:00:00Z"),
            at("2027-02-03T00:00:00Z"),
        );
        assert_eq!(three.len(), 3);
        assert!(starts(
            Period::Day,
            at("2026-01-02T00:00:00Z"),
            at("2026-01-01T00:00:00Z")
        )
        .is_empty());
    }

    #[test]
    fn the_partitions_holding_a_range_are_those_it_meets_and_the_default() {
        let at = |day: u32| Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).unwrap();
        let partition = |name: &str, from: Option<u32>, to: Option<u32>, is_default| Partition {
            table: TableName::qualified("s", name),
            from: from.map(at),
            to: to.map(at),
            is_default,
            rows_estimate: 0,
            bytes: 0,
        };
        let partitions = [
            partition("p1", Some(1), Some(2), false),
            partition("p2", Some(2), Some(3), false),
            partition("p3", Some(3), Some(4), false),
            partition("pd", None, None, true),
        ];
        let names = |ranges: &[TimeRange]| -> Vec<String> {
            holding(&partitions, ranges)
                .iter()
                .map(|t| t.name.clone())
                .collect()
        };
        // Bounds are [from, to): a range ending at p2's start does not meet p2.
        assert_eq!(names(&[(Some(at(1)), Some(at(2)))]), ["p1", "pd"]);
        assert_eq!(names(&[(Some(at(2)), None)]), ["p2", "p3", "pd"]);
        assert_eq!(names(&[(None, Some(at(1)))]), ["pd"]);
        assert_eq!(
            names(&[(Some(at(1)), Some(at(2))), (Some(at(3)), Some(at(5)))]),
            ["p1", "p3", "pd"]
        );
        assert_eq!(names(&[(None, None)]), ["p1", "p2", "p3", "pd"]);
    }
}

/// What [`migrate`] did to one table.
#[derive(Clone, Debug, PartialEq)]
pub struct Migrated {
    /// The old plain table, now the partition holding every row before `legacy_until`.
    pub legacy: TableName,
    /// The upper bound of the legacy partition: the end of the period after the current one.
    pub legacy_until: DateTime<Utc>,
    /// Partitions created after it.
    pub created: Vec<Created>,
    /// How long the swap took, waiting for the lock included: how long writers waited.
    pub swap_seconds: f64,
}

/// How long a step of [`migrate`] that needs the table to itself waits for the logger's
/// transaction in hand (a batch commits in well under a second) before trying again, and how
/// many times it tries.
const LOCK_WAIT: &str = "5s";
const LOCK_TRIES: u32 = 12;
/// SQLSTATE lock_not_available: `lock_timeout` expired.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Turn the plain table `table` into a partitioned one of the same name, in place, without
/// losing a row and with writers running:
///
/// 1. `CHECK ("timestamp" < U) NOT VALID`, where U is the end of the period after the current
///    one (a moment's exclusive lock), then `VALIDATE CONSTRAINT`: the long scan, which lets
///    inserts go on. From here until step 3, a row timestamped U or later (more than a period
///    ahead of the clock) is refused by the constraint.
/// 2. A partitioned table `<table>_partitioned` with the same columns (`LIKE`), the same unique
///    keys and `(sensor_name, "timestamp")` indexes, its period comment and a default partition.
/// 3. One short transaction (a moment's exclusive lock): the old table is renamed
///    `<table>_legacy`, the new one takes its name, its key's name and its statement-level
///    triggers (such as the rollups' marker of dirty minutes), and the old table is
///    attached as the partition `[MINVALUE, U)`: the validated constraint proves the bound, so
///    PostgreSQL does not scan it, and its indexes are taken as the partition's.
/// 4. The partitions from U to [`AHEAD`] periods ahead.
///
/// Writers waiting on the lock go on into the new table (PostgreSQL looks the name up again
/// after the wait); prepared statements are planned again. Each step can be run again after
/// an interruption. A unique key without `"timestamp"` cannot be kept on a partitioned table:
/// such a table is refused (SQLSTATE 0A000) before anything is changed.
pub async fn migrate(
    client: &mut Client,
    table: &TableName,
    period: Period,
) -> Result<Migrated, StoreError> {
    check_name(table)?;
    let what = format!("migrating {table} to a partitioned table");
    let fail = |e: tokio_postgres::Error| StoreError::query(&what, &e);
    let refuse = |reason: String| StoreError::Query {
        what: what.clone(),
        reason,
        code: Some("0A000".to_string()),
        connection_lost: false,
    };
    let legacy_until = period.next(period.next(period.start_of(Utc::now())));
    let staging = sibling(table, "_partitioned");
    let legacy = legacy_name(table);
    let check = format!("{}_legacy_range", table.name);

    // The unique constraints and plain indexes to carry over, by their columns.
    let rows = client
        .query(
            "SELECT c.relname::text, i.indisunique,
                    con.conname::text,
                    array_agg(a.attname::text ORDER BY k.n)
             FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = to_regclass($1::text) AND i.indpred IS NULL AND i.indexprs IS NULL
             GROUP BY c.relname, i.indisunique, con.conname
             ORDER BY c.relname",
            &[&table.sql()],
        )
        .await
        .map_err(fail)?;
    let mut keys: Vec<(String, bool, Vec<String>)> = Vec::new();
    for row in &rows {
        let (index, unique, constraint, columns): (String, bool, Option<String>, Vec<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if unique && !columns.iter().any(|c| c == "timestamp") {
            return Err(refuse(format!(
                "its unique index {index} ({}) does not hold \"timestamp\", which a partitioned \
                 table requires; drop it or add \"timestamp\" to it first",
                columns.join(", ")
            )));
        }
        let serves_sensor_time =
            columns.len() >= 2 && columns[0] == "sensor_name" && columns[1] == "timestamp";
        if unique || serves_sensor_time {
            keys.push((constraint.unwrap_or(index), unique, columns));
        }
    }
    if keys.is_empty() {
        // Built now, beside the writers, rather than by ATTACH under the exclusive lock.
        let index = sibling(table, "_sensor_time_idx");
        client
            .batch_execute(&format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} (sensor_name, \"timestamp\")",
                escape_identifier(&index.name),
                table.sql()
            ))
            .await
            .map_err(fail)?;
        keys.push((
            index.name,
            false,
            vec!["sensor_name".into(), "timestamp".into()],
        ));
    }

    // 1. The constraint that makes ATTACH cheap.
    let has_check = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1::text) AND conname = $2)",
            &[&table.sql(), &check],
        )
        .await
        .map_err(fail)?
        .get::<_, bool>(0);
    if !has_check {
        with_lock_retries(client, &what, |transaction| {
            let sql = format!(
                "ALTER TABLE {} ADD CONSTRAINT {} CHECK (\"timestamp\" < {}) NOT VALID",
                table.sql(),
                escape_identifier(&check),
                bound(legacy_until)
            );
            Box::pin(async move { transaction.batch_execute(&sql).await })
        })
        .await?;
    }
    // The bound actually in the constraint (an earlier, interrupted run may have set it).
    let legacy_until: DateTime<Utc> = client
        .query_one(
            "SELECT substring(pg_get_constraintdef(oid) from $$< '([^']*)'$$)::timestamptz
             FROM pg_constraint WHERE conrelid = to_regclass($1::text) AND conname = $2",
            &[&table.sql(), &check],
        )
        .await
        .map_err(fail)?
        .get(0);
    tracing::info!(%table, until = %legacy_until, "validating the legacy range (a scan; writes go on)");
    let future = future_name(table);
    let mut tries = 0;
    loop {
        tries += 1;
        let validated = client
            .batch_execute(&format!(
                "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                table.sql(),
                escape_identifier(&check)
            ))
            .await;
        match validated {
            Ok(()) => break,
            // Rows stored before the constraint with times at or after U (a clock far ahead):
            // set aside (a scan), to go into the partitioned table after the swap.
            Err(error)
                if error.code() == Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION)
                    && tries < 3 =>
            {
                let transaction = client.transaction().await.map_err(fail)?;
                transaction
                    .batch_execute(&format!(
                        "CREATE TABLE IF NOT EXISTS {} (LIKE {})",
                        future.sql(),
                        table.sql()
                    ))
                    .await
                    .map_err(fail)?;
                let moved = transaction
                    .execute(
                        &format!(
                            "WITH moved AS (DELETE FROM {} WHERE NOT (\"timestamp\" < {}) RETURNING *)
                             INSERT INTO {} SELECT * FROM moved",
                            table.sql(),
                            bound(legacy_until),
                            future.sql()
                        ),
                        &[],
                    )
                    .await
                    .map_err(fail)?;
                transaction.commit().await.map_err(fail)?;
                tracing::info!(%table, moved, "set rows after the legacy range aside until the swap");
            }
            Err(error) => return Err(fail(error)),
        }
    }

    // 2. The partitioned table beside it.
    let mut statements = vec![format!(
        "CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) PARTITION BY RANGE (\"timestamp\")",
        staging.sql(),
        table.sql()
    )];
    statements.push(comment_statement(&staging, period));
    statements.push(format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT",
        default_name(table).sql(),
        staging.sql()
    ));
    for (i, (_, unique, columns)) in keys.iter().enumerate() {
        let columns = columns
            .iter()
            .map(|c| escape_identifier(c))
            .collect::<Vec<_>>()
            .join(", ");
        let name = escape_identifier(&format!("{}_key{i}", staging.name));
        statements.push(if *unique {
            format!(
                "DO $dripline$ BEGIN
                     IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {}::regclass AND conname = {}) THEN
                         ALTER TABLE {} ADD CONSTRAINT {name} UNIQUE ({columns});
                     END IF;
                 END $dripline$",
                escape_literal(&staging.sql()),
                escape_literal(&format!("{}_key{i}", staging.name)),
                staging.sql()
            )
        } else {
            format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {} ({columns})",
                staging.sql()
            )
        });
    }
    let transaction = client.transaction().await.map_err(fail)?;
    for statement in &statements {
        transaction.batch_execute(statement).await.map_err(fail)?;
    }
    transaction.commit().await.map_err(fail)?;

    // Statement-level triggers (the rollups' dirty-minute marker is one) are made again on
    // the new table in the swap, so no insert after it escapes them. Row-level ones stay on
    // the legacy partition, where they still fire for its rows; they are named in a warning.
    let triggers = client
        .query(
            "SELECT tgname::text, pg_get_triggerdef(oid), (tgtype & 1) = 1
             FROM pg_trigger WHERE tgrelid = to_regclass($1::text) AND NOT tgisinternal
             ORDER BY tgname",
            &[&table.sql()],
        )
        .await
        .map_err(fail)?;
    let mut statement_triggers = Vec::new();
    for row in &triggers {
        let (name, definition, per_row): (String, String, bool) =
            (row.get(0), row.get(1), row.get(2));
        if per_row {
            tracing::warn!(%table, trigger = %name, "a row-level trigger stays on the legacy partition only: create it on the table again for the new partitions");
        } else {
            statement_triggers.push(definition);
        }
    }

    // 3. The swap.
    let mut swap = vec![
        format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", table.sql()),
        format!(
            "ALTER TABLE {} RENAME TO {}",
            table.sql(),
            escape_identifier(&legacy.name)
        ),
        format!(
            "ALTER TABLE {} RENAME TO {}",
            staging.sql(),
            escape_identifier(&table.name)
        ),
    ];
    for (i, (name, unique, _)) in keys.iter().enumerate() {
        // The old names go to the legacy partition's indexes; the new table takes them.
        let moved = format!(
            "{}_legacy{}",
            table.name,
            name.strip_prefix(&table.name).unwrap_or(name)
        );
        let moved = escape_identifier(&truncated(&moved, 63));
        let new = escape_identifier(&format!("{}_key{i}", staging.name));
        if *unique {
            swap.push(format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {moved}",
                legacy.sql(),
                escape_identifier(name)
            ));
            swap.push(format!(
                "ALTER TABLE {} RENAME CONSTRAINT {new} TO {}",
                table.sql(),
                escape_identifier(name)
            ));
        } else {
            let schema = table
                .schema
                .as_ref()
                .map(|s| format!("{}.", escape_identifier(s)))
                .unwrap_or_default();
            swap.push(format!(
                "ALTER INDEX {schema}{} RENAME TO {moved}",
                escape_identifier(name)
            ));
            swap.push(format!(
                "ALTER INDEX {schema}{new} RENAME TO {}",
                escape_identifier(name)
            ));
        }
    }
    // pg_get_triggerdef names the table as it was; after the renames that name is the new
    // table's.
    swap.extend(statement_triggers);
    swap.push(format!(
        "ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM (MINVALUE) TO ({})",
        table.sql(),
        legacy.sql(),
        bound(legacy_until)
    ));
    let swap = swap.join(";\n");
    let locked = std::time::Instant::now();
    with_lock_retries(client, &what, |transaction| {
        let sql = swap.clone();
        Box::pin(async move { transaction.batch_execute(&sql).await })
    })
    .await?;
    let swap_seconds = locked.elapsed().as_secs_f64();
    tracing::info!(%table, legacy = %legacy, "the table is partitioned; the old one is its legacy partition");

    // 4. The partitions after the legacy one, and the rows set aside in step 1.
    let mut until = period.start_of(Utc::now());
    for _ in 0..AHEAD {
        until = period.next(until);
    }
    let mut created = ensure(
        client,
        table,
        period,
        legacy_until,
        until.max(legacy_until),
        Patience::Retry,
    )
    .await?;
    finish_migration(client, table).await?;
    let homeless = default_periods(client, table, period).await?;
    created.extend(ensure_starts(client, table, period, &homeless, Patience::Retry).await?);
    Ok(Migrated {
        legacy,
        legacy_until,
        created,
        swap_seconds,
    })
}

/// The table where [`migrate`] keeps the rows timestamped after the legacy range between its
/// first step and the swap: `<table>_migrating_future`.
pub fn future_name(table: &TableName) -> TableName {
    sibling(table, "_migrating_future")
}

/// The last step of [`migrate`], also for one that was interrupted after its swap: the rows set
/// aside in `<table>_migrating_future` (if it exists) go into the partitioned table (its
/// default partition, if they have no partition) and the side table is dropped, in one
/// transaction. The number of rows moved.
pub async fn finish_migration(client: &mut Client, table: &TableName) -> Result<u64, StoreError> {
    let future = future_name(table);
    let what = format!("moving the rows of {future} into {table}");
    let fail = |e: tokio_postgres::Error| StoreError::query(&what, &e);
    let exists = client
        .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&future.sql()])
        .await
        .map_err(fail)?
        .get::<_, bool>(0);
    if !exists {
        return Ok(0);
    }
    let transaction = client.transaction().await.map_err(fail)?;
    // A redelivered alert may have been stored again meanwhile: its key keeps it once.
    let moved = transaction
        .execute(
            &format!(
                "INSERT INTO {} SELECT * FROM {} ON CONFLICT DO NOTHING",
                table.sql(),
                future.sql()
            ),
            &[],
        )
        .await
        .map_err(fail)?;
    transaction
        .batch_execute(&format!("DROP TABLE {}", future.sql()))
        .await
        .map_err(fail)?;
    transaction.commit().await.map_err(fail)?;
    Ok(moved)
}

/// Whether [`migrate`] has work to do: the table is plain (`Some(false)`: already partitioned,
/// `None`: missing).
pub async fn needs_migration(
    client: &Client,
    table: &TableName,
) -> Result<Option<bool>, StoreError> {
    Ok(match layout(client, table).await? {
        Layout::Missing => None,
        Layout::Plain => Some(true),
        _ => Some(false),
    })
}

/// `text` cut to at most `bytes` bytes, on a character boundary (PostgreSQL would cut it too,
/// but with a notice).
fn truncated(text: &str, bytes: usize) -> String {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

type Step<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'a>,
>;

/// Run `step` in a transaction with a short `lock_timeout`, again (up to [`LOCK_TRIES`] times)
/// when the lock was not granted in time, so a long transaction elsewhere is waited for without
/// queueing every writer behind our lock request.
async fn with_lock_retries(
    client: &mut Client,
    what: &str,
    step: impl for<'t> Fn(&'t tokio_postgres::Transaction<'t>) -> Step<'t>,
) -> Result<(), StoreError> {
    let fail = |e: tokio_postgres::Error| StoreError::query(what, &e);
    let mut tries = 0;
    loop {
        tries += 1;
        let transaction = client.transaction().await.map_err(fail)?;
        transaction
            .batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            .await
            .map_err(fail)?;
        match step(&transaction).await {
            Ok(()) => return transaction.commit().await.map_err(fail),
            Err(error)
                if error.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE)
                    && tries < LOCK_TRIES =>
            {
                tracing::warn!("{what}: the table is busy, trying again");
                drop(transaction);
            }
            Err(error) => return Err(fail(error)),
        }
    }
}
