//! What `dl-export` does: resolve settings, connect, build the query, stream rows through a
//! formatter into the output, then record the incremental state.

use crate::args::{Args, Fill, NO_ROWS};
use crate::format::{Cell, RecordWriter};
use crate::progress::Progress;
use crate::sink::{FinishError, Sink};
use crate::state::{self, Position, Tracker};
use crate::timefmt::{TimeFormatter, TimeStyle};
use crate::wide::Pivot;
use anyhow::Result;
use dripline_cli::exit_status::{CANNOT_CREATE, CONFIG, DATA_ERROR, SUCCESS, USAGE};
use dripline_cli::ExitFailure;
use dripline_store::copy::CopyRow;
use dripline_store::export::{
    self, glob_to_like, Bucketing, Column, ColumnKind, ExportQuery, OpenError, RowLayout,
    SensorFilter, StreamError,
};
use dripline_store::tokio_postgres::Client;
use dripline_store::{ConnectionConfig, StoreError};
use std::io;

/// How often (in rows) to update the progress line.
const CHECK_EVERY: u64 = 16 * 1024;

/// Run one export; the exit status on success.
pub async fn run(args: Args) -> Result<u8> {
    let args = &args;
    let options = args
        .database
        .to_options(args.auth.auth_file.as_deref(), "dl-export");
    let config = ConnectionConfig::resolve(&options).map_err(|e| failure(CONFIG, e.to_string()))?;
    let previous = match &args.state {
        Some(path) => state::load(path, &args.table.to_string())
            .map_err(|e| failure(DATA_ERROR, e.to_string()))?,
        None => None,
    };
    let every_micros = args.every.map(|d| d.as_micros() as i64);
    check_state_mode(previous.as_ref(), every_micros, args)?;

    let client = open_table(args, &config).await?;
    let sensors = SensorFilter {
        names: args.sensor_names(),
        patterns: args.patterns.iter().map(|p| glob_to_like(p)).collect(),
    };
    if args.strict {
        check_sensors_exist(&client, args, &sensors, &config).await?;
    }
    let range = resolve_range(&client, args)
        .await
        .map_err(|e| store_failure(e, &config))?;
    check_range(args, &range)?;
    let mut query = build_query(args, range, sensors, previous.as_ref(), every_micros);
    if args.print_query {
        export::plan(&client, &mut query)
            .await
            .map_err(|e| store_failure(e, &config))?;
        println!("{}", query.select_sql());
        return Ok(SUCCESS);
    }

    let (rows, tracker) = write_output(&client, args, &query, &config).await?;
    tracing::info!(rows, table = %args.table, "export finished");
    if let Some(path) = &args.state {
        save_state(path, args, previous.as_ref(), &query, &tracker)?;
    }
    if rows == 0 && args.fail_if_empty {
        tracing::warn!("no rows matched");
        return Ok(NO_ROWS);
    }
    Ok(SUCCESS)
}

/// Connect, set the session's time zone (`--tz`), and check that the table is there.
async fn open_table(args: &Args, config: &ConnectionConfig) -> Result<Client> {
    export::open(config, &args.table, args.tz.as_ref())
        .await
        .map_err(|e| match e {
            OpenError::Store(e) => store_failure(e, config),
            zone @ OpenError::UnknownZone { .. } => failure(USAGE, zone.to_string()),
        })
}

/// Stream the rows into `--output` (or stdout) and complete it; the records written and what
/// the incremental state needs.
async fn write_output(
    client: &Client,
    args: &Args,
    query: &ExportQuery,
    config: &ConnectionConfig,
) -> Result<(u64, Tracker)> {
    let mut sink = Sink::open(args.output.as_deref(), args.gzip)
        .map_err(|e| failure(CANNOT_CREATE, e.to_string()))?;
    let (rows, tracker) = match stream_rows(client, args, query, &mut sink).await {
        Ok(done) => done,
        Err(StreamError::Store(error)) => return Err(store_failure(error, config)),
        Err(StreamError::Sink(error)) => return Err(sink_failure(error, args)),
    };
    sink.finish().map_err(|e| match e {
        FinishError::Stdout(io) => anyhow::Error::from(io).context("cannot write to stdout"),
        FinishError::File(file) => failure(CANNOT_CREATE, file.to_string()),
    })?;
    Ok((rows, tracker))
}

/// Record where the next `--state` run starts: after the last whole bucket (never moving
/// back), or after the rows exported.
fn save_state(
    path: &std::path::Path,
    args: &Args,
    previous: Option<&Position>,
    query: &ExportQuery,
    tracker: &Tracker,
) -> Result<()> {
    let every = query.bucketing.as_ref().map(|b| b.width_micros);
    let next = match (every, query.until_micros) {
        (Some(every), Some(until)) => {
            // Never move back (a run with an earlier --until must not re-open buckets).
            let done = match previous {
                Some(Position::Buckets { next_micros, .. }) => *next_micros,
                _ => i64::MIN,
            };
            Some(Position::Buckets {
                every_micros: every,
                next_micros: until.max(done),
            })
        }
        _ => tracker.position(previous),
    };
    match next {
        Some(position) => state::save(path, &args.table.to_string(), &position)
            .map_err(|e| failure(CANNOT_CREATE, e.to_string())),
        None => Ok(()),
    }
}

