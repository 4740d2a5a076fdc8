//! dl-history and `dl-log-to-pg --init-schema --partition` (issue 15) against the real
//! PostgreSQL and RabbitMQ: a partitioned table fed by the logger across a partition boundary
//! (rows in the right partitions, a time without a partition kept in the default partition and
//! moved out when its partition is made, a redelivered alert stored once); the in-place
//! migration of a plain table with the logger writing (no row lost, none twice); prune, dry run
//! and real, dropping only what the rollups cover; hostile flags. Each test has a schema of its
//! own (and its own queue and routing keys).

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use chrono::{DateTime, Duration, DurationRound, Utc};
use dripline_e2e::{
    binary, run, run_command, stderr_of, stdout_of, unique_name, wait_until, without_env_settings,
};
use dripline_store::postgres::{Client, NoTls};
use export_support::pg_url;
use log_support::{logger_args, numeric_alerts, publish, Logger, TestQueue, PATIENCE};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const BROKER_PORT: u16 = 5672;

/// A schema of the test's own, dropped at the end; tables are `<schema>.numeric_data` and
/// `<schema>.json_data`.
struct Schema {
    client: Client,
    name: String,
}

impl Schema {
    fn new() -> Self {
        let mut client = Client::connect(&pg_url(), NoTls).expect("test database");
        let name = unique_name("history_test");
        client
            .batch_execute(&format!("CREATE SCHEMA {name}; SET TIME ZONE 'UTC'"))
            .expect("create schema");
        Schema { client, name }
    }

    fn table(&self) -> String {
        format!("{}.numeric_data", self.name)
    }

