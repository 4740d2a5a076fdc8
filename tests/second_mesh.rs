//! examples/second-mesh against the real RabbitMQ and PostgreSQL.
//!
//! - The init SQL is taken from `postgres.values.yaml` (parsed, not copied), with the
//!   database and role names replaced by unique ones, and run with psql, as the Bitnami image
//!   runs it: as the superuser, connected to the `postgres` database, passwords in the
//!   environment. Then the real dl-log-to-pg runs as the unprivileged `dripline` role, without
//!   `--init-schema`, on a quorum queue, and stores alerts the real dl-alert publishes with
//!   known values and timestamps; a redelivered alert goes through its staging table; dl-export
//!   reads the rows as the same role.
//! - Every SQL query of the Grafana dashboard (the template variable's and every panel
//!   target's) is taken from the ConfigMap, expanded as Grafana's PostgreSQL datasource
//!   expands it (see [`expand`]), run as the read-only Grafana role, and its rows compared
//!   with what the published alerts must give.
//! - The init SQL's tables equal what `dl-log-to-pg --init-schema` creates.
//! - The example files agree with each other (secret names and keys, user names, passwords,
//!   datasource uid, sidecar labels).
//!
//! Databases and roles are unique per test and dropped when it ends, also on failure.

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use dripline_e2e::{
    assert_succeeded, binary, run_command, stdout_of, unique_name, wait_until, without_env_settings,
};
use dripline_store::postgres::{Client, NoTls, SimpleQueryMessage};
use export_support::pg_url;
use log_support::{publish, Logger, TestQueue, PATIENCE};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BROKER_PORT: u16 = 5672;

/// The names the example files use; the tests put unique ones in their place.
const DATABASE: &str = "sensor_data";
const WRITER_ROLE: &str = "dripline";
const READER_ROLE: &str = "grafana_reader";

fn example_dir() -> PathBuf {
    dripline_e2e::repo_path("examples/second-mesh")
}

fn read_yaml(file: &str) -> Yaml {
    let path = example_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_at<'a>(value: &'a Yaml, path: &[&str]) -> &'a str {
    let mut here = value;
    for key in path {
        here = &here[*key];
    }
    here.as_str()
        .unwrap_or_else(|| panic!("{} is not a string: {here:?}", path.join(".")))
}

/// The one `*.sql` script in postgres.values.yaml's `primary.initdb.scripts`.
fn init_sql() -> String {
    let values = read_yaml("postgres.values.yaml");
    let scripts = values["primary"]["initdb"]["scripts"]
        .as_mapping()
        .expect("postgres.values.yaml has primary.initdb.scripts");
    let sql: Vec<&str> = scripts
        .iter()
        .filter(|(name, _)| name.as_str().is_some_and(|n| n.ends_with(".sql")))
        .map(|(_, text)| text.as_str().expect("script text"))
        .collect();
    assert_eq!(sql.len(), 1, "expected one .sql init script");
    sql[0].to_string()
}

/// Replace whole identifier tokens (`[A-Za-z0-9_]+`) found in `names`; `dripline_password` is
/// not `dripline`.
fn rename_identifiers(text: &str, names: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let replaced = names
            .iter()
            .find(|(from, _)| *from == token.as_str())
            .map_or(token.as_str(), |(_, to)| to);
        out.push_str(replaced);
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// `pg_url()` with another user (and password) and database.
fn url_with(user: Option<(&str, &str)>, database: &str) -> String {
    let base = pg_url();
    let (scheme, rest) = base.split_once("://").expect("scheme in the test URL");
    let (credentials, host_and_path) = match rest.rsplit_once('@') {
        Some((credentials, host)) => (Some(credentials), host),
        None => (None, rest),
    };
    let (host, path) = host_and_path.split_once('/').unwrap_or((host_and_path, ""));
    let query = path.split_once('?').map(|(_, q)| q);
    let userinfo = match user {
        Some((name, password)) => format!("{name}:{}@", percent_encode(password)),
        None => credentials.map(|c| format!("{c}@")).unwrap_or_default(),
    };
    let mut url = format!("{scheme}://{userinfo}{host}/{database}");
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// The server's message, not just "db error".
fn describe(error: &dripline_store::postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

/// Rows of a query as text (the simple query protocol: exactly the SQL given, as Grafana
/// sends it), with the column names.
fn text_rows(client: &mut Client, sql: &str) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let messages = client
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("query failed: {}\n{sql}", describe(&e)));
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for message in messages {
        if let SimpleQueryMessage::Row(row) = message {
            if columns.is_empty() {
                columns = row.columns().iter().map(|c| c.name().to_string()).collect();
            }
            rows.push(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            );
        }
    }
    (columns, rows)
}

/// A deployment's database and roles under unique names, dropped on drop (also when a test
/// fails): what the init SQL makes, and a database for `--init-schema` to compare with.
struct Deployment {
    database: String,
    writer: String,
    reader: String,
    writer_password: String,
    reader_password: String,
    other_databases: Vec<String>,
}

impl Deployment {
    fn new() -> Self {
        let id = unique_name("sm");
        Deployment {
            database: format!("{id}_db"),
            writer: format!("{id}_dripline"),
            reader: format!("{id}_grafana"),
            // A quote in each, for the script's quoting of psql variables.
            writer_password: format!("it's-{}", unique_name("w")),
            reader_password: format!("it's-{}", unique_name("r")),
            other_databases: Vec::new(),
        }
    }

    /// The init SQL with this deployment's names.
    fn sql(&self) -> String {
        rename_identifiers(
            &init_sql(),
            &[
                (DATABASE, &self.database),
                (WRITER_ROLE, &self.writer),
                (READER_ROLE, &self.reader),
            ],
        )
    }

    /// Run the init SQL as the Bitnami image does: psql, as the superuser, in the `postgres`
    /// database (that of the test URL), the passwords in the environment.
    fn run_init_sql(&self) -> Output {
        self.run_init_sql_in("postgres")
    }

    /// The same, started in `database` (the image's POSTGRESQL_DATABASE when the chart's
    /// auth.database is set).
    fn run_init_sql_in(&self, database: &str) -> Output {
        let mut command = Command::new("psql");
        command
            .args(["-X", "-q", "-d", &url_with(None, database), "-f", "-"])
            .env("DRIPLINE_DB_PASSWORD", &self.writer_password)
            .env("GRAFANA_DB_PASSWORD", &self.reader_password);
        for name in ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGOPTIONS"] {
            command.env_remove(name);
        }
        run_command(&mut command, Some(&self.sql()))
    }

    fn writer_url(&self) -> String {
        url_with(Some((&self.writer, &self.writer_password)), &self.database)
    }

    fn reader_url(&self) -> String {
        url_with(Some((&self.reader, &self.reader_password)), &self.database)
    }

    fn admin(&self, database: &str) -> Client {
        connect(&url_with(None, database))
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // Best effort: this may run while a failed test unwinds.
        let Ok(mut admin) = Client::connect(&url_with(None, "postgres"), NoTls) else {
            return;
        };
        for database in std::iter::once(&self.database).chain(&self.other_databases) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
            ));
        }
        for role in [&self.writer, &self.reader] {
            let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""));
        }
    }
}

