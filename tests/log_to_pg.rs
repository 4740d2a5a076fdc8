//! dl-log-to-pg end to end on the machine's RabbitMQ and PostgreSQL: alerts (from dl-alert,
//! dl-serve and stdin) become rows with the right names, timestamps and values; non-numeric
//! values go to the JSON table; poison alerts go to the dead-letter queue with the reason
//! while the stream goes on; replicas share a queue; failures give their exit statuses.
//! Every test has its own queue, routing keys and schema. Faults are in log_faults.rs.

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use dripline_e2e::{
    binary, on_broker_channel, run_command, unique_name, wait_until, without_env_settings,
    ChildGuard,
};
use export_support::{pg_url, TestDb};
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use lapin::types::AMQPValue;
use log_support::{logger_args, numeric_alerts, publish, query_count, Logger, TestQueue, PATIENCE};
use std::process::{Command, Stdio};

const BROKER_PORT: u16 = 5672;

/// A logger for `db` on the shared broker, its own queue, keys `<prefix>.#`.
fn start_logger(db: &TestDb, queue: &str, prefix: &str, extra: &[&str]) -> Logger {
    let extra = [&["--batch-time", "50ms"], extra].concat();
    Logger::start(&logger_args(
        &pg_url(),
        &db.table_arg(),
        queue,
        prefix,
        &extra,
    ))
}

fn count(db: &TestDb, sql: &str) -> i64 {
    query_count(&pg_url(), &sql.replace("{schema}", &db.schema))
}

#[test]
fn alerts_become_rows_named_by_key_timed_by_their_header() {
    let db = TestDb::new();
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let prefix = unique_name("log_value");
    let mut logger = start_logger(&db, &queue, &prefix, &[]);
    let mut lines = numeric_alerts(&prefix, 0, 500);
    lines.push_str(&format!(
        "{{\"routing_key\":\"{prefix}.old\",\"payload\":{{\"value_raw\":7}},\"timestamp\":\"2020-01-02T03:04:05.123456Z\"}}\n"
    ));
    publish(BROKER_PORT, &lines);
    assert!(
        wait_until(PATIENCE, || count(
            &db,
            "SELECT count(*) FROM {schema}.numeric_data"
        ) == 501),
        "rows never arrived: {}",
        logger.stderr()
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM {schema}.numeric_data WHERE sensor_name = 's3'"
        ),
        50
    );
    assert_eq!(
        count(
            &db,
            "SELECT sum(value_raw)::bigint FROM {schema}.numeric_data WHERE sensor_name LIKE 's_'"
        ),
        (0..500).sum::<i64>()
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM {schema}.numeric_data WHERE sensor_name LIKE 's_' AND value_cal = 2 * value_raw"),
        500
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM {schema}.numeric_data WHERE sensor_name = 'old' AND value_cal IS NULL AND \"timestamp\" = '2020-01-02T03:04:05.123456Z'"),
        1,
        "the row's time is the alert's timestamp header"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT message_id) FROM {schema}.numeric_data"
        ),
        501
    );
    assert_eq!(logger.metric("written_rows_total"), Some(501.0));
    assert_eq!(logger.metric("received_total"), Some(501.0));
    let status = logger.stop().expect("dl-log-to-pg stops on SIGTERM");
    assert!(status.success(), "{status}: {}", logger.stderr());
    assert!(logger
        .stderr()
        .contains("501 alerts received, 501 rows written"));
}

