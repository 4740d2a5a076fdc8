//! Rollups: per-sensor aggregates of the numeric table at 1 minute and 1 hour, kept beside it,
//! so that wide `dl-export --every` queries and dashboards read thousands of rows, not billions.
//!
//! ## Tables (beside the raw table, in its schema)
//!
//! - `<table>_1m`, `<table>_1h`: one row per `(sensor_name, bucket)`, `bucket` the start of a
//!   minute / hour aligned to the Unix epoch (as `dl-export --every` aligns its buckets). The
//!   columns are *partial aggregates* ([`PARTIALS`]) from which every `dl-export --agg` aggregate
//!   of a wider bucket is derived exactly: `count` and `count_cal` (rows, and rows with a
//!   `value_cal`), `sum_raw`/`sum_cal` as `numeric` (exact, so that a sum of sums is the sum:
//!   the mean is `sum / count` both from raw rows and from rollups, and the same to the last
//!   bit), `min_*`/`max_*`, and `first_at`/`last_at` (the epoch seconds, as `float8`, of the
//!   earliest / latest row) with `first_*`/`last_*`: `dl-export`'s `first` is
//!   `(min(ARRAY[epoch, value]))[2]`, and the minimum over a bucket of such arrays is the
//!   minimum over its minutes of their minima, so `(min(ARRAY[first_at, first_raw]))[2]` over
//!   the minutes gives the same value, ties and `NULL`s included.
//! - `<table>_rollup_dirty`: the minutes (`bucket`, all sensors together) that got rows since
//!   they were last rolled up. A statement-level `AFTER INSERT` trigger on the raw table (over
//!   its transition table, so once per statement or `COPY`) marks them, whoever writes through
//!   the table: dripline-python's logger, `psql`, `dl-log-to-pg` into a plain table. A late alert
//!   (hours or months old) marks its old minute like any other, so late rows need no time
//!   window. Whole minutes, not `(sensor, minute)`: a batch of 5000 rows from 200 sensors marks
//!   one or two rows instead of hundreds, which was most of the trigger's cost (server CPU per
//!   300 000 rows COPied in batches of 5000, median of 5: 840 ms without a trigger, 1200 ms
//!   marking `(sensor, minute)`, 870 ms marking minutes).
//! - `<table>_rollup_mark_minutes(timestamptz[])`: the one place that marks (the trigger calls
//!   it). `dl-log-to-pg` calls it itself when it writes into a partition directly, which it does
//!   because PostgreSQL gives up `COPY`'s batched inserts into a partitioned table that has a
//!   trigger with a transition table (one row at a time: 1010 ms against 850 ms for the same
//!   300 000 rows), and a statement trigger on the parent does not fire for rows written into a
//!   partition (see [`crate::ingest`]).
//! - `<table>_rollup_state`: the backfill cursor for the rows that were in the table before
//!   the trigger was made (by time, in chunks).
//!
//! ## Refreshing
//!
//! [`refresh`] recomputes each dirty minute *from the raw rows* (never by adding deltas), then
//! the hours holding them from their minutes, in one transaction, and clears the marks it
//! handled. The raw rows are read through the `(sensor_name, "timestamp")` index ([`init`] makes
//! one if the table has none; our key is one): one descent per sensor and run of consecutive
//! dirty minutes, the sensors found by a loose scan of that index in the partitions that hold
//! the runs. No index on time is needed: on a partitioned table one (BRIN) cost the logger
//! 3–7 % of its insert rate, PostgreSQL 15 reading the index's metapage for every row. Recomputing
//! makes it correct whatever arrived: a redelivered alert that the writer deduplicated is one
//! row, so it counts once; a late one is simply there. A sensor whose first rows commit after
//! the refresh listed the sensors belongs to a writer that marked their minutes after the
//! marks were read, so they stay marked (below). Marks are cleared
//! only if no writer touched them since they were read (`seq` unchanged), so rows committed
//! during a refresh are rolled up by the next one. Refreshes of one table are serialised by an
//! advisory lock. A minute whose raw rows are gone (pruned) keeps its rollup row.
//!
//! [`complete_until`] says up to when the rollups reflect every raw row: the earliest pending
//! minute, or the server's `now()` when nothing is pending.