/// What the tables look like in `database`: relations, columns (type, collation, not null,
/// default), constraints and indexes, one line each.
fn schema_snapshot(admin: &mut Client) -> Vec<String> {
    let queries = [
        "SELECT 'relation ' || relname || ' kind ' || relkind::text
         FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY relname",
        "SELECT 'column ' || c.relname || '.' || a.attname || ' #' || a.attnum || ' '
                || format_type(a.atttypid, a.atttypmod)
                || ' collate ' || coalesce(co.collname, '-')
                || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END
                || ' default ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
         FROM pg_class c
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_collation co ON co.oid = a.attcollation
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
         ORDER BY c.relname, a.attnum",
        "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '
                || pg_get_constraintdef(oid)
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
        "SELECT 'index ' || pg_get_indexdef(indexrelid)
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1",
    ];
    queries
        .iter()
        .flat_map(|sql| {
            text_rows(admin, sql)
                .1
                .into_iter()
                .map(|row| row[0].clone().expect("snapshot line"))
        })
        .collect()
}

#[test]
fn init_sql_makes_the_tables_dl_log_to_pg_init_schema_makes() {
    let mut deployment = Deployment::new();
    let output = deployment.run_init_sql();
    assert_succeeded(&output, "the init SQL");

    let other = format!("{}_init", deployment.database);
    deployment.other_databases.push(other.clone());
    let output = Command::new(binary("dl-log-to-pg"))
        .env_clear()
        .args([
            "--init-schema",
            "--stdin",
            "--pg-url",
            &url_with(None, &other),
        ])
        .stdin(Stdio::null())
        .output()
        .expect("dl-log-to-pg");
    assert_succeeded(&output, "dl-log-to-pg --init-schema");

    let ours = schema_snapshot(&mut deployment.admin(&deployment.database));
    let theirs = schema_snapshot(&mut deployment.admin(&other));
    for table in ["numeric_data", "json_data"] {
        assert!(
            ours.iter()
                .any(|l| l == &format!("relation {table} kind r")),
            "no table {table}: {ours:#?}"
        );
    }
    assert!(
        ours.iter()
            .any(|l| l.starts_with("column numeric_data.sensor_name") && l.contains("collate C")),
        "{ours:#?}"
    );
    assert_eq!(
        ours, theirs,
        "the init SQL in postgres.values.yaml and dl-log-to-pg --init-schema differ"
    );
}

#[test]
fn init_sql_also_works_after_the_chart_made_the_user_and_database_and_twice() {
    // What the Bitnami image does when auth.username and auth.database are set (its
    // postgresql_create_admin_user): the user with CREATEDB owns the database and its public
    // schema, and the init scripts start in that database. The script must still work, and
    // running it again must change nothing.
    let deployment = Deployment::new();
    let mut admin = deployment.admin("postgres");
    for statement in [
        format!(
            "CREATE ROLE \"{}\" WITH LOGIN CREATEDB PASSWORD 'x'",
            deployment.writer
        ),
        format!("CREATE DATABASE \"{}\"", deployment.database),
        format!(
            "ALTER DATABASE \"{}\" OWNER TO \"{}\"",
            deployment.database, deployment.writer
        ),
    ] {
        admin
            .batch_execute(&statement)
            .unwrap_or_else(|e| panic!("{statement}: {}", describe(&e)));
    }
    deployment
        .admin(&deployment.database)
        .batch_execute(&format!(
            "ALTER SCHEMA public OWNER TO \"{}\"",
            deployment.writer
        ))
        .expect("the chart's schema owner");
    assert_succeeded(
        &deployment.run_init_sql_in(&deployment.database),
        "the init SQL after the chart made user and database",
    );
    let first = schema_snapshot(&mut deployment.admin(&deployment.database));
    assert_succeeded(&deployment.run_init_sql(), "the init SQL a second time");
    assert_eq!(
        schema_snapshot(&mut deployment.admin(&deployment.database)),
        first
    );
    // The writer can write (and, as owner here, more: the README says why the example
    // leaves auth.username unset); the reader can read.
    let mut writer = connect(&deployment.writer_url());
    writer
        .batch_execute(
            "INSERT INTO numeric_data (sensor_name, \"timestamp\", value_raw) VALUES ('x', now(), 1)",
        )
        .expect("the writer inserts");
    let mut reader = connect(&deployment.reader_url());
    let (_, rows) = text_rows(&mut reader, "SELECT count(*) FROM numeric_data");
    assert_eq!(rows, vec![vec![Some("1".to_string())]]);
}

