//! dl-export's CSV, TSV and JSON-lines output checked row by row against the database's own
//! answer: values (bit for bit), counts, order, ranges, sensor selection and time zones.

#[path = "export_support.rs"]
mod support;

use support::*;

type DbRow = (String, i64, Option<f64>, Option<f64>);

/// 4 sensors × `seconds` s from 2026-03-28T00:00Z (150 000 s reach across Europe's switch to
/// summer time on 2026-03-29T01:00Z): one row per sensor and second, unique timestamps,
/// every 7th value_cal NULL, names that need quoting in CSV.
fn history(seconds: u32) -> TestDb {
    let mut db = TestDb::new();
    db.exec(
        &"INSERT INTO {table} (sensor_name, \"timestamp\", value_raw, value_cal)
         SELECT s.name,
                timestamptz '2026-03-28 00:00:00+00' + i * interval '1 second'
                    + (s.k * 17 + i % 1000) * interval '1 microsecond',
                i * 0.37 + s.k / 3.0 - 20000,
                CASE WHEN i % 7 = 0 THEN NULL ELSE sin(i) * 1e3 END
         FROM generate_series(0, {last}) AS i,
              (VALUES ('peaches', 0), ('chips', 1), ('waf,f\"les', 2), ('température é', 3))
                  AS s(name, k)"
            .replace("{last}", &(seconds - 1).to_string()),
    );
    db
}

/// The database's rows for a WHERE clause, in dl-export's order.
fn db_rows(db: &mut TestDb, condition: &str) -> Vec<DbRow> {
    let sql = format!(
        "SELECT sensor_name, (extract(epoch FROM \"timestamp\") * 1000000)::int8,
                value_raw, value_cal
         FROM {} WHERE {condition} ORDER BY \"timestamp\", sensor_name",
        db.sql_table()
    );
    db.client
        .query(&sql, &[])
        .expect("reference query")
        .iter()
        .map(|r| (r.get(0), r.get(1), Some(r.get(2)), r.get(3)))
        .collect()
}

fn assert_same_rows(got: &[DbRow], expected: &[DbRow]) {
    assert_eq!(got.len(), expected.len(), "row count");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            g.0 == e.0 && g.1 == e.1 && same_float(g.2, e.2) && same_float(g.3, e.3),
            "row {i}: got {g:?}, database has {e:?}"
        );
    }
}

fn parse_csv(bytes: &[u8], delimiter: u8, epoch: bool) -> (Vec<String>, Vec<DbRow>) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(bytes);
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            let record = record.expect("a CSV record");
            let time = if epoch {
                epoch_micros(&record[1])
            } else {
                micros_of(&record[1])
            };
            (
                record[0].to_string(),
                time,
                csv_value(&record[2]),
                csv_value(&record[3]),
            )
        })
        .collect();
    (header, rows)
}

/// `1795564800.25` → µs, exactly.
fn epoch_micros(text: &str) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (seconds, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(fraction.len() <= 6, "more than microseconds: {text}");
    let micros: i64 = seconds.parse::<i64>().unwrap() * 1_000_000
        + format!("{fraction:0<6}").parse::<i64>().unwrap();
    if negative {
        -micros
    } else {
        micros
    }
}

#[test]
fn csv_and_jsonl_match_the_database() {
    let mut db = history(150_000);
    let expected = db_rows(&mut db, "true");
    assert_eq!(expected.len(), 600_000);

    let output = db.run(&[]);
    let (header, rows) = parse_csv(&ok_stdout(&output), b',', false);
    assert_eq!(
        header,
        ["sensor_name", "timestamp", "value_raw", "value_cal"]
    );
    assert_same_rows(&rows, &expected);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("\n\"waf,f\"\"les\",2026-03-28T00:00:00.000034Z,"));

    let output = db.run(&["--format", "jsonl"]);
    let rows: Vec<DbRow> = ok_stdout(&output)
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let object: serde_json::Value = serde_json::from_slice(line).expect("a JSON line");
            let map = object.as_object().expect("an object");
            assert_eq!(map.len(), 4);
            (
                map["sensor_name"].as_str().unwrap().to_string(),
                micros_of(map["timestamp"].as_str().unwrap()),
                json_value(&map["value_raw"]),
                json_value(&map["value_cal"]),
            )
        })
        .collect();
    assert_same_rows(&rows, &expected);
}

