//! The dripline sensor table (PROTOCOL.md §A6.4), our recommended pair of tables, and how to
//! name and create them.
//!
//! dripline-python's `PostgresSensorLogger` writes, and the controls-guide's `10_setup.sql`
//! creates, this table (no key, no index):
//!
//! ```sql
//! CREATE TABLE numeric_data (
//!     sensor_name text NOT NULL,
//!     "timestamp" timestamp with time zone NOT NULL DEFAULT now(),
//!     value_raw   double precision NOT NULL,
//!     value_cal   double precision
//! );
//! ```
//!
//! We recommend (and [`init_schema`] creates) the same columns plus `message_id uuid`, with
//! the unique key `(sensor_name, "timestamp", message_id)`, so that an alert delivered twice
//! (at-least-once delivery) is stored once while two alerts with the same sensor and time are
//! both kept. The key is also the index that serves "one sensor, a time range" from Grafana and
//! `dl-export --sensor` (on dripline's own table, [`init_schema`] adds such an index). A
//! companion `json_data` table has `payload jsonb` in place of the two numbers, for values that
//! are not numbers. Sensor names are compared byte-wise (`COLLATE "C"`), which makes writing
//! cheaper (see `create_table`):
//!
//! ```sql
//! CREATE TABLE numeric_data (
//!     sensor_name text COLLATE "C" NOT NULL,
//!     "timestamp" timestamp with time zone NOT NULL DEFAULT now(),
//!     value_raw   double precision NOT NULL,
//!     value_cal   double precision,
//!     message_id  uuid,
//!     CONSTRAINT numeric_data_sensor_time_message_id_key
//!         UNIQUE (sensor_name, "timestamp", message_id)
//! );
//! CREATE TABLE json_data (
//!     sensor_name text COLLATE "C" NOT NULL,
//!     "timestamp" timestamp with time zone NOT NULL DEFAULT now(),
//!     payload     jsonb NOT NULL,
//!     message_id  uuid,
//!     CONSTRAINT json_data_sensor_time_message_id_key
//!         UNIQUE (sensor_name, "timestamp", message_id)
//! );
//! ```
//!
//! [`init_schema_partitioned`] makes the same two tables partitioned by time (`PARTITION BY
//! RANGE ("timestamp")`, see [`crate::partition`]): same columns, same unique key (it holds
//! the partition key already, as PostgreSQL requires), same names.

use crate::error::StoreError;
use crate::partition;
use crate::sql::{escape_identifier, escape_literal};
use std::fmt;
use std::str::FromStr;

/// The table name dripline uses everywhere.
pub const NUMERIC_DATA: &str = "numeric_data";
/// Our companion table for values that are not numbers.
pub const JSON_DATA: &str = "json_data";

/// Column names of the dripline table.
pub mod columns {
    /// `text NOT NULL`: the sensor (endpoint) name, from the alert's routing key.
    pub const SENSOR_NAME: &str = "sensor_name";
    /// `timestamptz NOT NULL DEFAULT now()`: when the value was taken (the alert's timestamp).
    pub const TIMESTAMP: &str = "timestamp";
    /// `double precision NOT NULL`: the raw value.
    pub const VALUE_RAW: &str = "value_raw";
    /// `double precision`, nullable: the calibrated value.
    pub const VALUE_CAL: &str = "value_cal";
    /// `jsonb NOT NULL`, in the JSON table only: the alert's payload.
    pub const PAYLOAD: &str = "payload";
    /// `uuid`, in our recommended tables only, part of their unique key: the dripline message
    /// id (see [`crate::ingest::message_key`]), so that a redelivered alert makes no second row.
    pub const MESSAGE_ID: &str = "message_id";
}

/// A table, optionally schema-qualified: `numeric_data` or `archive.numeric_data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    /// The schema, or `None` for the search path (normally `public`).
    pub schema: Option<String>,
    /// The table.
    pub name: String,
}

impl TableName {
    /// An unqualified table name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            schema: None,
            name: name.into(),
        }
    }

    /// A schema-qualified table name.
    pub fn qualified(schema: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            schema: Some(schema.into()),
            name: name.into(),
        }
    }

    /// The quoted SQL form: `"archive"."numeric_data"`.
    pub fn sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!(
                "{}.{}",
                escape_identifier(schema),
                escape_identifier(&self.name)
            ),
            None => escape_identifier(&self.name),
        }
    }
}

