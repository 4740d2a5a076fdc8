//! dl-log-to-pg under faults, done for real: kill -9 of the logger mid-stream, a broker
//! stop/start, a PostgreSQL stop/start and crash. After each, every alert is in the table
//! exactly once. Broker and database faults use private instances (tests/private_services.rs)
//! so that the machine's shared servers, and the tests running beside these, are untouched.

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use dripline_e2e::private_services::{PrivateBroker, PrivatePostgres};
use dripline_e2e::{unique_name, wait_until};
use export_support::{pg_url, TestDb};
use log_support::{
    logger_args, numeric_alerts, publish, query_count, try_count, Logger, TestQueue, PATIENCE,
};

const SHARED_BROKER: u16 = 5672;

/// Small batches, so that a fault lands between many commits.
fn fault_args(url: &str, table: &str, queue: &str, prefix: &str, extra: &[&str]) -> Vec<String> {
    let small = [
        "--batch-size",
        "200",
        "--prefetch",
        "400",
        "--batch-time",
        "20ms",
    ];
    logger_args(url, table, queue, prefix, &[&small[..], extra].concat())
}

/// Rows, and distinct message ids, in `table` at `url`.
fn rows_and_ids(url: &str, table: &str) -> (i64, i64) {
    (
        query_count(url, &format!("SELECT count(*) FROM {table}")),
        query_count(
            url,
            &format!("SELECT count(DISTINCT message_id) FROM {table}"),
        ),
    )
}

#[test]
fn kill_9_mid_stream_loses_and_duplicates_nothing() {
    let db = TestDb::new();
    let table = db.table_arg();
    let queue = TestQueue::new("log_fault_queue", SHARED_BROKER);
    let prefix = unique_name("log_fault");
    let args = fault_args(&pg_url(), &table, &queue, &prefix, &[]);
    let mut logger = Logger::start(&args);
    let total = 20_000;
    let lines = numeric_alerts(&prefix, 0, total);
    let publisher = std::thread::spawn(move || publish(SHARED_BROKER, &lines));
    let count = format!("SELECT count(*) FROM {table}");
    assert!(
        wait_until(PATIENCE, || query_count(&pg_url(), &count) >= 2000),
        "{}",
        logger.stderr()
    );
    logger.kill9();
    let at_kill = query_count(&pg_url(), &count);
    assert!(at_kill < total as i64, "killed after the stream had ended");
    publisher.join().expect("publisher");
    let logger = Logger::start(&args);
    assert!(
        wait_until(PATIENCE, || query_count(&pg_url(), &count) >= total as i64),
        "rows missing after the restart: {}",
        logger.stderr()
    );
    // Let any redelivered duplicate arrive before counting.
    assert!(wait_until(PATIENCE, || logger.metric("waiting_alerts") == Some(0.0)));
    assert_eq!(
        rows_and_ids(&pg_url(), &table),
        (total as i64, total as i64)
    );
}

#[test]
fn a_broker_restart_loses_and_duplicates_nothing() {
    let broker = PrivateBroker::start();
    let port = broker.port().to_string();
    let db = TestDb::new();
    let table = db.table_arg();
    let prefix = unique_name("log_fault");
    let args = fault_args(&pg_url(), &table, "dl-log-to-pg", &prefix, &["-p", &port]);
    let logger = Logger::start(&args);
    publish(broker.port(), &numeric_alerts(&prefix, 0, 3000));
    let count = format!("SELECT count(*) FROM {table}");
    assert!(wait_until(PATIENCE, || query_count(&pg_url(), &count) > 0));
    broker.stop();
    assert!(
        wait_until(PATIENCE, || logger
            .stderr()
            .contains("lost the broker connection")),
        "{}",
        logger.stderr()
    );
    assert_eq!(logger.get("/readyz").0, 503);
    broker.start_again();
    assert!(
        wait_until(PATIENCE, || logger
            .stderr()
            .contains("connected to the broker again")),
        "{}",
        logger.stderr()
    );
    publish(broker.port(), &numeric_alerts(&prefix, 3000, 3000));
    assert!(
        wait_until(PATIENCE, || query_count(&pg_url(), &count) >= 6000),
        "rows missing after the broker restart: {}",
        logger.stderr()
    );
    assert!(wait_until(PATIENCE, || logger.metric("waiting_alerts") == Some(0.0)));
    assert_eq!(rows_and_ids(&pg_url(), &table), (6000, 6000));
    assert!(logger
        .get("/metrics")
        .1
        .contains("dl_log_to_pg_reconnects_total{peer=\"broker\"} 1"));
    assert_eq!(logger.get("/readyz").0, 200);
}

