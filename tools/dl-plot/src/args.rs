//! The command line of `dl-plot`.

use crate::zone::{parse_zone, ZoneArg};
use clap::{Parser, ValueEnum};
use dripline_cli::{AuthFileArgs, DatabaseArgs, LogArgs};
use dripline_store::{TableName, TimeSpec};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Exit status when there was nothing to draw.
pub const NO_DATA: u8 = 2;

/// The most series (sensors) one plot takes.
pub const MAX_SERIES: usize = 64;

const AFTER_HELP: &str = "\
Examples:
  dl-export --since 1d --every 1m --agg mean | dl-plot
  dl-export --sensor peaches,chips --since 2h --format jsonl | dl-plot --unit K
  dl-export --since 7d | dl-plot -o week.png --size 1600x800 --title 'last week'
  dl-export --match 'temp_*' --since 1d | dl-plot -o temps.svg --panels
  dl-export --since 1d --tz Europe/Berlin | dl-plot --value raw
  dl-plot --sensor peaches --since 6h -o peaches.png   straight from the database
  dl-plot --match 'temp_*' --since 7d --every 10m --unit K

Input (stdin):
  What dl-export writes: JSON lines (--format jsonl) or CSV/TSV with its header line, one row
  per sensor and time: sensor_name, timestamp (RFC 3339, or epoch seconds from --epoch), and
  value_cal or value_raw (--value); from a downsampled export (--every) value_cal_mean, else
  the first value_cal_<agg> column. Empty cells, null, NaN and infinities are not drawn. The
  rows may come in any order. Lines longer than 64 KiB are refused.

Database (--db, or any of --sensor, --match, --since, --until, --every):
  The rows dl-export would select with the same flags, read straight from PostgreSQL (the
  same query, streamed); connection flags and environment as dl-export's (see dl-export
  --help). The time axis is in UTC unless --tz gives a zone; --since and --until without an
  offset are read in that zone too, as dl-export reads them.

Drawing:
  One series per sensor (at most 64), each with its own colour and, in PNG/SVG, its own marker
  shape and line pattern, so the plot reads without colour; --panels gives each sensor a panel
  of its own with its own y axis. Where a sensor has no data for longer than --gap, its line
  is broken: a gap in the data is a gap in the picture.
  In a terminal the chart fills the window (braille dots, two columns and four rows per
  character); --size COLSxROWS sets it, as do $COLUMNS and $LINES when stdout is not a
  terminal (default 100x30). Colour only on a terminal, never with NO_COLOR set.
  Time ticks are in --tz (default: the offset of the first input timestamp, else UTC). In a
  named zone (Europe/Berlin) ticks stay on round local times across daylight saving time:
  daily ticks at local midnight, so one day of the axis may be 23 or 25 hours long. Zone
  names come from the copy of the IANA zone database built into dl-plot (chrono-tz).

Large inputs (constant memory):
  Millions of rows are drawn in constant memory: each series keeps a fixed number of time
  buckets (four per pixel column) and, per bucket, only its first, last, smallest and largest
  point. A line through those looks like the full data at that width: a spike of one sample
  stays visible at its height and its time.

Exit status:
    0  the plot was drawn
    2  nothing to draw: no input, or no row with a value (nothing is written)
   64  bad command line: unknown flag, bad --size, --tz, --gap or --since, -o not .png or
       .svg, a reversed or empty range (--since 1h --until 2h)
   65  bad input: lines that cannot be read (each named on stderr as stdin line N; the plot is
       drawn from the others), input that is not dl-export's CSV or JSON lines, no value_cal
       (or value_raw) column, more than 64 sensors
   66  the table or the database does not exist
   69  the database cannot be reached
   70  internal error: a bug
   73  the output file cannot be written
   77  the database refused the user or password, or denied access to the table
   78  bad connection settings: auth file, password file, --pg-url, a PG variable
  130  interrupted by SIGINT, SIGTERM or SIGHUP: nothing written";