use crate::error::StoreError;
use crate::schema::TableName;
use crate::sql::{escape_identifier, escape_literal};
use chrono::{DateTime, Utc};

/// The rollup widths, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 1-minute buckets (`<table>_1m`).
    Minute,
    /// 1-hour buckets (`<table>_1h`).
    Hour,
}

impl Level {
    /// Both levels, narrowest first.
    pub const ALL: [Level; 2] = [Level::Minute, Level::Hour];

    /// The bucket width in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Level::Minute => 60,
            Level::Hour => 3600,
        }
    }

    /// The bucket width in microseconds.
    pub fn micros(self) -> i64 {
        self.seconds() * 1_000_000
    }

    fn suffix(self) -> &'static str {
        match self {
            Level::Minute => "_1m",
            Level::Hour => "_1h",
        }
    }
}

/// The partial-aggregate columns of a rollup row, in table order (after `sensor_name`,
/// `bucket`).
pub const PARTIALS: &str = "count, count_cal, sum_raw, sum_cal, min_raw, max_raw, min_cal, max_cal, first_at, first_raw, first_cal, last_at, last_raw, last_cal";

/// One raw row as a partial aggregate of itself (the columns of [`PARTIALS`]), over a raw
/// table's columns.
pub const RAW_AS_PARTIALS: &str = "1::int8 AS count, (value_cal IS NOT NULL)::int4::int8 AS count_cal, value_raw::numeric AS sum_raw, value_cal::numeric AS sum_cal, value_raw AS min_raw, value_raw AS max_raw, value_cal AS min_cal, value_cal AS max_cal, extract(epoch FROM \"timestamp\")::float8 AS first_at, value_raw AS first_raw, value_cal AS first_cal, extract(epoch FROM \"timestamp\")::float8 AS last_at, value_raw AS last_raw, value_cal AS last_cal";

/// Partials combined over a group (the columns of [`PARTIALS`], in order): what a rollup row
/// of a wider bucket holds.
pub const COMBINE_PARTIALS: &str = "sum(count)::int8, sum(count_cal)::int8, sum(sum_raw), sum(sum_cal), min(min_raw), max(max_raw), min(min_cal), max(max_cal), min(first_at), (min(ARRAY[first_at, first_raw]))[2], (min(ARRAY[first_at, first_cal]))[2], max(last_at), (max(ARRAY[last_at, last_raw]))[2], (max(ARRAY[last_at, last_cal]))[2]";

/// The names of everything that belongs to the rollups of one raw table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupTables {
    /// The raw table.
    pub raw: TableName,
    /// `<raw>_1m`.
    pub minute: TableName,
    /// `<raw>_1h`.
    pub hour: TableName,
    /// `<raw>_rollup_dirty`.
    pub dirty: TableName,
    /// `<raw>_rollup_state`.
    pub state: TableName,
}

impl RollupTables {
    /// The rollup tables of `raw`, in its schema.
    pub fn of(raw: &TableName) -> Self {
        let beside = |suffix: &str| TableName {
            schema: raw.schema.clone(),
            name: format!("{}{suffix}", raw.name),
        };
        Self {
            raw: raw.clone(),
            minute: beside(Level::Minute.suffix()),
            hour: beside(Level::Hour.suffix()),
            dirty: beside("_rollup_dirty"),
            state: beside("_rollup_state"),
        }
    }

    /// The rollup table of `level`.
    pub fn level(&self, level: Level) -> &TableName {
        match level {
            Level::Minute => &self.minute,
            Level::Hour => &self.hour,
        }
    }

    fn mark_function(&self) -> TableName {
        TableName {
            schema: self.raw.schema.clone(),
            name: format!("{}_rollup_mark", self.raw.name),
        }
    }

    fn mark_minutes_function(&self) -> TableName {
        TableName {
            schema: self.raw.schema.clone(),
            name: format!("{}_rollup_mark_minutes", self.raw.name),
        }
    }

