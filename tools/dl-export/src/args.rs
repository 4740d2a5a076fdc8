//! The command line of `dl-export`.

use clap::{Parser, ValueEnum};
use dripline_cli::{AuthFileArgs, DatabaseArgs, LogArgs};
use dripline_store::export::{Aggregate, Values};
use dripline_store::{TableName, TimeSpec, TimeZone};
use std::path::PathBuf;
use std::time::Duration;

/// Exit status when no row matched and `--fail-if-empty` was given.
pub const NO_ROWS: u8 = 2;

const AFTER_HELP: &str = "\
Examples:
  dl-export --since 24h > day.csv
  dl-export --sensor peaches,chips --since 2026-11-25 --until 2026-11-26 --format jsonl | jq .
  dl-export --match 'temp_*' --since 7d --every 1h --agg mean,min,max
  dl-export --since 24h --every 1m --agg mean --value cal --wide --fill previous -o day.csv
  dl-export --state /var/lib/dl-export/peaches.state --until 1m --gzip \\
            -o /srv/export/peaches-$(date +%Y%m%dT%H%M).csv.gz     # from cron
  dl-export --pg-url postgresql://reader@db.example/sensor_data --since 1h | head
  dl-export --pg-host db1,db2 --pg-target-session-attrs prefer-standby --since 1d
                                     # from a standby if one is up, sparing the primary

Columns:
  sensor_name, timestamp, value_raw, value_cal (CSV/TSV with a header line unless --no-header;
  JSON lines: one object per row). Rows are ordered by timestamp, then sensor name.
  With --every: sensor_name, timestamp (bucket start), then per aggregate value_raw_<agg> and
  value_cal_<agg> (see --value), or count. With --wide: timestamp, then one column per sensor
  (named <sensor>.<column> when more than one value column is selected).
  Timestamps are RFC 3339 in UTC with microseconds (2026-11-25T00:00:00.000000Z); with --tz
  they carry that zone's offset (+01:00); --epoch gives seconds since 1970 instead.
  --tz +02:00 means 2 hours east of UTC (ISO 8601), as in the timestamps written: a row at
  00:19Z is written 02:19:00+02:00. POSIX-style zones with a sign (UTC+2, CET-1, Etc/GMT+2)
  count the other way round and are refused (status 64).
  NaN and infinities are written as NaN, Infinity, -Infinity (quoted strings in JSON).

