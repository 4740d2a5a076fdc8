//! `dl-history migrate`: plain tables become partitioned ones in place (the SQL is
//! `dripline_store::partition::migrate`).

use crate::partitions::rfc3339;
use anyhow::Result;
use dripline_cli::exit_status::{ExitFailure, NO_INPUT, SUCCESS};
use dripline_cli::failures::store_failure;
use dripline_cli::report::note;
use dripline_store::partition::{self, Period};
use dripline_store::tokio_postgres::Client;
use dripline_store::SensorTables;
use serde_json::json;

/// Migrate the numeric table (which must exist) and the JSON table (if it exists); one JSON
/// line per table migrated on stdout.
pub async fn run(client: &mut Client, tables: &SensorTables, period: Period) -> Result<u8> {
    let mut out = dripline_cli::output::LineOutput::stdout(true);
    for (table, required) in [(&tables.numeric, true), (&tables.json, false)] {
        match partition::needs_migration(client, table)
            .await
            .map_err(store_failure)?
        {
            None if required => {
                return Err(
                    ExitFailure::new(NO_INPUT, format!("table {table} does not exist")).into(),
                )
            }
            None => continue,
            Some(false) => {
                // An interrupted migration may have left rows aside.
                let moved = partition::finish_migration(client, table)
                    .await
                    .map_err(store_failure)?;
                note(format!(
                    "{table} is partitioned already{}",
                    if moved > 0 {
                        format!("; {moved} rows set aside by an interrupted migration moved in")
                    } else {
                        ": nothing to do".to_string()
                    }
                ));
                continue;
            }
            Some(true) => {}
        }
        note(format!(
            "{table}: migrating (a scan of the whole table, writers go on; then a moment's lock)"
        ));
        let started = std::time::Instant::now();
        let migrated = partition::migrate(client, table, period)
            .await
            .map_err(store_failure)?;
        let line = json!({
            "table": table.to_string(),
            "legacy": migrated.legacy.to_string(),
            "legacy_until": rfc3339(migrated.legacy_until),
            "created": migrated.created.iter().map(|c| c.table.to_string()).collect::<Vec<_>>(),
            "seconds": started.elapsed().as_secs_f64(),
            "swap_seconds": migrated.swap_seconds,
        });
        out.write_line(&line.to_string())?;
        if table == &tables.numeric
            && dripline_store::rollup::exists(client, table)
                .await
                .map_err(store_failure)?
        {
            // The new partitioned table needs the rollups' trigger; rows written between the
            // swap and now were not marked, so the rollups are backfilled again (by the next
            // `dl-history rollup`; until then nothing counts as complete).
            dripline_store::rollup::init(client, table)
                .await
                .map_err(store_failure)?;
            note(format!(
                "{table}: rollups to be backfilled again: run dl-history rollup"
            ));
        }
        note(format!(
            "{table}: partitioned by {period} in {:.1} s (writers waited at most {:.3} s); its \
             rows before {} are in {}",
            started.elapsed().as_secs_f64(),
            migrated.swap_seconds,
            rfc3339(migrated.legacy_until),
            migrated.legacy
        ));
    }
    out.flush()?;
    Ok(SUCCESS)
}