/// One alert the test publishes: sensor, time, payload.
struct Sample {
    sensor: &'static str,
    time: &'static str,
    payload: Json,
}

fn samples() -> Vec<Sample> {
    let numeric = |sensor, time, raw: f64, cal: Option<f64>| Sample {
        sensor,
        time,
        payload: match cal {
            Some(cal) => serde_json::json!({"value_raw": raw, "value_cal": cal}),
            None => serde_json::json!({ "value_raw": raw }),
        },
    };
    vec![
        numeric("peaches", "2026-01-01T00:01:00Z", 1.0, Some(2.0)),
        numeric("peaches", "2026-01-01T00:05:00Z", 3.0, Some(6.0)),
        numeric("peaches", "2026-01-01T00:12:30Z", 5.0, Some(10.0)),
        numeric("peaches", "2026-01-01T00:55:00Z", 7.0, Some(14.0)),
        // Like the key-value store's chips, whose calibration fails: no value_cal.
        numeric("chips", "2026-01-01T00:02:00Z", 1.75, None),
        numeric("chips", "2026-01-01T00:31:00Z", 2.25, None),
        // Before the range, inside, at its end (BETWEEN includes it), after.
        numeric("waffles", "2025-12-31T23:59:00Z", -1.0, Some(-1.0)),
        numeric("waffles", "2026-01-01T00:03:00Z", 4.0, Some(4.0)),
        numeric("waffles", "2026-01-01T01:00:00Z", 8.0, Some(8.0)),
        numeric("waffles", "2026-01-01T01:30:00Z", 100.0, Some(100.0)),
        Sample {
            sensor: "valve",
            time: "2026-01-01T00:20:00Z",
            payload: serde_json::json!({"value_raw": "open"}),
        },
        Sample {
            sensor: "valve",
            time: "2026-01-01T00:40:00Z",
            payload: serde_json::json!({"value_raw": "closed", "value_cal": "shut"}),
        },
        Sample {
            sensor: "valve",
            time: "2026-01-01T02:00:00Z",
            payload: serde_json::json!({"value_raw": "late"}),
        },
    ]
}

/// The dashboard's time range and interval in this test: one hour, 10-minute buckets (so
/// several alerts share a bucket and the averages show).
fn range() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap(),
    )
}
const INTERVAL: &str = "10m";

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

