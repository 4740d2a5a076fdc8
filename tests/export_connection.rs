//! Where dl-export connects and as whom: libpq's environment variables (`PGUSER`, `PGAPPNAME`,
//! `PGSSLMODE`, `PGCONNECT_TIMEOUT`, …) as psql users set them, below the URL and the flags.
//! Observed on the real server: its refusal naming the user, and `pg_stat_activity` /
//! `pg_stat_ssl` while an export is held by a full pipe.

#[path = "export_support.rs"]
mod support;

use dripline_e2e::{unique_name, without_env_settings, ChildGuard};
use dripline_store::{ConnectionConfig, ConnectionOptions};
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// The test database's host, port and database name as libpq variables.
fn pg_env() -> Vec<(&'static str, String)> {
    let options = ConnectionOptions {
        url: Some(pg_url()),
        ..Default::default()
    };
    let config = ConnectionConfig::resolve_with_env(&options, |_| None).unwrap();
    vec![
        ("PGHOST", config.servers[0].host.clone()),
        ("PGPORT", config.servers[0].port.to_string()),
        ("PGDATABASE", config.database),
    ]
}

/// `dl-export --table TABLE ARGS` with only the environment given (no --pg-url).
fn dl_export_env(db: &TestDb, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = without_env_settings(Command::new(dripline_e2e::binary("dl-export")));
    command
        .args(["--table", &db.table_arg()])
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null());
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("running dl-export")
}

fn with(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = pg_env();
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

#[test]
fn pguser_is_honoured_below_the_url_and_the_flag() {
    let mut db = TestDb::new();
    db.exec("INSERT INTO {table} VALUES ('peaches', now() - interval '1 minute', 1, 2)");
    let nobody = unique_name("nobody");
    // PGUSER alone: the server refuses that role, and the message names it (77).
    let output = run(dl_export_env(&db, &with(&[("PGUSER", &nobody)]), &[]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(77), "{stderr}");
    assert!(
        stderr.contains(&format!("refused user '{nobody}'")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // PGUSER beats POSTGRES_USER (dripline's variable).
    let output = run(dl_export_env(
        &db,
        &with(&[("PGUSER", &nobody), ("POSTGRES_USER", "postgres")]),
        &[],
    ));
    assert_eq!(output.status.code(), Some(77));
    // The flag beats PGUSER; so does the user in the URL.
    let output = run(dl_export_env(
        &db,
        &with(&[("PGUSER", &nobody)]),
        &["--pg-user", "postgres", "--no-header"],
    ));
    assert_eq!(
        String::from_utf8_lossy(&ok_stdout(&output)).lines().count(),
        1
    );
    let output = run(dl_export_env(
        &db,
        &[("PGUSER", nobody.clone())],
        &["--pg-url", &pg_url(), "--no-header"],
    ));
    assert_eq!(
        String::from_utf8_lossy(&ok_stdout(&output)).lines().count(),
        1
    );
}

#[test]
fn bad_libpq_variables_are_configuration_errors() {
    let db = TestDb::new();
    for (name, value) in [("PGPORT", "fivefour"), ("PGSSLMODE", "sometimes")] {
        let mut env = pg_env();
        env.retain(|(k, _)| *k != name);
        env.push((name, value.to_string()));
        let output = run(dl_export_env(&db, &env, &[]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "dl-export: environment variable {name}: '{value}'"
            )),
            "{stderr}"
        );
    }
}

/// What the server shows of dl-export's session while it is blocked on a full stdout:
/// (application_name, ssl), found by a unique application name or by `probe`'s query.
fn session_of(db: &mut TestDb, mut command: Command, app_name: &str) -> (String, bool) {
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let _child = ChildGuard::spawn(&mut command); // its stdout is never read: it blocks
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = db
            .client
            .query(
                "SELECT a.application_name, coalesce(s.ssl, false) FROM pg_stat_activity a
                 LEFT JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.application_name = $1",
                &[&app_name],
            )
            .unwrap();
        if let Some(row) = rows.first() {
            return (row.get(0), row.get(1));
        }
        assert!(
            Instant::now() < deadline,
            "no session named {app_name} appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pgappname_and_pgsslmode_show_in_the_servers_view() {
    let mut db = TestDb::new();
    // Far more than a pipe holds, so dl-export stays connected until it is killed.
    db.exec(
        "INSERT INTO {table} SELECT 'peaches', timestamptz '2026-01-01Z' + i * interval '1 s', i, i
         FROM generate_series(1, 200000) i",
    );
    let app = unique_name("report");
    let args = ["--since", "2025-01-01"];
    let command = dl_export_env(
        &db,
        &with(&[("PGAPPNAME", &app), ("PGSSLMODE", "disable")]),
        &args,
    );
    assert_eq!(session_of(&mut db, command, &app), (app.clone(), false));
    // Is TLS on offer here? Then PGSSLMODE=require must use it, and the flag must beat it.
    let tls_offered = db
        .client
        .query_one("SELECT current_setting('ssl') = 'on'", &[])
        .unwrap()
        .get::<_, bool>(0);
    if tls_offered {
        let app = unique_name("report");
        let command = dl_export_env(
            &db,
            &with(&[("PGAPPNAME", &app), ("PGSSLMODE", "require")]),
            &args,
        );
        assert_eq!(session_of(&mut db, command, &app), (app.clone(), true));
        let app = unique_name("report");
        let command = dl_export_env(
            &db,
            &with(&[("PGAPPNAME", &app), ("PGSSLMODE", "require")]),
            &["--since", "2025-01-01", "--pg-sslmode", "disable"],
        );
        assert_eq!(session_of(&mut db, command, &app), (app.clone(), false));
    }
    // The URL's application_name beats PGAPPNAME.
    let app = unique_name("fromurl");
    let url = format!(
        "{}{}application_name={app}&sslmode=disable",
        pg_url(),
        if pg_url().contains('?') { "&" } else { "?" }
    );
    let command = dl_export_env(
        &db,
        &[("PGAPPNAME", "not-this".to_string())],
        &["--pg-url", &url, "--since", "2025-01-01"],
    );
    assert_eq!(session_of(&mut db, command, &app).0, app);
}

#[test]
fn pgconnect_timeout_bounds_the_wait_for_a_silent_server() {
    let db = TestDb::new();
    // A server that accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let env = [
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", port.clone()),
        ("PGSSLMODE", "disable".to_string()),
        ("PGCONNECT_TIMEOUT", "2".to_string()),
    ];
    let started = Instant::now();
    let mut command = dl_export_env(&db, &env, &[]);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(&mut command);
    // Never wait forever here, whatever dl-export does (the guard kills it).
    let status = loop {
        if let Some(status) = guard.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "dl-export still waiting after 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let waited = started.elapsed();
    let mut stderr = String::new();
    guard
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(69), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot reach database at 127.0.0.1:{port}: no answer within 2s"
        )),
        "{stderr}"
    );
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(8),
        "waited {waited:?} (the default is 10 s)"
    );
    drop(listener);
}