    fn count(&mut self, sql: &str) -> i64 {
        let sql = sql.replace("{s}", &self.name);
        self.client
            .query_one(&sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    fn text(&mut self, sql: &str) -> Option<String> {
        let sql = sql.replace("{s}", &self.name);
        self.client
            .query_one(&sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    fn exec(&mut self, sql: &str) {
        let sql = sql.replace("{s}", &self.name);
        self.client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// `dl-history <command> --pg-url … --table <schema>.numeric_data args…`.
    fn history(&self, command: &str, args: &[&str]) -> Output {
        let (url, table) = (pg_url(), self.table());
        let mut process = without_env_settings(Command::new(binary("dl-history")));
        process
            .arg(command)
            .args(["--pg-url", &url, "--table", &table])
            .args(args);
        run_command(&mut process, None)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// The JSON lines of stdout.
fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout_of(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn status(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn day(time: DateTime<Utc>) -> String {
    time.format("%Y%m%d").to_string()
}

#[test]
fn the_logger_fills_day_partitions_across_a_boundary_and_the_default_catches_the_rest() {
    let mut db = Schema::new();
    let queue = TestQueue::new("history_queue", BROKER_PORT);
    let prefix = unique_name("history_value");
    let mut logger = Logger::start(&logger_args(
        &pg_url(),
        &db.table(),
        &queue,
        &prefix,
        &[
            "--init-schema",
            "--partition",
            "day",
            "--batch-time",
            "50ms",
        ],
    ));
    let today = Utc::now().duration_trunc(Duration::days(1)).unwrap();
    let tomorrow = today + Duration::days(1);
    let far = "2035-03-04T05:06:07Z";
    let just_before = (tomorrow - Duration::microseconds(1)).to_rfc3339();
    let lines = format!(
        "{{\"routing_key\":\"{prefix}.a\",\"payload\":{{\"value_raw\":1}},\"timestamp\":\"{just_before}\"}}\n\
         {{\"routing_key\":\"{prefix}.a\",\"payload\":{{\"value_raw\":2}},\"timestamp\":\"{}\"}}\n\
         {{\"routing_key\":\"{prefix}.a\",\"payload\":{{\"value_raw\":3}},\"timestamp\":\"{far}\"}}\n\
         {{\"routing_key\":\"{prefix}.b\",\"payload\":{{\"value_raw\":\"on\"}},\"timestamp\":\"{}\"}}\n",
        tomorrow.to_rfc3339(),
        tomorrow.to_rfc3339(),
    );
    publish(BROKER_PORT, &lines);
    assert!(
        wait_until(PATIENCE, || db.count(
            "SELECT (SELECT count(*) FROM {s}.numeric_data) + (SELECT count(*) FROM {s}.json_data)"
        ) == 4),
        "rows never arrived: {}",
        logger.stderr()
    );
    let partition_of = |db: &mut Schema, value: i32| {
        db.text(&format!(
            "SELECT string_agg(DISTINCT tableoid::regclass::text, ',')
             FROM {{s}}.numeric_data WHERE value_raw = {value}"
        ))
        .unwrap()
    };
    let s = db.name.clone();
    assert_eq!(
        partition_of(&mut db, 1),
        format!("{s}.numeric_data_p{}", day(today))
    );
    assert_eq!(
        partition_of(&mut db, 2),
        format!("{s}.numeric_data_p{}", day(tomorrow))
    );
    assert_eq!(
        partition_of(&mut db, 3),
        format!("{s}.numeric_data_default")
    );
    assert_eq!(
        db.text("SELECT tableoid::regclass::text FROM {s}.json_data"),
        Some(format!("{s}.json_data_p{}", day(tomorrow)))
    );
    assert_eq!(logger.metric("dead_lettered_total"), Some(0.0));
    logger.stop();

    // The same alerts again through stdin, twice: the key (which holds the partition key)
    // stores each once, whichever partition it is in.
    let stdin_lines = lines.replace(&format!("{prefix}."), "sensor_value.");
    for _ in 0..2 {
        let output = run(
            "dl-log-to-pg",
            &["--stdin", "--pg-url", &pg_url(), "--table", &db.table()],
            Some(&stdin_lines),
        );
        assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    }
    assert_eq!(db.count("SELECT count(*) FROM {s}.numeric_data"), 6);
    assert_eq!(db.count("SELECT count(*) FROM {s}.json_data"), 2);

    // Creating the partitions the default's rows need moves them there.
    let output = db.history("partitions", &["--ahead", "0"]);
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    let created = json_lines(&output);
    let moved: Vec<_> = created
        .iter()
        .filter(|line| line["created"] == format!("{s}.numeric_data_p20350304").as_str())
        .collect();
    assert_eq!(moved.len(), 1, "{created:?}");
    assert_eq!(moved[0]["moved_from_default"], 2, "{created:?}");
    assert_eq!(db.count("SELECT count(*) FROM {s}.numeric_data_default"), 0);
    assert_eq!(
        partition_of(&mut db, 3),
        format!("{s}.numeric_data_p20350304")
    );
    assert_eq!(
        db.count("SELECT count(*) FROM {s}.numeric_data_p20350304"),
        2
    );

    // The listing names every partition, the default last.
    let output = db.history("partitions", &[]);
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    let listed: Vec<String> = json_lines(&output)
        .iter()
        .filter(|line| line["table"] == db.table().as_str())
        .map(|line| line["partition"].as_str().unwrap().to_string())
        .collect();
    for name in [day(today), day(tomorrow), day(tomorrow + Duration::days(1))] {
        assert!(
            listed.contains(&format!("{s}.numeric_data_p{name}")),
            "{listed:?}"
        );
    }
    assert_eq!(listed.last().unwrap(), &format!("{s}.numeric_data_default"));
}

#[test]
fn migrate_with_the_logger_writing_loses_no_row_and_stores_none_twice() {
    let mut db = Schema::new();
    let tables = dripline_store::SensorTables::beside(dripline_store::TableName::qualified(
        &db.name,
        "numeric_data",
    ));
    dripline_store::init_schema_blocking(&mut db.client, &tables).expect("init_schema");
    const BEFORE: i64 = 100_000;
    db.exec(&format!(
        "INSERT INTO {{s}}.numeric_data
             SELECT 'old_' || (i % 20), now() - i * interval '1 minute', i, NULL, gen_random_uuid()
             FROM generate_series(1, {BEFORE}) i;
         INSERT INTO {{s}}.numeric_data VALUES ('ahead', '2031-01-01', 1, NULL, gen_random_uuid());
         INSERT INTO {{s}}.json_data
             SELECT 'old_json', now() - i * interval '1 hour', '\"x\"', gen_random_uuid()
             FROM generate_series(1, 100) i"
    ));
    // A statement-level trigger with a transition table, as the rollups' marker of dirty
    // minutes is: it must see every row inserted from now on, before, during and after the
    // swap.
    db.exec(
        "CREATE TABLE {s}.seen (n bigint);
         CREATE FUNCTION {s}.count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO {s}.seen SELECT count(*) FROM new_rows; RETURN NULL; END $$;
         CREATE TRIGGER count_rows AFTER INSERT ON {s}.numeric_data
             REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {s}.count_rows()",
    );
    let queue = TestQueue::new("history_queue", BROKER_PORT);
    let prefix = unique_name("history_migrate");
    let mut logger = Logger::start(&logger_args(
        &pg_url(),
        &db.table(),
        &queue,
        &prefix,
        &["--batch-time", "20ms"],
    ));
    // Alerts go on, 100 at a time, until the migration is over and one more lot went.
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (stop, prefix) = (stop.clone(), prefix.clone());
        std::thread::spawn(move || {
            let mut sent = 0;
            loop {
                let last = stop.load(Ordering::SeqCst);
                publish(BROKER_PORT, &numeric_alerts(&prefix, sent, 100));
                sent += 100;
                if last {
                    return sent as i64;
                }
            }
        })
    };
    let total = |db: &mut Schema| db.count("SELECT count(*) FROM {s}.numeric_data");
    assert!(
        wait_until(PATIENCE, || total(&mut db) > BEFORE + 1),
        "the logger wrote nothing: {}",
        logger.stderr()
    );
    let output = db.history("migrate", &["--partition", "day"]);
    stop.store(true, Ordering::SeqCst);
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    let sent = publisher.join().expect("publisher");
    let expected = BEFORE + 1 + sent;
    assert!(
        wait_until(PATIENCE, || total(&mut db) == expected),
        "{} rows, expected {expected}: {}",
        total(&mut db),
        logger.stderr()
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM (SELECT DISTINCT sensor_name, \"timestamp\", message_id
                                   FROM {s}.numeric_data) d"
        ),
        expected,
        "duplicates"
    );
    assert_eq!(
        logger.metric("dead_lettered_total"),
        Some(0.0),
        "{}",
        logger.stderr()
    );
    // Every alert stored, and the row ahead of the legacy range moved back in, was seen.
    assert_eq!(
        db.count("SELECT sum(n)::bigint FROM {s}.seen"),
        sent + 1,
        "rows inserted without the trigger seeing them"
    );
    // Partitioned now, the old table its legacy partition, the row far ahead in its own.
    for table in ["numeric_data", "json_data"] {
        assert_eq!(
            db.text(&format!(
                "SELECT relkind::text FROM pg_class WHERE oid = '{{s}}.{table}'::regclass"
            )),
            Some("p".to_string())
        );
        assert_eq!(
            db.text(&format!(
                "SELECT inhparent::regclass::text FROM pg_inherits
                 WHERE inhrelid = '{{s}}.{table}_legacy'::regclass"
            )),
            Some(format!("{}.{table}", db.name))
        );
    }
    // The key built beside the writers became the legacy partition's (not built again under
    // the lock). The partitioned table has no index on time (the logger would pay for it on
    // every row): the old table's BRIN index stays its own.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_inherits
             WHERE inhrelid = '{s}.numeric_data_legacy_sensor_time_message_id_key'::regclass"
        ),
        1
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_am a ON a.oid = c.relam
             WHERE i.indrelid = '{s}.numeric_data'::regclass AND a.amname = 'brin'"
        ),
        0
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_am a ON a.oid = c.relam
             WHERE i.indrelid = '{s}.numeric_data_legacy'::regclass AND a.amname = 'brin'"
        ),
        1
    );
    assert_eq!(db.count("SELECT count(*) FROM {s}.json_data"), 100);
    assert_eq!(
        db.text(
            "SELECT tableoid::regclass::text FROM {s}.numeric_data WHERE sensor_name = 'ahead'"
        ),
        Some(format!("{}.numeric_data_p20310101", db.name))
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE relname = 'numeric_data_migrating_future' AND relnamespace = '{s}'::regnamespace"),
        0
    );
    // The rollups (made by init_schema) follow the table: their trigger is on the new
    // partitioned table, and the refresh (a backfill again) counts every row once.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = '{s}.numeric_data'::regclass
             AND tgname = 'numeric_data_rollup_mark'"
        ),
        1
    );
    let rolled = db.history("rollup", &[]);
    assert_eq!(status(&rolled), 0, "{}", stderr_of(&rolled));
    assert_eq!(
        db.count("SELECT sum(count)::int8 FROM {s}.numeric_data_1h"),
        db.count("SELECT count(*) FROM {s}.numeric_data")
    );
    let migrated = json_lines(&output);
    assert_eq!(migrated.len(), 2, "{migrated:?}");
    // Running it again finds nothing to do.
    let again = db.history("migrate", &["--partition", "day"]);
    assert_eq!(status(&again), 0, "{}", stderr_of(&again));
    assert!(
        stderr_of(&again).contains("partitioned already"),
        "{}",
        stderr_of(&again)
    );
    logger.stop();
}

#[test]
fn prune_drops_only_partitions_the_rollups_cover() {
    let mut db = Schema::new();
    let now = Utc::now().duration_trunc(Duration::days(1)).unwrap();
    let at = |days: i64| (now - Duration::days(days) + Duration::hours(12)).to_rfc3339();
    let lines: String = [200, 199, 10]
        .iter()
        .map(|days| {
            format!(
                "{{\"routing_key\":\"sensor_value.p\",\"payload\":{{\"value_raw\":{days}}},\"timestamp\":\"{}\"}}\n",
                at(*days)
            )
        })
        .collect();
    let output = run(
        "dl-log-to-pg",
        &[
            "--stdin",
            "--init-schema",
            "--partition",
            "day",
            "--pg-url",
            &pg_url(),
            "--table",
            &db.table(),
        ],
        Some(&lines),
    );
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    let output = db.history("partitions", &["--ahead", "0"]);
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    let old = format!("numeric_data_p{}", day(now - Duration::days(200)));
    let older = format!("numeric_data_p{}", day(now - Duration::days(199)));
    let exists = |db: &mut Schema, name: &str| {
        db.count(&format!(
            "SELECT count(*) FROM pg_class WHERE relname = '{name}' AND relnamespace = '{{s}}'::regnamespace"
        )) == 1
    };
    assert!(exists(&mut db, &old) && exists(&mut db, &older));

    // Rollups (made by --init-schema) not refreshed yet: every minute written is dirty, so
    // nothing is dropped, dry run or not, and the status says so.
    for args in [&["--raw", "90d", "--dry-run"][..], &["--raw", "90d"][..]] {
        let output = db.history("prune", args);
        assert_eq!(status(&output), 75, "{args:?}: {}", stderr_of(&output));
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines.iter().all(|l| l["action"] == "keep"), "{lines:?}");
        assert!(exists(&mut db, &old) && exists(&mut db, &older));
    }

