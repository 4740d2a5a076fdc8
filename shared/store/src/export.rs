//! The export query behind `dl-export`: which rows, in which order, raw or downsampled, and
//! streaming them out of the server in constant memory.
//!
//! Rows come out ordered by `("timestamp", sensor_name)`; downsampled buckets by
//! `(bucket start, sensor_name)`. The time range is half-open, `[since, until)`.
//!
//! ## Downsampling
//!
//! With [`Bucketing`], rows are grouped per sensor into buckets of a fixed width aligned to the
//! Unix epoch (a 1-minute bucket starts on a whole minute, a 1-hour bucket on a whole UTC hour),
//! computed by the server as `floor(epoch_µs / width) * width`. Each aggregate is derived from
//! partial aggregates ([`crate::rollup::PARTIALS`]): every raw row is one, and so is every row
//! of the 1-minute and 1-hour rollups ([`crate::rollup`]), which are read instead of raw rows
//! for the whole, complete minutes or hours of a bucket a whole number of minutes wide (see
//! [`plan_rollups`]). Both give the same answer because the definitions are the same: `mean`
//! is an exact `numeric` sum over the count, `first` and `last` take the value of the earliest
//! / latest row through `min`/`max` over `ARRAY[epoch, value]`, which needs constant memory
//! per group (an `array_agg(… ORDER BY …)` would hold the whole bucket).
//!
//! ## Resuming (incremental exports)
//!
//! [`Resume::AfterRows`] continues after the last exported timestamp `T`: rows with
//! `"timestamp" > T`, plus rows *at* `T` that were not exported yet. Because `numeric_data` has
//! no key, rows at `T` are told apart by content: the caller passes the multiset of
//! `(sensor_name, value_raw, value_cal)` already exported at `T`, and that many copies of each are
//! skipped. So a row that arrives late with the same timestamp as the last exported one is still
//! exported once, and nothing is exported twice. Rows arriving later with a timestamp *before*
//! `T` cannot be seen; callers leave a settling margin (`--until 1m`) for that.

use crate::config::ConnectionConfig;
use crate::copy::{CopyError, CopyRow, Decoder};
use crate::error::StoreError;
use crate::schema::TableName;
use crate::sql::{escape_literal, float8_literal, timestamptz_literal};
use crate::time::{TimeSpec, TimeZone};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::fmt;
use std::str::FromStr;

/// Which sensors to export: exact names, and SQL `LIKE` patterns; empty means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SensorFilter {
    /// Exact sensor names.
    pub names: Vec<String>,
    /// SQL `LIKE` patterns (see [`glob_to_like`] for globs).
    pub patterns: Vec<String>,
}

impl SensorFilter {
    /// True when every sensor is selected.
    pub fn is_all(&self) -> bool {
        self.names.is_empty() && self.patterns.is_empty()
    }

    /// The SQL condition, or `None` for all sensors.
    pub fn sql(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.names.is_empty() {
            parts.push(names_in(&self.names));
        }
        for pattern in &self.patterns {
            parts.push(format!("sensor_name LIKE {}", escape_literal(pattern)));
        }
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(format!("({})", parts.join(" OR "))),
        }
    }
}

/// `sensor_name IN (…)` of `names` (at least one).
fn names_in(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| escape_literal(n)).collect();
    format!("sensor_name IN ({})", names.join(", "))
}

/// A `--match` pattern as SQL `LIKE`: a pattern with `*` or `?` is a shell glob (`*` any run,
/// `?` one character, `%` and `_` literal); anything else is taken as `LIKE` already.
pub fn glob_to_like(pattern: &str) -> String {
    if !pattern.contains(['*', '?']) {
        return pattern.to_string();
    }
    let mut like = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' => like.push('%'),
            '?' => like.push('_'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            _ => like.push(c),
        }
    }
    like
}

/// An aggregate for downsampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Arithmetic mean (`avg`).
    Mean,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Value of the earliest row in the bucket.
    First,
    /// Value of the latest row in the bucket.
    Last,
    /// Number of rows in the bucket.
    Count,
}

