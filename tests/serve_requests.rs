//! dl-serve answering requests on the real RabbitMQ exactly like dripline-python's
//! KeyValueStore: get/set/cmd, calibration, errors, lockout, broadcast, chunking, and a
//! malformed request. Every test runs its own service with unique names.

#[path = "serve_support.rs"]
mod serve_support;

use dripline_mesh::fields::to_amqp_properties;
use dripline_mesh::RequestOutcome;
use dripline_protocol::{encode, LockoutKey, MessageKind, Operation};
use lapin::options::BasicPublishOptions;
use serde_json::{json, Value};
use serve_support::{ask, body, client, code, private_queue, request, start, Store};
use std::time::Duration;

const NIL: &str = "";

#[tokio::test]
async fn get_set_cmd_and_calibration_like_dripline_python() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (conn, client) = client().await;
    let get = |target: &str| request(&conn, target, Operation::Get, "", json!({}), NIL);

    let reply = ask(&client, get(&store.peaches)).await;
    assert_eq!(code(&reply), (0, String::new()));
    assert_eq!(
        body(&reply.payload),
        r#"{"value_cal":1.5,"value_raw":0.75}"#
    );
    assert_eq!(reply.specifier, "");
    assert_eq!(reply.sender_info.service_name, store.service);

    // times3 is undefined: rc 0, value_cal left out.
    let reply = ask(&client, get(&store.chips)).await;
    assert_eq!(code(&reply).0, 0);
    assert_eq!(body(&reply.payload), r#"{"value_raw":1.75}"#);

    let reply = ask(&client, get(&store.waffles)).await;
    assert_eq!(body(&reply.payload), r#"{"value_cal":4.0,"value_raw":4.0}"#);

    // dl-agent --values 3.5 sends a string; get_on_set replies with the new get.
    let set = request(
        &conn,
        &store.peaches,
        Operation::Set,
        "",
        json!({"values": ["3.5"]}),
        NIL,
    );
    let reply = ask(&client, set).await;
    assert_eq!(code(&reply), (0, String::new()));
    assert_eq!(
        body(&reply.payload),
        r#"{"value_cal":7.0,"value_raw":"3.5"}"#
    );
    let reply = ask(&client, get(&store.peaches)).await;
    assert_eq!(
        body(&reply.payload),
        r#"{"value_cal":7.0,"value_raw":"3.5"}"#
    );
    let set = request(
        &conn,
        &store.peaches,
        Operation::Set,
        "",
        json!({"values": [500]}),
        NIL,
    );
    assert_eq!(
        body(&ask(&client, set).await.payload),
        r#"{"value_cal":1000,"value_raw":500}"#
    );

    // No get_on_set: the reply payload is null.
    let set = request(
        &conn,
        &store.waffles,
        Operation::Set,
        "",
        json!({"values": [5.5]}),
        NIL,
    );
    let reply = ask(&client, set).await;
    assert_eq!((code(&reply).0, &reply.payload), (0, &Value::Null));
    assert_eq!(
        body(&ask(&client, get(&store.waffles)).await.payload),
        r#"{"value_cal":5.5,"value_raw":5.5}"#
    );

    // Dict calibration: YAML `on` is true; a raw value not in the dict is 304.
    assert_eq!(
        body(&ask(&client, get(&store.switch)).await.payload),
        r#"{"value_cal":true,"value_raw":1}"#
    );
    let set = request(
        &conn,
        &store.switch,
        Operation::Set,
        "",
        json!({"values": [7]}),
        NIL,
    );
    assert_eq!(code(&ask(&client, set).await).0, 0);
    let reply = ask(&client, get(&store.switch)).await;
    assert_eq!(code(&reply).0, 304);
    assert!(code(&reply)
        .1
        .starts_with("raw value <7> <class 'int'> not in cal dict"));

    // Attributes through the specifier.
    let reply = ask(
        &client,
        request(
            &conn,
            &store.peaches,
            Operation::Get,
            "calibration",
            json!({}),
            NIL,
        ),
    )
    .await;
    assert_eq!(reply.payload, json!({"values": ["2*{}"]}));
}

#[tokio::test]
async fn errors_have_dripline_python_codes_and_texts() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (conn, client) = client().await;
    let cases = [
        (&store.peaches, Operation::Set, "", json!({}), 303, "setting called without values, but values are required for set".to_string()),
        (&store.peaches, Operation::Get, "no_such_attr", json!({}), 310, format!("endpoint {} has no attribute no_such_attr, unable to get", store.peaches)),
        (&store.peaches, Operation::Cmd, "no_such_method", json!({}), 306, "error getting command's corresponding method: 'KeyValueStore' object has no attribute 'no_such_method'".to_string()),
        (&store.peaches, Operation::Cmd, "throw_something", json!({}), 200, "in throw_something method, rasing resource_error".to_string()),
        (&store.service, Operation::Get, "", json!({}), 306, "<class 'dripline.core.service.Service'> does not implement on_get".to_string()),
        (&store.service, Operation::Get, "no_such_endpoint", json!({}), 310, format!("endpoint {} has no attribute no_such_endpoint, unable to get", store.service)),
    ];
    for (target, op, spec, payload, rc, text) in cases {
        let reply = ask(&client, request(&conn, target, op, spec, payload, NIL)).await;
        assert_eq!(code(&reply), (rc, text), "{target} {op:?} {spec}");
        assert_eq!(reply.payload, Value::Null);
    }
    // ping answers with the sender's exe.
    let reply = ask(
        &client,
        request(&conn, &store.chips, Operation::Cmd, "ping", json!({}), NIL),
    )
    .await;
    assert_eq!(
        code(&reply),
        (0, format!("Hello, {}", conn.sender_info().exe))
    );
    // Further routing-key tokens are ignored: `<peaches>.is-locked` is a plain get.
    let reply = ask(
        &client,
        request(
            &conn,
            &format!("{}.is-locked", store.peaches),
            Operation::Get,
            "",
            json!({}),
            NIL,
        ),
    )
    .await;
    assert_eq!(
        body(&reply.payload),
        r#"{"value_cal":1.5,"value_raw":0.75}"#
    );
    // An unknown operation code.
    let mut odd = request(&conn, &store.peaches, Operation::Get, "", json!({}), NIL);
    odd.kind = MessageKind::Request {
        operation: None,
        operation_code: 7,
        lockout_key: LockoutKey::None,
    };
    assert_eq!(
        code(&ask(&client, odd).await),
        (306, "Unrecognized message operation: <7>".into())
    );
    // An unparseable lockout key.
    let mut bad_key = request(
        &conn,
        &store.peaches,
        Operation::Set,
        "",
        json!({"values": [1]}),
        NIL,
    );
    bad_key.kind = MessageKind::Request {
        operation: Some(Operation::Set),
        operation_code: 0,
        lockout_key: LockoutKey::Invalid("not-a-key".into()),
    };
    assert_eq!(
        code(&ask(&client, bad_key).await),
        (308, "Lockout key could not be parsed".into())
    );
}