    // Rollups brought up to date, then complete only until a minute inside the younger old
    // day (marked dirty again, as a late row marks it): only the older day may go. A minute
    // rollup row 3 years old is past --minute 2y.
    let output = db.history("rollup", &[]);
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    assert_eq!(db.count("SELECT count(*) FROM {s}.numeric_data_1m"), 3);
    db.exec(
        "INSERT INTO {s}.numeric_data_1m
         SELECT sensor_name, bucket - interval '3 years', count, count_cal, sum_raw, sum_cal,
                min_raw, max_raw, min_cal, max_cal, first_at, first_raw, first_cal, last_at,
                last_raw, last_cal
         FROM {s}.numeric_data_1m ORDER BY bucket LIMIT 1",
    );
    db.exec(&format!(
        "INSERT INTO {{s}}.numeric_data_rollup_dirty (bucket) VALUES ('{}')",
        at(199)
    ));
    let output = db.history("prune", &["--raw", "90d", "--minute", "2y", "--dry-run"]);
    assert_eq!(status(&output), 75, "{}", stderr_of(&output));
    let lines = json_lines(&output);
    let action = |lines: &[serde_json::Value], name: &str| {
        lines
            .iter()
            .find(|l| l["partition"].as_str().is_some_and(|p| p.ends_with(name)))
            .map(|l| l["action"].as_str().unwrap().to_string())
    };
    assert_eq!(action(&lines, &old).as_deref(), Some("drop"), "{lines:?}");
    assert_eq!(action(&lines, &older).as_deref(), Some("keep"), "{lines:?}");
    assert!(exists(&mut db, &old), "a dry run dropped a partition");
    assert_eq!(db.count("SELECT count(*) FROM {s}.numeric_data_1m"), 4);

