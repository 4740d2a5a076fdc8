//! dl-plot end-to-end: the pictures it draws are checked, not only that they exist. Known data
//! with a spike and a gap drawn to SVG must have the spike at its column and a break in the
//! line over the gap; a ramp in the terminal must rise left to right; empty and bad input end
//! with their documented statuses; and the same rows read from the database (the selection
//! flags) or through `dl-export |` draw the same line.

#[path = "export_support.rs"]
mod support;

use dripline_e2e::{binary, run_command, stderr_of, stdout_of, temp_dir, without_env_settings};
use std::path::Path;
use std::process::{Command, Output};
use support::TestDb;

/// dl-plot with `args`, `stdin` as its input, in a clean environment.
fn dl_plot(args: &[&str], stdin: &str) -> Output {
    let mut command = without_env_settings(Command::new(binary("dl-plot")));
    command.args(args).env_remove("NO_COLOR");
    run_command(&mut command, Some(stdin))
}

/// One sensor at 1 Hz for 600 s from 2026-11-25T00:00:00Z, value 1 except a spike of 10 at
/// second 150 and nothing from second 300 to 399 (a gap), as dl-export's CSV.
fn spike_and_gap_csv() -> String {
    let mut csv = String::from("sensor_name,timestamp,value_raw,value_cal\n");
    for second in (0..600).filter(|s| !(300..400).contains(s)) {
        let value = if second == 150 { 10.0 } else { 1.0 };
        csv.push_str(&format!(
            "spiky,2026-11-25T00:{:02}:{:02}.000000Z,0,{value}\n",
            second / 60,
            second % 60
        ));
    }
    csv
}

/// The `points` of every `<polyline>` in `svg` drawn in `stroke` with more than two points
/// (axes and the legend's sample line have two).
fn polylines(svg: &str, stroke: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|element| element.contains(&format!("stroke=\"{stroke}\"")))
        .filter_map(|element| {
            let points = element.split("points=\"").nth(1)?.split('"').next()?;
            let points: Vec<(f64, f64)> = points
                .split_whitespace()
                .filter_map(|pair| {
                    let (x, y) = pair.split_once(',')?;
                    Some((x.parse().ok()?, y.parse().ok()?))
                })
                .collect();
            (points.len() > 2).then_some(points)
        })
        .collect()
}

/// The first series' colour in PNG/SVG (#0072B2).
const FIRST_SERIES: &str = "#0072B2";

/// Check the picture of [`spike_and_gap_csv`]: two runs of line (the gap), the spike's top at
/// 150/599 of the way from the first point to the last, and no line over the gap.
fn assert_spike_and_gap(svg: &str) {
    let lines = polylines(svg, FIRST_SERIES);
    assert_eq!(
        lines.len(),
        2,
        "the gap must break the line in two: {lines:?}"
    );
    let all: Vec<(f64, f64)> = lines.concat();
    let x_first = all.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_last = all.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let width = x_last - x_first;
    assert!(width > 500.0, "the line spans {width} px");
    let x_at = |second: f64| x_first + width * second / 599.0;
    // SVG y grows downwards: the spike is the smallest y.
    let top = all
        .iter()
        .copied()
        .fold((0.0, f64::INFINITY), |a, p| if p.1 < a.1 { p } else { a });
    assert!(
        (top.0 - x_at(150.0)).abs() <= 2.0,
        "spike drawn at x={} but second 150 is at x={}",
        top.0,
        x_at(150.0)
    );
    let baseline = all.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    assert!(
        baseline - top.1 > 100.0,
        "the spike is only {} px high",
        baseline - top.1
    );
    // The first run ends at second 299, the second starts at 400: nothing in between.
    let (before, after) = (&lines[0], &lines[1]);
    let end_of_first = before.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let start_of_second = after.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    assert!(
        (end_of_first - x_at(299.0)).abs() <= 2.0,
        "{end_of_first} vs {}",
        x_at(299.0)
    );
    assert!(
        (start_of_second - x_at(400.0)).abs() <= 2.0,
        "{start_of_second} vs {}",
        x_at(400.0)
    );
}

#[test]
fn svg_has_the_spike_at_its_column_and_the_gap_as_a_gap() {
    let dir = temp_dir("plot_svg");
    let path = dir.path().join("plot.svg");
    let output = dl_plot(
        &[
            "-o",
            path.to_str().unwrap(),
            "--size",
            "1000x500",
            "--title",
            "spike",
        ],
        &spike_and_gap_csv(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "", "nothing on stdout with -o");
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.contains("spike") && svg.contains("spiky"),
        "title and legend"
    );
    assert_spike_and_gap(&svg);
}

