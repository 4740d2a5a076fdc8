//! `dl-history prune`: retention. Whole raw partitions are dropped once they end before the
//! raw horizon *and* the rollups are complete up to their end; rollup rows are deleted past
//! their own horizons. Every decision is one JSON line on stdout (`--dry-run`: what would be
//! done), and a summary goes to stderr.

use crate::partitions::{human_bytes, rfc3339};
use anyhow::Result;
use chrono::{DateTime, Utc};
use dripline_cli::exit_status::{ExitFailure, CONFIG, NO_INPUT, SUCCESS, TIMED_OUT, USAGE};
use dripline_cli::failures::store_failure;
use dripline_cli::output::LineOutput;
use dripline_cli::report::note;
use dripline_store::partition::{self, Layout, Partition};
use dripline_store::tokio_postgres::Client;
use dripline_store::{SensorTables, StoreError, TableName};
use serde_json::json;
use std::time::Duration;

/// How long each kind of data is kept.
#[derive(Clone, Debug)]
pub struct Horizons {
    /// Raw rows (numeric table partitions).
    pub raw: Duration,
    /// The 1-minute rollup.
    pub minute: Option<Duration>,
    /// The 1-hour rollup.
    pub hour: Option<Duration>,
    /// The JSON table's partitions.
    pub json: Option<Duration>,
}

impl Horizons {
    /// A rollup kept for less time than the data it summarises would be gone first: the
    /// minutes must outlive the raw rows, the hours the minutes.
    fn check(&self) -> Result<(), ExitFailure> {
        let refuse = |what: &str| Err(ExitFailure::new(USAGE, what.to_string()));
        if self.minute.is_some_and(|minute| minute < self.raw) {
            return refuse(
                "--minute is shorter than --raw: the minute rollup must outlive the raw rows",
            );
        }
        let floor = self.minute.unwrap_or(self.raw);
        if self.hour.is_some_and(|hour| hour < floor) {
            return refuse(
                "--hour is shorter than --minute (or --raw): the hour rollup must outlive them",
            );
        }
        Ok(())
    }
}

/// Drop what is past the horizons (or, `dry_run`, say what). Status 75 when partitions past the
/// horizon were kept because their rollups are not complete.
pub async fn run(
    client: &mut Client,
    tables: &SensorTables,
    horizons: &Horizons,
    dry_run: bool,
) -> Result<u8> {
    horizons.check()?;
    let mut out = LineOutput::stdout(true);
    // The server's clock, as the rollups' (complete_until says now() when nothing is pending).
    let now: DateTime<Utc> = client
        .query_one("SELECT now()", &[])
        .await
        .map_err(|e| store_failure(StoreError::query("reading the server's clock", &e)))?
        .get(0);
    let raw_table = &tables.numeric;
    match partition::layout(client, raw_table)
        .await
        .map_err(store_failure)?
    {
        Layout::Missing => {
            return Err(
                ExitFailure::new(NO_INPUT, format!("table {raw_table} does not exist")).into(),
            )
        }
        Layout::Plain | Layout::Foreign => {
            return Err(ExitFailure::new(
                CONFIG,
                format!(
                    "{raw_table} is not partitioned by time: prune drops whole partitions \
                     (dl-history migrate partitions it)"
                ),
            )
            .into())
        }
        Layout::Partitioned { .. } => {}
    }
    let complete = dripline_store::rollup::complete_until(client, raw_table)
        .await
        .map_err(store_failure)?;
    let mut tally = Tally::default();
    let cutoff = before(now, horizons.raw);
    for p in past(client, raw_table, cutoff).await? {
        let end = p.to.unwrap_or(cutoff);
        let reason = match complete {
            None => Some("the table has no rollups".to_string()),
            Some(until) if until == DateTime::<Utc>::MIN_UTC => {
                Some("the rollups are not backfilled yet".to_string())
            }
            Some(until) if until < end => Some(format!(
                "its rollups are complete only until {}",
                rfc3339(until)
            )),
            Some(_) => None,
        };
        match reason {
            Some(reason) => {
                out.write_line(&line("keep", raw_table, &p, Some(&reason)).to_string())?;
                tally.kept += 1;
            }
            None => {
                drop_one(client, raw_table, &p, dry_run, &mut out, &mut tally).await?;
            }
        }
    }
    if let Some(json_horizon) = horizons.json {
        let json_table = &tables.json;
        if matches!(
            partition::layout(client, json_table)
                .await
                .map_err(store_failure)?,
            Layout::Partitioned { .. }
        ) {
            // No rollup summarises the JSON table: its horizon is the only condition.
            for p in past(client, json_table, before(now, json_horizon)).await? {
                drop_one(client, json_table, &p, dry_run, &mut out, &mut tally).await?;
            }
        }
    }
    for (level, horizon) in [("1m", horizons.minute), ("1h", horizons.hour)] {
        let Some(horizon) = horizon else { continue };
        let rollup = TableName {
            schema: raw_table.schema.clone(),
            name: format!("{}_{level}", raw_table.name),
        };
        // Rows the rollups may still recompute (after `complete`) are never deleted.
        let Some(complete) = complete else { continue };
        let until = before(now, horizon).min(complete);
        let rows = delete_rollup_rows(client, &rollup, until, dry_run)
            .await
            .map_err(store_failure)?;
        let action = if dry_run { "delete" } else { "deleted" };
        out.write_line(
            &json!({"action": action, "table": rollup.to_string(), "before": rfc3339(until), "rows": rows})
                .to_string(),
        )?;
        tally.rollup_rows += rows;
    }
    out.flush()?;
    let verb = if dry_run { "would drop" } else { "dropped" };
    note(format!(
        "{verb} {} partitions ({}) and {} rollup rows{}{}",
        tally.dropped,
        human_bytes(tally.bytes),
        tally.rollup_rows,
        if tally.kept > 0 {
            format!(
                "; kept {} past the horizon: their rollups are not complete (see the keep lines)",
                tally.kept
            )
        } else {
            String::new()
        },
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    ));
    Ok(if tally.kept > 0 { TIMED_OUT } else { SUCCESS })
}