impl Default for TableName {
    fn default() -> Self {
        Self::new(NUMERIC_DATA)
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl FromStr for TableName {
    type Err = String;
    /// `table` or `schema.table` (names as stored, unquoted; no dots inside names).
    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let ok = |s: &str| !s.is_empty() && !s.contains('\0');
        match parts.as_slice() {
            [name] if ok(name) => Ok(TableName::new(*name)),
            [schema, name] if ok(schema) && ok(name) => Ok(TableName::qualified(*schema, *name)),
            _ => Err(format!(
                "'{text}' is not a table name (expected numeric_data or schema.numeric_data)"
            )),
        }
    }
}

/// The two tables a sensor logger writes: numeric values and everything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensorTables {
    /// Numbers (`value_raw`, `value_cal`): dripline's `numeric_data`.
    pub numeric: TableName,
    /// Strings, booleans, objects, arrays (as `jsonb`): our `json_data`.
    pub json: TableName,
}

impl SensorTables {
    /// `numeric` and a `json_data` table beside it, in the same schema.
    pub fn beside(numeric: TableName) -> Self {
        let json = TableName {
            schema: numeric.schema.clone(),
            name: JSON_DATA.to_string(),
        };
        Self { numeric, json }
    }
}

impl Default for SensorTables {
    /// `numeric_data` and `json_data` on the search path.
    fn default() -> Self {
        Self::beside(TableName::default())
    }
}

/// The statements that create both tables (and their schemas) if missing, with their indexes:
/// the one definition of our recommended schema.
///
/// On a table that already exists (such as one made by dripline's `10_setup.sql`, without
/// `message_id`) only the `(sensor_name, "timestamp")` index is added, if it has no such index;
/// columns are left alone.
pub fn create_statements(tables: &SensorTables) -> Vec<String> {
    let mut statements = create_schemas(tables);
    statements.push(create_table(&tables.numeric, NUMERIC_VALUES));
    statements.push(create_index(&tables.numeric));
    statements.push(create_time_index(&tables.numeric));
    statements.push(create_table(&tables.json, JSON_VALUES));
    statements.push(create_index(&tables.json));
    statements
}

/// The value columns of the numeric table, between `"timestamp"` and `message_id`.
const NUMERIC_VALUES: &str = "value_raw double precision NOT NULL,\n    value_cal double precision";
/// The value column of the JSON table.
const JSON_VALUES: &str = "payload jsonb NOT NULL";

/// `CREATE SCHEMA IF NOT EXISTS` for each schema the tables name.
fn create_schemas(tables: &SensorTables) -> Vec<String> {
    let mut statements = Vec::new();
    let mut schemas: Vec<&String> = Vec::new();
    for table in [&tables.numeric, &tables.json] {
        if let Some(schema) = &table.schema {
            if !schemas.contains(&schema) {
                schemas.push(schema);
                statements.push(format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    escape_identifier(schema)
                ));
            }
        }
    }
    statements
}

/// `CREATE TABLE IF NOT EXISTS` with the dripline key columns, `values`, and `message_id` in
/// a unique key `(sensor_name, "timestamp", message_id)`.
///
/// Why not `UNIQUE (message_id)` alone: random UUIDs land on random index pages, and that
/// index plus the one on `(sensor_name, "timestamp")` made writing about 2× slower (measured:
/// ~65 000 against ~115 000 rows/s in 5 000-row batches on the 2-core test machine). The key
/// sorts by sensor then time, so inserts touch few pages, and it doubles as the index for "one
/// sensor, a time range". A redelivered alert repeats its routing key and `timestamp` header,
/// so it still meets its own row; two alerts with the same sensor and time but different ids
/// are both kept.
///
/// Why `sensor_name` is `COLLATE "C"`: the key compares sensor names on every insert, and
/// byte order cost about a quarter less server CPU per row than the database's locale
/// (measured: 3.3–4.2 against 3.6–5.6 µs/row); it also lets `LIKE 'prefix%'` (`dl-export
/// --match`) use the index. Names then sort by code point (`B` before `a`); a join with a text
/// column of another explicit collation needs a `COLLATE` clause.
fn create_table(table: &TableName, values: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    sensor_name text COLLATE \"C\" NOT NULL,\n    \"timestamp\" timestamp with time zone NOT NULL DEFAULT now(),\n    {values},\n    message_id uuid,\n    CONSTRAINT {} UNIQUE (sensor_name, \"timestamp\", message_id)\n)",
        table.sql(),
        escape_identifier(&format!("{}_sensor_time_message_id_key", table.name)),
    )
}

