//! A private schema (or database) in the real PostgreSQL for each test, dropped when the test
//! ends, even by a failed assertion.

#![allow(dead_code)]

use dripline_store::{ConnectionConfig, ConnectionOptions, SensorTables, TableName};

/// The test database: `DRIPLINE_TEST_PG_URL`, else the local server's `postgres` database as
/// user postgres (what scripts/services.sh sets up).
pub fn pg_url() -> String {
    std::env::var("DRIPLINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgresql://postgres:postgres@127.0.0.1:5432/postgres".to_string())
}

/// Settings for [`pg_url`], with `sslmode` and the rest as given in `options`.
pub fn config_with(options: ConnectionOptions) -> ConnectionConfig {
    ConnectionConfig::resolve_with_env(
        &ConnectionOptions {
            url: Some(pg_url()),
            ..options
        },
        |_| None,
    )
    .expect("test database settings")
}

/// Settings for [`pg_url`].
pub fn config() -> ConnectionConfig {
    config_with(ConnectionOptions::default())
}

/// A name no other test uses: `prefix_<8 hex digits>`.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..8])
}

/// A connected async client; its connection task is left running.
pub async fn client() -> dripline_store::tokio_postgres::Client {
    let (client, _task) = dripline_store::connect_async(&config())
        .await
        .expect("test database reachable");
    client
}

/// A schema of our own; `DROP SCHEMA … CASCADE` on drop.
pub struct TestSchema {
    /// Its name.
    pub name: String,
}

impl TestSchema {
    /// A fresh, empty schema.
    pub async fn new() -> Self {
        let name = unique_name("store_test");
        client()
            .await
            .batch_execute(&format!("CREATE SCHEMA \"{name}\""))
            .await
            .expect("create schema");
        TestSchema { name }
    }

    /// `numeric_data` and `json_data` in this schema.
    pub fn tables(&self) -> SensorTables {
        SensorTables::beside(TableName::qualified(&self.name, "numeric_data"))
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        drop_with_sync_client(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
    }
}

/// A database of our own name (not created here); `DROP DATABASE … WITH (FORCE)` on drop.
pub struct TestDatabase {
    /// Its name.
    pub name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_with_sync_client(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
    }
}

/// Run `sql` on a synchronous connection from a thread of its own: drop runs inside the
/// tests' tokio runtime, where the synchronous client cannot start its own.
fn drop_with_sync_client(sql: String) {
    let done = std::thread::spawn(move || {
        let mut client = dripline_store::connect(&config())?;
        client
            .batch_execute(&sql)
            .map_err(|e| dripline_store::StoreError::query(sql.clone(), &e))
    })
    .join();
    if let Ok(Err(error)) = done {
        eprintln!("test clean-up failed: {error}");
    }
}
