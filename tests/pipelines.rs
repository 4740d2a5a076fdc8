//! examples/pipelines, each run for real: the scripts and jq recipes as the README shows them,
//! in bash, with the built dl-* programs first on PATH, against the real RabbitMQ
//! (127.0.0.1:5672) and PostgreSQL (127.0.0.1:5432). Every test has its own service and
//! endpoint names, routing keys and database schema, removed when it ends; the checks are on
//! the values that come out.

#[path = "export_support.rs"]
mod export_support;
#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::{
    assert_succeeded, binary, lines_of, run, run_command, stderr_of, stdout_of, temp_dir,
    unique_name, wait_until, without_env_settings, ChildGuard,
};
use export_support::{pg_url, TestDb};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn pipelines() -> PathBuf {
    dripline_e2e::repo_path("examples/pipelines")
}

/// `bash -c script` in examples/pipelines, the built programs first on PATH, the test broker
/// and nothing else from the environment (no DRIPLINE_*, database or libpq settings).
fn bash(script: &str) -> Command {
    let programs = binary("dl-get");
    let programs = programs.parent().expect("the profile directory");
    let path = format!(
        "{}:{}",
        programs.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = without_env_settings(Command::new("bash"));
    command
        .args(["-c", script, "bash"])
        .current_dir(pipelines())
        .env("PATH", path)
        .env("DRIPLINE_BROKER", "127.0.0.1")
        .env("DRIPLINE_BROKER_PORT", "5672")
        .stdin(Stdio::null());
    // The scripts' own settings.
    for name in ["EXPORT_DIR", "STATE_FILE", "SETTLE", "FORMAT", "GZIP"] {
        command.env_remove(name);
    }
    command
}

// --- cron-export.sh ----------------------------------------------------------------------------

/// Rows of a gzipped CSV export: (sensor, value_raw, value_cal) as text.
fn gzipped_csv_rows(path: &Path) -> Vec<(String, String, String)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("export file"))
        .read_to_string(&mut text)
        .expect("gzip");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["sensor_name", "timestamp", "value_raw", "value_cal"]
    );
    reader
        .records()
        .map(|record| {
            let record = record.expect("a CSV record");
            (
                record[0].to_owned(),
                record[2].to_owned(),
                record[3].to_owned(),
            )
        })
        .collect()
}

fn cron_export(db: &TestDb, dir: &Path) -> Output {
    run_command(
        bash("./cron-export.sh --table \"$1\"")
            .arg(db.table_arg())
            .env("EXPORT_DIR", dir)
            .env("DATABASE_URL", pg_url()),
        None,
    )
}

/// The files under `dir`'s dated subdirectories (`YYYY-MM-DD/<name>`).
fn exported_files(dir: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for day in std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
    {
        if !day.file_type().unwrap().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(day.path()).unwrap() {
            let file = file.unwrap();
            files.insert(format!(
                "{}/{}",
                day.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            ));
        }
    }
    files
}