#[test]
fn png_is_a_png_of_the_size_asked() {
    let dir = temp_dir("plot_png");
    let path = dir.path().join("plot.png");
    let output = dl_plot(
        &["-o", path.to_str().unwrap(), "--size", "640x360"],
        &spike_and_gap_csv(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (640, 360));
    // Only the finished file: the temporary one beside it is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// The pixels of `png` in colour `rgb`, as (x, y).
fn pixels_of(png: &[u8], rgb: [u8; 3]) -> Vec<(u32, u32)> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.line_size / info.width as usize;
    let mut found = Vec::new();
    for y in 0..info.height {
        for x in 0..info.width {
            let at = y as usize * info.line_size + x as usize * channels;
            if buffer[at..at + 3] == rgb {
                found.push((x, y));
            }
        }
    }
    found
}

#[test]
fn png_pixels_have_the_spike_at_its_column_and_nothing_below_the_line() {
    // Six hours at 10 s of a slow wave around 77.2 with a one-sample spike at 02:13:20.
    let mut csv = String::from("sensor_name,timestamp,value_raw,value_cal\n");
    for second in (0..6 * 3600).step_by(10) {
        let spike = if second == 8000 { 1.6 } else { 0.0 };
        let value = 77.2 + 0.4 * (second as f64 / 2400.0).sin() + spike;
        csv.push_str(&format!(
            "wave,2026-11-25T{:02}:{:02}:{:02}Z,0,{value:.4}\n",
            second / 3600,
            second / 60 % 60,
            second % 60
        ));
    }
    let dir = temp_dir("plot_png_pixels");
    let path = dir.path().join("plot.png");
    let output = dl_plot(&["-o", path.to_str().unwrap(), "--size", "1000x500"], &csv);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // The first series' colour, #0072B2, without the legend in the top right corner.
    let blue: Vec<(u32, u32)> = pixels_of(&std::fs::read(&path).unwrap(), [0, 114, 178])
        .into_iter()
        .filter(|p| p.1 > 100 || p.0 < 850)
        .collect();
    assert!(blue.len() > 1000, "{} blue pixels", blue.len());
    let top = *blue.iter().min_by_key(|p| p.1).unwrap();
    let left = blue.iter().map(|p| p.0).min().unwrap() as f64;
    let right = blue.iter().map(|p| p.0).max().unwrap() as f64;
    // The ends carry markers (radius 4, stroke 2): 6 px of tolerance.
    let expected = left + (right - left) * 8000.0 / 21590.0;
    assert!(
        (top.0 as f64 - expected).abs() <= 6.0,
        "spike at x={} but 02:13:20 is at {expected}",
        top.0
    );
    // The wave's lowest point, away from the spike; nothing may be drawn below it (plotters'
    // mitred wide lines once drew the spike straight down through the axis).
    let lowest = blue
        .iter()
        .filter(|p| p.0.abs_diff(top.0) > 10)
        .map(|p| p.1)
        .max()
        .unwrap();
    let below: Vec<_> = blue.iter().filter(|p| p.1 > lowest).collect();
    assert!(
        below.is_empty(),
        "drawn below the line: {:?}",
        &below[..below.len().min(10)]
    );
    assert!(
        lowest - top.1 > 150,
        "the spike stands {} px above the wave",
        lowest - top.1
    );
}

/// The row (0 = top) of the highest braille dot in each character column that has one (not
/// counting ⣿, all eight dots, the legend's sample of a series without colour).
fn braille_tops(text: &str) -> Vec<(usize, usize)> {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let width = lines.iter().map(Vec::len).max().unwrap_or(0);
    (0..width)
        .filter_map(|column| {
            let row = lines.iter().position(|line| {
                line.get(column)
                    .is_some_and(|c| ('\u{2801}'..='\u{28fe}').contains(c))
            })?;
            Some((column, row))
        })
        .collect()
}

#[test]
fn a_ramp_rises_left_to_right_in_the_terminal() {
    let mut jsonl = String::new();
    for minute in 0..120 {
        jsonl.push_str(&format!(
            "{{\"sensor_name\":\"ramp\",\"timestamp\":\"2026-11-25T{:02}:{:02}:00.000000Z\",\"value_raw\":0,\"value_cal\":{minute}}}\n",
            minute / 60,
            minute % 60
        ));
    }
    let output = dl_plot(&["--size", "80x20", "--unit", "K"], &jsonl);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert_eq!(text.lines().count(), 20, "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(
        text.contains("ramp") && text.contains('K') && text.contains("UTC"),
        "{text}"
    );
    assert!(
        text.contains("00:00") && text.contains("02:00"),
        "time ticks: {text}"
    );
    let tops = braille_tops(&text);
    assert!(tops.len() > 50, "the line covers the width: {text}");
    for pair in tops.windows(2) {
        assert!(
            pair[1].1 <= pair[0].1,
            "the line falls between columns {} and {}:\n{text}",
            pair[0].0,
            pair[1].0
        );
    }
    let (first, last) = (tops[0], tops[tops.len() - 1]);
    assert!(
        first.1 >= last.1 + 12,
        "the ramp rises: {first:?} → {last:?}\n{text}"
    );
    assert!(
        first.0 < 10 && last.0 > 70,
        "it spans the chart: {first:?} → {last:?}"
    );
}

#[test]
fn time_ticks_follow_tz() {
    let csv = "sensor_name,timestamp,value_raw,value_cal\n\
               a,2026-11-25T00:00:00.000000Z,0,1\n\
               a,2026-11-25T03:00:00.000000Z,0,2\n";
    let output = dl_plot(&["--size", "80x12", "--tz", "+05:30"], csv);
    let text = stdout_of(&output);
    // 00:00Z to 03:00Z is 05:30 to 08:30 in +05:30: ticks on whole local hours.
    assert!(text.contains("05:00") && text.contains("09:00"), "{text}");
    assert!(!text.contains("00:00") && !text.contains("03:00"), "{text}");
    assert!(text.contains("UTC+05:30"), "{text}");
}

/// `(x, text)` of every `<text>` element of `svg` whose text starts with `prefix`.
fn labels(svg: &str, prefix: &str) -> Vec<(f64, String)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let x = element
                .split("x=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()?;
            let text = element.split_once('>')?.1.split("</text>").next()?.trim();
            text.starts_with(prefix).then(|| (x, text.to_string()))
        })
        .collect()
}

