//! Downsampling (`--every`, `--agg`) and the wide layout, checked against aggregates the
//! database computes independently (`date_bin`, `array_agg … ORDER BY`).

#[path = "export_support.rs"]
mod support;

use std::collections::BTreeMap;
use support::*;

/// 3 sensors at irregular times (every 0.737 s, shifted per sensor) for ~10 hours, value_cal
/// NULL for one row in five, and a 40-minute gap in `chips`.
fn history() -> TestDb {
    let mut db = TestDb::new();
    db.exec(
        "INSERT INTO {table} (sensor_name, \"timestamp\", value_raw, value_cal)
         SELECT s.name,
                timestamptz '2026-11-25 00:00:00+00' + (i * 737 + s.k * 101) * interval '1 millisecond',
                ((i * 7919 + s.k * 31) % 1000) / 7.0,
                CASE WHEN i % 5 = 0 THEN NULL ELSE cos(i + s.k) END
         FROM generate_series(0, 49999) AS i,
              (VALUES ('peaches', 0), ('chips', 1), ('waffles', 2)) AS s(name, k);
         DELETE FROM {table} WHERE sensor_name = 'chips'
             AND \"timestamp\" >= '2026-11-25 03:00:00+00' AND \"timestamp\" < '2026-11-25 03:40:00+00';",
    );
    db
}

