//! Incremental exports (`--state`): runs with inserts between them, including rows that arrive
//! late with the same timestamp as the last exported one and exact duplicates, together give
//! every row once — no gap, no repeat.

#[path = "export_support.rs"]
mod support;

use std::collections::BTreeMap;
use support::*;

type Key = (String, i64, u64, Option<u64>);

fn key(sensor: &str, micros: i64, raw: Option<f64>, cal: Option<f64>) -> Key {
    (
        sensor.to_string(),
        micros,
        raw.expect("value_raw is never empty").to_bits(),
        cal.map(f64::to_bits),
    )
}

fn exported(output: &std::process::Output) -> Vec<Key> {
    String::from_utf8(ok_stdout(output))
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            key(f[0], micros_of(f[1]), csv_value(f[2]), csv_value(f[3]))
        })
        .collect()
}

fn all_rows(db: &mut TestDb, until: &str) -> Vec<Key> {
    let sql = format!(
        "SELECT sensor_name, (extract(epoch FROM \"timestamp\") * 1000000)::int8, value_raw, value_cal
         FROM {} WHERE \"timestamp\" < '{until}'",
        db.sql_table()
    );
    let mut rows: Vec<Key> = db
        .client
        .query(&sql, &[])
        .unwrap()
        .iter()
        .map(|r| key(r.get(0), r.get(1), Some(r.get(2)), r.get(3)))
        .collect();
    rows.sort();
    rows
}

/// Timestamp text for µs since the epoch.
fn at(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

#[test]
fn runs_with_inserts_between_them_give_each_row_once() {
    let mut db = TestDb::new();
    let dir = tempfile_dir();
    let state = dir.join("rows.state");
    let state_arg = state.to_str().unwrap();
    let base = micros_of("2026-11-25T00:00:00Z");
    // Round 0: 3 sensors × 2000 s, plus rows beyond the first --until.
    db.exec(
        "INSERT INTO {table} SELECT s, timestamptz '2026-11-25 00:00:00+00' + i * interval '1 second',
                i + 0.25, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 2.0 END
         FROM generate_series(0, 2999) i, unnest(ARRAY['a', 'b', 'c']) s",
    );
    let mut got: Vec<Key> = Vec::new();
    let mut until = base + 1_000 * 1_000_000;
    for round in 0..6i64 {
        let output = db.run(&["--state", state_arg, "--until", &at(until), "--no-header"]);
        let rows = exported(&output);
        assert!(!rows.is_empty(), "round {round} exported nothing");
        let last = rows.last().unwrap().1;
        got.extend(rows);
        // Late arrivals at exactly the last exported timestamp: an exact duplicate of a row
        // already exported, a new sensor, a new value; and more rows later on.
        let t = at(last);
        db.exec(&format!(
            "INSERT INTO {{table}} SELECT sensor_name, \"timestamp\", value_raw, value_cal
                 FROM {{table}} WHERE \"timestamp\" = '{t}' LIMIT 1;
             INSERT INTO {{table}} VALUES ('late_{round}', '{t}', {round}, NULL),
                                          ('a', '{t}', -1e9, {round}),
                                          ('d', '{t}'::timestamptz + interval '1 microsecond', 1, 1);"
        ));
        until += 350 * 1_000_000 + round * 777;
    }
    // A run with nothing new exports nothing and keeps the state usable.
    let final_until = at(until);
    let output = db.run(&["--state", state_arg, "--until", &final_until, "--no-header"]);
    got.extend(exported(&output));
    let output = db.run(&[
        "--state",
        state_arg,
        "--until",
        &final_until,
        "--no-header",
        "--fail-if-empty",
    ]);
    assert_eq!(output.status.code(), Some(2), "nothing left to export");
    assert!(output.stdout.is_empty());

    got.sort();
    let expected = all_rows(&mut db, &final_until);
    let repeats = got.windows(2).filter(|w| w[0] == w[1]).count();
    let duplicates_in_db = expected.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(
        repeats, duplicates_in_db,
        "only true duplicates appear twice"
    );
    assert_eq!(got.len(), expected.len(), "no gap, no repeat");
    assert_eq!(got, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bucket_runs_export_each_whole_bucket_once() {
    let mut db = TestDb::new();
    let dir = tempfile_dir();
    let state = dir.join("buckets.state");
    let state_arg = state.to_str().unwrap();
    db.exec(
        "INSERT INTO {table} SELECT s, timestamptz '2026-11-25 00:00:00+00' + i * interval '1.5 seconds',
                i, NULL
         FROM generate_series(0, 11999) i, unnest(ARRAY['x', 'y']) s",
    );
    let mut seen: BTreeMap<(String, String), i64> = BTreeMap::new();
    for until in [
        "2026-11-25T00:30:30Z",
        "2026-11-25T01:10:59.999999Z",
        "2026-11-25T01:11:00Z",
        "2026-11-25T04:00:00Z",
        "2026-11-25T02:00:00Z", // an earlier --until must not re-open buckets
        "2026-11-25T05:00:00Z",
    ] {
        let output = db.run(&[
            "--state",
            state_arg,
            "--until",
            until,
            "--every",
            "1m",
            "--agg",
            "count",
            "--no-header",
        ]);
        for line in String::from_utf8(ok_stdout(&output)).unwrap().lines() {
            let f: Vec<&str> = line.split(',').collect();
            let bucket = micros_of(f[1]);
            assert!(
                bucket + 60_000_000 <= micros_of(until),
                "whole buckets only: {line}"
            );
            let previous = seen.insert((f[0].into(), f[1].into()), f[2].parse().unwrap());
            assert!(previous.is_none(), "bucket exported twice: {line}");
        }
    }
    let expected: i64 = db
        .client
        .query_one(
            &format!(
                "SELECT count(*) FROM {} WHERE \"timestamp\" < '2026-11-25T05:00:00Z'",
                db.sql_table()
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        seen.len(),
        2 * 300,
        "5 hours of 1-minute buckets for 2 sensors"
    );
    assert_eq!(
        seen.values().sum::<i64>(),
        expected,
        "every row counted once"
    );
    // A different width does not continue this state.
    let output = db.run(&["--state", state_arg, "--every", "5m"]);
    assert_eq!(output.status.code(), Some(65));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(dripline_e2e::unique_name("export_incremental"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