#[test]
fn a_named_zone_keeps_daily_ticks_on_local_midnight_across_daylight_saving_time() {
    // Hourly points from 2026-03-26 12:00Z for a week; Berlin moves its clocks on 03-29.
    let mut csv = String::from("sensor_name,timestamp,value_raw,value_cal\n");
    for hour in 0..(7 * 24) {
        let (day, hour_of_day) = (26 + (12 + hour) / 24, (12 + hour) % 24);
        let (month, day) = if day > 31 { (4, day - 31) } else { (3, day) };
        csv.push_str(&format!(
            "a,2026-{month:02}-{day:02}T{hour_of_day:02}:00:00Z,0,{hour}\n"
        ));
    }
    let dir = temp_dir("plot_dst");
    let path = dir.path().join("week.svg");
    let output = dl_plot(
        &[
            "-o",
            path.to_str().unwrap(),
            "--size",
            "1600x500",
            "--tz",
            "Europe/Berlin",
        ],
        &csv,
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.contains("time (Europe/Berlin)"), "axis title");
    let days = labels(&svg, "2026-");
    let names: Vec<&str> = days.iter().map(|(_, text)| text.as_str()).collect();
    assert!(
        names.contains(&"2026-03-29") && names.contains(&"2026-03-30"),
        "daily ticks: {names:?}"
    );
    // Local midnights: the day the clocks skip an hour is 23/24 of the others on the axis.
    let width = |from: &str| {
        let at = days.iter().position(|(_, text)| text == from).unwrap();
        days[at + 1].0 - days[at].0
    };
    let ratio = width("2026-03-29") / width("2026-03-27");
    assert!(
        (ratio - 23.0 / 24.0).abs() < 0.01,
        "23-hour day: ratio {ratio}, {days:?}"
    );

    // The terminal chart too: 00:00Z to 03:00Z in November is 01:00 to 04:00 in Berlin.
    let csv = "sensor_name,timestamp,value_raw,value_cal\n\
               a,2026-11-25T00:00:00.000000Z,0,1\n\
               a,2026-11-25T03:00:00.000000Z,0,2\n";
    let text = stdout_of(&dl_plot(&["--size", "80x12", "--tz", "Europe/Berlin"], csv));
    assert!(text.contains("01:00") && text.contains("04:00"), "{text}");
    assert!(text.contains("Europe/Berlin"), "{text}");
}