impl Aggregate {
    /// All aggregates, in documentation order.
    pub const ALL: [Aggregate; 6] = [
        Aggregate::Mean,
        Aggregate::Min,
        Aggregate::Max,
        Aggregate::First,
        Aggregate::Last,
        Aggregate::Count,
    ];

    /// The name used on the command line and in column names.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Mean => "mean",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::First => "first",
            Aggregate::Last => "last",
            Aggregate::Count => "count",
        }
    }

    /// The SQL that derives this aggregate of the value column `column` (`value_raw` or
    /// `value_cal`; ignored for `count`) from partial aggregates ([`crate::rollup::PARTIALS`]),
    /// whether they come from raw rows (one per row) or from rollups: one definition for both,
    /// so that both give the same answer. The mean is an exact `numeric` sum over the count
    /// of values, rounded once to `float8`; `first`/`last` take the value of the earliest /
    /// latest row through `min`/`max` over `ARRAY[epoch, value]` (ties: the smallest / largest
    /// value; a `NULL` value_cal sorts last), which needs constant memory per group.
    fn sql(self, column: &str) -> String {
        let short = if column == "value_cal" { "cal" } else { "raw" };
        let count = if short == "cal" { "count_cal" } else { "count" };
        match self {
            Aggregate::Mean => {
                format!("(sum(sum_{short}) / nullif(sum({count}), 0))::float8")
            }
            Aggregate::Min => format!("min(min_{short})"),
            Aggregate::Max => format!("max(max_{short})"),
            Aggregate::First => format!("(min(ARRAY[first_at, first_{short}]))[2]"),
            Aggregate::Last => format!("(max(ARRAY[last_at, last_{short}]))[2]"),
            Aggregate::Count => "sum(count)::int8".to_string(),
        }
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Aggregate {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Aggregate::ALL
            .into_iter()
            .find(|a| a.name() == text || (text == "avg" && *a == Aggregate::Mean))
            .ok_or_else(|| {
                format!("'{text}' is not an aggregate (mean, min, max, first, last, count)")
            })
    }
}

/// Which value columns to export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Values {
    /// `value_raw` only.
    Raw,
    /// `value_cal` only.
    Cal,
    /// Both (the default).
    #[default]
    Both,
}

impl Values {
    /// The value column names selected.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Values::Raw => &["value_raw"],
            Values::Cal => &["value_cal"],
            Values::Both => &["value_raw", "value_cal"],
        }
    }
}

/// Downsampling: fixed-width buckets aligned to the epoch, and the aggregates to compute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucketing {
    /// Bucket width in microseconds (> 0).
    pub width_micros: i64,
    /// Aggregates, in output order (no duplicates).
    pub aggregates: Vec<Aggregate>,
}

/// Rows already exported at the resume timestamp: one distinct content and how many copies.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedAt {
    /// `sensor_name`.
    pub sensor_name: String,
    /// `value_raw`.
    pub value_raw: f64,
    /// `value_cal`.
    pub value_cal: Option<f64>,
    /// How many such rows were exported.
    pub count: u64,
}

/// Where an incremental export starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Resume {
    /// After the rows already exported: everything later than `timestamp_micros`, plus the rows
    /// at exactly `timestamp_micros` not in `exported`.
    AfterRows {
        /// The last exported timestamp, µs since the Unix epoch.
        timestamp_micros: i64,
        /// The multiset of rows exported at that timestamp.
        exported: Vec<ExportedAt>,
    },
}

/// The kind of each output column, as decoded from the binary COPY stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// `text`.
    Text,
    /// `timestamptz`.
    Timestamp,
    /// `int8` microseconds since the Unix epoch (bucket starts).
    EpochMicros,
    /// `double precision`.
    Float,
    /// `int8`.
    Count,
    /// `int4` seconds east of UTC in the session time zone, at that row's time.
    UtcOffset,
}

/// One output column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name (`sensor_name`, `timestamp`, `value_raw`, `value_cal_mean`, `count`…).
    pub name: String,
    /// How to decode it.
    pub kind: ColumnKind,
}