#[test]
fn logger_as_dripline_then_every_dashboard_query_as_grafana_reader() {
    let deployment = Deployment::new();
    let output = deployment.run_init_sql();
    assert_succeeded(&output, "the init SQL");

    // The passwords came from the environment.
    let mut admin = deployment.admin("postgres");
    for role in [&deployment.writer, &deployment.reader] {
        let (_, rows) = text_rows(
            &mut admin,
            &format!(
                "SELECT rolpassword IS NOT NULL, rolsuper, rolcreatedb, rolcreaterole FROM pg_authid WHERE rolname = '{role}'"
            ),
        );
        assert_eq!(
            rows,
            vec![vec![
                Some("t".into()),
                Some("f".into()),
                Some("f".into()),
                Some("f".into())
            ]],
            "role {role}: a password, and no special rights"
        );
    }

    // Least privilege: neither role may create tables, the reader may not write.
    let mut writer = connect(&deployment.writer_url());
    let error = writer
        .batch_execute("CREATE TABLE mine (x int)")
        .expect_err("the dripline role must not create tables");
    assert!(
        describe(&error).contains("permission denied"),
        "{}",
        describe(&error)
    );
    let mut reader = connect(&deployment.reader_url());
    let error = reader
        .batch_execute(
            "INSERT INTO numeric_data (sensor_name, \"timestamp\", value_raw) VALUES ('x', now(), 1)",
        )
        .expect_err("the Grafana role must not write");
    assert!(
        describe(&error).contains("permission denied"),
        "{}",
        describe(&error)
    );
    reader
        .batch_execute("CREATE TEMPORARY TABLE t (x int)")
        .expect_err("the Grafana role must not create temporary tables");
    drop(writer);

    // The real logger, as dripline, without --init-schema, on a quorum queue.
    let queue = TestQueue::new("second_mesh", BROKER_PORT);
    let prefix = unique_name("sm_value");
    let mut logger = Logger::start(&[
        "--pg-url".to_string(),
        deployment.writer_url(),
        "--queue".to_string(),
        queue.to_string(),
        "--queue-type".to_string(),
        "quorum".to_string(),
        "--keys".to_string(),
        format!("{prefix}.#"),
        "--batch-time".to_string(),
        "50ms".to_string(),
    ]);
    let samples = samples();
    let lines: String = samples
        .iter()
        .map(|s| {
            format!(
                "{}\n",
                serde_json::json!({
                    "routing_key": format!("{prefix}.{}", s.sensor),
                    "payload": s.payload,
                    "timestamp": s.time,
                })
            )
        })
        .collect();
    publish(BROKER_PORT, &lines);
    let mut admin = deployment.admin(&deployment.database);
    let count = |admin: &mut Client, table: &str| -> i64 {
        admin
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .map(|row| row.get(0))
            .unwrap_or(-1)
    };
    assert!(
        wait_until(PATIENCE, || count(&mut admin, "numeric_data") == 10
            && count(&mut admin, "json_data") == 3),
        "the logger never stored the 13 alerts: {}",
        logger.stderr()
    );
    assert_eq!(logger.stop().map(|s| s.success()), Some(true));

    // A redelivered alert (same key, time and message id) meets its own row: the logger
    // writes the batch again through its temporary staging table with ON CONFLICT, which
    // the dripline role may do.
    let (_, stored) = text_rows(
        &mut admin,
        "SELECT message_id FROM numeric_data WHERE sensor_name = 'peaches' AND \"timestamp\" = '2026-01-01T00:05:00Z'",
    );
    let message_id = stored[0][0].clone().expect("message_id is filled");
    let again = format!(
        "{}\n",
        serde_json::json!({
            "routing_key": format!("{prefix}.peaches"),
            "payload": {"value_raw": 3.0, "value_cal": 6.0},
            "timestamp": "2026-01-01T00:05:00Z",
            "message_id": message_id,
        })
    );
    let output = run_with_stdin(
        without_env_settings(Command::new(binary("dl-log-to-pg"))).args([
            "--stdin",
            "-v",
            "--pg-url",
            &deployment.writer_url(),
        ]),
        &again,
    );
    assert_succeeded(&output, "dl-log-to-pg --stdin with a redelivered alert");
    assert_eq!(count(&mut admin, "numeric_data"), 10, "stored twice");

    // dl-export reads as the same role.
    let (from, to) = range();
    let output = run_with_stdin(
        without_env_settings(Command::new(binary("dl-export"))).args([
            "--pg-url",
            &deployment.writer_url(),
            "--sensor",
            "peaches,waffles",
            "--since",
            &from.to_rfc3339(),
            "--until",
            &to.to_rfc3339(),
            "--format",
            "jsonl",
        ]),
        "",
    );
    assert_succeeded(&output, "dl-export as dripline");
    let mut exported: Vec<(String, DateTime<Utc>, f64)> = stdout_of(&output)
        .lines()
        .map(|line| {
            let row: Json = serde_json::from_str(line).expect("a JSON line");
            (
                row["sensor_name"]
                    .as_str()
                    .expect("sensor_name")
                    .to_string(),
                time(row["timestamp"].as_str().expect("timestamp")),
                row["value_raw"].as_f64().expect("value_raw"),
            )
        })
        .collect();
    let mut expected: Vec<(String, DateTime<Utc>, f64)> = samples
        .iter()
        .filter(|s| ["peaches", "waffles"].contains(&s.sensor))
        .filter(|s| (from..to).contains(&time(s.time)))
        .map(|s| {
            (
                s.sensor.to_string(),
                time(s.time),
                s.payload["value_raw"].as_f64().unwrap(),
            )
        })
        .collect();
    exported.sort_by(|a, b| a.partial_cmp(b).unwrap());
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(exported, expected, "dl-export --until is exclusive");

    // Every query of the dashboard, as the Grafana role.
    check_dashboard(&mut reader);

    // The rollups, brought up to date as the chart's CronJob does (as dripline, with the
    // grants of the init SQL and no DDL right): the same panels
    // now read them, with the same answers, and the time series really reads them at whole
    // minutes and hours (a change to the rollup rows shows), raw rows below a minute.
    let output = run_with_stdin(
        without_env_settings(Command::new(binary("dl-history"))).args([
            "rollup",
            "--pg-url",
            &deployment.writer_url(),
        ]),
        "",
    );
    assert_succeeded(&output, "dl-history rollup");
    assert_eq!(count(&mut admin, "numeric_data_rollup_dirty"), 0);
    assert_eq!(
        count(&mut admin, "numeric_data_1m"),
        count(
            &mut admin,
            "(SELECT DISTINCT sensor_name, date_trunc('minute', \"timestamp\") FROM numeric_data) m"
        ),
        "a rollup row per sensor and minute with numbers"
    );
    check_dashboard(&mut reader);
    check_rollups_are_read(&mut admin);
}

/// The time series panel's query for peaches at `interval`, run by `client` before and after
/// adding 1000 to every value_raw in the rollups (rolled back): whether the answer changed.
fn check_rollups_are_read(admin: &mut Client) {
    let dashboard = dashboard();
    let panel = panels(&dashboard)
        .into_iter()
        .find(|p| p["title"] == "$sensor")
        .expect("the time series panel");
    let sql = panel["targets"][0]["rawSql"].as_str().expect("rawSql");
    let (from, to) = range();
    let peaches = ["peaches".to_string()];
    for (interval, reads_rollups) in [("1m", true), ("10m", true), ("1h", true), ("30s", false)] {
        let expanded = expand(sql, from, to, interval, &[("sensor", &peaches)]);
        let mut transaction = admin.transaction().expect("a transaction");
        let before = transaction
            .simple_query(&expanded)
            .expect("the panel query");
        transaction
            .batch_execute(
                "UPDATE numeric_data_1m SET sum_raw = sum_raw + 1000 * count;
                 UPDATE numeric_data_1h SET sum_raw = sum_raw + 1000 * count;",
            )
            .expect("changing the rollups");
        let after = transaction
            .simple_query(&expanded)
            .expect("the panel query");
        transaction.rollback().expect("rollback");
        let rows = |messages: &[SimpleQueryMessage]| -> Vec<Vec<Option<String>>> {
            messages
                .iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect()
        };
        let (before, after) = (rows(&before), rows(&after));
        assert!(!before.is_empty(), "{interval}: no rows");
        assert_eq!(
            before != after,
            reads_rollups,
            "$__interval {interval}: rollups read? before {before:?} after {after:?}"
        );
    }
}

fn run_with_stdin(command: &mut Command, input: &str) -> Output {
    let mut output = run_command(command, Some(input));
    // Keep stderr short in a failure message.
    output.stderr.truncate(8000);
    output
}