#[tokio::test]
async fn lockout_per_endpoint() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (conn, client) = client().await;
    let key = uuid::Uuid::new_v4().to_string();
    let cmd = |target: &str, spec: &str, payload: Value, key: &str| {
        request(&conn, target, Operation::Cmd, spec, payload, key)
    };

    let reply = ask(&client, cmd(&store.peaches, "lock", json!({}), &key)).await;
    assert_eq!(code(&reply), (0, "Server is now locked".into()));
    assert_eq!(reply.payload, json!({"key": key}));

    let set = request(
        &conn,
        &store.peaches,
        Operation::Set,
        "",
        json!({"values": ["2"]}),
        NIL,
    );
    assert_eq!(
        code(&ask(&client, set).await),
        (
            307,
            "Request denied due to lockout (key used: 00000000-0000-0000-0000-000000000000)".into()
        )
    );
    let set = request(
        &conn,
        &store.peaches,
        Operation::Set,
        "",
        json!({"values": ["2.5"]}),
        &key,
    );
    let reply = ask(&client, set).await;
    assert_eq!(code(&reply).0, 0);
    assert_eq!(
        body(&reply.payload),
        r#"{"value_cal":5.0,"value_raw":"2.5"}"#
    );

    let locked = ask(
        &client,
        request(
            &conn,
            &store.peaches,
            Operation::Get,
            "is-locked",
            json!({}),
            NIL,
        ),
    )
    .await;
    assert_eq!(code(&locked), (0, "Checked lock status".into()));
    assert_eq!(locked.payload["is_locked"], json!(true));
    assert_eq!(locked.payload["tag"]["exe"], json!(conn.sender_info().exe));
    // Locks are per endpoint: the service and the other endpoints are not locked.
    let other = ask(
        &client,
        request(
            &conn,
            &store.service,
            Operation::Get,
            "is-locked",
            json!({}),
            NIL,
        ),
    )
    .await;
    assert_eq!(other.payload, json!({"is_locked": false}));
    let set = request(
        &conn,
        &store.waffles,
        Operation::Set,
        "",
        json!({"values": [1]}),
        NIL,
    );
    assert_eq!(code(&ask(&client, set).await).0, 0);

    assert_eq!(
        code(&ask(&client, cmd(&store.peaches, "unlock", json!({}), NIL)).await),
        (200, "Failed to unlock server".into())
    );
    assert_eq!(
        code(&ask(&client, cmd(&store.peaches, "unlock", json!({}), &key)).await),
        (0, "Server unlocked".into())
    );
    assert_eq!(
        code(&ask(&client, cmd(&store.peaches, "unlock", json!({}), NIL)).await),
        (1, "Already unlocked".into())
    );

    // Force unlock with any key.
    ask(&client, cmd(&store.peaches, "lock", json!({}), NIL)).await;
    assert_eq!(
        code(&ask(&client, cmd(&store.peaches, "lock", json!({}), NIL)).await).0,
        307
    );
    assert_eq!(
        code(
            &ask(
                &client,
                cmd(&store.peaches, "unlock", json!({"force": true}), NIL)
            )
            .await
        ),
        (0, "Server unlocked".into())
    );
    let set = request(
        &conn,
        &store.peaches,
        Operation::Set,
        "",
        json!({"values": [1]}),
        NIL,
    );
    assert_eq!(code(&ask(&client, set).await).0, 0);
}