/// The index that serves "one sensor, a time range" (Grafana, `dl-export --sensor`), made only
/// when no index of the table starts with `(sensor_name, "timestamp")` already (our unique key
/// does; a table from `10_setup.sql` has none). The rollups' refresh reads by it too.
pub(crate) fn create_index(table: &TableName) -> String {
    format!(
        "DO $dripline$ BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        JOIN pg_attribute s ON s.attrelid = i.indrelid AND s.attname = 'sensor_name'
        JOIN pg_attribute t ON t.attrelid = i.indrelid AND t.attname = 'timestamp'
        WHERE i.indrelid = {}::regclass AND i.indkey[0] = s.attnum AND i.indkey[1] = t.attnum
    ) THEN
        CREATE INDEX IF NOT EXISTS {} ON {} (sensor_name, \"timestamp\");
    END IF;
END $dripline$",
        escape_literal(&table.sql()),
        escape_identifier(&format!("{}_sensor_time_idx", table.name)),
        table.sql()
    )
}

/// Whether an index of `table` (of a partitioned table: one that all its partitions have)
/// starts with `sensor_name`, as [`create_index`] and our key do.
pub(crate) async fn has_sensor_index(
    client: &tokio_postgres::Client,
    table: &TableName,
) -> Result<bool, StoreError> {
    let row = client
        .query_one(
            "SELECT EXISTS (
                 SELECT 1 FROM pg_index i
                 JOIN pg_attribute s ON s.attrelid = i.indrelid AND s.attname = 'sensor_name'
                 WHERE i.indrelid = to_regclass($1) AND i.indkey[0] = s.attnum)",
            &[&table.sql()],
        )
        .await
        .map_err(|e| StoreError::query(format!("looking up the indexes of {table}"), &e))?;
    Ok(row.get(0))
}

