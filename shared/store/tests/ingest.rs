//! SensorWriter, init_schema and create_database against the real PostgreSQL: each test in a
//! schema (or database) of its own.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use dripline_store::tokio_postgres::Client;
use dripline_store::{
    init_schema, message_key, JsonRow, NumericRow, SensorTables, SensorWriter, Written,
};
use serde_json::json;
use support::{client, config, unique_name, TestDatabase, TestSchema};
use uuid::Uuid;

fn at(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(1_764_028_800_000_000 + micros)
        .unwrap()
}

fn numeric(sensor: &str, time: DateTime<Utc>, raw: f64, id: Option<Uuid>) -> NumericRow {
    NumericRow {
        sensor_name: sensor.to_string(),
        timestamp: time,
        value_raw: raw,
        value_cal: Some(raw * 2.0),
        message_id: id,
    }
}

fn json_row(sensor: &str, payload: serde_json::Value) -> JsonRow {
    JsonRow {
        sensor_name: sensor.to_string(),
        timestamp: at(0),
        payload,
        message_id: Some(Uuid::new_v4()),
    }
}

async fn count(client: &Client, table: &dripline_store::TableName) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {}", table.sql()), &[])
        .await
        .unwrap()
        .get(0)
}

/// The names of `table`'s indexes, sorted.
async fn indexes(client: &Client, table: &dripline_store::TableName) -> Vec<String> {
    client
        .query(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = to_regclass($1) ORDER BY 1",
            &[&table.sql()],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            name.rsplit('.').next().unwrap().to_string()
        })
        .collect()
}

/// A table of the user's own with UNIQUE (message_id) alone is recognised too.
#[tokio::test]
async fn unique_message_id_alone_deduplicates() {
    let schema = TestSchema::new().await;
    let tables = schema.tables();
    let mut client = client().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE {} (sensor_name text NOT NULL, \"timestamp\" timestamptz NOT NULL, value_raw float8 NOT NULL, value_cal float8, message_id uuid UNIQUE)",
            tables.numeric.sql()
        ))
        .await
        .unwrap();
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    assert!(writer.deduplicates());
    let id = Some(Uuid::new_v4());
    let written = writer
        .write(&mut client, &[numeric("p", at(1), 1.0, id)], &[])
        .await
        .unwrap();
    assert_eq!(written.inserted, 1);
    let written = writer
        .write(&mut client, &[numeric("p", at(1), 1.0, id)], &[])
        .await
        .unwrap();
    assert_eq!(
        written,
        Written {
            inserted: 0,
            duplicates: 1
        }
    );
}