#[test]
fn sensors_and_half_open_ranges_select_what_sql_selects() {
    let mut db = history(50_000);
    let output = db.run(&[
        "--sensor",
        "peaches,chips",
        "--since",
        "2026-03-28T10:00:00Z",
        "--until",
        "2026-03-28T12:00:00.000217Z",
        "--format",
        "tsv",
    ]);
    let (_, rows) = parse_csv(&ok_stdout(&output), b'\t', false);
    let expected = db_rows(
        &mut db,
        "sensor_name IN ('peaches', 'chips')
         AND \"timestamp\" >= '2026-03-28T10:00:00Z'
         AND \"timestamp\" < '2026-03-28T12:00:00.000217Z'",
    );
    assert!(expected.len() > 14_000);
    assert_same_rows(&rows, &expected);
    // The chips row at exactly --until (12:00:00.000217) is left out; peaches at --since is in.
    assert_eq!(rows[0].0, "peaches");
    assert_eq!(rows.last().unwrap().0, "peaches");

    // A glob and a LIKE pattern, epoch seconds.
    let output = db.run(&[
        "--match",
        "waf*",
        "--match",
        "temp%",
        "--until",
        "2026-03-28T01:00:00Z",
        "--epoch",
    ]);
    let (_, rows) = parse_csv(&ok_stdout(&output), b',', true);
    let expected = db_rows(
        &mut db,
        "(sensor_name LIKE 'waf%' OR sensor_name LIKE 'temp%')
         AND \"timestamp\" < '2026-03-28T01:00:00Z'",
    );
    assert_eq!(expected.len(), 7_200);
    assert_same_rows(&rows, &expected);
}