    fn trigger_name(&self) -> String {
        format!("{}_rollup_mark", self.raw.name)
    }

    /// The statements that create the tables and the marking function (idempotent); the
    /// trigger is made by [`init`] under a lock.
    pub fn create_statements(&self) -> Vec<String> {
        let mut statements = Vec::new();
        for level in Level::ALL {
            statements.push(format!(
                "CREATE TABLE IF NOT EXISTS {} (\n    sensor_name text COLLATE \"C\" NOT NULL,\n    bucket timestamp with time zone NOT NULL,\n    count int8 NOT NULL,\n    count_cal int8 NOT NULL,\n    sum_raw numeric NOT NULL,\n    sum_cal numeric,\n    min_raw double precision NOT NULL,\n    max_raw double precision NOT NULL,\n    min_cal double precision,\n    max_cal double precision,\n    first_at double precision NOT NULL,\n    first_raw double precision NOT NULL,\n    first_cal double precision,\n    last_at double precision NOT NULL,\n    last_raw double precision NOT NULL,\n    last_cal double precision,\n    PRIMARY KEY (sensor_name, bucket)\n)",
                self.level(level).sql()
            ));
        }
        // What the hours of a backfill chunk read their minutes by (the key is sensor first):
        // without it each chunk scanned the whole 1-minute table (1937 s for the initial
        // rollup of 50 M rows over 2 years). The minutes are written in time order, chunk by
        // chunk and refresh by refresh, which is what BRIN needs.
        statements.push(format!(
            "CREATE INDEX IF NOT EXISTS {} ON {} USING brin (bucket)",
            escape_identifier(&format!("{}_bucket_brin", self.minute.name)),
            self.minute.sql()
        ));
        statements.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    bucket timestamp with time zone PRIMARY KEY,\n    seq int8 NOT NULL DEFAULT 0\n)",
            self.dirty.sql()
        ));
        // What a refresh reads the raw rows of the dirty minutes by, one sensor at a time
        // (our key serves; a table from dripline's `10_setup.sql` gets this index).
        statements.push(crate::schema::create_index(&self.raw));
        // One row: the backfill cursor. `done` once every row that predates the trigger is in.
        statements.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    one boolean PRIMARY KEY DEFAULT true CHECK (one),\n    done boolean NOT NULL DEFAULT false,\n    cursor_time timestamp with time zone,\n    end_time timestamp with time zone\n)",
            self.state.sql()
        ));
        // A writer that meets a mark (an unrolled minute) bumps its seq, so that a refresh
        // running at the same time knows not to clear it. SECURITY DEFINER: a writer needs
        // no right on the dirty table (the logger's role may only INSERT into its tables);
        // the search path is pinned to the one at creation, as such a function must. The
        // minute is date_trunc in UTC: the same epoch-aligned minute as `bucket_of`, without
        // its numeric arithmetic on every row of the trigger's path.
        statements.push(format!(
            "CREATE OR REPLACE FUNCTION {function}(times timestamptz[]) RETURNS void LANGUAGE sql
    SECURITY DEFINER SET search_path FROM CURRENT AS $dripline$
    INSERT INTO {dirty} AS d (bucket)
    SELECT DISTINCT {minute} FROM unnest(times) AS t
    ORDER BY 1
    ON CONFLICT (bucket) DO UPDATE SET seq = d.seq + 1
$dripline$",
            function = self.mark_minutes_function().sql(),
            dirty = self.dirty.sql(),
            minute = utc_minute_of("t"),
        ));
        statements.push(format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path FROM CURRENT AS $dripline$
BEGIN
    PERFORM {mark}(ARRAY(SELECT DISTINCT {minute} FROM dripline_new_rows));
    RETURN NULL;
END
$dripline$",
            function = self.mark_function().sql(),
            mark = self.mark_minutes_function().sql(),
            minute = utc_minute_of("\"timestamp\""),
        ));
        statements
    }

    /// `<raw>_rollup_mark_minutes(<minutes>::timestamptz[])`, an SQL expression: marks the
    /// minutes holding the `timestamptz[]` `minutes` (a parameter such as `$3`) dirty, for a
    /// writer whose rows the trigger does not see (rows written into a partition directly).
    /// Run it in the transaction that writes the rows.
    pub fn mark_minutes_call(&self, minutes: &str) -> String {
        format!(
            "{}({minutes}::timestamptz[])",
            self.mark_minutes_function().sql()
        )
    }
}

