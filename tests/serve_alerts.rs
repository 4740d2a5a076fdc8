//! dl-serve's alerts on the real RabbitMQ: the log_on_set sensor value, scheduled logging
//! (and stopping it), heartbeats.

#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::unique_name;
use dripline_protocol::{MessageKind, Operation};
use serde_json::json;
use serve_support::{ask, body, client, code, listen_alerts, next_message, request, start, Store};
use std::time::{Duration, Instant};

#[tokio::test]
async fn log_on_set_sends_the_new_value_as_a_sensor_value_alert() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (conn, client) = client().await;
    let mut alerts = listen_alerts(&conn, &[format!("sensor_value.{}", store.peaches)]).await;

    let set = request(
        &conn,
        &store.peaches,
        Operation::Set,
        "",
        json!({"values": [500]}),
        "",
    );
    let reply = ask(&client, set).await;
    assert_eq!(
        body(&reply.payload),
        r#"{"value_cal":1000,"value_raw":500}"#
    );
    let alert = next_message(&mut alerts, Duration::from_secs(3))
        .await
        .expect("a sensor_value alert");
    assert_eq!(alert.kind, MessageKind::Alert);
    assert_eq!(alert.routing_key, format!("sensor_value.{}", store.peaches));
    assert_eq!(
        body(&alert.payload),
        r#"{"value_cal":1000,"value_raw":500}"#
    );
    assert_eq!(alert.sender_info.service_name, store.service);
    assert!(alert.timestamp.ends_with('Z'));

    // waffles has no log_on_set: nothing.
    let mut waffles = listen_alerts(&conn, &[format!("sensor_value.{}", store.waffles)]).await;
    let set = request(
        &conn,
        &store.waffles,
        Operation::Set,
        "",
        json!({"values": [1]}),
        "",
    );
    ask(&client, set).await;
    assert!(next_message(&mut waffles, Duration::from_millis(500))
        .await
        .is_none());
}

#[tokio::test]
async fn log_interval_sends_values_until_stop_logging() {
    let service = unique_name("logger");
    let sensor = unique_name("sensor");
    let config = format!(
        "name: {service}\nheartbeat_interval_s: 0\nendpoints:\n  - name: {sensor}\n    module: KeyValueStore\n    calibration: '2*{{}}'\n    initial_value: 21\n    log_interval: 0.2\n"
    );
    let _served = start(&service, &config, &[]).await;
    let (conn, client) = client().await;
    let mut alerts = listen_alerts(&conn, &[format!("sensor_value.{sensor}")]).await;
    for _ in 0..2 {
        let alert = next_message(&mut alerts, Duration::from_secs(3))
            .await
            .expect("scheduled sensor_value alerts");
        assert_eq!(body(&alert.payload), r#"{"value_cal":42,"value_raw":21}"#);
    }
    let stop = request(
        &conn,
        &sensor,
        Operation::Cmd,
        "stop_logging",
        json!({}),
        "",
    );
    assert_eq!(code(&ask(&client, stop).await).0, 0);
    // Drain what was in flight, then silence.
    while next_message(&mut alerts, Duration::from_millis(400))
        .await
        .is_some()
    {}
    assert!(next_message(&mut alerts, Duration::from_millis(700))
        .await
        .is_none());
    let start_again = request(
        &conn,
        &sensor,
        Operation::Cmd,
        "start_logging",
        json!({}),
        "",
    );
    assert_eq!(code(&ask(&client, start_again).await).0, 0);
    assert!(next_message(&mut alerts, Duration::from_secs(3))
        .await
        .is_some());
}

#[tokio::test]
async fn heartbeats_carry_name_and_a_stable_id() {
    let store = Store::new();
    let (conn, _client) = client().await;
    let mut beats = listen_alerts(&conn, &[format!("heartbeat.{}", store.service)]).await;
    let started = Instant::now();
    let _served = start(
        &store.service,
        &store.config(60.0),
        &["--heartbeat-interval-s", "0.3"],
    )
    .await;
    let first = next_message(&mut beats, Duration::from_secs(3))
        .await
        .expect("a heartbeat");
    let second = next_message(&mut beats, Duration::from_secs(3))
        .await
        .expect("a second heartbeat");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(first.routing_key, format!("heartbeat.{}", store.service));
    assert_eq!(first.payload["name"], json!(store.service));
    let id = first.payload["id"].as_str().expect("id");
    assert_eq!(id.len(), 36);
    assert_eq!(second.payload["id"], json!(id));
    assert_eq!(first.payload.as_object().unwrap().len(), 2);
}