#[test]
fn time_zones_follow_the_database() {
    let mut db = history(95_000);
    for zone in ["Europe/Berlin", "America/St_Johns", "UTC"] {
        // Across the switch to summer time (01:00Z on 2026-03-29): +01:00 then +02:00.
        let output = db.run(&[
            "--tz",
            zone,
            "--sensor",
            "peaches",
            "--since",
            "2026-03-29T00:30:00Z",
            "--until",
            "2026-03-29T01:30:00Z",
        ]);
        let stdout = String::from_utf8(ok_stdout(&output)).unwrap();
        let ours: Vec<&str> = stdout
            .lines()
            .skip(1)
            .map(|line| line.split(',').nth(1).unwrap())
            .collect();
        db.exec(&format!("SET TIME ZONE '{zone}'"));
        let theirs: Vec<String> = db
            .client
            .query(
                &format!(
                    "SELECT to_char(\"timestamp\", 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM')
                     FROM {} WHERE sensor_name = 'peaches'
                     AND \"timestamp\" >= '2026-03-29T00:30:00Z'
                     AND \"timestamp\" < '2026-03-29T01:30:00Z' ORDER BY \"timestamp\"",
                    db.sql_table()
                ),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        db.exec("SET TIME ZONE 'UTC'");
        assert_eq!(ours.len(), 3_600, "{zone}");
        assert_eq!(ours, theirs, "{zone}");
    }
    // A time without offset is read in --tz: 01:00 in Berlin is 00:00Z.
    let output = db.run(&[
        "--tz",
        "Europe/Berlin",
        "--sensor",
        "chips",
        "--since",
        "2026-03-29 01:00",
        "--until",
        "2026-03-29 01:00:02",
    ]);
    let stdout = String::from_utf8(ok_stdout(&output)).unwrap();
    let times: Vec<i64> = stdout
        .lines()
        .skip(1)
        .map(|line| micros_of(line.split(',').nth(1).unwrap()))
        .collect();
    assert_eq!(times.len(), 2);
    assert_eq!(
        times[0] / 1_000_000,
        micros_of("2026-03-29T00:00:00Z") / 1_000_000
    );
}

/// The timestamp column of a CSV export, without the header.
fn csv_times(output: &std::process::Output) -> Vec<String> {
    let stdout = String::from_utf8(ok_stdout(output)).unwrap();
    stdout
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn iso_offsets_are_east_of_utc_and_posix_zones_are_refused() {
    let mut db = TestDb::new();
    db.exec(
        "INSERT INTO {table} VALUES ('peaches', '2026-12-07T00:19:00Z', 1, NULL),
         ('peaches', '2026-12-06T23:00:00Z', 2, NULL), ('peaches', '2026-12-07T03:00:00Z', 3, NULL)",
    );
    let all = [
        "--since",
        "2026-12-01T00:00:00Z",
        "--until",
        "2026-12-08T00:00:00Z",
    ];
    for (zone, expected) in [
        (
            "+02:00",
            [
                "2026-12-07T01:00:00.000000+02:00",
                "2026-12-07T02:19:00.000000+02:00",
                "2026-12-07T05:00:00.000000+02:00",
            ],
        ),
        (
            "-05:30",
            [
                "2026-12-06T17:30:00.000000-05:30",
                "2026-12-06T18:49:00.000000-05:30",
                "2026-12-06T21:30:00.000000-05:30",
            ],
        ),
        (
            "Europe/Berlin",
            [
                "2026-12-07T00:00:00.000000+01:00",
                "2026-12-07T01:19:00.000000+01:00",
                "2026-12-07T04:00:00.000000+01:00",
            ],
        ),
        (
            "UTC",
            [
                "2026-12-06T23:00:00.000000+00:00",
                "2026-12-07T00:19:00.000000+00:00",
                "2026-12-07T03:00:00.000000+00:00",
            ],
        ),
    ] {
        let output = db.run(&[&["--tz", zone][..], &all].concat());
        assert_eq!(csv_times(&output), expected, "--tz {zone}");
    }
    // Local times in --since/--until are read in --tz: 02:00..05:00 at +02:00 is 00:00Z..03:00Z.
    let output = db.run(&[
        "--tz",
        "+02:00",
        "--since",
        "2026-12-07 02:00",
        "--until",
        "2026-12-07 05:00",
    ]);
    assert_eq!(csv_times(&output), ["2026-12-07T02:19:00.000000+02:00"]);
    // 18:00..19:00 at -05:30 is 23:30Z..00:30Z.
    let output = db.run(&[
        "--tz",
        "-05:30",
        "--since",
        "2026-12-06T18:00",
        "--until",
        "2026-12-06T19:00",
    ]);
    assert_eq!(csv_times(&output), ["2026-12-06T18:49:00.000000-05:30"]);
    // POSIX-style zones count west: refused with a hint, never flipped.
    for zone in ["UTC+2", "Etc/GMT+2", "CET-1"] {
        let output = db.run(&[&["--tz", zone][..], &all].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "--tz {zone}: {stderr}");
        assert!(stderr.contains("+02:00 for UTC+2"), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn special_values_and_awkward_names_survive() {
    let mut db = TestDb::new();
    db.exec(
        "INSERT INTO {table} VALUES
           ('a,b', '2026-01-01T00:00:00Z', 'NaN', 'Infinity'),
           ('quote\"d', '2026-01-01T00:00:01Z', '-Infinity', NULL),
           ('new\nline', '2026-01-01T00:00:02Z', '-0', 0.1),
           ('tab\there', '2026-01-01T00:00:03Z', 1e-300, 1.7976931348623157e308),
           ('ünïcödé ✓', '2026-01-01T00:00:04Z', 4.9e-324, -123456789.125),
           ('back\\slash''', '2026-01-01T00:00:05Z', 1, 2)",
    );
    let expected = db_rows(&mut db, "true");
    for format in ["csv", "tsv"] {
        let output = db.run(&["--format", format]);
        let delimiter = if format == "csv" { b',' } else { b'\t' };
        let (_, rows) = parse_csv(&ok_stdout(&output), delimiter, false);
        assert_same_rows(&rows, &expected);
    }
    let output = db.run(&["--format", "jsonl", "--epoch"]);
    let rows: Vec<DbRow> = String::from_utf8(ok_stdout(&output))
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let seconds = v["timestamp"].as_f64().unwrap();
            (
                v["sensor_name"].as_str().unwrap().to_string(),
                (seconds * 1e6).round() as i64,
                json_value(&v["value_raw"]),
                json_value(&v["value_cal"]),
            )
        })
        .collect();
    assert_same_rows(&rows, &expected);
    // A sensor name with a quote and a backslash works with --sensor too.
    let output = db.run(&["--sensor", "back\\slash'", "--no-header"]);
    assert_eq!(
        String::from_utf8(ok_stdout(&output)).unwrap(),
        "back\\slash',2026-01-01T00:00:05.000000Z,1.0,2.0\n"
    );
}