/// Draw dripline sensor history: a chart in the terminal, or a PNG or SVG file.
///
/// Reads what dl-export writes (CSV or JSON lines) on stdin, or the same rows straight from
/// the database, and draws one line per sensor over time, downsampled in constant memory
/// (see Large inputs below).
#[derive(Parser, Debug)]
#[command(name = "dl-plot", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Args {
    /// Which value to draw.
    #[arg(long, value_enum, default_value_t = ValueChoice::Cal)]
    pub value: ValueChoice,
    /// Unit of the values, shown on the y axis (K, mbar, V).
    #[arg(long, value_name = "UNIT")]
    pub unit: Option<String>,
    /// Time zone of the time axis: UTC, Z, an ISO 8601 offset east of UTC (+02:00, -05:30) or
    /// an IANA zone name (Europe/Berlin) [default: the offset of the first input timestamp].
    #[arg(long, value_name = "ZONE", value_parser = parse_zone, allow_hyphen_values = true)]
    pub tz: Option<ZoneArg>,
    /// Break a sensor's line where two of its points are further apart than this (30s, 5m);
    /// `none` never breaks [default: three times the sensor's mean interval].
    #[arg(long, value_name = "DURATION", value_parser = parse_gap)]
    pub gap: Option<Gap>,

    /// Write a PNG or SVG file (by its extension) instead of drawing in the terminal.
    #[arg(short = 'o', long, value_name = "FILE", help_heading = "File output")]
    pub output: Option<PathBuf>,
    /// Size: WIDTHxHEIGHT in pixels for -o [default: 1200x600], in characters for the
    /// terminal [default: the terminal's].
    #[arg(long, value_name = "WxH", value_parser = parse_size, help_heading = "File output")]
    pub size: Option<(u32, u32)>,
    /// Title above the plot.
    #[arg(long, value_name = "TEXT", help_heading = "File output")]
    pub title: Option<String>,
    /// One panel per sensor, stacked, sharing the time axis (with -o).
    #[arg(long, help_heading = "File output")]
    pub panels: bool,

    /// Read from the database (as dl-export does) instead of stdin; implied by --sensor,
    /// --match, --since, --until and --every.
    #[arg(long, help_heading = "Database (instead of stdin)")]
    pub db: bool,
    /// Sensor to draw, by exact name; repeat or separate with commas [default: all].
    #[arg(
        short = 's',
        long = "sensor",
        value_name = "NAME",
        value_delimiter = ',',
        help_heading = "Database (instead of stdin)"
    )]
    pub sensors: Vec<String>,
    /// Sensors whose names match a glob (peach*) or SQL LIKE pattern (temp_%); repeatable.
    #[arg(
        short = 'm',
        long = "match",
        value_name = "PATTERN",
        help_heading = "Database (instead of stdin)"
    )]
    pub patterns: Vec<String>,
    /// Start of the range, inclusive: as dl-export's (24h, 2026-11-25, an RFC 3339 time)
    /// [default: the beginning].
    #[arg(long, value_name = "TIME", value_parser = TimeSpec::from_str, allow_hyphen_values = true,
          help_heading = "Database (instead of stdin)")]
    pub since: Option<TimeSpec>,
    /// End of the range, exclusive [default: now].
    #[arg(long, value_name = "TIME", value_parser = TimeSpec::from_str, allow_hyphen_values = true,
          help_heading = "Database (instead of stdin)")]
    pub until: Option<TimeSpec>,
    /// Average in the database into buckets of this width (1m, 1h) before drawing.
    #[arg(long, value_name = "DURATION", value_parser = dripline_cli::parse_duration,
          help_heading = "Database (instead of stdin)")]
    pub every: Option<Duration>,
    /// Table to read, optionally schema-qualified.
    #[arg(long, value_name = "TABLE", default_value = "numeric_data", value_parser = TableName::from_str,
          help_heading = "Database (instead of stdin)")]
    pub table: TableName,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub auth: AuthFileArgs,

    #[command(flatten)]
    pub log: LogArgs,
}

impl Args {
    /// True when the rows come from the database rather than stdin.
    pub fn from_database(&self) -> bool {
        self.db
            || !self.sensors.is_empty()
            || !self.patterns.is_empty()
            || self.since.is_some()
            || self.until.is_some()
            || self.every.is_some()
    }
}

/// `--value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValueChoice {
    /// value_raw.
    Raw,
    /// value_cal.
    Cal,
}

/// `--gap`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gap {
    /// Never break a line.
    Never,
    /// Break where points are further apart than this.
    After(Duration),
}

fn parse_gap(text: &str) -> Result<Gap, String> {
    if text.trim() == "none" {
        return Ok(Gap::Never);
    }
    let duration = dripline_cli::parse_duration(text)?;
    if duration.is_zero() {
        return Err("a gap of 0 would break the line everywhere; give e.g. 30s, or none".into());
    }
    Ok(Gap::After(duration))
}

/// `WxH`, each 1..=10000.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{text}' is not a size: give WIDTHxHEIGHT, e.g. 1200x600");
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if !(1..=10_000).contains(&w) || !(1..=10_000).contains(&h) {
        return Err(format!("'{text}': width and height must be 1 to 10000"));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_gaps() {
        assert_eq!(parse_size("1200x600"), Ok((1200, 600)));
        assert!(parse_size("0x5").is_err());
        assert!(parse_size("big").is_err());
        assert_eq!(parse_gap("none"), Ok(Gap::Never));
        assert!(parse_gap("0s").is_err());
    }
}