#[tokio::test]
async fn broadcast_ping_is_answered_by_every_service() {
    let first = Store::new();
    let second = Store::new();
    let _a = start(&first.service, &first.config(0.0), &[]).await;
    let _b = start(&second.service, &second.config(0.0), &[]).await;
    let (conn, client) = client().await;
    let ping = request(&conn, "broadcast", Operation::Cmd, "ping", json!({}), NIL);
    let replies = client
        .collect(ping, Duration::from_secs(2))
        .await
        .unwrap()
        .expect("broadcast is routable");
    for service in [&first.service, &second.service] {
        let reply = replies
            .iter()
            .find(|r| &r.sender_info.service_name == service)
            .unwrap_or_else(|| panic!("no broadcast reply from {service}"));
        assert_eq!(
            code(reply),
            (0, format!("Hello, {}", conn.sender_info().exe))
        );
    }
}

#[tokio::test]
async fn payloads_over_100_kb_are_chunked_both_ways() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (conn, client) = client().await;
    let big: String = (0..120_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let set = request(
        &conn,
        &store.waffles,
        Operation::Set,
        "",
        json!({"values": [big]}),
        NIL,
    );
    assert_eq!(code(&ask(&client, set).await).0, 0);
    let reply = ask(
        &client,
        request(&conn, &store.waffles, Operation::Get, "", json!({}), NIL),
    )
    .await;
    assert_eq!(code(&reply).0, 0);
    assert_eq!(reply.payload["value_raw"], json!(big));
    // '1.*' + 120 000 letters is not Python: no value_cal.
    assert!(reply.payload.get("value_cal").is_none());
}

#[tokio::test]
async fn malformed_request_gets_302_and_the_service_keeps_answering() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let (conn, client) = client().await;

    // Our own reply queue, bound on requests under its own name, as dl-agent does.
    let (channel, reply_queue, mut replies) = private_queue(&conn, "requests", &[], true).await;

    let mut message = request(&conn, &store.peaches, Operation::Get, "", json!({}), NIL);
    message.reply_to = reply_queue;
    let chunk = encode(&message, 10_000).remove(0);
    channel
        .basic_publish(
            "requests".into(),
            store.peaches.as_str().into(),
            BasicPublishOptions::default(),
            b"not json",
            to_amqp_properties(&chunk.properties),
        )
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), replies.next())
        .await
        .expect("a reply to the malformed request")
        .unwrap()
        .unwrap()
        .message
        .unwrap();
    assert_eq!(reply.correlation_id, message.correlation_id);
    assert_eq!(code(&reply), (302, "Request message was not valid".into()));
    assert_eq!(
        body(&reply.payload),
        r#"{"error":"Message body could not be parsed; skipping request","invalid":"not json"}"#
    );

    // Still serving.
    match client
        .request(
            request(&conn, &store.peaches, Operation::Get, "", json!({}), NIL),
            Duration::from_secs(5),
        )
        .await
        .unwrap()
    {
        RequestOutcome::Reply(reply) => assert_eq!(code(&reply).0, 0),
        other => panic!("service stopped answering: {other:?}"),
    }
}

/// Not a test: requests per second through one dl-serve with many requests in flight, for
/// `cargo test --release -p dripline-e2e --test serve_requests -- --ignored --nocapture`.
/// `DL_SERVE_BENCH_REQUESTS` sets the count (default 10 000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn throughput() {
    let store = Store::new();
    let served = start(&store.service, &store.config(0.0), &["-q"]).await;
    let (conn, client) = client().await;
    let client = std::sync::Arc::new(client);
    let total: usize = std::env::var("DL_SERVE_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let in_flight = 256;
    let pid = served.process.child.id();
    let cpu_before = cpu_seconds(pid);
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        if tasks.len() >= in_flight {
            tasks.join_next().await.unwrap().unwrap();
        }
        let client = client.clone();
        let message = request(&conn, &store.peaches, Operation::Get, "", json!({}), NIL);
        tasks.spawn(async move {
            match client
                .request(message, Duration::from_secs(30))
                .await
                .unwrap()
            {
                RequestOutcome::Reply(reply) => assert_eq!(code(&reply).0, 0, "request {i}"),
                other => panic!("request {i}: {other:?}"),
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds(pid) - cpu_before;
    let status = std::fs::read_to_string(format!("/proc/{}/status", served.process.child.id()))
        .unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    println!(
        "dl-serve: {total} gets in {elapsed:.2?} = {:.0} requests/s ({in_flight} in flight); \
         dl-serve CPU {:.1} µs/request (≈ {:.0} requests/s per core); peak RSS {}",
        total as f64 / elapsed.as_secs_f64(),
        cpu * 1e6 / total as f64,
        total as f64 / cpu,
        rss.trim_start_matches("VmHWM:").trim()
    );
}

/// User + system CPU seconds of process `pid` (from /proc; clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