/// Per (sensor, bucket start µs): [count, mean, min, max, first, last] of `column`, computed with
/// date_bin and ordered arrays.
fn reference(
    db: &mut TestDb,
    width: &str,
    column: &str,
    condition: &str,
) -> BTreeMap<(String, i64), [Option<f64>; 6]> {
    let sql = format!(
        "SELECT sensor_name,
                (extract(epoch FROM date_bin('{width}', \"timestamp\", timestamptz 'epoch')) * 1000000)::int8,
                count(*)::float8, avg({column}), min({column}), max({column}),
                (array_agg({column} ORDER BY \"timestamp\"))[1],
                (array_agg({column} ORDER BY \"timestamp\" DESC))[1]
         FROM {} WHERE {condition} GROUP BY 1, 2",
        db.sql_table()
    );
    db.client
        .query(&sql, &[])
        .expect("reference aggregates")
        .iter()
        .map(|r| {
            (
                (r.get::<_, String>(0), r.get::<_, i64>(1)),
                [r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7)],
            )
        })
        .collect()
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        (None, None) => true,
        _ => false,
    }
}

fn jsonl(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8(ok_stdout(output))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn every_aggregate_matches_independent_sql() {
    let mut db = history();
    for (every, width) in [("1m", "1 minute"), ("7s", "7 seconds"), ("1h", "1 hour")] {
        let output = db.run(&[
            "--every",
            every,
            "--agg",
            "mean,min,max,first,last,count",
            "--format",
            "jsonl",
        ]);
        let rows = jsonl(&output);
        let raw = reference(&mut db, width, "value_raw", "true");
        let cal = reference(&mut db, width, "value_cal", "true");
        assert_eq!(rows.len(), raw.len(), "--every {every}: bucket count");
        let mut previous: Option<(i64, String)> = None;
        for row in &rows {
            let sensor = row["sensor_name"].as_str().unwrap().to_string();
            let bucket = micros_of(row["timestamp"].as_str().unwrap());
            // Ordered by bucket, then sensor.
            let key = (bucket, sensor.clone());
            assert!(
                previous.as_ref().is_none_or(|p| *p < key),
                "order at {key:?}"
            );
            previous = Some(key);
            let expected_raw = raw[&(sensor.clone(), bucket)];
            let expected_cal = cal[&(sensor.clone(), bucket)];
            assert_eq!(
                row["count"].as_f64(),
                expected_raw[0],
                "{every} {sensor} {bucket}"
            );
            for (i, aggregate) in ["mean", "min", "max", "first", "last"].iter().enumerate() {
                for (column, expected) in [("value_raw", expected_raw), ("value_cal", expected_cal)]
                {
                    let got = json_value(&row[format!("{column}_{aggregate}").as_str()]);
                    assert!(
                        close(got, expected[i + 1]),
                        "--every {every} {sensor} {bucket} {column}_{aggregate}: {got:?} vs {:?}",
                        expected[i + 1]
                    );
                }
            }
        }
    }
}

#[test]
fn buckets_respect_sensor_and_range_filters() {
    let mut db = history();
    let output = db.run(&[
        "--every",
        "15m",
        "--agg",
        "count,max",
        "--value",
        "raw",
        "--sensor",
        "waffles",
        "--since",
        "2026-11-25T01:07:00Z",
        "--until",
        "2026-11-25T05:00:00Z",
    ]);
    let text = String::from_utf8(ok_stdout(&output)).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("sensor_name,timestamp,count,value_raw_max")
    );
    let expected = reference(
        &mut db,
        "15 minutes",
        "value_raw",
        "sensor_name = 'waffles' AND \"timestamp\" >= '2026-11-25T01:07:00Z'
         AND \"timestamp\" < '2026-11-25T05:00:00Z'",
    );
    let got: Vec<&str> = lines.collect();
    assert_eq!(got.len(), expected.len());
    // The first bucket starts at 01:00 (aligned) but counts only rows from 01:07 on.
    assert!(got[0].starts_with("waffles,2026-11-25T01:00:00.000000Z,"));
    for line in got {
        let fields: Vec<&str> = line.split(',').collect();
        let e = expected[&(fields[0].to_string(), micros_of(fields[1]))];
        assert_eq!(csv_value(fields[2]), e[0]);
        assert!(same_float(csv_value(fields[3]), e[3]));
    }
}

#[test]
fn wide_layout_pivots_and_fills() {
    let mut db = history();
    let expected = reference(&mut db, "10 minutes", "value_raw", "true");
    let mut buckets: BTreeMap<i64, BTreeMap<String, f64>> = BTreeMap::new();
    for ((sensor, bucket), values) in &expected {
        buckets
            .entry(*bucket)
            .or_default()
            .insert(sensor.clone(), values[3].unwrap());
    }
    let sensors = ["chips", "peaches", "waffles"];
    for fill in ["empty", "previous"] {
        let output = db.run(&[
            "--every", "10m", "--agg", "max", "--value", "raw", "--wide", "--fill", fill,
        ]);
        let text = String::from_utf8(ok_stdout(&output)).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("timestamp,chips,peaches,waffles"));
        let got: Vec<&str> = lines.collect();
        assert_eq!(got.len(), buckets.len(), "one line per bucket with data");
        let mut last: BTreeMap<&str, f64> = BTreeMap::new();
        let mut gaps = 0;
        for (line, (bucket, values)) in got.iter().zip(&buckets) {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(micros_of(fields[0]), *bucket);
            for (i, sensor) in sensors.iter().enumerate() {
                let cell = csv_value(fields[i + 1]);
                match values.get(*sensor) {
                    Some(v) => {
                        assert_eq!(cell, Some(*v));
                        last.insert(sensor, *v);
                    }
                    None => {
                        gaps += 1;
                        let want = if fill == "previous" {
                            last.get(sensor).copied()
                        } else {
                            None
                        };
                        assert_eq!(cell, want, "{fill}: {sensor} at {}", fields[0]);
                    }
                }
            }
        }
        assert_eq!(gaps, 4, "chips has a 40-minute gap: four 10-minute buckets");
    }
    // Several value columns per sensor are named <sensor>.<column>.
    let output = db.run(&[
        "--every",
        "1h",
        "--agg",
        "min,count",
        "--value",
        "cal",
        "--wide",
        "--format",
        "jsonl",
        "--sensor",
        "peaches",
    ]);
    let text = String::from_utf8(ok_stdout(&output)).unwrap();
    let first = text.lines().next().unwrap();
    let position = |key: &str| first.find(&format!("\"{key}\":")).expect(key);
    assert_eq!(position("timestamp"), 1, "{first}");
    assert!(
        position("peaches.value_cal_min") < position("peaches.count"),
        "{first}"
    );
    assert_eq!(jsonl(&output)[0].as_object().unwrap().len(), 3);
}