#[derive(Default)]
struct Tally {
    dropped: u64,
    kept: u64,
    bytes: i64,
    rollup_rows: u64,
}

/// `now - horizon`, bounded (the horizons are at most 1000 years).
fn before(now: DateTime<Utc>, horizon: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(horizon)
        .ok()
        .and_then(|h| now.checked_sub_signed(h))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The partitions of `table` that end at or before `cutoff`, oldest first (never the default).
async fn past(client: &Client, table: &TableName, cutoff: DateTime<Utc>) -> Result<Vec<Partition>> {
    let partitions = partition::list(client, table)
        .await
        .map_err(store_failure)?;
    let mut past: Vec<Partition> = partitions
        .into_iter()
        .filter(|p| !p.is_default && p.to.is_some_and(|to| to <= cutoff))
        .collect();
    past.sort_by_key(|p| p.to);
    Ok(past)
}

/// Drop one partition (or say that it would be).
async fn drop_one(
    client: &mut Client,
    table: &TableName,
    p: &Partition,
    dry_run: bool,
    out: &mut LineOutput,
    tally: &mut Tally,
) -> Result<()> {
    if !dry_run {
        partition::drop_partition(client, table, &p.table)
            .await
            .map_err(store_failure)?;
    }
    let action = if dry_run { "drop" } else { "dropped" };
    out.write_line(&line(action, table, p, None).to_string())?;
    tally.dropped += 1;
    tally.bytes += p.bytes;
    Ok(())
}

/// One decision about a partition as a JSON object.
fn line(action: &str, table: &TableName, p: &Partition, reason: Option<&str>) -> serde_json::Value {
    let mut value = crate::partitions::listing(table, p);
    value["action"] = json!(action);
    if let Some(reason) = reason {
        value["reason"] = json!(reason);
    }
    value
}

/// Delete (or, `dry_run`, count) the rows of the rollup table `rollup` before `until`. A
/// missing rollup table has none.
async fn delete_rollup_rows(
    client: &Client,
    rollup: &TableName,
    until: DateTime<Utc>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let what = format!("pruning {rollup}");
    let exists = client
        .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&rollup.sql()])
        .await
        .map_err(|e| StoreError::query(&what, &e))?
        .get::<_, bool>(0);
    if !exists {
        return Ok(0);
    }
    if dry_run {
        let row = client
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE bucket < $1", rollup.sql()),
                &[&until],
            )
            .await
            .map_err(|e| StoreError::query(&what, &e))?;
        return Ok(row.get::<_, i64>(0) as u64);
    }
    client
        .execute(
            &format!("DELETE FROM {} WHERE bucket < $1", rollup.sql()),
            &[&until],
        )
        .await
        .map_err(|e| StoreError::query(&what, &e))
}