/// Where the columns of [`ExportQuery::columns`] sit in a streamed row ([`CopyRow`] indices),
/// so that readers name the columns they read instead of counting positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowLayout {
    /// `sensor_name` ([`ColumnKind::Text`]).
    pub sensor_name: usize,
    /// `timestamp`, of kind [`RowLayout::timestamp_kind`].
    pub timestamp: usize,
    /// [`ColumnKind::Timestamp`] for rows, [`ColumnKind::EpochMicros`] for bucket starts.
    pub timestamp_kind: ColumnKind,
    /// `value_raw` of a raw row (always there, so that resuming can identify rows); `None` for
    /// buckets.
    pub value_raw: Option<usize>,
    /// `value_cal` of a raw row; `None` for buckets.
    pub value_cal: Option<usize>,
    /// The value columns to write, in output order: those [`ExportQuery::values`] selects for
    /// raw rows, every aggregate column for buckets.
    pub values: Vec<usize>,
    /// `utc_offset` ([`ColumnKind::UtcOffset`]), when [`ExportQuery::with_utc_offset`].
    pub utc_offset: Option<usize>,
}

/// Everything that decides the SELECT.
#[derive(Clone, Debug, Default)]
pub struct ExportQuery {
    /// The table to read.
    pub table: TableName,
    /// Sensors to include.
    pub sensors: SensorFilter,
    /// Inclusive start, µs since the Unix epoch.
    pub since_micros: Option<i64>,
    /// Exclusive end, µs since the Unix epoch.
    pub until_micros: Option<i64>,
    /// Where an incremental export resumes (rows mode only).
    pub resume: Option<Resume>,
    /// Value columns (for buckets: the columns aggregated). Raw rows always carry both so that
    /// resuming can identify them; formatters pick.
    pub values: Values,
    /// Downsampling, if any.
    pub bucketing: Option<Bucketing>,
    /// Add a trailing [`ColumnKind::UtcOffset`] column for the session's time zone.
    pub with_utc_offset: bool,
    /// Never read the rollups (`dl-export --no-rollup`): every bucket from raw rows.
    pub no_rollup: bool,
    /// Buckets may be read from the rollups where they are complete: before this instant (µs
    /// since the Unix epoch), as [`crate::rollup::complete_until`] said. Set by
    /// [`plan_rollups`] (which [`stream`] calls); `None` reads raw rows only.
    pub rollups_until_micros: Option<i64>,
    /// Raw rows are read only of these sensors: on a partitioned table, when the filter is not
    /// names alone, the sensors the range's partitions hold, so that the rows are read sensor
    /// by sensor through the key's index where the planner finds that cheaper than scanning
    /// the partitions (they have no index on time). Set by [`plan`]; `None` adds nothing.
    pub raw_sensors: Option<Vec<String>>,
}

impl ExportQuery {
    /// The conditions on sensor and time of raw rows (without resume).
    fn conditions(&self) -> Vec<String> {
        self.raw_conditions(self.since_micros, self.until_micros)
    }

    /// [`Self::range_conditions`] on raw rows, with [`Self::raw_sensors`].
    fn raw_conditions(&self, lo: Option<i64>, hi: Option<i64>) -> Vec<String> {
        let mut conditions = self.range_conditions("\"timestamp\"", lo, hi);
        if let Some(names) = &self.raw_sensors {
            conditions.push(if names.is_empty() {
                "false".to_string()
            } else {
                names_in(names)
            });
        }
        conditions
    }

