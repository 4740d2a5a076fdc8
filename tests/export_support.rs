//! Helpers for the dl-export end-to-end tests (included with `#[path]` by each
//! `export_*.rs`): a private schema in the real PostgreSQL, dropped when the test ends, and
//! a `dl-export` command pointed at it.

#![allow(dead_code)]

use dripline_e2e::{binary, unique_name, without_env_settings};
use dripline_store::postgres::{Client, NoTls};
use dripline_store::TableName;
use std::process::{Command, Output, Stdio};

/// The test database: `DRIPLINE_TEST_PG_URL`, else the local server's `postgres` database as
/// user postgres with password postgres (what scripts/services.sh sets up; ignored under trust
/// authentication). Every test works in a schema of its own there.
pub fn pg_url() -> String {
    std::env::var("DRIPLINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgresql://postgres:postgres@127.0.0.1:5432/postgres".to_string())
}

/// A schema of our own holding a dripline `numeric_data` table; dropped on drop.
pub struct TestDb {
    /// A connection for setting up and checking.
    pub client: Client,
    /// The schema name (`export_test_<hex>`).
    pub schema: String,
    /// The table, schema-qualified.
    pub table: TableName,
}

impl TestDb {
    /// Create the schema and table (through the store's own `init_schema`).
    pub fn new() -> Self {
        let mut client = Client::connect(&pg_url(), NoTls)
            .unwrap_or_else(|e| panic!("test database {} unreachable: {e}", pg_url()));
        let schema = unique_name("export_test");
        let table = TableName::qualified(&schema, "numeric_data");
        let tables = dripline_store::SensorTables::beside(table.clone());
        dripline_store::init_schema_blocking(&mut client, &tables).expect("init_schema");
        client
            .batch_execute("SET TIME ZONE 'UTC'")
            .expect("set time zone");
        TestDb {
            client,
            schema,
            table,
        }
    }

    /// `schema.numeric_data`, as given to `--table`.
    pub fn table_arg(&self) -> String {
        self.table.to_string()
    }

    /// The quoted SQL name of the table.
    pub fn sql_table(&self) -> String {
        self.table.sql()
    }

    /// Run SQL (several statements allowed).
    pub fn exec(&mut self, sql: &str) {
        let sql = sql.replace("{table}", &self.sql_table());
        self.client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A `dl-export` command for this table, with the connection in `--pg-url` and no
    /// credentials or settings leaking in from the environment.
    pub fn dl_export(&self) -> Command {
        let mut command = without_env_settings(Command::new(binary("dl-export")));
        command
            .args(["--pg-url", &pg_url(), "--table", &self.table_arg()])
            .stdin(Stdio::null());
        command
    }

    /// Run `dl-export` with `args`, collecting stdout and stderr.
    pub fn run(&self, args: &[&str]) -> Output {
        self.dl_export()
            .args(args)
            .output()
            .expect("running dl-export")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = self.client.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.schema
        ));
    }
}

/// Assert success and return stdout.
pub fn ok_stdout(output: &Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "dl-export failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout.clone()
}

/// Parse an RFC 3339 timestamp to microseconds since the epoch.
pub fn micros_of(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("'{text}' is not RFC 3339: {e}"))
        .timestamp_micros()
}

/// A value cell as dl-export writes it in CSV: empty for NULL, `NaN`, `Infinity`, numbers.
pub fn csv_value(text: &str) -> Option<f64> {
    match text {
        "" => None,
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        other => Some(
            other
                .parse()
                .unwrap_or_else(|_| panic!("'{other}' is not a number")),
        ),
    }
}

/// The same for a JSON value.
pub fn json_value(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => csv_value(s),
        serde_json::Value::Number(n) => Some(n.as_f64().expect("a finite number")),
        other => panic!("unexpected value {other}"),
    }
}

/// Bitwise float equality, with every NaN equal (the database treats NaNs as equal too).
pub fn same_float(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (None, None) => true,
        _ => false,
    }
}