/// The SQL for the start of the `level` bucket holding the timestamptz `column`, aligned to the
/// Unix epoch whatever the session's time zone (no `date_bin`: PostgreSQL 13 lacks it).
fn bucket_of(column: &str, level: Level) -> String {
    format!(
        "to_timestamp(floor(extract(epoch FROM {column}) / {width}) * {width})",
        width = level.seconds()
    )
}

/// The SQL for the start of the UTC minute holding the timestamptz `column` (the same instant
/// as [`bucket_of`] at [`Level::Minute`]; cheaper per row).
fn utc_minute_of(column: &str) -> String {
    format!("date_trunc('minute', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")
}

/// Whether `table` has rollups (its rollup state table exists).
pub async fn exists(
    client: &tokio_postgres::Client,
    table: &TableName,
) -> Result<bool, StoreError> {
    crate::table_exists(client, &RollupTables::of(table).state).await
}

fn initialising(table: &TableName) -> String {
    format!("creating the rollups of {table}")
}

/// Create the rollups of the raw `table` (tables, marking trigger, state) if missing; safe to
/// run again. When the trigger is new, the rows already in `table` are to be backfilled by
/// [`refresh`] (the state's cursor starts at the first sensor), and until then
/// [`complete_until`] reports nothing complete.
pub async fn init(client: &tokio_postgres::Client, table: &TableName) -> Result<(), StoreError> {
    let tables = RollupTables::of(table);
    let fail = |e: &tokio_postgres::Error| StoreError::query(initialising(table), e);
    for statement in tables.create_statements() {
        client
            .batch_execute(&statement)
            .await
            .map_err(|e| fail(&e))?;
    }
    client
        .batch_execute(&trigger_sql(&tables))
        .await
        .map_err(|e| fail(&e))
}

/// [`init`] for a synchronous client (set-up scripts, tests).
pub fn init_blocking(client: &mut postgres::Client, table: &TableName) -> Result<(), StoreError> {
    let tables = RollupTables::of(table);
    for statement in tables.create_statements() {
        client
            .batch_execute(&statement)
            .map_err(|e| StoreError::query(initialising(table), &e))?;
    }
    client
        .batch_execute(&trigger_sql(&tables))
        .map_err(|e| StoreError::query(initialising(table), &e))
}

/// Make the trigger if it is missing, and then (re)start the backfill: under a lock that holds
/// writers back for that instant, so that every row is either already there (backfilled) or
/// marked by the trigger.
fn trigger_sql(tables: &RollupTables) -> String {
    format!(
        "DO $dripline$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {raw_literal}::regclass AND tgname = {trigger_literal}) THEN
        LOCK TABLE {raw} IN SHARE ROW EXCLUSIVE MODE;
        CREATE TRIGGER {trigger} AFTER INSERT ON {raw}
            REFERENCING NEW TABLE AS dripline_new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {function}();
        -- Rows already there are to be backfilled (none in a new table).
        INSERT INTO {state} (one, done) SELECT true, NOT EXISTS (SELECT 1 FROM {raw})
            ON CONFLICT (one) DO UPDATE
            SET done = EXCLUDED.done, cursor_time = NULL, end_time = NULL;
    END IF;
    INSERT INTO {state} (one, done) VALUES (true, false) ON CONFLICT (one) DO NOTHING;
END $dripline$",
        raw_literal = escape_literal(&tables.raw.sql()),
        trigger_literal = escape_literal(&tables.trigger_name()),
        raw = tables.raw.sql(),
        trigger = escape_identifier(&tables.trigger_name()),
        function = tables.mark_function().sql(),
        state = tables.state.sql(),
    )
}