#[test]
fn a_database_restart_and_crash_lose_and_duplicate_nothing() {
    let postgres = PrivatePostgres::start();
    let url = postgres.url("postgres");
    let queue = TestQueue::new("log_fault_queue", SHARED_BROKER);
    let prefix = unique_name("log_fault");
    let args = fault_args(&url, "numeric_data", &queue, &prefix, &["--init-schema"]);
    let logger = Logger::start(&args);
    let count = "SELECT count(*) FROM numeric_data";
    publish(SHARED_BROKER, &numeric_alerts(&prefix, 0, 2000));
    assert!(wait_until(PATIENCE, || try_count(&url, count) == Some(2000)));

    // A clean stop: alerts keep coming, the logger waits and says it is not ready.
    postgres.stop("fast");
    publish(SHARED_BROKER, &numeric_alerts(&prefix, 2000, 2000));
    assert!(
        wait_until(PATIENCE, || logger.get("/readyz").0 == 503),
        "{}",
        logger.stderr()
    );
    assert!(
        logger.stderr().contains("consuming is paused"),
        "{}",
        logger.stderr()
    );
    postgres.start_again();
    assert!(
        wait_until(PATIENCE, || try_count(&url, count) == Some(4000)),
        "rows missing after the database restart: {}",
        logger.stderr()
    );

    // A crash in the middle of the stream.
    let lines = numeric_alerts(&prefix, 4000, 4000);
    let publisher = std::thread::spawn(move || publish(SHARED_BROKER, &lines));
    assert!(wait_until(PATIENCE, || try_count(&url, count).unwrap_or(0) > 4000));
    postgres.stop("immediate");
    publisher.join().expect("publisher");
    postgres.start_again();
    assert!(
        wait_until(PATIENCE, || try_count(&url, count) == Some(8000)),
        "rows missing after the database crash: {}",
        logger.stderr()
    );
    assert!(wait_until(PATIENCE, || logger.metric("waiting_alerts") == Some(0.0)));
    assert_eq!(rows_and_ids(&url, "numeric_data"), (8000, 8000));
    assert!(wait_until(PATIENCE, || logger.get("/readyz").0 == 200));
}

#[test]
fn sigterm_mid_stream_acknowledges_everything_it_committed() {
    // On dripline's plain table nothing deduplicates: a batch committed but not acknowledged
    // at exit would be stored twice after the restart.
    let mut db = TestDb::new();
    db.exec("DROP TABLE {table}; CREATE TABLE {table} (sensor_name text NOT NULL, \"timestamp\" timestamptz NOT NULL DEFAULT now(), value_raw double precision NOT NULL, value_cal double precision)");
    let table = db.table_arg();
    let queue = TestQueue::new("log_fault_queue", SHARED_BROKER);
    let prefix = unique_name("log_fault");
    let args = fault_args(&pg_url(), &table, &queue, &prefix, &[]);
    let mut logger = Logger::start(&args);
    let total = 10_000;
    let lines = numeric_alerts(&prefix, 0, total);
    let publisher = std::thread::spawn(move || publish(SHARED_BROKER, &lines));
    let count = format!("SELECT count(*) FROM {table}");
    assert!(wait_until(PATIENCE, || query_count(&pg_url(), &count) >= 1000));
    let status = logger.stop().expect("dl-log-to-pg stops on SIGTERM");
    assert!(status.success(), "{status}: {}", logger.stderr());
    publisher.join().expect("publisher");
    let logger = Logger::start(&args);
    assert!(
        wait_until(PATIENCE, || query_count(&pg_url(), &count) >= total as i64),
        "{}",
        logger.stderr()
    );
    assert!(wait_until(PATIENCE, || logger.metric("waiting_alerts") == Some(0.0)));
    assert_eq!(query_count(&pg_url(), &count), total as i64);
}