    fn where_clause(conditions: &[String]) -> String {
        if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        }
    }

    /// The output columns, in order.
    pub fn columns(&self) -> Vec<Column> {
        self.columns_and_layout().0
    }

    /// Where each column sits in a streamed row (see [`RowLayout`]).
    pub fn layout(&self) -> RowLayout {
        self.columns_and_layout().1
    }

    /// The columns, and the layout recorded while listing them (so the two cannot disagree).
    fn columns_and_layout(&self) -> (Vec<Column>, RowLayout) {
        let mut columns = Vec::new();
        let mut push = |name: &str, kind| {
            columns.push(Column {
                name: name.to_string(),
                kind,
            });
            columns.len() - 1
        };
        let sensor_name = push("sensor_name", ColumnKind::Text);
        let mut layout = RowLayout {
            sensor_name,
            timestamp: 0,
            timestamp_kind: ColumnKind::Timestamp,
            value_raw: None,
            value_cal: None,
            values: Vec::new(),
            utc_offset: None,
        };
        match &self.bucketing {
            None => {
                layout.timestamp = push("timestamp", ColumnKind::Timestamp);
                let raw = push("value_raw", ColumnKind::Float);
                let cal = push("value_cal", ColumnKind::Float);
                (layout.value_raw, layout.value_cal) = (Some(raw), Some(cal));
                layout.values = match self.values {
                    Values::Raw => vec![raw],
                    Values::Cal => vec![cal],
                    Values::Both => vec![raw, cal],
                };
            }
            Some(bucketing) => {
                layout.timestamp = push("timestamp", ColumnKind::EpochMicros);
                layout.timestamp_kind = ColumnKind::EpochMicros;
                for aggregate in &bucketing.aggregates {
                    if *aggregate == Aggregate::Count {
                        layout.values.push(push("count", ColumnKind::Count));
                    } else {
                        for value in self.values.columns() {
                            let name = format!("{value}_{}", aggregate.name());
                            layout.values.push(push(&name, ColumnKind::Float));
                        }
                    }
                }
            }
        }
        if self.with_utc_offset {
            layout.utc_offset = Some(push("utc_offset", ColumnKind::UtcOffset));
        }
        (columns, layout)
    }

    /// The SELECT statement (also what `dl-export --print-query` shows, and what the benchmark
    /// hands to `psql \copy`).
    pub fn select_sql(&self) -> String {
        let table = self.table.sql();
        match &self.bucketing {
            None => self.rows_sql(&table),
            Some(bucketing) => self.buckets_sql(&table, bucketing),
        }
    }

    fn rows_sql(&self, table: &str) -> String {
        let offset = if self.with_utc_offset {
            ", extract(timezone FROM \"timestamp\")::int4"
        } else {
            ""
        };
        let base = self.conditions();
        let Some(Resume::AfterRows {
            timestamp_micros,
            exported,
        }) = &self.resume
        else {
            return format!(
                "SELECT sensor_name, \"timestamp\", value_raw, value_cal{offset} FROM {table}{} ORDER BY \"timestamp\", sensor_name",
                Self::where_clause(&base)
            );
        };
        let at = timestamptz_literal(*timestamp_micros);
        let mut later = base.clone();
        later.push(format!("\"timestamp\" > {at}"));
        let mut same = base;
        same.push(format!("\"timestamp\" = {at}"));
        let later_sql = format!(
            "SELECT sensor_name, \"timestamp\", value_raw, value_cal FROM {table}{}",
            Self::where_clause(&later)
        );
        let same_sql = if exported.is_empty() {
            format!(
                "SELECT sensor_name, \"timestamp\", value_raw, value_cal FROM {table}{}",
                Self::where_clause(&same)
            )
        } else {
            let done: Vec<String> = exported
                .iter()
                .map(|e| {
                    format!(
                        "({}, {}, {}, {})",
                        escape_literal(&e.sensor_name),
                        float8_literal(e.value_raw),
                        e.value_cal
                            .map_or("NULL::float8".to_string(), float8_literal),
                        e.count
                    )
                })
                .collect();
            // Number the rows at T per content; skip as many as were exported. `done` is
            // grouped first so that contents the server deems equal (0 and -0) merge.
            format!(
                "SELECT s.sensor_name, s.\"timestamp\", s.value_raw, s.value_cal FROM (\
                 SELECT sensor_name, \"timestamp\", value_raw, value_cal, \
                 row_number() OVER (PARTITION BY sensor_name, value_raw, value_cal) AS n \
                 FROM {table}{}) s \
                 LEFT JOIN (SELECT sensor_name, value_raw, value_cal, sum(count) AS count \
                 FROM (VALUES {}) AS v(sensor_name, value_raw, value_cal, count) \
                 GROUP BY sensor_name, value_raw, value_cal) d \
                 ON d.sensor_name = s.sensor_name \
                 AND d.value_raw IS NOT DISTINCT FROM s.value_raw \
                 AND d.value_cal IS NOT DISTINCT FROM s.value_cal \
                 WHERE s.n > coalesce(d.count, 0)",
                Self::where_clause(&same),
                done.join(", ")
            )
        };
        format!(
            "SELECT sensor_name, \"timestamp\", value_raw, value_cal{offset} FROM ({later_sql} UNION ALL {same_sql}) r ORDER BY \"timestamp\", sensor_name"
        )
    }

    fn buckets_sql(&self, table: &str, bucketing: &Bucketing) -> String {
        let width = bucketing.width_micros;
        let mut expressions = Vec::new();
        for aggregate in &bucketing.aggregates {
            if *aggregate == Aggregate::Count {
                expressions.push(aggregate.sql(""));
            } else {
                for value in self.values.columns() {
                    expressions.push(aggregate.sql(value));
                }
            }
        }
        let aliased: Vec<String> = expressions
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{e} AS a{i}"))
            .collect();
        let outer: String = (0..expressions.len()).map(|i| format!(", a{i}")).collect();
        let offset = if self.with_utc_offset {
            ", extract(timezone FROM to_timestamp(bucket / 1000000.0))::int4"
        } else {
            ""
        };
        format!(
            "SELECT sensor_name, bucket{outer}{offset} FROM (\
             SELECT sensor_name, bucket, {aggregates} FROM (\
             SELECT sensor_name, \
             floor(extract(epoch FROM at)::numeric * 1000000 / {width})::int8 * {width} AS bucket, \
             {partials} FROM ({sources}) p) b GROUP BY bucket, sensor_name) g ORDER BY bucket, sensor_name",
            aggregates = aliased.join(", "),
            partials = crate::rollup::PARTIALS,
            sources = self.partial_sources(table, width).join(" UNION ALL "),
        )
    }

    /// The partial aggregates ([`crate::rollup::PARTIALS`], with the time as `at`) that the
    /// buckets are made of: raw rows, one partial each, and where [`Self::rollups_until_micros`]
    /// allows, whole minutes or hours from the rollups. A rollup level serves the stretch of
    /// `[since, until)` that is whole buckets of it, complete, and (for hours) when the width is
    /// a multiple of an hour; raw rows the uneven edges and whatever is not complete yet.
    fn partial_sources(&self, table: &str, width: i64) -> Vec<String> {
        use crate::rollup::{Level, RollupTables, RAW_AS_PARTIALS};
        let raw = |lo: Option<i64>, hi: Option<i64>| {
            format!(
                "SELECT sensor_name, \"timestamp\" AS at, {RAW_AS_PARTIALS} FROM {table}{}",
                Self::where_clause(&self.raw_conditions(lo, hi))
            )
        };
        let (since, until) = (self.since_micros, self.until_micros);
        let minute = Level::Minute.micros();
        let usable = match self.rollups_until_micros {
            Some(complete) if width % minute == 0 && !self.no_rollup => {
                let lo = since.map(|s| ceil_to(s, minute));
                let hi = floor_to(until.map_or(complete, |u| u.min(complete)), minute);
                lo.is_none_or(|lo| lo < hi).then_some((lo, hi))
            }
            _ => None,
        };
        let Some((lo, hi)) = usable else {
            return vec![raw(since, until)];
        };
        let rollups = RollupTables::of(&self.table);
        let level = |level: Level, lo: Option<i64>, hi: i64| {
            format!(
                "SELECT sensor_name, bucket AS at, {} FROM {}{}",
                crate::rollup::PARTIALS,
                rollups.level(level).sql(),
                Self::where_clause(&self.range_conditions("bucket", lo, Some(hi)))
            )
        };
        let mut sources = Vec::new();
        if lo != since {
            sources.push(raw(since, lo));
        }
        let hour = Level::Hour.micros();
        let hours = (width % hour == 0)
            .then(|| (lo.map(|lo| ceil_to(lo, hour)), floor_to(hi, hour)))
            .filter(|(h_lo, h_hi)| h_lo.is_none_or(|h_lo| h_lo < *h_hi));
        match hours {
            Some((h_lo, h_hi)) => {
                if let Some(h_lo) = h_lo.filter(|h_lo| lo != Some(*h_lo)) {
                    sources.push(level(Level::Minute, lo, h_lo));
                }
                sources.push(level(Level::Hour, h_lo, h_hi));
                if h_hi < hi {
                    sources.push(level(Level::Minute, Some(h_hi), hi));
                }
            }
            None => sources.push(level(Level::Minute, lo, hi)),
        }
        if until.is_none_or(|until| hi < until) {
            sources.push(raw(Some(hi), until));
        }
        sources
    }

    /// The sensor filter and `lo <= column < hi` (either end open when `None`).
    fn range_conditions(&self, column: &str, lo: Option<i64>, hi: Option<i64>) -> Vec<String> {
        let mut conditions = Vec::new();
        if let Some(sensors) = self.sensors.sql() {
            conditions.push(sensors);
        }
        if let Some(lo) = lo {
            conditions.push(format!("{column} >= {}", timestamptz_literal(lo)));
        }
        if let Some(hi) = hi {
            conditions.push(format!("{column} < {}", timestamptz_literal(hi)));
        }
        conditions
    }

    /// The `COPY … TO STDOUT (FORMAT binary)` statement streamed by [`stream`].
    pub fn copy_sql(&self) -> String {
        format!("COPY ({}) TO STDOUT (FORMAT binary)", self.select_sql())
    }
}

