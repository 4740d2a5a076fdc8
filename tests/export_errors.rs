//! Errors a user can cause: one line on stderr naming what and where, and the documented
//! exit status.

#[path = "export_support.rs"]
mod support;

use std::process::Output;
use support::*;

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_fails(output: &Output, status: i32, needle: &str) {
    let stderr = stderr_of(output);
    assert_eq!(output.status.code(), Some(status), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    assert!(output.stdout.is_empty(), "no data on failure");
}

fn one_line(output: &Output) {
    let stderr = stderr_of(output);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("dl-export: "), "{stderr}");
}

#[test]
fn command_line_and_time_errors_are_usage_errors() {
    let db = TestDb::new();
    assert_fails(
        &db.run(&["--since", "yesterdayy"]),
        64,
        "'yesterdayy' is not a time",
    );
    assert_fails(&db.run(&["--every", "1m", "--agg", "median"]), 64, "median");
    assert_fails(&db.run(&["--wide"]), 64, "--every");
    let output = db.run(&["--tz", "Mars/Olympus_Mons"]);
    assert_fails(&output, 64, "--tz 'Mars/Olympus_Mons'");
    one_line(&output);
}

#[test]
fn reversed_or_empty_ranges_are_usage_errors() {
    let mut db = TestDb::new();
    db.exec("INSERT INTO {table} VALUES ('peaches', now() - interval '90 minutes', 1, 2)");
    let output = db.run(&["--since", "1h", "--until", "2h"]);
    assert_fails(&output, 64, "empty time range: --since 1h ago (");
    assert!(stderr_of(&output).contains("is not before --until 2h ago ("));
    one_line(&output);
    // Until defaults to now; equal ends are empty too (the range is half-open).
    assert_fails(
        &db.run(&["--since", "2099-01-01"]),
        64,
        "is not before --until now (",
    );
    assert_fails(
        &db.run(&["--since", "2026-11-25", "--until", "2026-11-25"]),
        64,
        "empty time range",
    );
    // The same range the right way round finds the row.
    let output = db.run(&["--since", "2h", "--until", "1h", "--no-header"]);
    assert_eq!(
        String::from_utf8_lossy(&ok_stdout(&output)).lines().count(),
        1
    );
}

#[test]
fn unreachable_database_names_the_address_and_hides_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: connections are refused
    let output = dripline_e2e::run(
        "dl-export",
        &[
            "--pg-url",
            &format!("postgresql://postgres:sekrit@127.0.0.1:{port}/test"),
        ],
        None,
    );
    assert_fails(
        &output,
        69,
        &format!("cannot reach database at 127.0.0.1:{port}: "),
    );
    one_line(&output);
    assert!(!stderr_of(&output).contains("sekrit"));
}

#[test]
fn missing_table_database_and_sensors() {
    let mut db = TestDb::new();
    db.exec("INSERT INTO {table} VALUES ('peaches', now() - interval '1 hour', 1, 2)");
    let output = std::process::Command::new(dripline_e2e::binary("dl-export"))
        .args([
            "--pg-url",
            &pg_url(),
            "--table",
            &format!("{}.nope", db.schema),
        ])
        .output()
        .unwrap();
    assert_fails(
        &output,
        66,
        &format!("table {}.nope does not exist", db.schema),
    );
    one_line(&output);

    let output = std::process::Command::new(dripline_e2e::binary("dl-export"))
        .args([
            "--pg-url",
            &pg_url(),
            "--pg-database",
            "no_such_db_for_export",
        ])
        .output()
        .unwrap();
    assert_fails(
        &output,
        66,
        "database 'no_such_db_for_export' does not exist",
    );

    let output = db.run(&["--sensor", "peaches,chipz", "--strict"]);
    assert_fails(&output, 65, "unknown sensor chipz");
    one_line(&output);
    assert_fails(
        &db.run(&["--match", "waff*", "--strict"]),
        65,
        "no sensor matches waff%",
    );
    ok_stdout(&db.run(&["--sensor", "peaches", "--match", "pea*", "--strict"]));

    // No rows: fine by default, status 2 with --fail-if-empty.
    let output = db.run(&["--sensor", "chipz"]);
    assert_eq!(
        String::from_utf8(ok_stdout(&output)).unwrap(),
        "sensor_name,timestamp,value_raw,value_cal\n"
    );
    let output = db.run(&["--sensor", "chipz", "--fail-if-empty"]);
    assert_eq!(output.status.code(), Some(2));
    let output = db.run(&["--since", "1m", "--fail-if-empty", "--format", "jsonl"]);
    assert_eq!(output.status.code(), Some(2));
    ok_stdout(&db.run(&["--since", "2h", "--fail-if-empty"]));
}

#[test]
fn files_settings_and_state_errors() {
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(dripline_e2e::unique_name("export_errors"));
    std::fs::create_dir_all(&dir).unwrap();

    let output = db.run(&["-o", "/nonexistent-dir/x.csv"]);
    assert_fails(&output, 73, "/nonexistent-dir/x.csv");
    one_line(&output);

    let output = db.run(&["--auth-file", "/nonexistent/auth.json"]);
    assert_fails(&output, 78, "auth file /nonexistent/auth.json");

    let state = dir.join("state");
    std::fs::write(&state, "this is not json").unwrap();
    let output = db.run(&["--state", state.to_str().unwrap()]);
    assert_fails(&output, 65, "not a dl-export state");
    one_line(&output);
    // A state that is not a regular file would be renamed over (as root, /dev/null replaced).
    let output = db.run(&["--state", "/dev/null"]);
    assert_fails(&output, 65, "not a regular file");
    let output = db.run(&["--state", dir.to_str().unwrap()]);
    assert_fails(&output, 65, "not a regular file");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_documents_exit_statuses_times_and_state() {
    let output = std::process::Command::new(dripline_e2e::binary("dl-export"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(ok_stdout(&output)).unwrap();
    for needle in [
        "Examples:",
        "Exit status:",
        "Times (--since, --until):",
        "Incremental exports (--state FILE):",
        "--fail-if-empty",
        "   69  the database cannot be reached",
    ] {
        assert!(help.contains(needle), "--help lacks '{needle}'");
    }
}
