//! How fast SensorWriter stores rows: 1 000 000 numeric rows (100 sensors, random message
//! ids) in batches of 5 000 into our deduplicating table, in a schema of its own that is
//! dropped afterwards. Prints rows per second.
//!
//! ```sh
//! cargo run --release -p dripline-store --example ingest_bench [ROWS] [BATCH] [LAYOUT]
//! ```
//!
//! The database is `DRIPLINE_TEST_PG_URL`, else the local `postgres` database. LAYOUT is
//! `init` (what init_schema makes, the default), `plain` (dripline's own table: no message_id,
//! no index), `separate` (UNIQUE (message_id) and an index on (sensor_name, "timestamp")) or
//! `composite` (one UNIQUE (sensor_name, "timestamp", message_id)).

use chrono::{TimeZone, Utc};
use dripline_store::{
    ConnectionConfig, ConnectionOptions, NumericRow, SensorTables, SensorWriter, TableName,
};
use std::time::Instant;
use uuid::Uuid;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args
        .get(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let batch: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(5_000);
    let layout = args.get(3).map(String::as_str).unwrap_or("init");
    let url = std::env::var("DRIPLINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgresql://postgres:postgres@127.0.0.1:5432/postgres".into());
    let config = ConnectionConfig::resolve(&ConnectionOptions {
        url: Some(url),
        ..Default::default()
    })?;
    let (mut client, _task) = dripline_store::connect_async(&config).await?;

    let schema = format!("ingest_bench_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let tables = SensorTables::beside(TableName::qualified(&schema, "numeric_data"));
    let columns = "sensor_name text NOT NULL, \"timestamp\" timestamptz NOT NULL DEFAULT now(), value_raw double precision NOT NULL, value_cal double precision";
    let table = tables.numeric.sql();
    match layout {
        "init" => dripline_store::init_schema(&client, &tables).await?,
        "plain" => {
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA \"{schema}\"; CREATE TABLE {table} ({columns})"
                ))
                .await?
        }
        "separate" => {
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA \"{schema}\"; CREATE TABLE {table} ({columns}, message_id uuid UNIQUE); CREATE INDEX ON {table} (sensor_name, \"timestamp\")"
                ))
                .await?
        }
        "composite" => {
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA \"{schema}\"; CREATE TABLE {table} ({columns}, message_id uuid, UNIQUE (sensor_name, \"timestamp\", message_id))"
                ))
                .await?
        }
        other => return Err(format!("unknown table layout '{other}'").into()),
    }

    let start_time = Utc.timestamp_opt(1_764_028_800, 0).unwrap();
    let rows: Vec<NumericRow> = (0..total)
        .map(|i| NumericRow {
            sensor_name: format!("sensor_{:03}", i % 100),
            timestamp: start_time + chrono::TimeDelta::milliseconds(i as i64),
            value_raw: i as f64 * 0.001,
            value_cal: Some(i as f64 * 0.002),
            message_id: Some(Uuid::new_v4()),
        })
        .collect();

    let writer = SensorWriter::prepare(&client, &tables).await?;
    let started = Instant::now();
    let mut inserted = 0;
    for chunk in rows.chunks(batch) {
        inserted += writer.write(&mut client, chunk, &[]).await?.inserted;
    }
    let seconds = started.elapsed().as_secs_f64();
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await?;
    println!(
        "{inserted} rows in batches of {batch} into the {layout} table: {seconds:.2} s, {:.0} rows/s",
        inserted as f64 / seconds
    );
    Ok(())
}