/// Up to when the rollups of the raw `table` are complete: `Ok(None)` when it has no rollups;
/// `Ok(Some(t))` when every raw row with `"timestamp" < t` committed now is reflected in both
/// rollups (so raw rows before `t` may be dropped, and `dl-export` may read the rollups before
/// `t`). `t` is the earliest minute still marked dirty, or the server's `now()` when none is;
/// while the backfill of rows older than the rollups is unfinished, nothing is complete
/// (`t` is [`DateTime::<Utc>::MIN_UTC`]).
pub async fn complete_until(
    client: &tokio_postgres::Client,
    table: &TableName,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    if !exists(client, table).await? {
        return Ok(None);
    }
    let tables = RollupTables::of(table);
    let row = client
        .query_one(&complete_until_sql(&tables), &[])
        .await
        .map_err(|e| StoreError::query(format!("reading the rollup state of {table}"), &e))?;
    let done: Option<bool> = row.get(0);
    if done != Some(true) {
        return Ok(Some(DateTime::<Utc>::MIN_UTC));
    }
    Ok(Some(row.get(1)))
}

fn complete_until_sql(tables: &RollupTables) -> String {
    format!(
        "SELECT (SELECT done FROM {state}), coalesce((SELECT min(bucket) FROM {dirty}), now())",
        state = tables.state.sql(),
        dirty = tables.dirty.sql()
    )
}

/// What one [`refresh`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Dirty minutes recomputed from raw rows.
    pub minutes: u64,
    /// Hours recomputed from their minutes.
    pub hours: u64,
    /// Backfill chunks ([`BACKFILL_CHUNK_DAYS`] of a partitioned table, or a whole plain
    /// table) rolled up.
    pub backfill_chunks: u64,
}

/// How many dirty minutes (of all sensors) one refresh transaction takes on: bounded, so that a
/// refresh after a long outage commits as it goes. An hour of 200 sensors at 1 Hz is 720 000
/// raw rows.
pub const DIRTY_BATCH: i64 = 60;

/// The time span of one backfill transaction in a partitioned table.
pub const BACKFILL_CHUNK_DAYS: i64 = 31;

/// Bring the rollups of the raw `table` up to date: backfill rows older than the rollups (if
/// still pending), then recompute every dirty minute and its hour, [`DIRTY_BATCH`] minutes per
/// transaction, until none is left that was marked before this call began (a writer marking
/// minutes all the time cannot keep it running forever).
pub async fn refresh(
    client: &mut tokio_postgres::Client,
    table: &TableName,
) -> Result<Refreshed, StoreError> {
    let tables = RollupTables::of(table);
    let what = format!("refreshing the rollups of {table}");
    let fail = |e: &tokio_postgres::Error| StoreError::query(what.clone(), e);
    let mut done = Refreshed::default();
    let lock = lock_sql(&tables);
    // Backfill, one chunk per transaction.
    loop {
        let transaction = client.transaction().await.map_err(|e| fail(&e))?;
        transaction
            .batch_execute(&lock)
            .await
            .map_err(|e| fail(&e))?;
        let more = backfill_chunk(&transaction, &tables)
            .await
            .map_err(|e| fail(&e))?;
        transaction.commit().await.map_err(|e| fail(&e))?;
        if !more {
            break;
        }
        done.backfill_chunks += 1;
    }
    // Only as many rounds as there were marks when it began: later marks wait for the next
    // refresh.
    let rounds_limit: u64 = {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {}", tables.dirty.sql()), &[])
            .await
            .map_err(|e| fail(&e))?;
        let pending: i64 = row.get(0);
        (pending / DIRTY_BATCH) as u64 + 1
    };
    for _ in 0..rounds_limit {
        let transaction = client.transaction().await.map_err(|e| fail(&e))?;
        transaction
            .batch_execute(&lock)
            .await
            .map_err(|e| fail(&e))?;
        let (minutes, hours) = refresh_dirty(&transaction, &tables)
            .await
            .map_err(|e| fail(&e))?;
        transaction.commit().await.map_err(|e| fail(&e))?;
        done.minutes += minutes;
        done.hours += hours;
        if minutes < DIRTY_BATCH as u64 {
            break;
        }
    }
    Ok(done)
}