    let output = db.history("prune", &["--raw", "90d", "--minute", "2y"]);
    assert_eq!(status(&output), 75, "{}", stderr_of(&output));
    let lines = json_lines(&output);
    assert_eq!(
        action(&lines, &old).as_deref(),
        Some("dropped"),
        "{lines:?}"
    );
    assert!(!exists(&mut db, &old) && exists(&mut db, &older));
    assert_eq!(db.count("SELECT count(*) FROM {s}.numeric_data_1m"), 3);
    assert_eq!(db.count("SELECT count(*) FROM {s}.numeric_data"), 2);

    // Rollups caught up: the rest past the horizon goes; the recent day stays.
    db.exec("DELETE FROM {s}.numeric_data_rollup_dirty");
    let output = db.history("prune", &["--raw", "90d"]);
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    assert!(!exists(&mut db, &older));
    assert_eq!(db.count("SELECT count(*) FROM {s}.numeric_data"), 1);
    let output = db.history("prune", &["--raw", "90d", "--dry-run"]);
    assert_eq!(status(&output), 0, "{}", stderr_of(&output));
    assert!(json_lines(&output).is_empty());
}

#[test]
fn hostile_flags_are_refused_before_any_connection() {
    for (program, args, says) in [
        ("dl-history", &["prune", "--raw", "-5d"][..], "-5d"),
        ("dl-history", &["prune", "--raw=-5d"][..], "-5d"),
        ("dl-history", &["prune", "--raw", "1h"][..], "under a day"),
        (
            "dl-history",
            &["prune", "--raw", "90d", "--minute", "5000y"][..],
            "over 1000 years",
        ),
        (
            "dl-history",
            &["migrate", "--partition", "year"][..],
            "month, week or day",
        ),
        (
            "dl-history",
            &["partitions", "--ahead", "100000"][..],
            "100000",
        ),
        (
            "dl-history",
            &["partitions", "--table", "a.b.c"][..],
            "a.b.c",
        ),
        (
            "dl-log-to-pg",
            &["--stdin", "--partition", "year", "--init-schema"][..],
            "month, week or day",
        ),
        (
            "dl-log-to-pg",
            &["--stdin", "--partition", "day"][..],
            "--init-schema",
        ),
    ] {
        let output = run(program, args, None);
        let stderr = stderr_of(&output);
        assert_eq!(status(&output), 64, "{program} {args:?}: {stderr}");
        assert!(stderr.contains(says), "{program} {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{program} {args:?}: {stderr}");
    }
    // A minute rollup kept for less time than the raw rows: refused before anything is done.
    let db = Schema::new();
    let output = db.history("prune", &["--raw", "90d", "--minute", "30d"]);
    assert_eq!(status(&output), 64, "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("--minute is shorter than --raw"));
}