fn floor_to(micros: i64, width: i64) -> i64 {
    micros.div_euclid(width) * width
}

fn ceil_to(micros: i64, width: i64) -> i64 {
    floor_to(micros, width)
        + if micros.rem_euclid(width) == 0 {
            0
        } else {
            width
        }
}

/// Whether the rollups could serve `query` at all: downsampled into buckets a whole number of
/// minutes wide, and not `no_rollup` (every aggregate `dl-export` offers derives from them).
pub fn rollups_apply(query: &ExportQuery) -> bool {
    let minute = crate::rollup::Level::Minute.micros();
    !query.no_rollup
        && query
            .bucketing
            .as_ref()
            .is_some_and(|b| b.width_micros % minute == 0)
}

/// Plan `query` against the database as [`stream`] runs it: [`plan_rollups`], and
/// [`ExportQuery::raw_sensors`] on a partitioned table.
pub async fn plan(
    client: &tokio_postgres::Client,
    query: &mut ExportQuery,
) -> Result<(), StoreError> {
    plan_rollups(client, query).await?;
    query.raw_sensors = None;
    let filter = &query.sensors;
    if !filter.names.is_empty() && filter.patterns.is_empty() {
        return Ok(());
    }
    if !crate::schema::has_sensor_index(client, &query.table).await? {
        // Without an index to list the sensors by, each step would be a scan.
        return Ok(());
    }
    let at = |micros: Option<i64>| micros.and_then(DateTime::<Utc>::from_timestamp_micros);
    let range = (at(query.since_micros), at(query.until_micros));
    query.raw_sensors = crate::partition::sensors_holding(client, &query.table, &[range])
        .await
        .map_err(|e| StoreError::query(format!("listing the sensors in {}", query.table), &e))?;
    Ok(())
}