fn lock_sql(tables: &RollupTables) -> String {
    format!(
        "SELECT pg_advisory_xact_lock(hashtext({}))",
        escape_literal(&format!("dripline rollup {}", tables.raw.sql()))
    )
}

/// Recompute up to [`DIRTY_BATCH`] dirty minutes and their hours; clear the marks nobody
/// touched meanwhile. `(minutes, hours)` recomputed.
async fn refresh_dirty(
    transaction: &tokio_postgres::Transaction<'_>,
    tables: &RollupTables,
) -> Result<(u64, u64), tokio_postgres::Error> {
    // The marks, as read now (with their seq).
    let marks = transaction
        .query(
            &format!(
                "SELECT bucket, seq FROM {} ORDER BY bucket LIMIT {DIRTY_BATCH}",
                tables.dirty.sql()
            ),
            &[],
        )
        .await?;
    if marks.is_empty() {
        return Ok((0, 0));
    }
    let buckets: Vec<DateTime<Utc>> = marks.iter().map(|m| m.get(0)).collect();
    let seqs: Vec<i64> = marks.iter().map(|m| m.get(1)).collect();
    let runs = runs_of_minutes(&buckets);
    let sensors = sensors_of(transaction, &tables.raw, &runs).await?;
    let (run_starts, run_ends): (Vec<_>, Vec<_>) = runs.into_iter().unzip();
    // Per run of minutes, one bitmap of all the sensors' rows (a descent of the key's index
    // per sensor), then each heap page read once: never a scan of the whole raw table (or
    // partition), so no join method but the nested loop over the runs; and not an index scan
    // per sensor, which reads every page of the run once per sensor, since a logger writes
    // all sensors' rows of a minute onto the same pages (an hour of 200 sensors at 1 Hz took
    // minutes that way).
    transaction
        .batch_execute(
            "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; \
             SET LOCAL enable_indexscan = off",
        )
        .await?;
    let sql = format!(
        "INSERT INTO {minute} (sensor_name, bucket, {PARTIALS})
         SELECT sensor_name, {bucket} AS b, {COMBINE_PARTIALS}
         FROM (
             SELECT r.sensor_name, r.\"timestamp\" AS at, {RAW_AS_PARTIALS}
             FROM unnest($1::timestamptz[], $2::timestamptz[]) AS run(lo, hi)
             JOIN {raw} r ON r.sensor_name = ANY($3::text[])
                 AND r.\"timestamp\" >= run.lo AND r.\"timestamp\" < run.hi
         ) s
         GROUP BY sensor_name, b
         ORDER BY sensor_name, b
         ON CONFLICT (sensor_name, bucket) DO UPDATE SET {update}
         RETURNING sensor_name, bucket",
        minute = tables.minute.sql(),
        raw = tables.raw.sql(),
        bucket = bucket_of("at", Level::Minute),
        update = update_set(),
    );
    let recomputed = transaction
        .query(&sql, &[&run_starts, &run_ends, &sensors])
        .await?;
    transaction
        .batch_execute("SET LOCAL enable_indexscan = on")
        .await?;
    // Clear the marks no writer touched since they were read: a writer that marked one
    // meanwhile bumped its seq (and if it has not committed yet, this waits for it and then
    // sees the new seq), so its rows, which the recomputation may have missed, are rolled up
    // next time.
    transaction
        .execute(
            &format!(
                "DELETE FROM {} d USING unnest($1::timestamptz[], $2::int8[]) AS b(bucket, seq)
                 WHERE d.bucket = b.bucket AND d.seq = b.seq",
                tables.dirty.sql()
            ),
            &[&buckets, &seqs],
        )
        .await?;
    // The hours of the (sensor, minute) rows just written, from their minutes.
    let sensors: Vec<String> = recomputed.iter().map(|m| m.get(0)).collect();
    let minutes: Vec<DateTime<Utc>> = recomputed.iter().map(|m| m.get(1)).collect();
    let sql = format!(
        "INSERT INTO {hour_table} (sensor_name, bucket, {PARTIALS})
         SELECT m.sensor_name, h.hour, {COMBINE_PARTIALS}
         FROM (SELECT DISTINCT sensor_name, {hour} AS hour
               FROM unnest($1::text[], $2::timestamptz[]) AS d(sensor_name, bucket)) h
         CROSS JOIN LATERAL (
             SELECT * FROM {minute} m
             WHERE m.sensor_name = h.sensor_name
               AND m.bucket >= h.hour AND m.bucket < h.hour + interval '1 hour'
         ) m
         GROUP BY m.sensor_name, h.hour
         ORDER BY m.sensor_name, h.hour
         ON CONFLICT (sensor_name, bucket) DO UPDATE SET {update}",
        hour_table = tables.hour.sql(),
        minute = tables.minute.sql(),
        update = update_set(),
        hour = bucket_of("bucket", Level::Hour),
    );
    let hours_done = transaction.execute(&sql, &[&sensors, &minutes]).await?;
    Ok((buckets.len() as u64, hours_done))
}

