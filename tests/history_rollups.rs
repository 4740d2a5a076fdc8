//! Rollups (issue 15): the 1-minute and 1-hour rollups equal `date_bin` aggregates over the raw
//! rows after alerts stored by the real logger in random order, late, with redeliveries and
//! same-time duplicates; `dl-export --every` gives the same bytes from rollups as from raw rows
//! (`--no-rollup`), also while some minutes are still dirty; rows that predate the rollups are
//! backfilled, also in a partitioned table. The real PostgreSQL, one schema per test.

#[path = "export_support.rs"]
mod export_support;

use dripline_e2e::{binary, without_env_settings};
use export_support::{pg_url, TestDb};
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A small deterministic generator (xorshift), seeded per test and printed, so a failure can be
/// replayed.
struct Random(u64);

impl Random {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        eprintln!("random seed {seed}");
        Random(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// Alerts as `dl-log-to-pg --stdin` lines: `sensors` sensors over `minutes` minutes from
/// 2026-11-30T22:00:00Z (so across an hour and a day), a few values per minute with some
/// `value_cal` missing, some pairs at the very same time with different ids, values that make
/// ties for first/last. Each line has its own message id.
fn alert_lines(random: &mut Random, sensors: u32, minutes: u32) -> Vec<String> {
    alert_lines_from(random, "2026-11-30T22:00:00Z", sensors, minutes)
}

/// [`alert_lines`] from `start` (RFC 3339).
fn alert_lines_from(random: &mut Random, start: &str, sensors: u32, minutes: u32) -> Vec<String> {
    let start = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    let mut lines = Vec::new();
    for sensor in 0..sensors {
        for minute in 0..minutes {
            for _ in 0..random.below(4) {
                let micros = minute as i64 * 60_000_000 + random.below(60_000_000) as i64;
                let at = start + chrono::Duration::microseconds(micros);
                let copies = if random.below(10) == 0 { 2 } else { 1 };
                for _ in 0..copies {
                    let raw = random.below(1000) as f64 / 8.0 - 40.0;
                    let cal = match random.below(4) {
                        0 => "null".to_string(),
                        _ => format!("{}", random.below(100) as f64 / 3.0),
                    };
                    lines.push(format!(
                        "{{\"routing_key\":\"sensor_value.s{sensor}\",\"timestamp\":\"{}\",\"message_id\":\"{}\",\"payload\":{{\"value_raw\":{raw},\"value_cal\":{cal}}}}}",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        uuid::Uuid::new_v4()
                    ));
                }
            }
        }
    }
    lines
}

/// Store `lines` through `dl-log-to-pg --stdin` (small batches, so that one load is several
/// transactions), and check it succeeded.
fn log_lines(db: &TestDb, lines: &[String]) {
    log_lines_with(db, lines, &[]);
}

/// [`log_lines`] with more flags for the logger.
fn log_lines_with(db: &TestDb, lines: &[String], flags: &[&str]) {
    let mut logger = RunningLogger::start(db, flags);
    logger.send(lines);
    logger.finish();
}

/// `dl-history` with `args` for `db`'s table, which must succeed.
fn history_ok(db: &TestDb, args: &[&str]) {
    let output = without_env_settings(Command::new(binary("dl-history")))
        .args(args)
        .args(["--pg-url", &pg_url(), "--table", &db.table_arg()])
        .stdin(Stdio::null())
        .output()
        .expect("dl-history");
    assert!(
        output.status.success(),
        "dl-history {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `dl-history rollup` for `db`'s table, with `args`.
fn rollup(db: &TestDb, args: &[&str]) -> Output {
    without_env_settings(Command::new(binary("dl-history")))
        .args(["rollup", "--pg-url", &pg_url(), "--table", &db.table_arg()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("dl-history")
}

fn rollup_ok(db: &TestDb, args: &[&str]) -> serde_json::Value {
    let output = rollup(db, args);
    assert!(
        output.status.success(),
        "dl-history rollup: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

fn count(db: &mut TestDb, sql: &str) -> i64 {
    let sql = sql
        .replace("{table}", &db.sql_table())
        .replace("{schema}", &db.schema);
    db.client
        .query_one(sql.as_str(), &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Rows of the `suffix` rollup (`_1m`, `_1h`) that differ from `date_bin` aggregates over the
/// raw rows computed here independently, in both directions.
fn rollup_differences(db: &mut TestDb, suffix: &str, width: &str) -> i64 {
    let rollup = format!("\"{}\".\"numeric_data{suffix}\"", db.schema);
    let e = "extract(epoch FROM \"timestamp\")::float8";
    let expected = format!(
        "SELECT sensor_name, date_bin('{width}', \"timestamp\", timestamptz 'epoch') AS bucket,
                count(*) AS count, count(value_cal) AS count_cal,
                sum(value_raw::numeric) AS sum_raw, sum(value_cal::numeric) AS sum_cal,
                min(value_raw) AS min_raw, max(value_raw) AS max_raw,
                min(value_cal) AS min_cal, max(value_cal) AS max_cal,
                (min(ARRAY[{e}, value_raw]))[2] AS first_raw, (min(ARRAY[{e}, value_cal]))[2] AS first_cal,
                (max(ARRAY[{e}, value_raw]))[2] AS last_raw, (max(ARRAY[{e}, value_cal]))[2] AS last_cal
         FROM {{table}} GROUP BY 1, 2"
    );
    let columns = "sensor_name, bucket, count, count_cal, sum_raw, sum_cal, min_raw, max_raw, min_cal, max_cal, first_raw, first_cal, last_raw, last_cal";
    count(
        db,
        &format!(
            "SELECT count(*) FROM ((SELECT {columns} FROM {rollup} EXCEPT ALL {expected})
             UNION ALL ({expected} EXCEPT ALL SELECT {columns} FROM {rollup})) d"
        ),
    )
}

fn assert_rollups_match_raw(db: &mut TestDb) {
    assert!(count(db, "SELECT count(*) FROM {table}") > 0);
    assert_eq!(
        rollup_differences(db, "_1m", "1 minute"),
        0,
        "1-minute rollup"
    );
    assert_eq!(rollup_differences(db, "_1h", "1 hour"), 0, "1-hour rollup");
}

#[test]
fn rollups_equal_date_bin_aggregates_after_random_order_late_and_redelivered_alerts() {
    let mut random = Random::new();
    let mut db = TestDb::new(); // init_schema made the rollups
    let mut lines = alert_lines(&mut random, 3, 150);
    random.shuffle(&mut lines);
    let third = lines.len() / 3;
    // A third, rolled up; then the rest in random order (late rows for rolled-up minutes),
    // with a quarter of the first third delivered again.
    log_lines(&db, &lines[..third]);
    rollup_ok(&db, &[]);
    assert_rollups_match_raw(&mut db);
    let mut rest: Vec<String> = lines[third..].to_vec();
    rest.extend(lines[..third / 4].iter().cloned());
    random.shuffle(&mut rest);
    let half = rest.len() / 2;
    log_lines(&db, &rest[..half]);
    log_lines(&db, &rest[half..]);
    let report = rollup_ok(&db, &[]);
    assert!(report["minutes"].as_u64().unwrap() > 0, "{report}");
    // Redelivered only: no new row, the counts stay.
    log_lines(&db, &lines[..third / 2]);
    rollup_ok(&db, &[]);
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM {table}"),
        lines.len() as i64
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT sum(count)::int8 FROM \"{schema}\".numeric_data_1h"
        ),
        lines.len() as i64
    );
    assert_rollups_match_raw(&mut db);
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM \"{schema}\".numeric_data_rollup_dirty"
        ),
        0
    );
}

/// Run `dl-export` with `args`, with and without `--no-rollup`: the bytes must be the same.
/// Returns whether the plan read a rollup table.
fn export_same_both_ways(db: &TestDb, args: &[&str]) -> bool {
    let with = export_support::ok_stdout(&db.run(args));
    let mut raw_args = args.to_vec();
    raw_args.push("--no-rollup");
    let without = export_support::ok_stdout(&db.run(&raw_args));
    assert!(
        with.len() > 40,
        "{args:?}: {}",
        String::from_utf8_lossy(&with)
    );
    assert_eq!(
        String::from_utf8_lossy(&with),
        String::from_utf8_lossy(&without),
        "{args:?}"
    );
    let mut plan_args = args.to_vec();
    plan_args.push("--print-query");
    let plan = String::from_utf8(export_support::ok_stdout(&db.run(&plan_args))).unwrap();
    plan.contains("numeric_data_1m") || plan.contains("numeric_data_1h")
}

#[test]
fn export_from_rollups_equals_export_from_raw_rows() {
    let mut random = Random::new();
    let db = TestDb::new();
    let mut lines = alert_lines(&mut random, 3, 200);
    random.shuffle(&mut lines);
    let split = lines.len() * 4 / 5;
    log_lines(&db, &lines[..split]);
    rollup_ok(&db, &[]);
    let all = "mean,min,max,first,last,count";
    let cases: [&[&str]; 5] = [
        &[
            "--since",
            "2026-11-30T00:00:00Z",
            "--every",
            "1h",
            "--agg",
            all,
        ],
        &[
            "--since",
            "2026-11-30T22:17:31.5Z",
            "--until",
            "2026-12-01T01:03:00Z",
            "--every",
            "15m",
            "--agg",
            all,
            "--value",
            "cal",
        ],
        &[
            "--since",
            "2026-11-30T21:00:00Z",
            "--every",
            "2h",
            "--agg",
            "mean,last",
            "--format",
            "jsonl",
        ],
        &[
            "--since",
            "2026-11-30T22:00:00Z",
            "--every",
            "1m",
            "--agg",
            all,
            "--sensor",
            "s1",
        ],
        &[
            "--since",
            "2026-11-30T22:30:00Z",
            "--every",
            "1h",
            "--agg",
            "first,count",
            "--match",
            "s*",
            "--wide",
        ],
    ];
    for case in cases {
        assert!(export_same_both_ways(&db, case), "{case:?} read no rollup");
    }
    // Widths the rollups cannot give read raw rows only.
    assert!(!export_same_both_ways(
        &db,
        &[
            "--since",
            "2026-11-30T00:00:00Z",
            "--every",
            "90s",
            "--agg",
            all
        ]
    ));
    // Late rows not rolled up yet: the dirty minutes and after come from raw rows, and the
    // answer is still the same.
    log_lines(&db, &lines[split..]);
    for case in cases {
        export_same_both_ways(&db, case);
    }
}

/// Drop `db`'s numeric table and its rollups (to make them another way).
fn drop_numeric_tables(db: &mut TestDb) {
    let schema = db.schema.clone();
    db.exec(&format!(
        "DROP TABLE {{table}} CASCADE;
         DROP TABLE \"{schema}\".numeric_data_1m, \"{schema}\".numeric_data_1h,
             \"{schema}\".numeric_data_rollup_dirty, \"{schema}\".numeric_data_rollup_state;"
    ));
}

#[test]
fn rows_older_than_the_rollups_are_backfilled_in_a_partitioned_table_too() {
    let mut random = Random::new();
    let mut db = TestDb::new();
    // A partitioned table (two days and a default partition) in place of the plain one, rows
    // in it before the rollups exist.
    let schema = db.schema.clone();
    drop_numeric_tables(&mut db);
    db.exec(
        "CREATE TABLE {table} (sensor_name text COLLATE \"C\" NOT NULL,
             \"timestamp\" timestamptz NOT NULL, value_raw float8 NOT NULL, value_cal float8,
             message_id uuid, UNIQUE (sensor_name, \"timestamp\", message_id))
             PARTITION BY RANGE (\"timestamp\");",
    );
    let table = db.sql_table();
    db.exec(&format!(
        "CREATE TABLE \"{schema}\".p1 PARTITION OF {table} FOR VALUES FROM ('2026-11-30') TO ('2026-12-01');
         CREATE TABLE \"{schema}\".p2 PARTITION OF {table} FOR VALUES FROM ('2026-12-01') TO ('2026-12-02');
         CREATE TABLE \"{schema}\".pd PARTITION OF {table} DEFAULT;"
    ));
    let mut lines = alert_lines(&mut random, 2, 150);
    random.shuffle(&mut lines);
    let split = lines.len() / 2;
    log_lines(&db, &lines[..split]);
    // Without --init, a table without rollups is refused.
    let refused = rollup(&db, &[]);
    assert_eq!(refused.status.code(), Some(66), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--init"));
    let report = rollup_ok(&db, &["--init"]);
    assert!(report["backfill_chunks"].as_u64().unwrap() >= 1, "{report}");
    assert_rollups_match_raw(&mut db);
    // The trigger on the partitioned table marks what the logger writes into its partitions.
    log_lines(&db, &lines[split..]);
    assert!(
        count(
            &mut db,
            "SELECT count(*) FROM \"{schema}\".numeric_data_rollup_dirty"
        ) > 0
    );
    rollup_ok(&db, &[]);
    assert_rollups_match_raw(&mut db);
    // Sensors never seen before: one late into rolled-up minutes of the first partition, one
    // only in the default partition. The refresh reads sensor by sensor, and must find both.
    let mut newcomers: Vec<String> = alert_lines_from(&mut random, "2026-11-30T23:10:00Z", 1, 3)
        .into_iter()
        .map(|line| line.replace("sensor_value.s0", "sensor_value.late"))
        .chain(
            alert_lines_from(&mut random, "2026-12-05T10:00:00Z", 1, 3)
                .into_iter()
                .map(|line| line.replace("sensor_value.s0", "sensor_value.newcomer")),
        )
        .collect();
    newcomers.push(
        "{\"routing_key\":\"sensor_value.newcomer\",\"timestamp\":\"2026-12-05T09:59:59Z\",\"payload\":{\"value_raw\":1}}"
            .to_string(),
    );
    log_lines(&db, &newcomers);
    let report = rollup_ok(&db, &[]);
    assert!(report["minutes"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM \"{schema}\".pd WHERE sensor_name = 'newcomer'"
        ),
        count(
            &mut db,
            "SELECT coalesce(sum(count), 0)::int8 FROM \"{schema}\".numeric_data_1m
             WHERE sensor_name = 'newcomer' AND bucket >= '2026-12-02'"
        )
    );
    assert_rollups_match_raw(&mut db);
    // Raw rows of all sensors, and of a pattern, from a partitioned table: read sensor by
    // sensor (the sensors its partitions hold, the default's too), every row.
    for (args, sensors) in [
        (vec![], "TRUE"),
        (vec!["--match", "new*"], "sensor_name LIKE 'new%'"),
    ] {
        let mut export_args = vec!["--since", "2026-11-30T00:00:00Z", "--format", "csv"];
        export_args.extend(args);
        let csv = String::from_utf8(export_support::ok_stdout(&db.run(&export_args))).unwrap();
        assert_eq!(
            csv.lines().count() as i64 - 1,
            count(
                &mut db,
                &format!("SELECT count(*) FROM {{table}} WHERE {sensors}")
            ),
            "{export_args:?}"
        );
        let mut plan_args = export_args.clone();
        plan_args.push("--print-query");
        let plan = String::from_utf8(export_support::ok_stdout(&db.run(&plan_args))).unwrap();
        assert!(plan.contains("'newcomer'"), "{plan}");
    }
    assert!(export_same_both_ways(
        &db,
        &[
            "--since",
            "2026-11-30T00:00:00Z",
            "--every",
            "1h",
            "--agg",
            "mean,first,last,count"
        ]
    ));
    // A partitioned table of someone else's, with no index on sensor_name: listing its
    // sensors would scan it once per sensor, so the export reads it as it is.
    db.exec(&format!(
        "CREATE TABLE \"{schema}\".bare (sensor_name text NOT NULL, \"timestamp\" timestamptz NOT NULL,
             value_raw float8 NOT NULL, value_cal float8) PARTITION BY RANGE (\"timestamp\");
         CREATE TABLE \"{schema}\".bare_all PARTITION OF \"{schema}\".bare DEFAULT;
         INSERT INTO \"{schema}\".bare VALUES ('a', '2026-12-01', 1, NULL), ('b', '2026-12-01', 2, 3);"
    ));
    let bare = format!("{schema}.bare");
    let plan = String::from_utf8(export_support::ok_stdout(
        &without_env_settings(Command::new(binary("dl-export")))
            .args(["--pg-url", &pg_url(), "--table", &bare])
            .args(["--since", "2026-11-30T00:00:00Z", "--print-query"])
            .output()
            .expect("dl-export"),
    ))
    .unwrap();
    assert!(!plan.contains("sensor_name IN"), "{plan}");
}

/// A logger kept running on a pipe, so that the table can change under it.
struct RunningLogger {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
}

impl RunningLogger {
    /// `dl-log-to-pg --stdin` in small batches (so that one load is several transactions).
    fn start(db: &TestDb, flags: &[&str]) -> Self {
        let mut child = without_env_settings(Command::new(binary("dl-log-to-pg")))
            .args(["--stdin", "--batch-size", "97", "--batch-time", "50ms"])
            .args(["--pg-url", &pg_url(), "--table", &db.table_arg(), "-q"])
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dl-log-to-pg");
        let stdin = child.stdin.take().expect("stdin");
        RunningLogger { child, stdin }
    }

    fn send(&mut self, lines: &[String]) {
        self.stdin
            .write_all((lines.join("\n") + "\n").as_bytes())
            .expect("writing to the logger");
        self.stdin.flush().expect("flushing");
    }

    /// Send `lines` and wait until the table holds `rows` rows.
    fn store(&mut self, db: &mut TestDb, lines: &[String], rows: i64) {
        self.send(lines);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while count(db, "SELECT count(*) FROM {table}") < rows {
            assert!(
                std::time::Instant::now() < deadline,
                "the logger did not store {rows} rows"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn finish(self) {
        drop(self.stdin);
        let output = self.child.wait_with_output().expect("dl-log-to-pg");
        assert!(
            output.status.success(),
            "dl-log-to-pg: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_logger_writes_into_its_partitions_marks_them_and_goes_through_the_table_when_they_change() {
    let mut random = Random::new();
    let mut db = TestDb::new();
    let schema = db.schema.clone();
    // Our layout by day in place of the plain tables.
    drop_numeric_tables(&mut db);
    db.exec(&format!("DROP TABLE \"{schema}\".json_data"));
    let mut lines = alert_lines(&mut random, 3, 150);
    random.shuffle(&mut lines);
    let quarter = lines.len() / 4;
    // No partitions for these days yet: the default partition takes them (the trigger marks).
    log_lines_with(
        &db,
        &lines[..quarter],
        &["--init-schema", "--partition", "day"],
    );
    rollup_ok(&db, &[]);
    assert_rollups_match_raw(&mut db);
    // dl-history makes their days' partitions and moves the rows in; the logger then writes
    // into the partitions itself and marks their minutes: the rollups must see the new rows,
    // late ones for rolled-up minutes among them, and redelivered ones counted once.
    history_ok(&db, &["partitions", "--ahead", "1"]);
    for day in ["20261130", "20261201"] {
        assert!(
            count(
                &mut db,
                &format!("SELECT count(*) FROM \"{schema}\".numeric_data_p{day}")
            ) > 0,
            "no rows in the partition of {day}"
        );
    }
    let mut rest = lines[quarter..].to_vec();
    rest.extend(lines[..quarter / 2].iter().cloned());
    random.shuffle(&mut rest);
    log_lines(&db, &rest);
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM \"{schema}\".numeric_data_default"
        ),
        0
    );
    rollup_ok(&db, &[]);
    assert_rollups_match_raw(&mut db);

    // Partitions that change under a running logger: one detached (rows written into it would
    // leave the table), one dropped. Their rows go through the table, into the default.
    let table = db.sql_table();
    db.exec(&format!(
        "CREATE TABLE \"{schema}\".numeric_data_p20261203 PARTITION OF {table} FOR VALUES FROM ('2026-12-03') TO ('2026-12-04');
         CREATE TABLE \"{schema}\".numeric_data_p20261204 PARTITION OF {table} FOR VALUES FROM ('2026-12-04') TO ('2026-12-05');"
    ));
    let mut logger = RunningLogger::start(&db, &[]);
    let mut rows = lines.len() as i64;
    let warm_up = alert_lines_from(&mut random, "2026-12-01T01:00:00Z", 2, 5);
    rows += warm_up.len() as i64;
    logger.store(&mut db, &warm_up, rows);
    db.exec(&format!(
        "ALTER TABLE {table} DETACH PARTITION \"{schema}\".numeric_data_p20261203;
         DROP TABLE \"{schema}\".numeric_data_p20261204;"
    ));
    // One after the other, so that each is a batch of its own.
    let detached = alert_lines_from(&mut random, "2026-12-03T12:00:00Z", 2, 5);
    rows += detached.len() as i64;
    logger.store(&mut db, &detached, rows);
    let dropped = alert_lines_from(&mut random, "2026-12-04T12:00:00Z", 2, 5);
    rows += dropped.len() as i64;
    logger.store(&mut db, &dropped, rows);
    logger.finish();
    let changed = [detached, dropped].concat();
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM \"{schema}\".numeric_data_p20261203"
        ),
        0,
        "rows went into the detached partition"
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM \"{schema}\".numeric_data_default"
        ),
        changed.len() as i64
    );
    rollup_ok(&db, &[]);
    assert_rollups_match_raw(&mut db);
}