/// The dashboard JSON from the ConfigMap.
fn dashboard() -> Json {
    let config_map = read_yaml("grafana-dashboard.yaml");
    let data = config_map["data"]
        .as_mapping()
        .expect("the ConfigMap has data");
    assert_eq!(data.len(), 1, "one dashboard in the ConfigMap");
    let text = data.values().next().unwrap().as_str().expect("JSON text");
    serde_json::from_str(text).expect("the dashboard is JSON")
}

/// Every panel, also those inside rows.
fn panels(dashboard: &Json) -> Vec<&Json> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        all.push(panel);
        if let Some(inner) = panel["panels"].as_array() {
            all.extend(inner);
        }
    }
    all
}

/// The datasource uid in grafana-datasource-secret.yaml.
fn datasource() -> Yaml {
    let secret = read_yaml("grafana-datasource-secret.yaml");
    let files = secret["stringData"].as_mapping().expect("stringData");
    assert_eq!(files.len(), 1, "one provisioning file");
    let text = files.values().next().unwrap().as_str().expect("file text");
    let provisioning: Yaml = serde_yaml::from_str(text).expect("provisioning YAML");
    let list = provisioning["datasources"]
        .as_sequence()
        .expect("datasources");
    assert_eq!(list.len(), 1);
    list[0].clone()
}

fn check_dashboard(reader: &mut Client) {
    let dashboard = dashboard();
    let uid = str_at(&datasource(), &["uid"]).to_string();
    let (from, to) = range();

    // The template variable: its values come from SQL.
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    let mut sensor_values = Vec::new();
    let mut queries_run = 0;
    for variable in variables {
        if variable["type"] != "query" {
            continue;
        }
        assert_eq!(variable["datasource"]["uid"], uid.as_str(), "{variable}");
        let sql = variable["query"]
            .as_str()
            .or_else(|| variable["query"]["rawSql"].as_str())
            .or_else(|| variable["query"]["query"].as_str())
            .expect("a variable's SQL");
        let expanded = expand(sql, from, to, INTERVAL, &[]);
        let (_, rows) = text_rows(reader, &expanded);
        queries_run += 1;
        let values: Vec<String> = rows
            .into_iter()
            .map(|row| row[0].clone().expect("a name"))
            .collect();
        assert_eq!(variable["name"], "sensor", "a variable this test knows");
        assert_eq!(
            values,
            ["chips", "peaches", "waffles"],
            "every numeric sensor, in byte order"
        );
        sensor_values = values;
    }
    assert!(!sensor_values.is_empty(), "no $sensor variable");

    for panel in panels(&dashboard) {
        let Some(targets) = panel["targets"].as_array() else {
            continue;
        };
        let title = panel["title"].as_str().expect("title");
        for target in targets {
            let datasource = if target["datasource"].is_object() {
                &target["datasource"]
            } else {
                &panel["datasource"]
            };
            assert_eq!(datasource["uid"], uid.as_str(), "panel {title}");
            let sql = target["rawSql"]
                .as_str()
                .unwrap_or_else(|| panic!("panel {title}: a target without rawSql"));
            // A repeated panel runs once per value; the others with All (every value).
            let runs: Vec<Vec<String>> = if panel["repeat"] == "sensor" {
                sensor_values.iter().map(|v| vec![v.clone()]).collect()
            } else {
                vec![sensor_values.clone()]
            };
            for selection in runs {
                let expanded = expand(sql, from, to, INTERVAL, &[("sensor", &selection)]);
                let (columns, rows) = text_rows(reader, &expanded);
                queries_run += 1;
                check_panel(title, &selection, &columns, &rows, &expanded);
            }
        }
    }
    // The variable, 2 tables, 3 repetitions of the time series.
    assert_eq!(queries_run, 6, "queries run");
}

fn epoch(text: &str) -> i64 {
    time(text).timestamp()
}

fn parse_db_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn number(cell: &Option<String>) -> Option<f64> {
    cell.as_ref()
        .map(|text| text.parse().unwrap_or_else(|e| panic!("{text}: {e}")))
}