/// The sensors with rows in the raw table's partitions that hold any of `runs` (the default
/// partition always; the whole table when it is plain), one index descent each
/// ([`crate::partition::sensors_in`]). A sensor with no row in the runs costs the refresh one
/// more descent per run, nothing more.
async fn sensors_of(
    transaction: &tokio_postgres::Transaction<'_>,
    raw: &TableName,
    runs: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<Vec<String>, tokio_postgres::Error> {
    let ranges: Vec<_> = runs.iter().map(|(lo, hi)| (Some(*lo), Some(*hi))).collect();
    match crate::partition::sensors_holding(transaction, raw, &ranges).await? {
        Some(names) => Ok(names),
        None => crate::partition::sensors_in(transaction, &[raw]).await,
    }
}

/// Sorted minute starts as runs of consecutive minutes, `[start, end)` each.
fn runs_of_minutes(minutes: &[DateTime<Utc>]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let minute = chrono::Duration::minutes(1);
    let mut runs: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for &start in minutes {
        match runs.last_mut() {
            Some((_, end)) if *end == start => *end = start + minute,
            _ => runs.push((start, start + minute)),
        }
    }
    runs
}

/// `col = EXCLUDED.col` for every partial column.
fn update_set() -> String {
    PARTIALS
        .split(", ")
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Roll up one chunk of the backfill and move the cursor; `false` when there was nothing left
/// to do. The rows are read in time order, all sensors together, the order they sit in the
/// table (a logger writes them so; reading one sensor at a time would touch a page per row).
/// A partitioned table goes [`BACKFILL_CHUNK_DAYS`] at a time from its first row to its last
/// (a chunk reads about one partition); a plain table has no index on time, so it is read in
/// one statement (one scan, one transaction).
async fn backfill_chunk(
    transaction: &tokio_postgres::Transaction<'_>,
    tables: &RollupTables,
) -> Result<bool, tokio_postgres::Error> {
    let state = transaction
        .query_opt(
            &format!(
                "SELECT done, cursor_time, end_time FROM {} FOR UPDATE",
                tables.state.sql()
            ),
            &[],
        )
        .await?;
    let Some(state) = state else {
        return Ok(false);
    };
    if state.get::<_, bool>(0) {
        return Ok(false);
    }
    let raw = tables.raw.sql();
    let mut cursor: Option<DateTime<Utc>> = state.get(1);
    let mut end: Option<DateTime<Utc>> = state.get(2);
    let finish = format!(
        "UPDATE {} SET done = true, cursor_time = NULL, end_time = NULL",
        tables.state.sql()
    );
    if cursor.is_none() {
        let partitioned: bool = transaction
            .query_one(
                "SELECT relkind = 'p' FROM pg_class WHERE oid = $1::text::regclass",
                &[&raw],
            )
            .await?
            .get(0);
        if !partitioned {
            roll_up_range(transaction, tables, None).await?;
            transaction.execute(&finish, &[]).await?;
            return Ok(true);
        }
        let row = transaction
            .query_one(
                &format!(
                    "SELECT {}, max(\"timestamp\") FROM {raw}",
                    bucket_of("min(\"timestamp\")", Level::Hour)
                ),
                &[],
            )
            .await?;
        (cursor, end) = (row.get(0), row.get(1));
    }
    let (Some(lo), Some(last)) = (cursor, end) else {
        transaction.execute(&finish, &[]).await?;
        return Ok(false);
    };
    if lo > last {
        transaction.execute(&finish, &[]).await?;
        return Ok(false);
    }
    // Whole hours (lo is one), so that the hours recomputed here see all their minutes.
    let hi = lo + chrono::Duration::days(BACKFILL_CHUNK_DAYS);
    roll_up_range(transaction, tables, Some((lo, hi))).await?;
    transaction
        .execute(
            &format!(
                "UPDATE {} SET cursor_time = $1, end_time = $2",
                tables.state.sql()
            ),
            &[&hi, &last],
        )
        .await?;
    Ok(true)
}

/// Recompute the minutes, then the hours, of every sensor in `range` (whole hours; `None`:
/// everything) from raw rows. Inserted in key order: in hash order every row lands on another
/// page of the key's index (measured: half the time for a month of 200 sensors).
async fn roll_up_range(
    transaction: &tokio_postgres::Transaction<'_>,
    tables: &RollupTables,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<(), tokio_postgres::Error> {
    let raw = tables.raw.sql();
    for (level, source, at) in [
        (
            Level::Minute,
            format!("SELECT sensor_name, \"timestamp\" AS at, {RAW_AS_PARTIALS} FROM {raw}"),
            "\"timestamp\"",
        ),
        (
            Level::Hour,
            format!(
                "SELECT sensor_name, bucket AS at, {PARTIALS} FROM {}",
                tables.minute.sql()
            ),
            "bucket",
        ),
    ] {
        let filter = if range.is_some() {
            format!(" WHERE {at} >= $1 AND {at} < $2")
        } else {
            String::new()
        };
        let sql = format!(
            "INSERT INTO {target} (sensor_name, bucket, {PARTIALS})
             SELECT sensor_name, {bucket} AS b, {COMBINE_PARTIALS}
             FROM ({source}{filter}) s
             GROUP BY sensor_name, b
             ORDER BY sensor_name, b
             ON CONFLICT (sensor_name, bucket) DO UPDATE SET {update}",
            target = tables.level(level).sql(),
            bucket = bucket_of("at", level),
            update = update_set(),
        );
        match &range {
            Some((lo, hi)) => transaction.execute(&sql, &[lo, hi]).await?,
            None => transaction.execute(&sql, &[]).await?,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sit_beside_the_raw_table() {
        let tables = RollupTables::of(&TableName::qualified("s", "numeric_data"));
        assert_eq!(tables.minute.sql(), "\"s\".\"numeric_data_1m\"");
        assert_eq!(tables.hour.sql(), "\"s\".\"numeric_data_1h\"");
        assert_eq!(tables.dirty.to_string(), "s.numeric_data_rollup_dirty");
        assert_eq!(PARTIALS.split(", ").count(), 14);
        assert_eq!(update_set().matches(" = EXCLUDED.").count(), 14);
    }

    #[test]
    fn consecutive_minutes_make_one_run() {
        let minute = |m: i64| DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(m);
        assert_eq!(runs_of_minutes(&[]), vec![]);
        assert_eq!(
            runs_of_minutes(&[
                minute(1),
                minute(2),
                minute(3),
                minute(7),
                minute(9),
                minute(10)
            ]),
            vec![
                (minute(1), minute(4)),
                (minute(7), minute(8)),
                (minute(9), minute(11))
            ]
        );
    }

    #[test]
    fn a_raw_row_as_partials_names_them_in_table_order() {
        // The raw partials are read by position in UNION ALL with the rollup tables' columns.
        let aliases: Vec<&str> = RAW_AS_PARTIALS
            .split(" AS ")
            .skip(1)
            .map(|rest| rest.split(',').next().unwrap())
            .collect();
        assert_eq!(aliases, PARTIALS.split(", ").collect::<Vec<_>>());
    }
}