fn failure(status: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::from(ExitFailure::new(status, message))
}

/// A store error as one line with its exit status (logged with the target at debug level).
fn store_failure(error: StoreError, config: &ConnectionConfig) -> anyhow::Error {
    tracing::debug!(database = %config, "database error");
    dripline_cli::failures::store_failure(error)
}

/// A failure while writing rows: a closed stdout stays a broken-pipe error (quiet exit 0),
/// file errors get their status.
fn sink_failure(error: io::Error, args: &Args) -> anyhow::Error {
    match &args.output {
        Some(path) => failure(
            CANNOT_CREATE,
            format!("cannot write {}: {error}", path.display()),
        ),
        None => anyhow::Error::from(error).context("cannot write to stdout"),
    }
}

fn check_state_mode(previous: Option<&Position>, every: Option<i64>, args: &Args) -> Result<()> {
    let path = || {
        args.state
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    match (previous, every) {
        (Some(Position::Rows { .. }), Some(_)) => Err(failure(
            DATA_ERROR,
            format!(
                "state file {}: written by an export without --every",
                path()
            ),
        )),
        (Some(Position::Buckets { .. }), None) => Err(failure(
            DATA_ERROR,
            format!("state file {}: written by an export with --every", path()),
        )),
        (Some(Position::Buckets { every_micros, .. }), Some(every)) if *every_micros != every => {
            Err(failure(
                DATA_ERROR,
                format!(
                    "state file {}: written with --every {}, this run has --every {}",
                    path(),
                    humantime::format_duration(std::time::Duration::from_micros(
                        *every_micros as u64
                    )),
                    humantime::format_duration(std::time::Duration::from_micros(every as u64))
                ),
            ))
        }
        _ => Ok(()),
    }
}

async fn check_sensors_exist(
    client: &Client,
    args: &Args,
    sensors: &SensorFilter,
    config: &ConnectionConfig,
) -> Result<()> {
    let unknown = export::unknown_sensors(client, &args.table, &sensors.names)
        .await
        .map_err(|e| store_failure(e, config))?;
    let unmatched = export::unmatched_patterns(client, &args.table, &sensors.patterns)
        .await
        .map_err(|e| store_failure(e, config))?;
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(format!(
            "unknown sensor{} {}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", ")
        ));
    }
    if !unmatched.is_empty() {
        problems.push(format!("no sensor matches {}", unmatched.join(", ")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(failure(
            DATA_ERROR,
            format!("{} in table {}", problems.join("; "), args.table),
        ))
    }
}

/// `--since` and `--until` as resolved by the server, µs since the Unix epoch.
struct Range {
    since: Option<i64>,
    until: i64,
}

/// Resolve `--since` and `--until` (default now) on the server, in one statement.
async fn resolve_range(client: &Client, args: &Args) -> Result<Range, StoreError> {
    let (since, until) =
        export::resolve_range(client, args.since.as_ref(), args.until.as_ref()).await?;
    Ok(Range { since, until })
}

/// A range with nothing in it (`--since 1h --until 2h`) is a usage error, not a quiet empty
/// export.
fn check_range(args: &Args, range: &Range) -> Result<()> {
    let Some(since) = range.since.filter(|since| *since >= range.until) else {
        return Ok(());
    };
    let mut formatter = TimeFormatter::new(TimeStyle::Rfc3339);
    let mut text = |micros: i64| {
        let mut out = Vec::new();
        formatter.write(&mut out, micros, None);
        String::from_utf8_lossy(&out).into_owned()
    };
    let given = |spec: Option<&dripline_store::TimeSpec>| {
        spec.map_or_else(|| "now".to_string(), ToString::to_string)
    };
    let (since_text, until_text) = (text(since), text(range.until));
    Err(failure(
        USAGE,
        format!(
            "empty time range: --since {} ({since_text}) is not before --until {} ({until_text}); the range is since <= timestamp < until",
            given(args.since.as_ref()),
            given(args.until.as_ref()),
        ),
    ))
}

/// The query for this run: resolved time range, resume point, downsampling.
fn build_query(
    args: &Args,
    range: Range,
    sensors: SensorFilter,
    previous: Option<&Position>,
    every_micros: Option<i64>,
) -> ExportQuery {
    let Range {
        mut since,
        mut until,
    } = range;
    let mut resume = None;
    match previous {
        Some(Position::Buckets { next_micros, .. }) => since = Some(*next_micros),
        Some(position) => {
            since = None;
            resume = position.resume();
        }
        None => {}
    }
    if let (Some(every), Some(_)) = (every_micros, &args.state) {
        // Only whole buckets, so the next run can start exactly at the end of this one.
        until = until.div_euclid(every) * every;
    }
    ExportQuery {
        table: args.table.clone(),
        sensors,
        since_micros: since,
        until_micros: Some(until),
        resume,
        values: args.value.into(),
        bucketing: every_micros.map(|width_micros| Bucketing {
            width_micros,
            aggregates: args.aggregates(),
        }),
        with_utc_offset: args.tz.is_some() && !args.epoch,
        no_rollup: args.no_rollup,
        rollups_until_micros: None,
        raw_sensors: None,
    }
}

/// Stream the rows of `query` into `sink`; returns the number of records written and what the
/// incremental state needs.
async fn stream_rows(
    client: &Client,
    args: &Args,
    query: &ExportQuery,
    sink: &mut Sink,
) -> Result<(u64, Tracker), StreamError<io::Error>> {
    let layout = query.layout();
    let columns = query.columns();
    let cell_names: Vec<String> = layout
        .values
        .iter()
        .map(|&i| columns[i].name.clone())
        .collect();
    let template: Vec<Cell> = layout
        .values
        .iter()
        .map(|&i| match columns[i].kind {
            ColumnKind::Count => Cell::Count(None),
            _ => Cell::Float(None),
        })
        .collect();
    let mut pivot = if args.wide {
        let sensors = export::sensor_names(client, query)
            .await
            .map_err(StreamError::Store)?;
        Some(Pivot::new(sensors, &template, args.fill == Fill::Previous))
    } else {
        None
    };
    let mut writer = record_writer(args, pivot.as_ref(), &cell_names);
    if !args.no_header {
        if let Some(header) = writer.header() {
            sink.write_line(&header).map_err(StreamError::Sink)?;
        }
    }

    let mut tracker = Tracker::default();
    let track = args.state.is_some() && query.bucketing.is_none();
    let mut progress = Progress::new(!args.no_progress);
    let mut cells = template.clone();
    let mut records = 0u64;
    let mut rows = 0u64;
    let result = export::stream(client, query, |row: &CopyRow<'_>| -> io::Result<()> {
        rows += 1;
        if rows.is_multiple_of(CHECK_EVERY) {
            progress.update(rows);
        }
        let (sensor, timestamp, offset) = read_row(&layout, &columns, row, &mut cells)?;
        if track {
            if let (Some(raw), Some(cal)) = (layout.value_raw, layout.value_cal) {
                let raw = row.float8(raw)?.unwrap_or(f64::NAN);
                tracker.row(sensor, timestamp, raw, row.float8(cal)?);
            }
        }
        match &mut pivot {
            Some(pivot) => pivot.add(timestamp, offset, sensor, &cells, |t, o, line| {
                records += 1;
                sink.write_line(writer.record(None, t, o, line))
            }),
            None => {
                records += 1;
                sink.write_line(writer.record(Some(sensor), timestamp, offset, &cells))
            }
        }
    })
    .await;
    progress.finish();
    result?;
    if let Some(pivot) = &mut pivot {
        pivot
            .flush(|t, o, line| {
                records += 1;
                sink.write_line(writer.record(None, t, o, line))
            })
            .map_err(StreamError::Sink)?;
    }
    Ok((records, tracker))
}

/// The record writer for `args`' format and time style, with the header names of the long
/// layout (sensor, timestamp, values) or of `pivot`'s wide one.
fn record_writer(args: &Args, pivot: Option<&Pivot>, cell_names: &[String]) -> RecordWriter {
    let style = if args.epoch {
        TimeStyle::Epoch
    } else {
        TimeStyle::Rfc3339
    };
    let names: Vec<String> = match pivot {
        Some(pivot) => std::iter::once("timestamp".to_string())
            .chain(pivot.column_names(cell_names))
            .collect(),
        None => ["sensor_name".to_string(), "timestamp".to_string()]
            .into_iter()
            .chain(cell_names.iter().cloned())
            .collect(),
    };
    RecordWriter::new(
        args.format,
        names,
        pivot.is_none(),
        TimeFormatter::new(style),
    )
}

/// One streamed row: its sensor, timestamp (µs) and UTC offset, with its value cells written
/// into `cells` (in `layout.values` order).
fn read_row<'a>(
    layout: &RowLayout,
    columns: &[Column],
    row: &CopyRow<'a>,
    cells: &mut [Cell],
) -> io::Result<(&'a [u8], i64, Option<i32>)> {
    let sensor = row.text(layout.sensor_name).unwrap_or_default();
    let timestamp = match layout.timestamp_kind {
        ColumnKind::Timestamp => row.timestamptz(layout.timestamp)?,
        _ => row.int8(layout.timestamp)?,
    }
    .unwrap_or_default();
    let offset = match layout.utc_offset {
        Some(i) => row.int4(i)?,
        None => None,
    };
    for (cell, &i) in cells.iter_mut().zip(&layout.values) {
        *cell = match columns[i].kind {
            ColumnKind::Count => Cell::Count(row.int8(i)?),
            _ => Cell::Float(row.float8(i)?),
        };
    }
    Ok((sensor, timestamp, offset))
}
