//! Rows straight from the database: the query `dl-export` runs for the same selection flags
//! (dripline-store's `ExportQuery` and its streamed binary COPY), each row handed on as a
//! point.

use crate::args::{Args, ValueChoice};
use anyhow::Result;
use dripline_cli::exit_status::USAGE;
use dripline_cli::ExitFailure;
use dripline_store::export::{
    self, glob_to_like, Aggregate, Bucketing, ColumnKind, ExportQuery, OpenError, SensorFilter,
    StreamError, Values,
};
use dripline_store::ConnectionConfig;

/// Stream the selected rows, calling `each(sensor, µs, value)` for every row with a value.
pub async fn read(
    args: &Args,
    mut each: impl FnMut(&str, i64, f64) -> Result<(), ExitFailure>,
) -> Result<()> {
    let options = args
        .database
        .to_options(args.auth.auth_file.as_deref(), "dl-plot");
    let config = ConnectionConfig::resolve(&options)
        .map_err(|e| ExitFailure::new(dripline_cli::exit_status::CONFIG, e.to_string()))?;
    let client = export::open(&config, &args.table, args.tz.as_ref().map(|tz| &tz.store))
        .await
        .map_err(|e| match e {
            OpenError::Store(e) => dripline_cli::failures::store_failure(e),
            zone @ OpenError::UnknownZone { .. } => {
                ExitFailure::new(USAGE, zone.to_string()).into()
            }
        })?;
    let (since, until) = export::resolve_range(&client, args.since.as_ref(), args.until.as_ref())
        .await
        .map_err(dripline_cli::failures::store_failure)?;
    if since.is_some_and(|since| since >= until) {
        return Err(ExitFailure::new(
            USAGE,
            "empty time range: --since is not before --until; the range is since <= timestamp < until",
        )
        .into());
    }
    let query = ExportQuery {
        table: args.table.clone(),
        sensors: SensorFilter {
            names: args
                .sensors
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            patterns: args.patterns.iter().map(|p| glob_to_like(p)).collect(),
        },
        since_micros: since,
        until_micros: Some(until),
        resume: None,
        values: match args.value {
            ValueChoice::Raw => Values::Raw,
            ValueChoice::Cal => Values::Cal,
        },
        bucketing: args.every.map(|every| Bucketing {
            width_micros: i64::try_from(every.as_micros())
                .unwrap_or(i64::MAX / 2)
                .clamp(1, i64::MAX / 2),
            aggregates: vec![Aggregate::Mean],
        }),
        with_utc_offset: false,
        ..Default::default()
    };
    let layout = query.layout();
    let value = layout.values[0];
    let result = export::stream(&client, &query, |row| -> Result<(), ExitFailure> {
        let sensor = String::from_utf8_lossy(row.text(layout.sensor_name).unwrap_or_default());
        let time = match layout.timestamp_kind {
            ColumnKind::Timestamp => row.timestamptz(layout.timestamp),
            _ => row.int8(layout.timestamp),
        };
        if let (Ok(Some(time)), Ok(Some(v))) = (time, row.float8(value)) {
            if v.is_finite() {
                each(&sensor, time, v)?;
            }
        }
        Ok(())
    })
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(StreamError::Store(e)) => Err(dripline_cli::failures::store_failure(e)),
        Err(StreamError::Sink(failure)) => Err(failure.into()),
    }
}