#[test]
fn cron_export_writes_each_row_once_into_dated_files() {
    let mut db = TestDb::new();
    let dir = temp_dir("cron-export");
    db.exec(
        "INSERT INTO {table} (sensor_name, \"timestamp\", value_raw, value_cal) VALUES \
         ('peaches', now() - interval '10 minutes', 0.75, 1.5), \
         ('chips', now() - interval '9 minutes', 1.75, NULL), \
         ('peaches', now() - interval '8 minutes', 3, 6)",
    );

    // First run: everything logged so far, in a file under today's (UTC) date.
    let day_before = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let first = cron_export(&db, dir.path());
    let day_after = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let printed = assert_succeeded(&first, "cron-export.sh");
    let file = PathBuf::from(printed.trim());
    assert!(file.starts_with(dir.path()), "printed {printed}");
    let relative = file.strip_prefix(dir.path()).unwrap().to_string_lossy();
    assert!(
        relative.starts_with(&format!("{day_before}/sensors-"))
            || relative.starts_with(&format!("{day_after}/sensors-")),
        "not a dated file: {relative}"
    );
    assert!(relative.ends_with(".csv.gz"), "{relative}");
    assert_eq!(
        gzipped_csv_rows(&file),
        [
            ("peaches".into(), "0.75".into(), "1.5".into()),
            ("chips".into(), "1.75".into(), "".into()),
            ("peaches".into(), "3.0".into(), "6.0".into()),
        ]
    );
    assert!(dir.path().join(".dl-export.state").exists());

    // Nothing new: no file, nothing printed, success.
    let again = cron_export(&db, dir.path());
    assert_eq!(assert_succeeded(&again, "cron-export.sh, nothing new"), "");
    assert_eq!(exported_files(dir.path()).len(), 1);

    // Two new rows, and one younger than SETTLE (1m) that waits for the next run.
    db.exec(
        "INSERT INTO {table} (sensor_name, \"timestamp\", value_raw, value_cal) VALUES \
         ('waffles', now() - interval '5 minutes', 4, 4), \
         ('peaches', now() - interval '4 minutes', 9, 18), \
         ('peaches', now(), 10, 20)",
    );
    let third = cron_export(&db, dir.path());
    let second_file = PathBuf::from(assert_succeeded(&third, "cron-export.sh, new rows").trim());
    assert_ne!(second_file, file);
    assert_eq!(
        gzipped_csv_rows(&second_file),
        [
            ("waffles".into(), "4.0".into(), "4.0".into()),
            ("peaches".into(), "9.0".into(), "18.0".into()),
        ]
    );
    assert_eq!(exported_files(dir.path()).len(), 2);

    // Without EXPORT_DIR it says so and exits 64.
    let usage = run_command(&mut bash("./cron-export.sh"), None);
    assert_eq!(usage.status.code(), Some(64), "{}", stderr_of(&usage));
    assert!(stderr_of(&usage).contains("EXPORT_DIR"));
}

// --- jq recipes --------------------------------------------------------------------------------

/// A bash pipeline running in the background, its stdout lines collected.
struct Background {
    process: ChildGuard,
    lines: mpsc::Receiver<String>,
}

impl Background {
    fn start(command: &mut Command) -> Self {
        let mut process = ChildGuard::spawn(command.stdout(Stdio::piped()));
        let lines = lines_of(process.child.stdout.take().unwrap());
        Background { process, lines }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(LIMIT)
            .expect("a line from the pipeline")
    }

    /// Wait for the end; its exit status and every line not read yet.
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let mut status = None;
        assert!(
            wait_until(LIMIT, || {
                status = self.process.child.try_wait().unwrap();
                status.is_some()
            }),
            "the pipeline did not end"
        );
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(line);
        }
        (status.unwrap().code(), rest)
    }
}

#[test]
fn jq_listen_csv_turns_alerts_into_csv_rows() {
    let prefix = unique_name("pipe");
    let stderr = temp_dir("listen-csv");
    let stderr_file = stderr.path().join("dl-listen.err");
    let pipeline = Background::start(
        bash("dl-listen -v --count 3 \"sensor_value.$1.#\" 2>\"$2\" | jq -nr -f jq/listen-csv.jq")
            .arg(&prefix)
            .arg(&stderr_file),
    );
    assert!(
        wait_until(LIMIT, || std::fs::read_to_string(&stderr_file)
            .is_ok_and(|text| text.contains("listening"))),
        "dl-listen did not start listening"
    );
    let alerts = format!(
        "{{\"routing_key\":\"sensor_value.{prefix}.peaches\",\"payload\":{{\"value_raw\":0.75,\"value_cal\":1.5}}}}\n\
         {{\"routing_key\":\"sensor_value.{prefix}.chips\",\"payload\":{{\"value_raw\":1.75}}}}\n\
         {{\"routing_key\":\"sensor_value.{prefix}.waffles\",\"payload\":{{\"value_raw\":4,\"value_cal\":\"four\"}}}}\n"
    );
    let published = run("dl-alert", &["-b", "127.0.0.1", "-"], Some(&alerts));
    assert_succeeded(&published, "dl-alert");
    let (status, lines) = pipeline.finish();
    assert_eq!(status, Some(0), "{lines:?}");
    let text = lines.join("\n");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["timestamp", "sensor", "value_raw", "value_cal"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|record| record.unwrap().iter().map(String::from).collect())
        .collect();
    let values: Vec<&[String]> = rows.iter().map(|row| &row[1..]).collect();
    assert_eq!(
        values,
        [
            [format!("{prefix}.peaches"), "0.75".into(), "1.5".into()],
            [format!("{prefix}.chips"), "1.75".into(), "".into()],
            [format!("{prefix}.waffles"), "4".into(), "four".into()],
        ]
    );
    for row in &rows {
        export_support::micros_of(&row[0]);
    }
}

