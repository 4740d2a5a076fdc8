//! `dl-history partitions`: list them, or create the next ones.

use anyhow::Result;
use dripline_cli::exit_status::{ExitFailure, CONFIG, NO_INPUT, SUCCESS};
use dripline_cli::failures::store_failure;
use dripline_store::partition::{self, Layout, Partition, Period};
use dripline_store::schema::TableName;
use dripline_store::tokio_postgres::Client;
use dripline_store::SensorTables;
use serde_json::json;

/// List (or with `ahead`, create) the partitions of both tables: JSON lines on stdout, a
/// summary on stderr. A missing JSON table is skipped; a missing numeric table is status 66.
pub async fn run(client: &mut Client, tables: &SensorTables, ahead: Option<u32>) -> Result<u8> {
    let mut out = dripline_cli::output::LineOutput::stdout(false);
    for (table, required) in [(&tables.numeric, true), (&tables.json, false)] {
        let layout = partition::layout(client, table)
            .await
            .map_err(store_failure)?;
        let period = match layout {
            Layout::Missing if required => {
                return Err(
                    ExitFailure::new(NO_INPUT, format!("table {table} does not exist")).into(),
                )
            }
            Layout::Missing => continue,
            Layout::Plain | Layout::Foreign => {
                if ahead.is_some() {
                    return Err(not_ours(table, layout).into());
                }
                dripline_cli::report::note(format!("{table}: {}", describe(layout)));
                continue;
            }
            Layout::Partitioned { period } => period,
        };
        match ahead {
            None => {
                let partitions = partition::list(client, table)
                    .await
                    .map_err(store_failure)?;
                for p in &partitions {
                    out.write_line(&listing(table, p).to_string())?;
                }
                let bytes: i64 = partitions.iter().map(|p| p.bytes).sum();
                dripline_cli::report::note(format!(
                    "{table}: {} partitions{}, {}",
                    partitions.len(),
                    period.map(|p| format!(" by {p}")).unwrap_or_default(),
                    human_bytes(bytes)
                ));
            }
            Some(ahead) => {
                let Some(period) = period else {
                    return Err(not_ours(table, layout).into());
                };
                create(client, table, period, ahead, &mut out).await?;
            }
        }
    }
    out.flush()?;
    Ok(SUCCESS)
}

/// Create the partitions from the current period to `ahead` periods ahead, and those the rows
/// in the default partition need; print each.
async fn create(
    client: &mut Client,
    table: &TableName,
    period: Period,
    ahead: u32,
    out: &mut dripline_cli::output::LineOutput,
) -> Result<()> {
    let now = chrono::Utc::now();
    let mut until = period.start_of(now);
    for _ in 0..ahead {
        until = period.next(until);
    }
    let mut starts = partition::starts(period, now, until);
    starts.extend(
        partition::default_periods(client, table, period)
            .await
            .map_err(store_failure)?,
    );
    let created =
        partition::ensure_starts(client, table, period, &starts, partition::Patience::Retry)
            .await
            .map_err(store_failure)?;
    for c in &created {
        let line = json!({
            "table": table.to_string(),
            "created": c.table.to_string(),
            "from": rfc3339(c.from),
            "to": rfc3339(c.to),
            "moved_from_default": c.moved,
        });
        out.write_line(&line.to_string())?;
    }
    let moved: u64 = created.iter().map(|c| c.moved).sum();
    dripline_cli::report::note(format!(
        "{table}: created {} partitions ({moved} rows moved out of the default partition)",
        created.len()
    ));
    Ok(())
}

fn describe(layout: Layout) -> &'static str {
    match layout {
        Layout::Plain => "not partitioned (dl-history migrate partitions it)",
        _ => "partitioned, but not by range on \"timestamp\": left alone",
    }
}

/// The refusal to create partitions for a table that is not partitioned by us.
fn not_ours(table: &TableName, layout: Layout) -> ExitFailure {
    let why = match layout {
        Layout::Partitioned { period: None } => format!(
            "{table} has no period recorded (COMMENT ON TABLE {table} IS 'dripline: \
             partitioned by month' records one)"
        ),
        other => format!("{table} is {}", describe(other)),
    };
    ExitFailure::new(CONFIG, format!("cannot create partitions: {why}"))
}

/// One partition as a JSON object.
pub fn listing(table: &TableName, p: &Partition) -> serde_json::Value {
    json!({
        "table": table.to_string(),
        "partition": p.table.to_string(),
        "from": p.from.map(rfc3339),
        "to": p.to.map(rfc3339),
        "default": p.is_default,
        "rows_estimate": p.rows_estimate,
        "bytes": p.bytes,
    })
}

/// RFC 3339 in UTC, seconds.
pub fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// 1.5 GiB, 12 MiB, 8 KiB.
pub fn human_bytes(bytes: i64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KiB", "MiB", "GiB"] {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.1} TiB")
}