/// Let `query` read the rollups where they are complete ([`ExportQuery::rollups_until_micros`]
/// from [`crate::rollup::complete_until`]), when they apply ([`rollups_apply`]) and exist;
/// otherwise leave it reading raw rows.
pub async fn plan_rollups(
    client: &tokio_postgres::Client,
    query: &mut ExportQuery,
) -> Result<(), StoreError> {
    query.rollups_until_micros = None;
    if !rollups_apply(query) {
        return Ok(());
    }
    if let Some(until) = crate::rollup::complete_until(client, &query.table).await? {
        query.rollups_until_micros = Some(until.timestamp_micros());
    }
    Ok(())
}

/// Sensors named in `names` that have no row at all in `table`.
pub async fn unknown_sensors(
    client: &tokio_postgres::Client,
    table: &TableName,
    names: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut unknown = Vec::new();
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE sensor_name = $1)",
        table.sql()
    );
    for name in names {
        let row = client
            .query_one(&sql, &[name])
            .await
            .map_err(|e| StoreError::query(format!("looking up sensor '{name}' in {table}"), &e))?;
        if !row.get::<_, bool>(0) {
            unknown.push(name.clone());
        }
    }
    Ok(unknown)
}

/// `LIKE` patterns in `patterns` that match no sensor in `table`.
pub async fn unmatched_patterns(
    client: &tokio_postgres::Client,
    table: &TableName,
    patterns: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut unmatched = Vec::new();
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE sensor_name LIKE $1)",
        table.sql()
    );
    for pattern in patterns {
        let row = client.query_one(&sql, &[pattern]).await.map_err(|e| {
            StoreError::query(format!("matching sensors '{pattern}' in {table}"), &e)
        })?;
        if !row.get::<_, bool>(0) {
            unmatched.push(pattern.clone());
        }
    }
    Ok(unmatched)
}