#[test]
fn jq_export_stats_gives_each_sensors_count_min_max_mean() {
    let mut db = TestDb::new();
    db.exec(
        "INSERT INTO {table} (sensor_name, \"timestamp\", value_raw, value_cal) VALUES \
         ('peaches', now() - interval '3 minutes', 1, 2), \
         ('peaches', now() - interval '2 minutes', 2, 4.5), \
         ('peaches', now() - interval '1 minute', 3, -1), \
         ('chips', now() - interval '3 minutes', 10, 'NaN'), \
         ('chips', now() - interval '2 minutes', 20, NULL), \
         ('chips', now() - interval '1 minute', 40, 7)",
    );
    let stats = |extra: &str| -> Vec<Value> {
        let script = format!(
            "dl-export --table \"$1\" --since 1h --format jsonl | jq -nc {extra} -f jq/export-stats.jq"
        );
        let output = run_command(
            bash(&script)
                .arg(db.table_arg())
                .env("DATABASE_URL", pg_url()),
            None,
        );
        assert_succeeded(&output, "dl-export | jq export-stats")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    };
    assert_eq!(
        stats(""),
        [
            json!({"sensor": "chips", "count": 1, "min": 7, "max": 7, "mean": 7}),
            json!({"sensor": "peaches", "count": 3, "min": -1, "max": 4.5, "mean": 5.5 / 3.0}),
        ]
    );
    assert_eq!(
        stats("--arg column value_raw"),
        [
            json!({"sensor": "chips", "count": 3, "min": 10, "max": 40, "mean": 70.0 / 3.0}),
            json!({"sensor": "peaches", "count": 3, "min": 1, "max": 3, "mean": 2}),
        ]
    );
}

/// Start a dl-serve key-value store of the test's own (serve_support's `Store`).
fn start_store() -> (serve_support::Store, serve_support::Served) {
    let store = serve_support::Store::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let served = runtime.block_on(serve_support::start(
        &store.service,
        &store.config(60.0),
        &[],
    ));
    (store, served)
}

/// The get-table recipe (examples/pipelines/README.md) on `endpoints`: its rows.
fn get_table(endpoints: &[&str]) -> Vec<Vec<String>> {
    let output = run_command(
        bash(
            "printf '%s\\n' \"$@\" | jq -cR '{target: .}' | dl-get --full - \
             | jq -nr -f jq/get-table.jq",
        )
        .args(endpoints),
        None,
    );
    let table = stdout_of(&output);
    table
        .lines()
        .map(|line| line.split('\t').map(String::from).collect())
        .collect()
}

#[test]
fn jq_get_table_shows_many_endpoints_in_one_table() {
    let (store, _served) = start_store();
    let header = ["endpoint", "value_cal", "value_raw", "status"];
    assert_eq!(
        get_table(&[&store.peaches, &store.chips, &store.waffles]),
        [
            header.to_vec(),
            vec![store.peaches.as_str(), "1.5", "0.75", "success"],
            vec![store.chips.as_str(), "-", "1.75", "success"],
            vec![store.waffles.as_str(), "4", "4", "success"],
        ]
    );
    // An endpoint nobody serves is a row with its error (dl-get exits 4; the table is whole).
    // (That a 403 in a mixed batch lands on its own line is request_tools'
    // batch_mode_blames_each_unroutable_request_on_its_own_line.)
    let missing = unique_name("nothing");
    assert_eq!(
        get_table(&[&missing]),
        [
            header.to_vec(),
            vec![missing.as_str(), "-", "-", "client_error_unable_to_send"],
        ]
    );
}