#[test]
fn empty_input_says_so_with_status_2_and_writes_nothing() {
    let dir = temp_dir("plot_empty");
    let path = dir.path().join("plot.png");
    for input in ["", "sensor_name,timestamp,value_raw,value_cal\n"] {
        let output = dl_plot(&["-o", path.to_str().unwrap()], input);
        assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
        assert!(
            stderr_of(&output).contains("nothing to plot"),
            "{}",
            stderr_of(&output)
        );
        assert!(!path.exists());
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_lines_are_named_and_the_rest_is_drawn_with_status_65() {
    let mut csv = spike_and_gap_csv();
    csv.push_str("spiky,yesterday,0,1\nspiky,2026-11-25T00:00:00Z,0,lots\n");
    csv.push_str(&format!(
        "spiky,2026-11-25T00:00:00Z,0,{}\n",
        "9".repeat(70_000)
    ));
    let dir = temp_dir("plot_bad");
    let path = dir.path().join("plot.svg");
    let output = dl_plot(&["-o", path.to_str().unwrap()], &csv);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(65), "{stderr}");
    assert!(
        stderr.contains("stdin line 502: 'yesterday' is not an RFC 3339 time"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stdin line 503: 'lots' is not a number"),
        "{stderr}"
    );
    assert_spike_and_gap(&std::fs::read_to_string(&path).unwrap());
}

#[test]
fn input_that_is_not_an_export_and_bad_flags_are_refused() {
    let output = dl_plot(&[], "hello\nworld\n");
    assert_eq!(output.status.code(), Some(65));
    assert!(stderr_of(&output).contains("stdin line 1: expected JSON lines or a CSV header"));
    let output = dl_plot(
        &[],
        "sensor_name,timestamp,value_raw\na,2026-11-25T00:00:00Z,1\n",
    );
    assert_eq!(output.status.code(), Some(65));
    assert!(
        stderr_of(&output).contains("try --value raw"),
        "{}",
        stderr_of(&output)
    );
    for args in [
        &["-o", "plot.gif"][..],
        &["--size", "0x10"],
        &["--tz", "Mars/Olympus_Mons"],
        &["--tz", "UTC+2"],
        &["--gap", "0s"],
    ] {
        let output = dl_plot(args, "");
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
    }
    // More than 64 sensors is refused rather than drawn unreadably.
    let mut many = String::from("sensor_name,timestamp,value_raw,value_cal\n");
    for i in 0..65 {
        many.push_str(&format!("s{i},2026-11-25T00:00:00Z,0,1\n"));
    }
    let output = dl_plot(&[], &many);
    assert_eq!(output.status.code(), Some(65));
    assert!(stderr_of(&output).contains("more than 64 sensors"));
}

/// [`spike_and_gap_csv`]'s rows in a test table.
fn spike_and_gap_table() -> TestDb {
    let mut db = TestDb::new();
    db.exec(
        "INSERT INTO {table} (sensor_name, \"timestamp\", value_raw, value_cal)
         SELECT 'spiky', '2026-11-25T00:00:00Z'::timestamptz + s * interval '1 second', 0,
                CASE WHEN s = 150 THEN 10 ELSE 1 END
         FROM generate_series(0, 599) AS s WHERE s < 300 OR s >= 400;
         INSERT INTO {table} (sensor_name, \"timestamp\", value_raw, value_cal)
         VALUES ('other', '2026-11-25T00:00:00Z', 0, 5)",
    );
    db
}

/// dl-plot reading `db`'s table with `args` (no stdin).
fn dl_plot_from(db: &TestDb, args: &[&str]) -> Output {
    let mut command = without_env_settings(Command::new(binary("dl-plot")));
    command
        .args(["--pg-url", &support::pg_url(), "--table", &db.table_arg()])
        .args(args);
    run_command(&mut command, None)
}

#[test]
fn from_the_database_with_export_selection_flags() {
    let db = spike_and_gap_table();
    let dir = temp_dir("plot_db");
    let path = dir.path().join("db.svg");
    let output = dl_plot_from(
        &db,
        &[
            "--sensor",
            "spiky",
            "--since",
            "2026-11-25",
            "-o",
            path.to_str().unwrap(),
            "--size",
            "1000x500",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(!svg.contains("other"), "--sensor selects");
    assert_spike_and_gap(&svg);

    // The pipe from dl-export draws the same picture.
    let export = db.run(&["--sensor", "spiky", "--format", "jsonl"]);
    let piped = dir.path().join("piped.svg");
    let output = dl_plot(
        &["-o", piped.to_str().unwrap(), "--size", "1000x500"],
        &stdout_of(&export),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        polylines(&std::fs::read_to_string(&piped).unwrap(), FIRST_SERIES),
        polylines(&svg, FIRST_SERIES)
    );

    // A selection with no rows: status 2, no file.
    let empty = dir.path().join("empty.svg");
    let output = dl_plot_from(&db, &["--sensor", "nobody", "-o", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(!Path::new(&empty).exists());
}
