//! The dripline sensor table (PROTOCOL.md §A6.4) and how to name and create it.
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
//! This is the table dripline-python's `PostgresSensorLogger` writes and the controls-guide's
//! `10_setup.sql` creates. Their script adds no index; we recommend (and [`init_schema`]
//! creates) one on `(sensor_name, "timestamp")`, which serves the usual queries "one sensor,
//! a time range" from Grafana and `dl-export --sensor`.

use crate::error::StoreError;
use crate::sql::{quote_ident, quote_literal};
use std::fmt;
use std::str::FromStr;

/// The table name dripline uses everywhere.
pub const NUMERIC_DATA: &str = "numeric_data";

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
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name),
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

/// The statements that create `table` (and its schema) if missing, with the recommended index.
pub fn create_statements(table: &TableName) -> Vec<String> {
    let mut statements = Vec::new();
    if let Some(schema) = &table.schema {
        statements.push(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(schema)
        ));
    }
    statements.push(format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    sensor_name text NOT NULL,\n    \"timestamp\" timestamp with time zone NOT NULL DEFAULT now(),\n    value_raw double precision NOT NULL,\n    value_cal double precision\n)",
        table.sql()
    ));
    statements.push(format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} (sensor_name, \"timestamp\")",
        quote_ident(&format!("{}_sensor_time_idx", table.name)),
        table.sql()
    ));
    statements
}

/// Create `table` (and its schema) if missing, with the index on `(sensor_name, "timestamp")`.
/// Safe to run again on an existing table, including one made by dripline's `10_setup.sql`
/// (then only the index is added).
pub async fn init_schema(
    client: &tokio_postgres::Client,
    table: &TableName,
) -> Result<(), StoreError> {
    for statement in create_statements(table) {
        client
            .batch_execute(&statement)
            .await
            .map_err(|e| StoreError::query(format!("creating table {table}"), &e))?;
    }
    Ok(())
}

/// [`init_schema`] for a synchronous client (set-up scripts, tests).
pub fn init_schema_blocking(
    client: &mut postgres::Client,
    table: &TableName,
) -> Result<(), StoreError> {
    for statement in create_statements(table) {
        client
            .batch_execute(&statement)
            .map_err(|e| StoreError::query(format!("creating table {table}"), &e))?;
    }
    Ok(())
}

/// Whether `table` exists (and is visible to this user).
pub async fn table_exists(
    client: &tokio_postgres::Client,
    table: &TableName,
) -> Result<bool, StoreError> {
    let row = client
        .query_one(
            &format!(
                "SELECT to_regclass({}) IS NOT NULL",
                quote_literal(&table.sql())
            ),
            &[],
        )
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
    fn create_statements_include_the_index() {
        let statements = create_statements(&TableName::qualified("s", "t"));
        assert_eq!(statements.len(), 3);
        assert!(statements[2].contains("(sensor_name, \"timestamp\")"));
    }
}