// --- watch.sh ----------------------------------------------------------------------------------

/// `<time> <endpoint> <value…>` of a watch.sh line, without the time (checked to be RFC 3339).
fn without_time(line: &str) -> String {
    let (time, rest) = line.split_once(' ').expect("a watch line");
    export_support::micros_of(time);
    rest.to_owned()
}

#[test]
fn watch_prints_changes_and_alerts_out_of_range_values_on_the_mesh() {
    let (store, _served) = start_store();
    let missing = unique_name("nothing");
    let alert_key = format!("status_message.warning.{}", unique_name("watch"));

    // A listener for the alerts watch.sh publishes.
    let listen_err = temp_dir("watch");
    let listen_err_file = listen_err.path().join("dl-listen.err");
    let listener = Background::start(
        bash("dl-listen -v --count 2 \"$1\" 2>\"$2\"")
            .arg(&alert_key)
            .arg(&listen_err_file),
    );
    assert!(
        wait_until(LIMIT, || std::fs::read_to_string(&listen_err_file)
            .is_ok_and(|text| text.contains("listening"))),
        "dl-listen did not start listening"
    );

    // An endpoint nobody serves: an alert at once.
    let unserved = run_command(
        bash("./watch.sh -n 1 -r 0:5 -a \"$@\"")
            .arg(&alert_key)
            .arg(&missing),
        None,
    );
    assert_eq!(unserved.status.code(), Some(1), "{}", stderr_of(&unserved));
    let lines: Vec<String> = stdout_of(&unserved).lines().map(without_time).collect();
    assert_eq!(
        lines,
        [format!(
            "{missing} client_error_unable_to_send ALERT outside 0:5"
        )]
    );

    let watch = Background::start(
        bash("./watch.sh -i 1 -n 5 -r 0:5 -a \"$@\"")
            .arg(&alert_key)
            .args([&store.peaches, &store.chips]),
    );
    // The first poll prints every endpoint.
    let first: Vec<String> = (0..2).map(|_| without_time(&watch.next_line())).collect();
    assert_eq!(
        first,
        [
            format!("{} 1.5", store.peaches),
            format!("{} 1.75", store.chips),
        ]
    );
    // A change, out of range: peaches = 2 * 9.
    let set = run("dl-set", &["-b", "127.0.0.1", &store.peaches, "9"], None);
    assert_succeeded(&set, "dl-set");
    let (status, rest) = watch.finish();
    let rest: Vec<String> = rest.iter().map(|line| without_time(line)).collect();
    assert_eq!(
        rest,
        [format!("{} 18 ALERT outside 0:5", store.peaches)],
        "later polls print only the change"
    );
    assert_eq!(status, Some(1), "an alert was raised: status 1");

    // Both alerts went out on the mesh.
    let (listened, alerts) = listener.finish();
    assert_eq!(listened, Some(0));
    let payloads: Vec<Value> = alerts
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["payload"].clone())
        .collect();
    assert_eq!(
        payloads,
        [
            json!({"endpoint": missing, "value": "client_error_unable_to_send", "range": "0:5"}),
            json!({"endpoint": store.peaches, "value": 18, "range": "0:5"}),
        ]
    );

    // In range, one poll: one line per endpoint, status 0.
    let calm = run_command(
        bash("./watch.sh -n 1 -r 0:100 \"$@\"").args([&store.peaches, &store.waffles]),
        None,
    );
    let lines: Vec<String> = assert_succeeded(&calm, "watch.sh in range")
        .lines()
        .map(without_time)
        .collect();
    assert_eq!(
        lines,
        [
            format!("{} 18", store.peaches),
            format!("{} 4", store.waffles)
        ]
    );
}