/// A row of the json_data panel: time, sensor, value_raw, value_cal.
type JsonPanelRow = (
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The rows each panel must show for the published samples, range and interval.
fn check_panel(
    title: &str,
    selection: &[String],
    columns: &[String],
    rows: &[Vec<Option<String>>],
    sql: &str,
) {
    let context = format!("panel {title} {selection:?}\n{sql}\ncolumns {columns:?}\nrows {rows:?}");
    match title {
        "$sensor" => {
            assert_eq!(columns, ["time", "value_cal", "value_raw"], "{context}");
            // (bucket start, mean value_cal, mean value_raw) per 10-minute bucket.
            let expected: Vec<(i64, Option<f64>, f64)> = match selection {
                [s] if s == "peaches" => vec![
                    (epoch("2026-01-01T00:00:00Z"), Some(4.0), 2.0),
                    (epoch("2026-01-01T00:10:00Z"), Some(10.0), 5.0),
                    (epoch("2026-01-01T00:50:00Z"), Some(14.0), 7.0),
                ],
                [s] if s == "chips" => vec![
                    (epoch("2026-01-01T00:00:00Z"), None, 1.75),
                    (epoch("2026-01-01T00:30:00Z"), None, 2.25),
                ],
                [s] if s == "waffles" => vec![
                    (epoch("2026-01-01T00:00:00Z"), Some(4.0), 4.0),
                    (epoch("2026-01-01T01:00:00Z"), Some(8.0), 8.0),
                ],
                _ => panic!("no expectation for {context}"),
            };
            let got: Vec<(i64, Option<f64>, f64)> = rows
                .iter()
                .map(|row| {
                    let bucket = number(&row[0]).expect("a bucket");
                    assert_eq!(bucket.fract(), 0.0, "{context}");
                    (
                        bucket as i64,
                        number(&row[1]),
                        number(&row[2]).expect("value_raw"),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{context}");
        }
        "Latest value of each sensor" => {
            assert_eq!(
                columns,
                ["sensor", "time", "value_raw", "value_cal"],
                "{context}"
            );
            let got: Vec<(String, DateTime<Utc>, f64, Option<f64>)> = rows
                .iter()
                .map(|row| {
                    (
                        row[0].clone().expect("sensor"),
                        parse_db_time(row[1].as_deref().expect("time")),
                        number(&row[2]).expect("value_raw"),
                        number(&row[3]),
                    )
                })
                .collect();
            let expected = vec![
                ("chips".into(), time("2026-01-01T00:31:00Z"), 2.25, None),
                (
                    "peaches".into(),
                    time("2026-01-01T00:55:00Z"),
                    7.0,
                    Some(14.0),
                ),
                (
                    "waffles".into(),
                    time("2026-01-01T01:00:00Z"),
                    8.0,
                    Some(8.0),
                ),
            ];
            assert_eq!(got, expected, "{context}");
        }
        "Values that are not numbers (json_data)" => {
            assert_eq!(
                columns,
                ["time", "sensor", "value_raw", "value_cal"],
                "{context}"
            );
            let got: Vec<JsonPanelRow> = rows
                .iter()
                .map(|row| {
                    (
                        parse_db_time(row[0].as_deref().expect("time")),
                        row[1].clone(),
                        row[2].clone(),
                        row[3].clone(),
                    )
                })
                .collect();
            let expected = vec![
                (
                    time("2026-01-01T00:40:00Z"),
                    Some("valve".into()),
                    Some("closed".into()),
                    Some("shut".into()),
                ),
                (
                    time("2026-01-01T00:20:00Z"),
                    Some("valve".into()),
                    Some("open".into()),
                    None,
                ),
            ];
            assert_eq!(got, expected, "{context}");
        }
        _ => panic!("no expectation for {context}: add one to tests/second_mesh.rs"),
    }
}

/// Expand a dashboard query as Grafana does for a PostgreSQL datasource (Grafana 10–12:
/// the frontend's template variables, then `sqleng.Interpolate`, then the PostgreSQL macro
/// engine, pkg/tsdb/grafana-postgresql-datasource/macros.go), for the range `from`–`to` and
/// `$__interval` = `interval`:
///
/// - `$name` / `${name}` of a template variable → its values, each in single quotes (`'`
///   doubled), joined with `,` (the PostgreSQL datasource's format for multi-value and
///   include-All variables; All is every value);
/// - `$__interval_ms` → milliseconds, `$__interval` → `interval` as written (`10m`),
///   `$__unixEpochFrom()` / `$__unixEpochTo()` → epoch seconds;
/// - `$__time(c)` → `c AS "time"`; `$__timeEpoch(c)` → `extract(epoch from c) as "time"`;
/// - `$__timeFilter(c)` → `c BETWEEN '<from>' AND '<to>'` (RFC 3339, UTC);
///   `$__timeFrom()` / `$__timeTo()` → `'<from>'` / `'<to>'`;
/// - `$__timeGroup(c, iv)` → `floor(extract(epoch from c)/S)*S` (S = seconds of `iv`), and
///   `$__timeGroupAlias(c, iv)` the same plus ` AS "time"` (as is `$__timeGroup` directly
///   followed by a comma, Grafana's pre-5.3 compatibility rule);
/// - `$__unixEpochFilter(c)` → `c >= <from> AND c <= <to>` in epoch seconds;
///   `$__unixEpochGroup(c, iv)` / `…Alias` → `floor((c)/S)*S` (`AS "time"`).
///
/// A fill argument, timescaledb's `time_bucket`, or any other `$` left over panics: the
/// dashboard must not use what this test cannot check.
fn expand(
    sql: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: &str,
    variables: &[(&str, &[String])],
) -> String {
    let mut sql = sql.to_string();
    for (name, values) in variables {
        let quoted = values
            .iter()
            .map(|v| format!("'{}'", v.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(",");
        sql = sql.replace(&format!("${{{name}}}"), &quoted);
        sql = replace_variable(&sql, name, &quoted);
    }
    let seconds = interval_seconds(interval);
    sql = sql.replace("$__interval_ms", &((seconds * 1000.0) as i64).to_string());
    sql = sql.replace("$__interval", interval);
    sql = sql.replace("$__unixEpochFrom()", &from.timestamp().to_string());
    sql = sql.replace("$__unixEpochTo()", &to.timestamp().to_string());

    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let mut out = String::new();
    let mut rest = sql.as_str();
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let Some(args_text) = after[name_len..].strip_prefix('(') else {
            panic!("unexpanded ${name} in:\n{sql}");
        };
        let close = args_text
            .find(')')
            .unwrap_or_else(|| panic!("${name}( without ) in:\n{sql}"));
        let args: Vec<&str> = args_text[..close].split(',').map(str::trim).collect();
        let next = &args_text[close + 1..];
        let column = args[0];
        let group = |alias: bool, epoch_column: bool| {
            assert!(
                args.len() == 2,
                "${name}: this test expands column and interval only (no fill):\n{sql}"
            );
            let s = interval_seconds(args[1].trim_matches('\''));
            let expression = if epoch_column {
                format!("floor(({column})/{s})*{s}")
            } else {
                format!("floor(extract(epoch from {column})/{s})*{s}")
            };
            if alias {
                format!("{expression} AS \"time\"")
            } else {
                expression
            }
        };
        let expansion = match name {
            "__time" => format!("{column} AS \"time\""),
            "__timeEpoch" => format!("extract(epoch from {column}) as \"time\""),
            "__timeFilter" => format!("{column} BETWEEN '{}' AND '{}'", stamp(from), stamp(to)),
            "__timeFrom" => format!("'{}'", stamp(from)),
            "__timeTo" => format!("'{}'", stamp(to)),
            "__timeGroup" => group(next.starts_with(','), false),
            "__timeGroupAlias" => group(true, false),
            "__unixEpochFilter" => format!(
                "{column} >= {} AND {column} <= {}",
                from.timestamp(),
                to.timestamp()
            ),
            "__unixEpochGroup" => group(false, true),
            "__unixEpochGroupAlias" => group(true, true),
            _ => panic!("unknown or unexpanded macro ${name} in:\n{sql}"),
        };
        out.push_str(&expansion);
        rest = next;
    }
    out.push_str(rest);
    out
}

/// Replace `$name` where the next character does not continue the name.
fn replace_variable(sql: &str, name: &str, value: &str) -> String {
    let pattern = format!("${name}");
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find(&pattern) {
        let after = &rest[at + pattern.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(&pattern);
        } else {
            out.push_str(value);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Seconds of a Grafana interval: `500ms`, `10s`, `10m`, `1h`, `1d`, `1w`.
fn interval_seconds(text: &str) -> f64 {
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| panic!("interval {text} has no unit"));
    let amount: f64 = text[..digits]
        .parse()
        .unwrap_or_else(|e| panic!("interval {text}: {e}"));
    let unit = match &text[digits..] {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 604800.0,
        other => panic!("interval unit {other} in {text}"),
    };
    amount * unit
}

#[test]
fn the_macro_expansion_is_grafanas() {
    let (from, to) = range();
    let values = ["a".to_string(), "it's".to_string()];
    let sql = "SELECT $__timeGroupAlias(\"timestamp\", $__interval), $__timeGroup(t, '1h'), x \
               FROM d WHERE s IN ($sensor) AND s2 = ${sensor} AND $__timeFilter(\"timestamp\") \
               AND $__time(t) AND $__unixEpochFilter(e) AND $__interval_ms > 0";
    let expanded = expand(sql, from, to, "10m", &[("sensor", &values)]);
    assert_eq!(
        expanded,
        "SELECT floor(extract(epoch from \"timestamp\")/600)*600 AS \"time\", \
         floor(extract(epoch from t)/3600)*3600 AS \"time\", x FROM d \
         WHERE s IN ('a','it''s') AND s2 = 'a','it''s' \
         AND \"timestamp\" BETWEEN '2026-01-01T00:00:00Z' AND '2026-01-01T01:00:00Z' \
         AND t AS \"time\" AND e >= 1767225600 AND e <= 1767229200 AND 600000 > 0"
    );
}

#[test]
#[should_panic(expected = "unexpanded")]
fn an_unexpanded_variable_fails_loudly() {
    let (from, to) = range();
    expand(
        "SELECT 1 WHERE x IN ($other)",
        from,
        to,
        INTERVAL,
        &[("sensor", &["a".to_string()])],
    );
}

#[test]
#[should_panic(expected = "unknown or unexpanded macro")]
fn an_unknown_macro_fails_loudly() {
    let (from, to) = range();
    expand("SELECT $__timeSomething(x)", from, to, INTERVAL, &[]);
}

/// Every Kubernetes object in the directory (not the `*.values.yaml`), by name.
fn manifests() -> BTreeMap<String, Yaml> {
    let mut objects = BTreeMap::new();
    for entry in std::fs::read_dir(example_dir()).expect("examples/second-mesh") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yaml") || name.ends_with(".values.yaml") {
            continue;
        }
        let object = read_yaml(&name);
        let kind = str_at(&object, &["kind"]);
        // prometheus-rules.yaml: prometheus-operator's alert rules on dl-metrics.
        let api = if kind == "PrometheusRule" {
            "monitoring.coreos.com/v1"
        } else {
            "v1"
        };
        assert_eq!(object["apiVersion"], api, "{name}");
        assert!(
            ["Secret", "ConfigMap", "PrometheusRule"].contains(&kind),
            "{name}: {kind}"
        );
        assert_eq!(
            str_at(&object, &["metadata", "namespace"]),
            "default",
            "{name}"
        );
        objects.insert(str_at(&object, &["metadata", "name"]).to_string(), object);
    }
    objects
}

/// `key` of the Secret `name` (its stringData).
fn secret_value<'a>(objects: &'a BTreeMap<String, Yaml>, name: &str, key: &str) -> &'a str {
    let object = objects
        .get(name)
        .unwrap_or_else(|| panic!("no secret {name} in examples/second-mesh"));
    assert_eq!(object["kind"], "Secret", "{name}");
    object["stringData"][key]
        .as_str()
        .unwrap_or_else(|| panic!("secret {name} has no key {key}"))
}

#[test]
fn the_example_files_agree_with_each_other() {
    let objects = manifests();
    for (name, object) in &objects {
        if object["kind"] == "Secret" {
            for (key, value) in object["stringData"].as_mapping().expect("stringData") {
                assert!(value.is_string(), "{name}.{key:?} is not a string");
            }
        }
    }

    // RabbitMQ: the chart's user and secret keys.
    let rabbitmq = read_yaml("rabbitmq.values.yaml");
    let secret = str_at(&rabbitmq, &["auth", "existingPasswordSecret"]);
    let broker_user = secret_value(&objects, secret, "username");
    assert_eq!(str_at(&rabbitmq, &["auth", "username"]), broker_user);
    let broker_password = secret_value(
        &objects,
        secret,
        str_at(&rabbitmq, &["auth", "existingSecretPasswordKey"]),
    );
    secret_value(
        &objects,
        str_at(&rabbitmq, &["auth", "existingErlangSecret"]),
        str_at(&rabbitmq, &["auth", "existingSecretErlangKey"]),
    );

    // PostgreSQL: the superuser's password, and every secret the init SQL's environment
    // refers to.
    let postgres = read_yaml("postgres.values.yaml");
    let db_secret = str_at(&postgres, &["auth", "existingSecret"]);
    secret_value(
        &objects,
        db_secret,
        str_at(&postgres, &["auth", "secretKeys", "adminPasswordKey"]),
    );
    let mut environment = BTreeMap::new();
    for variable in postgres["primary"]["extraEnvVars"]
        .as_sequence()
        .expect("primary.extraEnvVars")
    {
        let reference = &variable["valueFrom"]["secretKeyRef"];
        environment.insert(
            str_at(variable, &["name"]).to_string(),
            secret_value(
                &objects,
                str_at(reference, &["name"]),
                str_at(reference, &["key"]),
            ),
        );
    }
    let sql = init_sql();
    for variable in ["DRIPLINE_DB_PASSWORD", "GRAFANA_DB_PASSWORD"] {
        assert!(environment.contains_key(variable), "{variable} not set");
        assert!(
            sql.contains(&format!(" {variable}\n")),
            "{variable} not read"
        );
    }
    let db_user = secret_value(&objects, db_secret, "username");
    let db_password = secret_value(&objects, db_secret, "password");
    assert_eq!(environment["DRIPLINE_DB_PASSWORD"], db_password);
    assert_eq!(db_user, WRITER_ROLE);
    assert!(sql.contains(&format!("CREATE ROLE {WRITER_ROLE} LOGIN")));
    assert!(sql.contains(&format!("CREATE DATABASE {DATABASE}")));

    // The dripline-python auth file repeats the two logins.
    let auth: Json = serde_json::from_str(secret_value(
        &objects,
        "dripline-authentications",
        "authentications.json",
    ))
    .expect("authentications.json is JSON");
    assert_eq!(auth["dripline"]["username"], broker_user);
    assert_eq!(auth["dripline"]["password"], broker_password);
    assert_eq!(auth["postgres"]["username"], db_user);
    assert_eq!(auth["postgres"]["password"], db_password);

    // Grafana: the datasource's role, database and password variable; the admin secret; the
    // sidecar labels on the datasource secret and the dashboard ConfigMap.
    let grafana = read_yaml("grafana.values.yaml");
    let source = datasource();
    let reader = str_at(&source, &["user"]);
    assert_eq!(reader, READER_ROLE);
    assert!(sql.contains(&format!("CREATE ROLE {READER_ROLE} LOGIN")));
    assert_eq!(str_at(&source, &["jsonData", "database"]), DATABASE);
    assert_eq!(
        str_at(&source, &["url"]),
        "postgres-postgresql.default.svc.cluster.local:5432"
    );
    assert_eq!(
        str_at(&source, &["secureJsonData", "password"]),
        "$GRAFANA_DB_PASSWORD"
    );
    let reference = &grafana["envValueFrom"]["GRAFANA_DB_PASSWORD"]["secretKeyRef"];
    let reader_secret = str_at(reference, &["name"]);
    assert_eq!(secret_value(&objects, reader_secret, "username"), reader);
    assert_eq!(
        secret_value(&objects, reader_secret, str_at(reference, &["key"])),
        environment["GRAFANA_DB_PASSWORD"]
    );
    let admin_secret = str_at(&grafana, &["admin", "existingSecret"]);
    for key in ["userKey", "passwordKey"] {
        secret_value(&objects, admin_secret, str_at(&grafana, &["admin", key]));
    }
    for (sidecar, object) in [
        ("datasources", "grafana-datasource-secret"),
        ("dashboards", "grafana-dashboard-dripline-sensors"),
    ] {
        let label = str_at(&grafana, &["sidecar", sidecar, "label"]);
        let value = str_at(&grafana, &["sidecar", sidecar, "labelValue"]);
        assert_eq!(grafana["sidecar"][sidecar]["enabled"], true);
        assert_eq!(
            str_at(&objects[object], &["metadata", "labels", label]),
            value,
            "{object} is not labelled for the {sidecar} sidecar"
        );
    }
    let uid = str_at(&source, &["uid"]);
    let dashboard = dashboard();
    for panel in panels(&dashboard) {
        if panel["type"] != "row" {
            assert_eq!(panel["datasource"]["uid"], uid, "{}", panel["title"]);
        }
    }

    // Pinned chart versions and the legacy image repositories, as README.md says.
    let readme = std::fs::read_to_string(example_dir().join("README.md")).expect("README.md");
    for needle in [
        "oci://registry-1.docker.io/bitnamicharts/rabbitmq --version 16.0.14",
        "oci://registry-1.docker.io/bitnamicharts/postgresql --version 16.7.27",
        "grafana-community/grafana --version 11.6.1",
    ] {
        assert!(readme.contains(needle), "README.md lacks `{needle}`");
    }
    assert_eq!(
        str_at(&rabbitmq, &["image", "repository"]),
        "bitnamilegacy/rabbitmq"
    );
    assert_eq!(
        str_at(&postgres, &["image", "repository"]),
        "bitnamilegacy/postgresql"
    );
    for values in [&rabbitmq, &postgres] {
        assert_eq!(values["global"]["security"]["allowInsecureImages"], true);
    }
}

#[test]
fn rename_identifiers_replaces_whole_names_only() {
    assert_eq!(
        rename_identifiers(
            "GRANT x TO dripline; \\getenv dripline_password DRIPLINE_DB_PASSWORD -- dripline-python 'sensor_data'",
            &[("dripline", "d1"), ("sensor_data", "s1")]
        ),
        "GRANT x TO d1; \\getenv dripline_password DRIPLINE_DB_PASSWORD -- d1-python 's1'"
    );
}
