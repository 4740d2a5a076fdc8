//! The command line of `dl-history`.

use clap::{Parser, Subcommand};
use dripline_cli::{AuthFileArgs, DatabaseArgs, LogArgs};
use dripline_store::partition::Period;
use dripline_store::TableName;
use std::time::Duration;

/// The most partitions `partitions --ahead` creates ahead of the current one: a year of daily
/// partitions. More is a typo, and each partition costs planning time in every query.
pub const MAX_AHEAD: u32 = 366;

/// The shortest retention horizon `prune` accepts: a shorter one is surely a mistake (it would
/// drop the partition being written).
pub const MIN_HORIZON: Duration = Duration::from_secs(24 * 3600);

/// The longest retention horizon (1000 years): past it the cut-off is before any timestamp.
pub const MAX_HORIZON: Duration = Duration::from_secs(1000 * 365 * 24 * 3600);

const AFTER_HELP: &str = "\
Partitions:
  A partitioned numeric_data (dl-log-to-pg --init-schema --partition month|week|day, or
  dl-history migrate) keeps the same columns, unique key and table name, so queries, Grafana
  and dl-export see no difference. Each partition holds one UTC month, ISO week (from Monday)
  or day, named <table>_pYYYYMMDD after its first day; <table>_default catches a time with no
  partition yet, and <table>_legacy is the whole plain table a migration attached. json_data
  is partitioned the same way.

Examples:
  dl-history migrate --partition month          turn plain numeric_data and json_data into
                                                partitioned tables, the logger running
  dl-history partitions                         list partitions (JSON lines on stdout)
  dl-history partitions --ahead 3               create the next 3 (and move rows out of the
                                                default partition into them)
  dl-history prune --raw 90d --dry-run          what would be dropped (JSON lines)
  dl-history prune --raw 90d --minute 2y        drop raw partitions older than 90 days whose
                                                rollups are complete, and minute rollups
                                                older than 2 years
  dl-history rollup --init                      create the rollups of numeric_data and fill
                                                them from the rows already there
  * * * * * dl-history rollup                   (crontab) keep them up to date

Exit status:
    0  success (prune: everything past the horizons dropped, or nothing to drop)
    1  other failure (e.g. the database refused a statement; migrate of a table with a
       unique key without \"timestamp\", which a partitioned table cannot have)
   64  bad command line: unknown flag, bad duration (--raw -5d), --raw under a day,
       --partition year, --ahead over 366
   66  the table or the database does not exist; rollup without --init on a table that has
       no rollups
   69  the database cannot be reached
   70  internal error: a bug
   75  prune kept partitions past the horizon because their rollups are not complete (or
       do not exist) yet: run again after the rollups catch up
   77  the database refused the user or password, or a privilege (DDL needs the owner)
   78  bad connection settings: auth file, password file, --pg-url, a PG variable;
       partitions --ahead on a table that is not partitioned by dl-history
  130  interrupted by SIGINT, SIGTERM or SIGHUP: the step in hand was rolled back";

/// Keep years of dripline sensor history in PostgreSQL: time partitions, the migration of a
/// plain table, partitions created ahead, retention that never drops what rollups still need.
#[derive(Parser, Debug)]
#[command(name = "dl-history", version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Turn plain numeric_data and json_data tables into partitioned ones in place, without
    /// losing a row and with the logger running (it waits a moment, twice, for a lock).
    Migrate {
        /// Partition length.
        #[arg(long, value_name = "PERIOD", default_value = "month")]
        partition: Period,
        /// Tables and connection.
        #[command(flatten)]
        target: Target,
    },
    /// List the partitions (one JSON object per line on stdout), or create the next ones.
    Partitions {
        /// Create partitions from the current period to N periods ahead (and move rows of
        /// the default partition into them).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=MAX_AHEAD as i64))]
        ahead: Option<u32>,
        /// Tables and connection.
        #[command(flatten)]
        target: Target,
    },
    /// Drop whole raw partitions older than --raw whose rollups are complete; delete rollup
    /// rows older than --minute / --hour.
    Prune {
        /// Raw retention: drop partitions that end at least this long ago (90d, 26weeks).
        #[arg(long, value_name = "DURATION", value_parser = parse_horizon, allow_hyphen_values = true)]
        raw: Duration,
        /// Retention of the 1-minute rollup (2y); kept for ever without it.
        #[arg(long, value_name = "DURATION", value_parser = parse_horizon, allow_hyphen_values = true)]
        minute: Option<Duration>,
        /// Retention of the 1-hour rollup; kept for ever without it.
        #[arg(long, value_name = "DURATION", value_parser = parse_horizon, allow_hyphen_values = true)]
        hour: Option<Duration>,
        /// Retention of the JSON table's partitions (they have no rollup); kept for ever
        /// without it.
        #[arg(long, value_name = "DURATION", value_parser = parse_horizon, allow_hyphen_values = true)]
        json: Option<Duration>,
        /// Drop nothing: print what would be dropped (JSON lines on stdout, a summary on
        /// stderr).
        #[arg(long)]
        dry_run: bool,
        /// Tables and connection.
        #[command(flatten)]
        target: Target,
    },
    /// Bring the 1-minute and 1-hour rollups up to date (from cron, e.g. every minute):
    /// recompute from raw rows every minute that got rows since (late and redelivered alerts
    /// included), and backfill the rows older than the rollups. Prints one JSON line.
    Rollup {
        /// Create the rollups first if missing (tables <table>_1m, <table>_1h, the trigger
        /// that marks the minutes written); --init-schema of dl-log-to-pg does too.
        #[arg(long)]
        init: bool,
        /// Tables and connection.
        #[command(flatten)]
        target: Target,
    },
}

/// The tables and the connection, the same in every subcommand.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// The numeric table (schema.table allowed).
    #[arg(long = "table", value_name = "TABLE", default_value = "numeric_data")]
    pub table: TableName,
    /// The table for non-numeric values [default: json_data beside --table].
    #[arg(long = "json-table", value_name = "TABLE")]
    pub json_table: Option<TableName>,
    /// Database connection flags.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The auth file.
    #[command(flatten)]
    pub auth: AuthFileArgs,
}

impl Command {
    /// The tables and connection of any subcommand.
    pub fn target(&self) -> &Target {
        match self {
            Command::Migrate { target, .. }
            | Command::Partitions { target, .. }
            | Command::Prune { target, .. }
            | Command::Rollup { target, .. } => target,
        }
    }
}

/// A retention horizon: a duration between a day and 1000 years.
fn parse_horizon(text: &str) -> Result<Duration, String> {
    let duration = dripline_cli::parse_duration(text)?;
    if duration < MIN_HORIZON {
        return Err(format!(
            "{text} is under a day: that would drop the partitions being written"
        ));
    }
    if duration > MAX_HORIZON {
        return Err(format!("{text} is over 1000 years"));
    }
    Ok(duration)
}