#[test]
fn dl_serve_logged_values_arrive_with_calibration() {
    let db = TestDb::new();
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let endpoint = unique_name("log_peaches");
    let service = unique_name("log_store");
    let config = format!(
        "name: {service}\nmodule: Service\nheartbeat_interval_s: 0\nendpoints:\n  - name: {endpoint}\n    module: KeyValueStore\n    initial_value: 0.75\n    calibration: '2*{{}}'\n    log_interval: 0.2\n"
    );
    let dir = std::env::temp_dir().join(unique_name("log_serve"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.yaml");
    std::fs::write(&path, config).unwrap();
    let table = db.table_arg();
    let key = format!("sensor_value.{endpoint}");
    let logger = Logger::start(&[
        "--pg-url",
        &pg_url(),
        "--table",
        &table,
        "--queue",
        &queue,
        "--keys",
        &key,
        "--batch-time",
        "50ms",
    ]);
    let started = chrono::Utc::now();
    let _serve = ChildGuard::spawn(
        without_env_settings(Command::new(binary("dl-serve")))
            .args(["-c", path.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let sql = format!(
        "SELECT count(*) FROM {}.numeric_data WHERE sensor_name = '{endpoint}' AND value_raw = 0.75 AND value_cal = 1.5",
        db.schema
    );
    assert!(
        wait_until(PATIENCE, || query_count(&pg_url(), &sql) >= 3),
        "no logged values arrived: {}",
        logger.stderr()
    );
    let earliest = format!(
        "SELECT count(*) FROM {}.numeric_data WHERE sensor_name = '{endpoint}' AND \"timestamp\" < '{}'",
        db.schema,
        started.to_rfc3339()
    );
    assert_eq!(
        query_count(&pg_url(), &earliest),
        0,
        "timestamps are the alerts' own"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Publish a raw AMQP message that is not a dripline message at all.
fn publish_garbage(routing_key: &str) {
    on_broker_channel(BROKER_PORT, async |channel| {
        channel
            .basic_publish(
                "alerts".into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                b"not json {",
                lapin::BasicProperties::default(),
            )
            .await?
            .await
            .map(|_| ())
    })
    .unwrap();
}

/// Take every message from `queue`: (routing key, reason header, message id, body).
fn drain_dead_letters(queue: &str) -> Vec<(String, String, String, String)> {
    on_broker_channel(BROKER_PORT, async |channel| {
        let mut found = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await?
        {
            let reason = message
                .delivery
                .properties
                .headers()
                .as_ref()
                .and_then(|headers| headers.inner().get("x-dl-log-to-pg-reason").cloned())
                .map(|value| match value {
                    AMQPValue::LongString(text) => text.to_string(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            let properties = &message.delivery.properties;
            let message_id = properties
                .message_id()
                .as_ref()
                .map(|id| id.to_string())
                .unwrap_or_default();
            let has_timestamp = properties
                .headers()
                .as_ref()
                .is_some_and(|headers| headers.inner().contains_key("timestamp"));
            assert!(
                has_timestamp || message_id.is_empty(),
                "a dead letter keeps its timestamp"
            );
            let body = String::from_utf8_lossy(&message.delivery.data).into_owned();
            found.push((
                message.delivery.routing_key.to_string(),
                reason,
                message_id,
                body,
            ));
        }
        Ok(found)
    })
    .unwrap()
}

#[test]
fn non_numeric_values_go_to_json_and_poison_to_the_dead_letter_queue() {
    let db = TestDb::new();
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let prefix = unique_name("log_value");
    let logger = start_logger(&db, &queue, &prefix, &[]);
    let long_text = "x".repeat(30_000);
    let lines = format!(
        "{{\"routing_key\":\"{prefix}.state\",\"payload\":{{\"value_raw\":\"on\"}}}}\n\
         {{\"routing_key\":\"{prefix}.flag\",\"payload\":{{\"value_raw\":true}}}}\n\
         {{\"routing_key\":\"{prefix}.shape\",\"payload\":{{\"value_raw\":{{\"w\":1,\"h\":[2,3]}}}}}}\n\
         {{\"routing_key\":\"{prefix}.long\",\"payload\":{{\"value_raw\":\"{long_text}\"}}}}\n\
         {{\"routing_key\":\"{prefix}.empty\",\"payload\":{{\"value_cal\":1}}}}\n"
    );
    publish(BROKER_PORT, &lines);
    publish_garbage(&format!("{prefix}.garbage"));
    publish(BROKER_PORT, &numeric_alerts(&prefix, 0, 10));
    let json_rows = format!("SELECT count(*) FROM {}.json_data", db.schema);
    let numeric_rows = format!("SELECT count(*) FROM {}.numeric_data", db.schema);
    assert!(
        wait_until(PATIENCE, || query_count(&pg_url(), &json_rows) == 4
            && query_count(&pg_url(), &numeric_rows) == 10),
        "rows missing: {}",
        logger.stderr()
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM {schema}.json_data WHERE sensor_name = 'shape' AND payload = '{\"value_raw\": {\"w\": 1, \"h\": [2, 3]}}'::jsonb"),
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM {schema}.json_data WHERE sensor_name = 'long' AND length(payload->>'value_raw') = 30000"),
        1,
        "a chunked alert is reassembled"
    );
    assert!(wait_until(PATIENCE, || logger
        .metric("dead_lettered_total")
        == Some(2.0)));
    let mut dead = drain_dead_letters(&format!("{queue}.dead"));
    dead.sort();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(dead[0].0, format!("{prefix}.empty"));
    assert!(dead[0].1.contains("no value_raw"), "{dead:?}");
    assert_eq!(dead[1].0, format!("{prefix}.garbage"));
    assert!(
        dead[1].1.contains("not a usable dripline message"),
        "{dead:?}"
    );
    let stderr = logger.stderr();
    assert!(stderr.contains(&format!("{prefix}.empty")), "{stderr}");
}

/// Publish a well-formed dripline alert whose message id's base is `base` (dl-alert makes
/// UUIDs; other senders may use any text, `/` included), persistent, in chunks of
/// `chunk_size` bytes (0: one), of which only the first `sent` are published.
fn publish_alert_with_id(
    routing_key: &str,
    base: &str,
    payload: serde_json::Value,
    chunk_size: usize,
    sent: usize,
) {
    let mut message = dripline_protocol::Message::alert(
        routing_key,
        payload,
        dripline_mesh::our_sender_info("log-test"),
        "2026-01-02T00:00:00Z".into(),
    );
    message.message_id = base.to_string();
    let chunks = dripline_protocol::encode(&message, chunk_size);
    on_broker_channel(BROKER_PORT, async |channel| {
        for chunk in chunks.iter().take(sent) {
            let properties =
                dripline_mesh::fields::to_amqp_properties(&chunk.properties).with_delivery_mode(2);
            channel
                .basic_publish(
                    "alerts".into(),
                    chunk.routing_key.as_str().into(),
                    BasicPublishOptions::default(),
                    &chunk.body,
                    properties,
                )
                .await?
                .await?;
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn an_alert_over_the_size_limit_is_dead_lettered_and_the_batch_goes_on() {
    let db = TestDb::new();
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let prefix = unique_name("log_value");
    let logger = start_logger(&db, &queue, &prefix, &["--max-message-size", "20000"]);
    let mut lines = numeric_alerts(&prefix, 0, 10);
    // 30 016 bytes: four 10 kB chunks, over the limit; then more alerts in the same batch.
    lines.push_str(&format!(
        "{{\"routing_key\":\"{prefix}.huge\",\"payload\":{{\"value_raw\":\"{}\"}}}}\n",
        "x".repeat(30_000)
    ));
    lines.push_str(&numeric_alerts(&prefix, 10, 10));
    publish(BROKER_PORT, &lines);
    assert!(
        wait_until(PATIENCE, || logger.metric("dead_lettered_total")
            == Some(1.0)
            && count(&db, "SELECT count(*) FROM {schema}.numeric_data") == 20),
        "{}",
        logger.stderr()
    );
    assert_eq!(count(&db, "SELECT count(*) FROM {schema}.json_data"), 0);
    let dead = drain_dead_letters(&format!("{queue}.dead"));
    assert_eq!(dead.len(), 4, "every chunk of it");
    for (key, reason, message_id, _) in &dead {
        assert_eq!(key, &format!("{prefix}.huge"));
        assert!(
            reason.contains("over the --max-message-size limit of 20000"),
            "{reason}"
        );
        assert!(message_id.ends_with("/4"), "{message_id}");
    }
}

#[test]
fn an_incomplete_alert_whose_id_contains_a_slash_is_dead_lettered_when_it_expires() {
    let db = TestDb::new();
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let prefix = unique_name("log_value");
    let logger = start_logger(&db, &queue, &prefix, &[]);
    // Chunk 0 of 3 of "host/7" (34 bytes in chunks of 16); the others never come.
    publish_alert_with_id(
        &format!("{prefix}.half"),
        "host/7",
        serde_json::json!({"value_raw": "a long enough text"}),
        16,
        1,
    );
    publish(BROKER_PORT, &numeric_alerts(&prefix, 0, 10));
    assert!(
        wait_until(PATIENCE, || logger.metric("dead_lettered_total")
            == Some(1.0)
            && count(&db, "SELECT count(*) FROM {schema}.numeric_data") == 10),
        "{}",
        logger.stderr()
    );
    let dead = drain_dead_letters(&format!("{queue}.dead"));
    assert_eq!(dead.len(), 1, "the chunk that came: {dead:?}");
    assert_eq!(dead[0].2, "host/7/0/3");
    assert!(
        dead[0].1.contains("not a usable dripline message"),
        "{dead:?}"
    );
}

#[test]
fn a_row_the_database_refuses_is_dead_lettered_and_the_rest_stored() {
    let mut db = TestDb::new();
    db.exec("ALTER TABLE {table} ADD CONSTRAINT no_negative CHECK (value_raw >= 0)");
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let prefix = unique_name("log_value");
    let logger = start_logger(&db, &queue, &prefix, &[]);
    let mut lines = numeric_alerts(&prefix, 0, 20);
    lines.push_str(&format!(
        "{{\"routing_key\":\"{prefix}.minus\",\"payload\":{{\"value_raw\":-1}},\"timestamp\":\"2026-01-01T00:00:00Z\"}}\n"
    ));
    lines.push_str(&numeric_alerts(&prefix, 20, 20));
    publish(BROKER_PORT, &lines);
    // A refused row whose message id's base contains '/' keeps it whole in the dead letter.
    publish_alert_with_id(
        &format!("{prefix}.slash"),
        "host/42",
        serde_json::json!({"value_raw": -2}),
        0,
        1,
    );
    assert!(
        wait_until(PATIENCE, || logger.metric("dead_lettered_total")
            == Some(2.0)),
        "{}",
        logger.stderr()
    );
    assert_eq!(count(&db, "SELECT count(*) FROM {schema}.numeric_data"), 40);
    let mut dead = drain_dead_letters(&format!("{queue}.dead"));
    dead.sort();
    assert_eq!(dead.len(), 2, "{dead:?}");
    let (key, reason, message_id, body) = &dead[0];
    assert_eq!(key, &format!("{prefix}.minus"));
    assert!(
        reason.contains("refused the row") && reason.contains("no_negative"),
        "{reason}"
    );
    assert!(message_id.ends_with("/0/1"), "{message_id}");
    assert!(body.contains("\"value_raw\":-1"), "{body}");
    let (key, reason, message_id, body) = &dead[1];
    assert_eq!(key, &format!("{prefix}.slash"));
    assert!(reason.contains("no_negative"), "{reason}");
    assert_eq!(message_id, "host/42/0/1");
    assert!(body.contains("\"value_raw\":-2"), "{body}");
}

fn run_stdin(db: &TestDb, input: &str) -> std::process::Output {
    let table = db.table_arg();
    run_command(
        without_env_settings(Command::new(binary("dl-log-to-pg"))).args([
            "--stdin",
            "--pg-url",
            &pg_url(),
            "--table",
            &table,
        ]),
        Some(input),
    )
}

#[test]
fn stdin_lines_are_stored_once_and_bad_lines_named() {
    let db = TestDb::new();
    let id = "5d0c6f9e-1111-4a43-9d4e-4f3f2a0f6e11";
    let input = format!(
        "{{\"routing_key\":\"sensor_value.a\",\"payload\":{{\"value_raw\":1}},\"timestamp\":\"2026-01-01T00:00:01Z\",\"message_id\":\"{id}\"}}\n\
         {{\"routing_key\":\"sensor_value.a\",\"payload\":{{\"value_raw\":2}},\"timestamp\":\"2026-01-01T00:00:01Z\"}}\n\
         {{\"routing_key\":\"sensor_value.b\",\"payload\":{{\"value_raw\":\"text\"}},\"timestamp\":\"2026-01-01T00:00:02Z\"}}\n\
         {{\"routing_key\":\"sensor_value.a\",\"payload\":{{\"value_raw\":1}},\"timestamp\":\"2026-01-01T00:00:01Z\",\"message_id\":\"{id}\"}}\n\
         not json\n\
         [1]\n\
         {{\"routing_key\":\"sensor_value.c\",\"payload\":{{\"value_cal\":3}}}}\n\
         \n\
         {{\"routing_key\":\"sensor_value.d\",\"payload\":{{\"value_raw\":4}},\"received\":\"2026-01-01T00:00:04Z\"}}\n"
    );
    let output = run_stdin(&db, &input);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(65), "{stderr}");
    assert!(stderr.contains("stdin line 5: not valid JSON"), "{stderr}");
    assert!(
        stderr.contains("stdin line 6: expected a JSON object"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stdin line 7: payload has no value_raw"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    // Lines 1 and 4 are the same alert; line 2 is another alert at the same time.
    let a_and_b = || {
        (
            count(
                &db,
                "SELECT count(*) FROM {schema}.numeric_data WHERE sensor_name = 'a'",
            ),
            count(
                &db,
                "SELECT count(*) FROM {schema}.json_data WHERE sensor_name = 'b'",
            ),
        )
    };
    assert_eq!(a_and_b(), (2, 1));
    assert_eq!(
        count(&db, "SELECT count(*) FROM {schema}.numeric_data WHERE sensor_name = 'd' AND \"timestamp\" = '2026-01-01T00:00:04Z'"),
        1,
        "without a timestamp, dl-listen's receive time is used"
    );
    // The same input again adds nothing: lines without a message id get one derived from
    // their routing key, timestamp and payload.
    let again = run_stdin(&db, &input);
    assert_eq!(again.status.code(), Some(65));
    assert_eq!(a_and_b(), (2, 1));
}

#[test]
fn dl_listen_pipes_into_the_logger() {
    let db = TestDb::new();
    let prefix = unique_name("log_pipe");
    let script = format!(
        "{} '{prefix}.#' --count 20 | {} --stdin --pg-url '{}' --table {}",
        binary("dl-listen").display(),
        binary("dl-log-to-pg").display(),
        pg_url(),
        db.table_arg()
    );
    let mut pipeline = ChildGuard::spawn(
        without_env_settings(Command::new("sh"))
            .args(["-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    // The listener binds its queue at some point after start: publish until it has 20.
    let mut sent = 0;
    let finished = wait_until(PATIENCE, || {
        if let Ok(Some(_)) = pipeline.child.try_wait() {
            return true;
        }
        publish(BROKER_PORT, &numeric_alerts(&prefix, sent, 5));
        sent += 5;
        std::thread::sleep(std::time::Duration::from_millis(200));
        false
    });
    assert!(finished, "the pipeline did not end");
    let status = pipeline.child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(count(&db, "SELECT count(*) FROM {schema}.numeric_data"), 20);
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT message_id) FROM {schema}.numeric_data"
        ),
        20
    );
}

#[test]
fn a_plain_dripline_table_works_without_deduplication() {
    let mut db = TestDb::new();
    db.exec("DROP TABLE {table}; CREATE TABLE {table} (sensor_name text NOT NULL, \"timestamp\" timestamptz NOT NULL DEFAULT now(), value_raw double precision NOT NULL, value_cal double precision)");
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let prefix = unique_name("log_value");
    let logger = start_logger(&db, &queue, &prefix, &[]);
    publish(BROKER_PORT, &numeric_alerts(&prefix, 0, 100));
    assert!(wait_until(PATIENCE, || count(
        &db,
        "SELECT count(*) FROM {schema}.numeric_data"
    ) == 100));
    assert!(
        logger.stderr().contains("no unique message_id"),
        "{}",
        logger.stderr()
    );
}

#[test]
fn replicas_share_one_queue() {
    let db = TestDb::new();
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let prefix = unique_name("log_value");
    let small = ["--prefetch", "20", "--batch-size", "10"];
    let first = start_logger(&db, &queue, &prefix, &small);
    let second = start_logger(&db, &queue, &prefix, &small);
    publish(BROKER_PORT, &numeric_alerts(&prefix, 0, 3000));
    assert!(wait_until(PATIENCE, || count(
        &db,
        "SELECT count(*) FROM {schema}.numeric_data"
    ) == 3000));
    let shares = [
        first.metric("received_total"),
        second.metric("received_total"),
    ];
    assert!(
        shares.iter().all(|share| share.unwrap_or(0.0) > 0.0),
        "both replicas work: {shares:?}"
    );
    assert_eq!(
        shares.iter().map(|share| share.unwrap_or(0.0)).sum::<f64>(),
        3000.0
    );
}

#[test]
fn health_endpoints_answer() {
    let db = TestDb::new();
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let logger = start_logger(&db, &queue, &unique_name("log_value"), &[]);
    assert_eq!(logger.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(logger.get("/readyz"), (200, "ready\n".to_string()));
    assert_eq!(logger.get("/nothing").0, 404);
    let (status, metrics) = logger.get("/metrics");
    assert_eq!(status, 200);
    for name in [
        "received_total",
        "written_rows_total",
        "dead_lettered_total",
        "batches_total",
        "batch_seconds_count",
        "lag_seconds",
        "broker_connected",
        "database_connected",
    ] {
        assert!(
            metrics.contains(&format!("dl_log_to_pg_{name}")),
            "{name}: {metrics}"
        );
    }
    assert!(metrics.contains("dl_log_to_pg_reconnects_total{peer=\"broker\"} 0"));
}

fn exit_of(args: &[&str]) -> (Option<i32>, String) {
    let output = without_env_settings(Command::new(binary("dl-log-to-pg")))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn failures_have_their_exit_statuses() {
    let db = TestDb::new();
    let url = pg_url();
    // A missing table: 66, with the hint.
    let (code, stderr) = exit_of(&[
        "--pg-url",
        &url,
        "--table",
        &format!("{}.nothing", db.schema),
    ]);
    assert_eq!(code, Some(66), "{stderr}");
    assert!(stderr.contains("--init-schema"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A bad flag: 64.
    assert_eq!(exit_of(&["--batch-size", "0"]).0, Some(64));
    // Reading stdin with the database unreachable: 69.
    let (code, stderr) = exit_of(&[
        "--stdin",
        "--pg-url",
        "postgresql://postgres@127.0.0.1:1/test",
    ]);
    assert_eq!(code, Some(69), "{stderr}");
    // A refused broker login: 77, no password printed.
    let dir = std::env::temp_dir().join(unique_name("log_secret"));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("password");
    std::fs::write(&secret, "hunter2-wrong\n").unwrap();
    let table = db.table_arg();
    let (code, stderr) = exit_of(&[
        "--pg-url",
        &url,
        "--table",
        &table,
        "-u",
        "nobody",
        "--password-file",
        secret.to_str().unwrap(),
        "--queue",
        &unique_name("log_queue"),
    ]);
    assert_eq!(code, Some(77), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    // The queue exists with another type: 78.
    let queue = TestQueue::new("log_queue", BROKER_PORT);
    let mut logger = start_logger(&db, &queue, &unique_name("log_value"), &[]);
    logger.stop();
    let (code, stderr) = exit_of(&[
        "--pg-url",
        &url,
        "--table",
        &table,
        "--queue",
        &queue,
        "--queue-type",
        "quorum",
    ]);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("--queue-type"), "{stderr}");
    // The metrics address is taken: 69.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, stderr) = exit_of(&[
        "--pg-url",
        &url,
        "--table",
        &table,
        "--metrics-addr",
        &address,
    ]);
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains(&address), "{stderr}");
}

#[test]
fn the_database_connection_takes_tls_settings() {
    let db = TestDb::new();
    let table = db.table_arg();
    let line = "{\"routing_key\":\"sensor_value.tls\",\"payload\":{\"value_raw\":1}}\n";
    let run = |url: String| {
        run_command(
            without_env_settings(Command::new(binary("dl-log-to-pg")))
                .args(["--stdin", "--pg-url", &url, "--table", &table]),
            Some(line),
        )
    };
    let output = run(format!("{}?sslmode=require", pg_url()));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM {schema}.numeric_data"), 1);
    // The server's certificate names localhost, not 127.0.0.1.
    let output = run(format!("{}?sslmode=verify-full", pg_url()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
}