/// The BRIN index on `"timestamp"` of a plain table, for time ranges over all sensors, which
/// the key's btree (sensor first) cannot serve: without it such a query reads the whole table
/// (measured on one 4-million-row table, 200 sensors over 5.5 h at 1 Hz: the last hour 328 ms
/// by a parallel seq scan, 125 ms with it; the last 5 minutes 278 ms against 22 ms), for an
/// index of 24 kB. Made only when no index of the table starts with `"timestamp"`, and never on
/// a partitioned table: there partition pruning bounds such a scan to the partitions of the
/// range, and the index cost the logger 3–7 % of its insert rate (see [`crate::partition`]).
/// `autosummarize` has autovacuum summarise new block ranges as the logger fills them.
fn create_time_index(table: &TableName) -> String {
    format!(
        "DO $dripline$ BEGIN
    IF (SELECT relkind = 'r' FROM pg_class WHERE oid = {table_literal}::regclass) AND NOT EXISTS (
        SELECT 1 FROM pg_index i
        JOIN pg_attribute t ON t.attrelid = i.indrelid AND t.attname = 'timestamp'
        WHERE i.indrelid = {table_literal}::regclass AND i.indkey[0] = t.attnum
    ) THEN
        CREATE INDEX IF NOT EXISTS {name} ON {table} USING brin (\"timestamp\") WITH (autosummarize = on);
    END IF;
END $dripline$",
        table_literal = escape_literal(&table.sql()),
        name = escape_identifier(&format!("{}_time_brin", table.name)),
        table = table.sql(),
    )
}

/// Create both tables (and their schemas) if missing, with their indexes, and the numeric
/// table's rollups ([`crate::rollup::init`]); see [`create_statements`]. Safe to run again, and on a table made by dripline's `10_setup.sql`.
pub async fn init_schema(
    client: &tokio_postgres::Client,
    tables: &SensorTables,
) -> Result<(), StoreError> {
    for statement in create_statements(tables) {
        client
            .batch_execute(&statement)
            .await
            .map_err(|e| StoreError::query(creating(tables), &e))?;
    }
    // The rollups (1 minute, 1 hour) of the numeric table, and the trigger that keeps them.
    crate::rollup::init(client, &tables.numeric).await
}

/// [`init_schema`], with both tables partitioned by `period` when they are created (see
/// [`crate::partition`]), and their partitions from the current period to
/// [`partition::AHEAD`] periods ahead. A table that exists already is left as it is (a plain
/// one is named in a warning: `dl-history migrate` partitions it); its partitions are created
/// ahead if it is partitioned by us.
pub async fn init_schema_partitioned(
    client: &mut tokio_postgres::Client,
    tables: &SensorTables,
    period: partition::Period,
) -> Result<(), StoreError> {
    let fail = |e: tokio_postgres::Error| StoreError::query(creating(tables), &e);
    for table in [&tables.numeric, &tables.json] {
        partition::check_name(table)?;
    }
    for statement in create_schemas(tables) {
        client.batch_execute(&statement).await.map_err(fail)?;
    }
    for (table, values) in [
        (&tables.numeric, NUMERIC_VALUES),
        (&tables.json, JSON_VALUES),
    ] {
        match partition::layout(client, table).await? {
            partition::Layout::Missing => {
                let mut statements =
                    partition::partitioned_statements(table, &create_table(table, values), period);
                statements.push(create_index(table));
                let transaction = client.transaction().await.map_err(fail)?;
                for statement in statements {
                    transaction.batch_execute(&statement).await.map_err(fail)?;
                }
                transaction.commit().await.map_err(fail)?;
            }
            partition::Layout::Plain => {
                tracing::warn!(
                    %table,
                    "the table exists and is not partitioned; left as it is (dl-history migrate \
                     --partition {period} partitions it in place)"
                );
                client
                    .batch_execute(&create_index(table))
                    .await
                    .map_err(fail)?;
                if table == &tables.numeric {
                    client
                        .batch_execute(&create_time_index(table))
                        .await
                        .map_err(fail)?;
                }
            }
            partition::Layout::Partitioned { .. } | partition::Layout::Foreign => {}
        }
        if let partition::Layout::Partitioned {
            period: Some(existing),
        } = partition::layout(client, table).await?
        {
            if existing != period {
                tracing::warn!(%table, "the table is partitioned by {existing}, not {period}; left so");
            }
            ensure_ahead(client, table, existing, partition::Patience::Retry).await?;
        }
    }
    crate::rollup::init(client, &tables.numeric).await
}

/// Create the partitions of `table` from the current period to [`partition::AHEAD`] periods
/// ahead (by the local clock); the partitions created.
pub async fn ensure_ahead(
    client: &mut tokio_postgres::Client,
    table: &TableName,
    period: partition::Period,
    patience: partition::Patience,
) -> Result<Vec<partition::Created>, StoreError> {
    let now = chrono::Utc::now();
    let mut until = period.start_of(now);
    for _ in 0..partition::AHEAD {
        until = period.next(until);
    }
    partition::ensure(client, table, period, now, until, patience).await
}

/// [`init_schema`] for a synchronous client (set-up scripts, tests).
pub fn init_schema_blocking(
    client: &mut postgres::Client,
    tables: &SensorTables,
) -> Result<(), StoreError> {
    for statement in create_statements(tables) {
        client
            .batch_execute(&statement)
            .map_err(|e| StoreError::query(creating(tables), &e))?;
    }
    crate::rollup::init_blocking(client, &tables.numeric)
}

fn creating(tables: &SensorTables) -> String {
    format!("creating tables {} and {}", tables.numeric, tables.json)
}

/// Whether `table` exists (and is visible to this user).
pub async fn table_exists(
    client: &tokio_postgres::Client,
    table: &TableName,
) -> Result<bool, StoreError> {
    let row = client
        .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&table.sql()])
        .await
        .map_err(|e| StoreError::query(format!("looking up table {table}"), &e))?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_quote() {
        let t: TableName = "archive.numeric_data".parse().unwrap();
        assert_eq!(t.sql(), "\"archive\".\"numeric_data\"");
        assert_eq!(t.to_string(), "archive.numeric_data");
        assert_eq!(TableName::default().sql(), "\"numeric_data\"");
        assert!("a.b.c".parse::<TableName>().is_err());
        assert!("".parse::<TableName>().is_err());
    }

    #[test]
    fn create_statements_make_both_tables_with_keys_and_indexes() {
        let tables = SensorTables::beside(TableName::qualified("s", "t"));
        assert_eq!(tables.json, TableName::qualified("s", "json_data"));
        let statements = create_statements(&tables);
        assert_eq!(statements.len(), 6);
        assert_eq!(statements[0], "CREATE SCHEMA IF NOT EXISTS \"s\"");
        assert!(statements[1].contains(
            "CONSTRAINT \"t_sensor_time_message_id_key\" UNIQUE (sensor_name, \"timestamp\", message_id)"
        ));
        assert!(statements[2].contains("ON \"s\".\"t\" (sensor_name, \"timestamp\")"));
        assert!(statements[1].contains("sensor_name text COLLATE \"C\" NOT NULL"));
        assert!(statements[3].contains("\"t_time_brin\" ON \"s\".\"t\" USING brin"));
        assert!(statements[4].contains("payload jsonb NOT NULL"));
        assert!(statements[5].contains("\"json_data_sensor_time_idx\""));
    }
}