Times (--since, --until):
  a duration before now (24h, 90m, \"1d 12h\", 2weeks; \"ago\" may follow), an RFC 3339 time
  (2026-11-25T00:00:00Z, 2026-11-25T01:00:00+01:00), a date or a time without offset
  (2026-11-25, \"2026-11-25 08:00\"), read in --tz (default UTC), or now. \"now\" is the
  database server's clock. The range is half-open: since <= timestamp < until.
  Downsampling buckets are aligned to the Unix epoch (1m buckets start on whole minutes, 1h on
  whole UTC hours). For buckets a whole number of minutes wide, the whole minutes (and, for
  whole hours, hours) of the range that the table's rollups cover completely are read from
  them (numeric_data_1m, numeric_data_1h; see dl-history rollup), the rest from raw rows:
  the same answer, much faster for long ranges. --no-rollup reads raw rows only.

Incremental exports (--state FILE):
  The state file remembers the last exported timestamp T and which rows at T were exported
  (by sensor_name, value_raw, value_cal, with counts: numeric_data has no key). The next run
  exports rows with timestamp > T, plus rows at exactly T not exported before, and ignores
  --since. So no row is exported twice and rows that arrive late with timestamp T are still
  exported. A row that arrives after a run with a timestamp *before* T is not seen: give
  --until a margin longer than your logging delay (e.g. --until 1m) so the data has settled.
  With --every, only whole buckets (ending at or before --until) are exported and the state
  remembers the end of the last one; the next run starts there (--every must stay the same).
  A state file belongs to one export job: keep --table, --sensor, --match and --every the same
  between its runs (the table and --every are checked).
  The state is written only after all rows are out: after --output is renamed into place, or
  after stdout took everything (not when a reader closed the pipe). A crash in between
  repeats rows on the next run; it never skips any.
  --output writes a temporary file beside FILE and renames it when complete, so readers and
  cron never see a half-written file; on SIGINT/SIGTERM/SIGHUP the temporary file is removed.
  An existing FILE that is not a regular file (/dev/null, a FIFO) is written directly.

Exit status:
    0  success, rows written (or none matched, without --fail-if-empty); also when a reader
       closes the pipe (| head)
    1  other failure (e.g. the database ended the query)
    2  no rows matched and --fail-if-empty was given
   64  bad command line: unknown flag, bad time (--since yesterdayy), bad duration, a
       reversed or empty range (--since 1h --until 2h), --tz POSIX-style (UTC+2) or one the
       database does not know
   65  unknown sensor or pattern with --strict; a --state that is not a regular file holding
       a dl-export state, or belongs to another table or --every
   66  the table or the database does not exist
   69  the database cannot be reached
   70  internal error: a bug
   73  --output or --state cannot be written
   77  the database refused the user or password, or denied access to the table
   78  bad connection settings: auth file, password file, --pg-url, a PG variable
       (PGPORT=abc), --pg-sslmode require
  130  interrupted by SIGINT, SIGTERM or SIGHUP: no state saved, --output FILE left as it was

Environment:
  Each connection setting comes from the first of: its flag; the URL (--pg-url, else
  DATABASE_URL); libpq's PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE,
  PGSSLROOTCERT, PGAPPNAME, PGCONNECT_TIMEOUT (seconds, 0 for no limit); POSTGRES_USER,
  POSTGRES_PASSWORD; the auth file's postgres group; for the password, PGPASSFILE (default
  ~/.pgpass, mode 0600 or less); the defaults (localhost:5432, user and password postgres,
  sslmode prefer, application_name dl-export, 10s). A PG variable that cannot be used
  (PGPORT=abc) is status 78.";

/// Export dripline sensor history from PostgreSQL as CSV, TSV or JSON lines.
///
/// Reads the table dl-log-to-pg (or dripline-python's sensor logger) writes, `numeric_data`,
/// by sensor and time range, optionally downsampled in the database, incrementally for cron,
/// streaming in constant memory.
#[derive(Parser, Debug)]
#[command(name = "dl-export", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Args {
    /// Sensor to export, by exact name; repeat or separate with commas [default: all].
    #[arg(
        short = 's',
        long = "sensor",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub sensors: Vec<String>,
    /// Sensors whose names match: a glob with * and ? (peach*), else an SQL LIKE pattern
    /// (temp_%). Repeatable; adds to --sensor.
    #[arg(short = 'm', long = "match", value_name = "PATTERN")]
    pub patterns: Vec<String>,
    /// Fail (status 65) when a --sensor has no row at all in the table, or a --match matches
    /// no sensor.
    #[arg(long)]
    pub strict: bool,
    /// Start of the range, inclusive (see Times below) [default: the beginning].
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub since: Option<TimeSpec>,
    /// End of the range, exclusive (see Times below) [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub until: Option<TimeSpec>,
    /// Table to read, optionally schema-qualified.
    #[arg(long, value_name = "TABLE", default_value = "numeric_data", value_parser = parse_table)]
    pub table: TableName,

    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Csv, help_heading = "Output")]
    pub format: Format,
    /// Write to FILE (atomically: temporary file, then rename) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Compress the output with gzip.
    #[arg(long, help_heading = "Output")]
    pub gzip: bool,
    /// Leave out the CSV/TSV header line.
    #[arg(long, help_heading = "Output")]
    pub no_header: bool,
    /// Write timestamps in this time zone: an ISO 8601 offset east of UTC (+02:00, -05:30) or
    /// a name the database knows (Europe/Berlin, UTC, America/Chicago); times without offset
    /// in --since/--until are read in it too. POSIX-style UTC+2 or Etc/GMT+2, whose sign
    /// means west, is refused.
    #[arg(long, value_name = "ZONE", value_parser = parse_zone, allow_hyphen_values = true,
          help_heading = "Output")]
    pub tz: Option<TimeZone>,
    /// Write timestamps as seconds since 1970-01-01T00:00:00Z (with microseconds).
    #[arg(long, help_heading = "Output")]
    pub epoch: bool,
    /// Which value columns to write (or aggregate).
    #[arg(long, value_enum, default_value_t = ValueChoice::Both, help_heading = "Output")]
    pub value: ValueChoice,
    /// Never show a progress bar (it is shown only on a terminal, for long exports).
    #[arg(long, help_heading = "Output")]
    pub no_progress: bool,
    /// Print the SQL SELECT that would run, and exit.
    #[arg(long, help_heading = "Output")]
    pub print_query: bool,

    /// Downsample: one row per sensor and bucket of this width (1m, 15s, 1h), aligned to
    /// the epoch, computed in the database.
    #[arg(long, value_name = "DURATION", value_parser = parse_every, help_heading = "Downsampling")]
    pub every: Option<Duration>,
    /// Aggregates per bucket: mean, min, max, first, last, count; repeat or separate with
    /// commas [default: mean].
    #[arg(long = "agg", value_name = "AGG", value_delimiter = ',', requires = "every",
          value_parser = parse_aggregate, help_heading = "Downsampling")]
    pub aggregates: Vec<Aggregate>,
    /// One column per sensor on a shared time axis (needs --every); a row for every bucket in
    /// which any sensor has data.
    #[arg(long, requires = "every", help_heading = "Downsampling")]
    pub wide: bool,
    /// With --wide: what an empty cell gets.
    #[arg(long, value_enum, default_value_t = Fill::Empty, requires = "wide", help_heading = "Downsampling")]
    pub fill: Fill,
    /// Compute every bucket from raw rows, never from the 1-minute / 1-hour rollups (which
    /// are read, when present and complete, for buckets a whole number of minutes wide).
    #[arg(long, requires = "every", help_heading = "Downsampling")]
    pub no_rollup: bool,

    /// Incremental export: resume after the rows recorded in FILE, and record the new end
    /// there (see Incremental exports below).
    #[arg(long, value_name = "FILE", help_heading = "Incremental")]
    pub state: Option<PathBuf>,
    /// Exit with status 2 when no row matched.
    #[arg(long, help_heading = "Incremental")]
    pub fail_if_empty: bool,

    /// Database connection flags.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The auth file with the database credentials.
    #[command(flatten)]
    pub auth: AuthFileArgs,
    /// Logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

