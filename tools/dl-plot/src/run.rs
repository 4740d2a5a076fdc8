//! What `dl-plot` does: read rows into downsampled series, then draw them in the terminal or
//! into a file.

use crate::args::{Args, MAX_SERIES, NO_DATA};
use crate::chart::Chart;
use crate::database;
use crate::downsample::Series;
use crate::file::{self, Kind};
use crate::input::{Item, Parser, MAX_LINE_BYTES};
use crate::terminal;
use crate::zone::Zone;
use anyhow::Result;
use dripline_cli::exit_status::{CANNOT_CREATE, DATA_ERROR, SUCCESS, USAGE};
use dripline_cli::{report, ExitFailure};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// The file size when `--size` is not given.
const FILE_SIZE: (u32, u32) = (1200, 600);
/// The terminal size when it cannot be asked and $COLUMNS / $LINES are not set.
const TERMINAL_SIZE: (u32, u32) = (100, 30);
/// Buckets kept per pixel column (a terminal character is two braille dots wide).
const BUCKETS_PER_COLUMN: u32 = 4;
/// Bad lines named one by one on stderr; after that only counted.
const REPORTED_LINES: u64 = 10;

/// Run one plot; the exit status on success.
pub async fn run(args: Args) -> Result<u8> {
    let kind = match &args.output {
        Some(path) => Some(Kind::of(path).ok_or_else(|| {
            failure(
                USAGE,
                format!(
                    "-o {}: give a file name ending in .png or .svg",
                    path.display()
                ),
            )
        })?),
        None => None,
    };
    let size = match kind {
        Some(_) => args.size.unwrap_or(FILE_SIZE),
        None => args.size.unwrap_or_else(terminal_size),
    };
    let (columns, rows) = (size.0.max(20), size.1.max(8));
    let buckets = match kind {
        Some(_) => columns * BUCKETS_PER_COLUMN,
        None => columns * 2 * BUCKETS_PER_COLUMN,
    } as usize;

    let read = read_series(&args, buckets).await?;
    let chart = Chart {
        series: read.series,
        zone: match &args.tz {
            Some(tz) => tz.zone,
            None => Zone::fixed(read.first_offset.unwrap_or(0)),
        },
        unit: args.unit.clone(),
        gap: args.gap,
    };
    let points: u64 = chart.series.iter().map(Series::count).sum();
    if points == 0 {
        if read.bad_lines > 0 {
            return Err(failure(
                DATA_ERROR,
                format!(
                    "nothing to plot: none of the {} input lines could be read",
                    read.bad_lines
                ),
            ));
        }
        return Err(failure(
            NO_DATA,
            "nothing to plot: no input row with a value (is the export empty?)",
        ));
    }
    match (&args.output, kind) {
        (Some(path), Some(kind)) => write_file(&chart, &args, path, kind, (columns, rows))?,
        _ => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let text = terminal::render(&chart, columns as u16, rows as u16, colour);
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    tracing::info!(points, series = chart.series.len(), "plot drawn");
    if read.bad_lines > 0 {
        report::warning(format!(
            "{} input line{} could not be read; drawn without them",
            read.bad_lines,
            if read.bad_lines == 1 { "" } else { "s" }
        ));
        return Ok(DATA_ERROR);
    }
    Ok(SUCCESS)
}

/// The series read so far.
struct Read {
    series: Vec<Series>,
    index: HashMap<String, usize>,
    buckets: usize,
    first_offset: Option<i32>,
    bad_lines: u64,
}

impl Read {
    fn new(buckets: usize) -> Self {
        Read {
            series: Vec::new(),
            index: HashMap::new(),
            buckets,
            first_offset: None,
            bad_lines: 0,
        }
    }

    /// Add a point to its sensor's series (a new one for a new sensor, up to [`MAX_SERIES`]).
    fn add(&mut self, sensor: &str, time: i64, value: f64) -> Result<(), ExitFailure> {
        let slot = match self.index.get(sensor) {
            Some(slot) => *slot,
            None => {
                if self.series.len() == MAX_SERIES {
                    return Err(ExitFailure::new(
                        DATA_ERROR,
                        format!("more than {MAX_SERIES} sensors in the input; plot fewer (dl-export --sensor, --match)"),
                    ));
                }
                self.index.insert(sensor.to_string(), self.series.len());
                self.series
                    .push(Series::new(sensor.to_string(), self.buckets));
                self.series.len() - 1
            }
        };
        self.series[slot].add((time, value));
        Ok(())
    }
}

/// Read the rows (stdin or the database) into series of `buckets` buckets each.
async fn read_series(args: &Args, buckets: usize) -> Result<Read> {
    let mut read = Read::new(buckets);
    if args.from_database() {
        database::read(args, |sensor, time, value| read.add(sensor, time, value)).await?;
        return Ok(read);
    }
    let mut parser = Parser::new(args.value);
    let mut batches = dripline_cli::jsonl::read_batches_limited(
        std::io::stdin(),
        "stdin",
        1024,
        MAX_LINE_BYTES,
        move |line| parser.line(line),
    );
    while let Some(batch) = batches.recv().await {
        for item in batch {
            match item {
                Item::Row {
                    sensor,
                    time,
                    value,
                    offset,
                } => {
                    if read.first_offset.is_none() {
                        read.first_offset = offset;
                    }
                    if let Some(value) = value {
                        read.add(&sensor, time, value)?;
                    }
                }
                Item::Nothing => {}
                Item::Bad(reason) => {
                    read.bad_lines += 1;
                    if read.bad_lines <= REPORTED_LINES {
                        report::warning(reason);
                    }
                }
                Item::Fatal(reason) => return Err(failure(DATA_ERROR, reason)),
            }
        }
    }
    Ok(read)
}

/// Write the file atomically: a temporary file beside it (with the same extension, which
/// tells plotters the format), renamed into place when complete.
fn write_file(chart: &Chart, args: &Args, path: &Path, kind: Kind, size: (u32, u32)) -> Result<()> {
    let cannot = |reason: String| {
        failure(
            CANNOT_CREATE,
            format!("cannot write {}: {reason}", path.display()),
        )
    };
    let directory = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let suffix = match kind {
        Kind::Png => ".png",
        Kind::Svg => ".svg",
    };
    let temporary = tempfile::Builder::new()
        .prefix(".dl-plot-")
        .suffix(suffix)
        .tempfile_in(directory)
        .map_err(|e| cannot(e.to_string()))?;
    file::write(
        chart,
        temporary.path(),
        kind,
        size,
        args.title.as_deref(),
        args.panels,
    )
    .map_err(cannot)?;
    temporary
        .persist(path)
        .map_err(|e| cannot(e.error.to_string()))?;
    Ok(())
}

/// The terminal's size in characters, else $COLUMNS × $LINES, else 100 × 30.
fn terminal_size() -> (u32, u32) {
    if let Some((terminal_size::Width(w), terminal_size::Height(h))) =
        terminal_size::terminal_size()
    {
        return (u32::from(w), u32::from(h).saturating_sub(1));
    }
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|v| (1..=10_000).contains(v))
    };
    (
        env("COLUMNS").unwrap_or(TERMINAL_SIZE.0),
        env("LINES").unwrap_or(TERMINAL_SIZE.1),
    )
}

fn failure(status: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::from(ExitFailure::new(status, message))
}
