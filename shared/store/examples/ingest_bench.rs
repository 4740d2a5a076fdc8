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
//! `composite` (init's key, but `sensor_name` in the database's collation instead of "C").
//!
//! Besides rows/s (which depends on whatever else the machine is doing) it prints the CPU time
//! per row of the server backend and of itself, when the server runs on this machine.

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

    let mut writer = SensorWriter::prepare(&client, &tables).await?;
    let backend: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0);
    let backend_cpu_before = cpu_seconds(&format!("/proc/{backend}/stat"));
    let own_cpu_before = cpu_seconds("/proc/self/stat");
    let started = Instant::now();
    let mut inserted = 0;
    for chunk in rows.chunks(batch) {
        inserted += writer.write(&mut client, chunk, &[]).await?.inserted;
    }
    let seconds = started.elapsed().as_secs_f64();
    let backend_cpu = cpu_seconds(&format!("/proc/{backend}/stat")) - backend_cpu_before;
    let own_cpu = cpu_seconds("/proc/self/stat") - own_cpu_before;
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await?;
    println!(
        "{inserted} rows in batches of {batch} into the {layout} table: {seconds:.2} s, {:.0} rows/s",
        inserted as f64 / seconds
    );
    // CPU time does not depend on what else the machine is doing, unlike the wall clock.
    if backend_cpu > 0.0 {
        println!(
            "CPU per row: server backend {:.2} µs, this client {:.2} µs",
            backend_cpu * 1e6 / inserted as f64,
            own_cpu * 1e6 / inserted as f64
        );
    }
    Ok(())
}

/// User + system CPU seconds of a process on this machine, from /proc (0 when unreadable:
/// the server is elsewhere).
fn cpu_seconds(stat_path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(stat_path) else {
        return 0.0;
    };
    // Fields after the command name in parentheses; utime and stime are the 14th and 15th.
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Clock ticks per second are 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}
