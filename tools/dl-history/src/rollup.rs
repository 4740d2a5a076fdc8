//! `dl-history rollup`: bring the rollups up to date (`dripline_store::rollup`).

use anyhow::Result;
use dripline_cli::exit_status::{ExitFailure, NO_INPUT, SUCCESS};
use dripline_store::tokio_postgres::Client;
use dripline_store::{rollup, SensorTables};
use std::time::Instant;

/// Refresh the rollups of the numeric table (creating them first with `init`), and print what
/// was done as one JSON line.
pub async fn run(client: &mut Client, tables: &SensorTables, init: bool) -> Result<u8> {
    let table = &tables.numeric;
    let store = dripline_cli::failures::store_failure;
    if init {
        rollup::init(client, table).await.map_err(store)?;
    } else if !rollup::exists(client, table).await.map_err(store)? {
        return Err(ExitFailure::new(
            NO_INPUT,
            format!("{table} has no rollups: create them with dl-history rollup --init"),
        )
        .into());
    }
    let started = Instant::now();
    let done = rollup::refresh(client, table).await.map_err(store)?;
    let complete = rollup::complete_until(client, table)
        .await
        .map_err(store)?
        .map(|t| match t {
            // The backfill is still pending: nothing is complete.
            t if t == chrono::DateTime::<chrono::Utc>::MIN_UTC => "-infinity".to_string(),
            t => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        });
    let line = serde_json::json!({
        "table": table.to_string(),
        "minutes": done.minutes,
        "hours": done.hours,
        "backfill_chunks": done.backfill_chunks,
        "complete_until": complete,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{line}");
    Ok(SUCCESS)
}