/// `--value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValueChoice {
    /// value_raw only.
    Raw,
    /// value_cal only.
    Cal,
    /// value_raw and value_cal.
    Both,
}

impl From<ValueChoice> for Values {
    fn from(choice: ValueChoice) -> Values {
        match choice {
            ValueChoice::Raw => Values::Raw,
            ValueChoice::Cal => Values::Cal,
            ValueChoice::Both => Values::Both,
        }
    }
}

/// `--fill`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Fill {
    /// Leave the cell empty (null in JSON).
    Empty,
    /// Repeat the sensor's previous value.
    Previous,
}

fn parse_time(text: &str) -> Result<TimeSpec, String> {
    text.parse()
        .map_err(|e: dripline_store::time::TimeSpecError| e.to_string())
}

fn parse_zone(text: &str) -> Result<TimeZone, String> {
    text.parse()
        .map_err(|e: dripline_store::time::TimeZoneError| e.to_string())
}

fn parse_table(text: &str) -> Result<TableName, String> {
    text.parse()
}

fn parse_aggregate(text: &str) -> Result<Aggregate, String> {
    text.trim().parse()
}

fn parse_every(text: &str) -> Result<Duration, String> {
    let duration = dripline_cli::parse_duration(text)?;
    if duration.as_micros() == 0 {
        return Err(format!("'{text}' is too short: buckets need at least 1us"));
    }
    if duration.as_micros() > i64::MAX as u128 / 2 {
        return Err(format!("'{text}' is too long for a bucket width"));
    }
    Ok(duration)
}

impl Args {
    /// The aggregates asked for, in order, without repeats; `mean` if none.
    pub fn aggregates(&self) -> Vec<Aggregate> {
        let mut out: Vec<Aggregate> = Vec::new();
        for aggregate in &self.aggregates {
            if !out.contains(aggregate) {
                out.push(*aggregate);
            }
        }
        if out.is_empty() {
            out.push(Aggregate::Mean);
        }
        out
    }

    /// Exact sensor names, without empty items from stray commas.
    pub fn sensor_names(&self) -> Vec<String> {
        self.sensors
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_repeats() {
        let args = Args::try_parse_from([
            "dl-export",
            "-s",
            "a,b",
            "--sensor",
            "c",
            "--every",
            "1m",
            "--agg",
            "min,max",
            "--agg",
            "min",
        ])
        .unwrap();
        assert_eq!(args.sensor_names(), ["a", "b", "c"]);
        assert_eq!(args.aggregates(), [Aggregate::Min, Aggregate::Max]);
    }

    #[test]
    fn bad_times_and_combinations_are_usage_errors() {
        let error = Args::try_parse_from(["dl-export", "--since", "yesterdayy"]).unwrap_err();
        assert!(
            error.to_string().contains("'yesterdayy' is not a time"),
            "{error}"
        );
        assert!(Args::try_parse_from(["dl-export", "--wide"]).is_err());
        assert!(Args::try_parse_from(["dl-export", "--agg", "mean"]).is_err());
        assert!(Args::try_parse_from(["dl-export", "--every", "0s"]).is_err());
        assert!(Args::try_parse_from(["dl-export", "--every", "1m", "--agg", "median"]).is_err());
    }
}