/// Our schema, made by init_schema: a redelivered alert (same message id) makes no second
/// row, two alerts with the same sensor and time (different ids) are both kept.
#[tokio::test]
async fn same_message_id_is_stored_once() {
    let schema = TestSchema::new().await;
    let tables = schema.tables();
    let mut client = client().await;
    init_schema(&client, &tables).await.unwrap();
    init_schema(&client, &tables)
        .await
        .expect("init_schema twice");
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    assert!(writer.deduplicates());

    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let first = [
        numeric("peaches", at(1), 1.5, Some(a)),
        numeric("peaches", at(1), 1.5, Some(b)),
        NumericRow {
            value_cal: None,
            ..numeric("pears", at(2), -0.25, None)
        },
    ];
    let written = writer.write(&mut client, &first, &[]).await.unwrap();
    assert_eq!(
        written,
        Written {
            inserted: 3,
            duplicates: 0
        }
    );

    // The batch redelivered, with one new alert and one repeated inside the batch.
    let second = [
        numeric("peaches", at(1), 1.5, Some(a)),
        numeric("peaches", at(1), 1.5, Some(b)),
        numeric("peaches", at(3), 7.0, Some(c)),
        numeric("peaches", at(3), 7.0, Some(c)),
    ];
    let written = writer.write(&mut client, &second, &[]).await.unwrap();
    assert_eq!(
        written,
        Written {
            inserted: 1,
            duplicates: 3
        }
    );

    let rows = client
        .query(
            &format!(
                "SELECT sensor_name, \"timestamp\", value_raw, value_cal, message_id FROM {} ORDER BY \"timestamp\", message_id",
                tables.numeric.sql()
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    let pears = rows
        .iter()
        .find(|r| r.get::<_, &str>(0) == "pears")
        .unwrap();
    assert_eq!(pears.get::<_, DateTime<Utc>>(1), at(2));
    assert_eq!(pears.get::<_, f64>(2), -0.25);
    assert_eq!(pears.get::<_, Option<f64>>(3), None);
    assert_eq!(pears.get::<_, Option<Uuid>>(4), None);
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|r| r.get(4)).collect();
    ids.sort();
    let mut expected = vec![a, b, c];
    expected.sort();
    assert_eq!(ids, expected);
}

/// dripline's own table (10_setup.sql): no message_id column. Written without deduplication,
/// and left as it was; a missing JSON table fails only a batch with JSON rows.
#[tokio::test]
async fn plain_dripline_table_is_written_and_not_altered() {
    let schema = TestSchema::new().await;
    let tables = schema.tables();
    let mut client = client().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE {} (sensor_name text NOT NULL, \"timestamp\" timestamptz NOT NULL DEFAULT now(), value_raw double precision NOT NULL, value_cal double precision)",
            tables.numeric.sql()
        ))
        .await
        .unwrap();
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    assert!(!writer.deduplicates());

    let id = Some(Uuid::new_v4());
    let batch = [
        numeric("peaches", at(1), 1.0, id),
        numeric("peaches", at(1), 1.0, id),
    ];
    for _ in 0..2 {
        let written = writer.write(&mut client, &batch, &[]).await.unwrap();
        assert_eq!(
            written,
            Written {
                inserted: 2,
                duplicates: 0
            }
        );
    }
    assert_eq!(count(&client, &tables.numeric).await, 4);

    let error = writer
        .write(&mut client, &batch, &[json_row("state", json!("on"))])
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&tables.json.to_string()), "{message}");
    assert!(message.contains("--init-schema"), "{message}");
    assert_eq!(error.sqlstate(), Some("42P01"));
    assert!(!error.is_connection_problem() && !error.is_data_problem());
    assert_eq!(
        count(&client, &tables.numeric).await,
        4,
        "nothing half-written"
    );

    let columns: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'numeric_data'",
            &[&schema.name],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(columns, 4, "the user's table keeps its columns");

    // init_schema over it adds the indexes (one sensor's time range; time alone, which the
    // rollups' refresh reads by) and the JSON table, not a column.
    init_schema(&client, &tables).await.unwrap();
    init_schema(&client, &tables).await.unwrap();
    assert_eq!(
        indexes(&client, &tables.numeric).await,
        ["numeric_data_sensor_time_idx", "numeric_data_time_brin"]
    );
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    assert!(!writer.deduplicates());
    let written = writer
        .write(&mut client, &[], &[json_row("state", json!("on"))])
        .await
        .unwrap();
    assert_eq!(written.inserted, 1);
}

/// Strings, booleans, objects, arrays go into jsonb as they were, beside numbers, in one
/// transaction.
#[tokio::test]
async fn json_values_round_trip() {
    let schema = TestSchema::new().await;
    let tables = schema.tables();
    let mut client = client().await;
    init_schema(&client, &tables).await.unwrap();
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    let payloads = [
        json!({"value_raw": "on", "value_cal": {"nested": [1, 2.5, null]}}),
        json!("a string with 'quotes' and ünïcode"),
        json!(true),
        json!([1, "two", false]),
    ];
    let rows: Vec<JsonRow> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| json_row(&format!("sensor{i}"), p.clone()))
        .collect();
    let written = writer
        .write(&mut client, &[numeric("n", at(0), 1.0, None)], &rows)
        .await
        .unwrap();
    assert_eq!(written.inserted, 5);
    let written = writer.write(&mut client, &[], &rows).await.unwrap();
    assert_eq!(
        written,
        Written {
            inserted: 0,
            duplicates: 4
        }
    );
    let stored = client
        .query(
            &format!(
                "SELECT payload FROM {} ORDER BY sensor_name",
                tables.json.sql()
            ),
            &[],
        )
        .await
        .unwrap();
    let stored: Vec<serde_json::Value> = stored.iter().map(|r| r.get(0)).collect();
    assert_eq!(stored, payloads);
}