/// The distinct sensor names the query selects, sorted (for column-per-sensor layouts).
pub async fn sensor_names(
    client: &tokio_postgres::Client,
    query: &ExportQuery,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT DISTINCT sensor_name FROM {}{} ORDER BY 1",
        query.table.sql(),
        ExportQuery::where_clause(&query.conditions())
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(|e| StoreError::query(format!("listing sensors in {}", query.table), &e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Why streaming stopped: the database side (as [`StoreError`]) or the callback's own error.
#[derive(Debug)]
pub enum StreamError<E> {
    /// The query failed or the stream broke.
    Store(StoreError),
    /// The callback failed (e.g. writing output); its error is passed through untouched.
    Sink(E),
}

/// Why [`open`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Connecting or checking the table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session time zone was refused by the server.
    #[error("--tz '{zone}': not a time zone the database knows ({reason}); try UTC, +02:00 or Europe/Berlin")]
    UnknownZone {
        /// The zone as given.
        zone: String,
        /// What the server said.
        reason: String,
    },
}

/// Connect for an export or a plot: the session's time zone set to `zone` (UTC when `None`;
/// it decides how times without offset in `--since`/`--until` are read and the offsets
/// written), and `table` checked to exist ([`StoreError::MissingTable`] otherwise).
pub async fn open(
    config: &ConnectionConfig,
    table: &TableName,
    zone: Option<&TimeZone>,
) -> Result<tokio_postgres::Client, OpenError> {
    let session = crate::connect_session(config).await?;
    let client = session.client;
    let utc = TimeZone::Named("UTC".to_string());
    let zone = zone.unwrap_or(&utc);
    client
        .batch_execute(&zone.set_sql())
        .await
        .map_err(|e| OpenError::UnknownZone {
            zone: zone.to_string(),
            reason: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string()),
        })?;
    if !crate::table_exists(&client, table).await? {
        return Err(OpenError::Store(StoreError::MissingTable {
            table: table.to_string(),
            database: config.database.clone(),
            target: session.server.to_string(),
        }));
    }
    Ok(client)
}

/// Resolve `since` and `until` (default now) on the server in one statement, so both share one
/// `now()`: µs since the Unix epoch, `(since, until)`.
pub async fn resolve_range(
    client: &tokio_postgres::Client,
    since: Option<&TimeSpec>,
    until: Option<&TimeSpec>,
) -> Result<(Option<i64>, i64), StoreError> {
    let now = TimeSpec::Now;
    let mut specs = vec![until.unwrap_or(&now)];
    specs.extend(since);
    let resolved = crate::time::resolve(client, &specs).await?;
    Ok((resolved.get(1).copied(), resolved[0]))
}

/// Run `query` as a binary COPY and call `each` with every row, in order, in constant memory;
/// returns the row count. Downsampled buckets come from the rollups where those give the same
/// answer ([`plan`]), unless [`ExportQuery::no_rollup`]. Use [`ExportQuery::columns`] to interpret the row's fields.
///
/// The whole stream is consumed inside this one future, so rows cost no runtime round trip
/// each; `each` runs synchronously (blocking writes in it are fine on a current-thread
/// runtime: they hold back reading from the server, which is the back-pressure we want).
pub async fn stream<E>(
    client: &tokio_postgres::Client,
    query: &ExportQuery,
    mut each: impl FnMut(&CopyRow<'_>) -> Result<(), E>,
) -> Result<u64, StreamError<E>> {
    let what = format!("exporting from {}", query.table);
    let mut query = query.clone();
    plan(client, &mut query).await.map_err(StreamError::Store)?;
    let sql = query.copy_sql();
    tracing::debug!(%sql, "streaming");
    let fail = |e: &tokio_postgres::Error| StreamError::Store(StoreError::query(what.clone(), e));
    let copy_stream = client.copy_out(sql.as_str()).await.map_err(|e| fail(&e))?;
    let mut copy_stream = std::pin::pin!(copy_stream);
    let mut decoder = Decoder::new();
    let decoding = |error: CopyError<E>| match error {
        CopyError::Sink(e) => StreamError::Sink(e),
        CopyError::Source(io) => StreamError::Store(StoreError::Query {
            what: what.clone(),
            reason: io.to_string(),
            code: None,
            connection_lost: false,
        }),
    };
    while let Some(chunk) = copy_stream.next().await {
        let chunk = chunk.map_err(|e| fail(&e))?;
        decoder.feed(&chunk, &mut each).map_err(decoding)?;
    }
    decoder.finish().map_err(decoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_like() {
        assert_eq!(glob_to_like("peach*"), "peach%");
        assert_eq!(glob_to_like("a_b?"), "a\\_b_");
        assert_eq!(glob_to_like("peach%"), "peach%");
    }

    #[test]
    fn sensor_conditions() {
        let filter = SensorFilter {
            names: vec!["a".into(), "o'b".into()],
            patterns: vec!["c%".into()],
        };
        assert_eq!(
            filter.sql().unwrap(),
            "(sensor_name IN ('a', 'o''b') OR sensor_name LIKE 'c%')"
        );
        assert!(SensorFilter::default().sql().is_none());
    }

    #[test]
    fn columns_follow_aggregates() {
        let query = ExportQuery {
            values: Values::Cal,
            bucketing: Some(Bucketing {
                width_micros: 60_000_000,
                aggregates: vec![Aggregate::Mean, Aggregate::Count, Aggregate::Last],
            }),
            with_utc_offset: true,
            ..Default::default()
        };
        let names: Vec<String> = query.columns().into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "sensor_name",
                "timestamp",
                "value_cal_mean",
                "count",
                "value_cal_last",
                "utc_offset"
            ]
        );
        let layout = query.layout();
        assert_eq!(
            (layout.timestamp, layout.values.clone(), layout.utc_offset),
            (1, vec![2, 3, 4], Some(5))
        );
        assert_eq!(layout.timestamp_kind, ColumnKind::EpochMicros);
        let rows = ExportQuery {
            values: Values::Cal,
            ..Default::default()
        };
        let layout = rows.layout();
        assert_eq!(
            (
                layout.value_raw,
                layout.value_cal,
                layout.values,
                layout.utc_offset
            ),
            (Some(2), Some(3), vec![3], None)
        );
        let sql = query.select_sql();
        assert!(
            sql.contains(
                "(sum(sum_cal) / nullif(sum(count_cal), 0))::float8 AS a0, sum(count)::int8 AS a1"
            ),
            "{sql}"
        );
        assert!(sql.ends_with("ORDER BY bucket, sensor_name"), "{sql}");
    }

    #[test]
    fn plain_rows_sql() {
        let query = ExportQuery {
            sensors: SensorFilter {
                names: vec!["peaches".into()],
                patterns: vec![],
            },
            since_micros: Some(0),
            ..Default::default()
        };
        assert_eq!(
            query.select_sql(),
            "SELECT sensor_name, \"timestamp\", value_raw, value_cal FROM \"numeric_data\" WHERE sensor_name IN ('peaches') AND \"timestamp\" >= '1970-01-01 00:00:00.000000+00'::timestamptz ORDER BY \"timestamp\", sensor_name"
        );
    }
}