/// A bad row fails the whole batch, numbers and JSON alike, as a data problem; nothing of it
/// stays, and the writer (and connection) works afterwards.
#[tokio::test]
async fn data_errors_roll_back_the_whole_batch() {
    let schema = TestSchema::new().await;
    let tables = schema.tables();
    let mut client = client().await;
    init_schema(&client, &tables).await.unwrap();
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    let good: Vec<NumericRow> = (0..100)
        .map(|i| numeric("good", at(i), i as f64, Some(Uuid::new_v4())))
        .collect();

    let nul_in_name = numeric("bad\0name", at(0), 0.0, Some(Uuid::new_v4()));
    let far_past = numeric("old", DateTime::<Utc>::MIN_UTC, 0.0, Some(Uuid::new_v4()));
    for bad in [nul_in_name, far_past] {
        let mut batch = good.clone();
        batch.insert(50, bad);
        let error = writer.write(&mut client, &batch, &[]).await.unwrap_err();
        assert!(error.is_data_problem(), "{error} ({:?})", error.sqlstate());
        assert!(!error.is_connection_problem(), "{error}");
    }

    let nul_in_json = json_row("state", json!({"text": "a\u{0}b"}));
    let error = writer
        .write(&mut client, &good, &[nul_in_json])
        .await
        .unwrap_err();
    assert!(error.is_data_problem(), "{error} ({:?})", error.sqlstate());

    assert_eq!(count(&client, &tables.numeric).await, 0);
    assert_eq!(count(&client, &tables.json).await, 0);
    let written = writer.write(&mut client, &good, &[]).await.unwrap();
    assert_eq!(written.inserted, 100);
}

/// The backend killed under the writer: the next write is a connection problem.
#[tokio::test]
async fn terminated_backend_is_a_connection_problem() {
    let schema = TestSchema::new().await;
    let tables = schema.tables();
    let mut client = client().await;
    init_schema(&client, &tables).await.unwrap();
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let other = support::client().await;
    let killed: bool = other
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(killed);
    let error = writer
        .write(
            &mut client,
            &[numeric("p", at(0), 1.0, Some(Uuid::new_v4()))],
            &[],
        )
        .await
        .unwrap_err();
    assert!(error.is_connection_problem(), "{error:?}");
    assert!(!error.is_data_problem());
    assert!(!error.to_string().contains("postgres:postgres"), "{error}");
}

/// The numeric table must exist; the message says which.
#[tokio::test]
async fn missing_numeric_table_is_named() {
    let schema = TestSchema::new().await;
    let tables = schema.tables();
    let client = client().await;
    let error = SensorWriter::prepare(&client, &tables)
        .await
        .err()
        .expect("no table, no writer");
    assert!(error.to_string().contains(&tables.numeric.to_string()));
    assert_eq!(error.sqlstate(), Some("42P01"));
}

/// create_database makes the database once; init_schema then fills it.
#[tokio::test]
async fn create_database_when_missing() {
    let database = TestDatabase {
        name: unique_name("store_test_db"),
    };
    let mut settings = config();
    settings.database = database.name.clone();
    assert!(matches!(
        dripline_store::connect_async(&settings).await,
        Err(dripline_store::StoreError::NoDatabase { .. })
    ));
    assert!(dripline_store::create_database(&settings).await.unwrap());
    assert!(!dripline_store::create_database(&settings).await.unwrap());
    let (mut client, _task) = dripline_store::connect_async(&settings).await.unwrap();
    let tables = SensorTables::default();
    init_schema(&client, &tables).await.unwrap();
    let mut writer = SensorWriter::prepare(&client, &tables).await.unwrap();
    let id = message_key("d0c8a4b2-51c3-4f57-a1b4-5f3f1b8e6a70/0/1");
    let written = writer
        .write(&mut client, &[numeric("p", at(0), 1.0, id)], &[])
        .await
        .unwrap();
    assert_eq!(written.inserted, 1);
    drop(client);
}
