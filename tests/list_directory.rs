//! dl-list against the real RabbitMQ: real dl-serve services (unique names), the broadcast
//! ping, heartbeats, and the management API both reachable (the plugin scripts/services.sh
//! enables) and not (a closed port).

#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::{free_port, on_broker_channel, run, stderr_of, stdout_of, unique_name};
use serde_json::Value;
use serve_support::{start, Store};
use std::process::Output;

const BROKER: [&str; 4] = ["-b", "127.0.0.1", "-p", "5672"];

/// `dl-list` on the test broker. With the management API and without `-t` or `--listen`, a
/// ping wait of 10 s instead of the default 2 s: that wait ends as soon as every service the
/// management API knows has answered, so it costs nothing when they do, and a service on a
/// loaded CI machine was once seen answering late.
fn dl_list(args: &[&str]) -> Output {
    let mut all = BROKER.to_vec();
    if !args
        .iter()
        .any(|a| matches!(*a, "-t" | "--no-management" | "--listen"))
    {
        all.extend_from_slice(&["-t", "10s"]);
    }
    all.extend_from_slice(args);
    run("dl-list", &all, None)
}

/// The JSON lines of stdout.
fn lines(output: &Output) -> Vec<Value> {
    stdout_of(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// The entry of `service` in a listing, which must be there.
fn entry_of(output: &Output, service: &str) -> Value {
    lines(output)
        .into_iter()
        .find(|entry| entry["service"] == service)
        .unwrap_or_else(|| {
            panic!(
                "{service} not listed:\n{}\nstderr: {}",
                stdout_of(output),
                stderr_of(output)
            )
        })
}

fn sorted_endpoints(store: &Store) -> Vec<String> {
    let mut names = vec![
        store.peaches.clone(),
        store.chips.clone(),
        store.waffles.clone(),
        store.switch.clone(),
    ];
    names.sort();
    names
}

#[tokio::test]
async fn a_service_is_listed_with_its_endpoints_host_and_program() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;

    let output = dl_list(&[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let entry = entry_of(&output, &store.service);
    assert_eq!(entry["sources"], serde_json::json!(["ping", "management"]));
    assert_eq!(
        entry["endpoints"],
        serde_json::json!(sorted_endpoints(&store))
    );
    assert!(
        entry["exe"].as_str().unwrap().ends_with("dl-serve"),
        "{entry}"
    );
    assert!(!entry["hostname"].as_str().unwrap().is_empty(), "{entry}");
    assert_eq!(entry["versions"]["dripline"]["version"], "3.0.0");
    assert!(entry["ping_ms"].as_f64().unwrap() > 0.0, "{entry}");
    assert!(entry["heartbeat_age_s"].is_null(), "no --listen: {entry}");
    assert!(
        !stderr_of(&output).contains("management"),
        "{}",
        stderr_of(&output)
    );

    // The table names the sources that answered on its last line.
    let output = dl_list(&["-f", "table"]);
    let table = stdout_of(&output);
    assert!(table.starts_with("SERVICE "), "{table}");
    let row = table
        .lines()
        .find(|line| line.starts_with(&store.service))
        .unwrap_or_else(|| panic!("no row for {}:\n{table}", store.service));
    assert!(row.contains("dl-serve"), "{row}");
    assert!(row.contains("dripline-tools 0.1.0"), "{row}");
    let last = table.lines().last().unwrap();
    assert!(last.starts_with("sources: ping "), "{table}");
    assert!(last.contains("management "), "{table}");
}

#[tokio::test]
async fn without_the_management_api_the_ping_still_lists_services() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;
    let closed = format!("http://127.0.0.1:{}", free_port());

    let output = dl_list(&["--management-url", &closed, "-t", "1s"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let entry = entry_of(&output, &store.service);
    assert_eq!(entry["sources"], serde_json::json!(["ping"]));
    assert!(entry["endpoints"].is_null(), "{entry}");
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("dl-list: the management API did not answer")
            && stderr.contains(&closed),
        "{stderr}"
    );

    // The table says so too; --no-management says nothing.
    let output = dl_list(&["--management-url", &closed, "-t", "1s", "-f", "table"]);
    assert!(
        stdout_of(&output).contains("management unreachable"),
        "{}",
        stdout_of(&output)
    );
    let output = dl_list(&["--no-management", "-t", "1s"]);
    assert_eq!(stderr_of(&output), "");
    assert_eq!(
        entry_of(&output, &store.service)["sources"],
        serde_json::json!(["ping"])
    );

    // --endpoints cannot list anything without it, and says so.
    let output = dl_list(&["--endpoints", "--management-url", &closed, "-t", "500ms"]);
    assert!(
        stderr_of(&output).contains("--endpoints needs the management API"),
        "{}",
        stderr_of(&output)
    );
}

#[tokio::test]
async fn endpoints_detail_and_expectations() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &[]).await;

    let output = dl_list(&["--endpoints"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let mine: Vec<String> = lines(&output)
        .into_iter()
        .filter(|line| line["service"] == store.service.as_str())
        .map(|line| line["endpoint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine, sorted_endpoints(&store));

    // An endpoint's name shows its service in detail.
    let output = dl_list(&[&store.peaches, "-f", "table"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let detail = stdout_of(&output);
    assert!(
        detail.starts_with(&format!("service    {}\n", store.service)),
        "{detail}"
    );
    assert!(detail.contains("\nendpoints  "), "{detail}");
    assert!(detail.contains(&store.switch), "{detail}");

    let missing = unique_name("no_such_service");
    let output = dl_list(&[&missing, "-t", "500ms"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    assert!(
        stderr_of(&output).contains(&missing),
        "{}",
        stderr_of(&output)
    );

    let output = dl_list(&["--expect", &store.service]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let output = dl_list(&["--expect", &store.service, "--expect", &missing]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!("expected service '{missing}' not found")),
        "{stderr}"
    );
    // The listing is printed all the same.
    entry_of(&output, &store.service);
}

#[tokio::test]
async fn heartbeats_heard_during_listen_give_their_age() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.5), &[]).await;

    let output = dl_list(&["--listen", "2s", "--no-management"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let entry = entry_of(&output, &store.service);
    assert_eq!(entry["sources"], serde_json::json!(["ping", "heartbeat"]));
    assert!(entry["heartbeats"].as_u64().unwrap() >= 2, "{entry}");
    assert!(entry["heartbeat_age_s"].as_f64().unwrap() < 1.5, "{entry}");
}

/// A service written with another dripline library is found from its queue's bindings alone:
/// `<service>.#`, `<endpoint>.#` each and `broadcast.#` (PROTOCOL.md, "Discovery facts"); with
/// nobody consuming, it has 0 consumers (or none known yet: the broker's statistics lag).
#[test]
fn a_foreign_service_queue_is_found_from_its_bindings() {
    let service = unique_name("foreign");
    let endpoint = unique_name("foreign_endpoint");
    let keys = [
        format!("{service}.#"),
        format!("{endpoint}.#"),
        "broadcast.#".to_string(),
    ];
    on_broker_channel(5672, async |channel| {
        use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
        use lapin::types::FieldTable;
        channel
            .exchange_declare(
                "requests".into(),
                lapin::ExchangeKind::Topic,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(
                service.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await?;
        for key in &keys {
            channel
                .queue_bind(
                    service.as_str().into(),
                    "requests".into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    })
    .expect("declaring the foreign service queue");

    let output = dl_list(&[&service, "-t", "300ms"]);
    let _ = on_broker_channel(5672, async |channel| {
        channel
            .queue_delete(service.as_str().into(), Default::default())
            .await
    });
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let entry = entry_of(&output, &service);
    assert_eq!(entry["sources"], serde_json::json!(["management"]));
    assert_eq!(entry["endpoints"], serde_json::json!([endpoint]));
    assert!(
        entry["consumers"].is_null() || entry["consumers"] == 0,
        "{entry}"
    );
}

#[test]
fn a_management_url_that_is_not_http_is_a_usage_error() {
    let output = dl_list(&["--management-url", "ftp://127.0.0.1:15672"]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("ftp://127.0.0.1:15672"), "{stderr}");
}

/// A service that is not ours: a queue named after it, bound as dripline-python binds, whose
/// consumer answers `ping` with dripline-python's `sender_info`, here with terminal escapes in
/// its host name (hostile input: the table shows them as `?`, JSON escapes them).
#[tokio::test]
async fn a_foreign_service_answering_ping_is_listed_and_its_text_is_made_safe() {
    use dripline_mesh::fields::to_amqp_properties;
    use dripline_mesh::MessageStream;
    use dripline_protocol::{encode, Message, PackageVersion, SenderInfo};
    use lapin::options::QueueDeclareOptions;
    use lapin::options::{BasicConsumeOptions, BasicPublishOptions, QueueBindOptions};
    use lapin::types::FieldTable;

    let service = unique_name("pyservice");
    let endpoint = unique_name("pyendpoint");
    let (connection, _client) = serve_support::client().await;
    let channel = connection.channel().await.unwrap();
    connection.declare_exchanges(&channel).await.unwrap();
    let options = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(service.as_str().into(), options, FieldTable::default())
        .await
        .unwrap();
    for key in [
        format!("{service}.#"),
        format!("{endpoint}.#"),
        "broadcast.#".into(),
    ] {
        channel
            .queue_bind(
                service.as_str().into(),
                "requests".into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
    }
    let consumer = channel
        .basic_consume(
            service.as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut requests = MessageStream::new(consumer, false);
    let mut sender = SenderInfo {
        exe: "/usr/local/bin/dl-serve".into(),
        hostname: "evil\u{1b}[2Jhost".into(),
        username: "dripline".into(),
        service_name: service.clone(),
        ..SenderInfo::default()
    };
    sender.versions.insert(
        "dripline-python".into(),
        PackageVersion {
            version: "5.1.1".into(),
            commit: None,
            package: Some("driplineorg/dripline-python".into()),
        },
    );
    let answering = channel.clone();
    let responder = tokio::spawn(async move {
        while let Some(Ok(incoming)) = requests.next().await {
            let Ok(request) = incoming.message else {
                continue;
            };
            let reply = Message::reply(
                &request,
                0,
                "",
                serde_json::json!("Hello, dl-list"),
                sender.clone(),
                dripline_mesh::timestamp_now(),
            );
            let chunk = encode(&reply, 10_000).remove(0);
            let _ = answering
                .basic_publish(
                    "requests".into(),
                    reply.routing_key.as_str().into(),
                    BasicPublishOptions::default(),
                    &chunk.body,
                    to_amqp_properties(&chunk.properties),
                )
                .await;
        }
    });

    let output = tokio::task::spawn_blocking({
        let service = service.clone();
        move || dl_list(&[&service, "-f", "jsonl"])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let entry = entry_of(&output, &service);
    assert_eq!(entry["sources"], serde_json::json!(["ping", "management"]));
    assert_eq!(entry["endpoints"], serde_json::json!([endpoint]));
    assert_eq!(entry["hostname"], "evil\u{1b}[2Jhost");
    assert_eq!(entry["versions"]["dripline-python"]["version"], "5.1.1");

    let output = tokio::task::spawn_blocking({
        let service = service.clone();
        move || dl_list(&[&service, "-f", "table"])
    })
    .await
    .unwrap();
    let table = stdout_of(&output);
    assert!(!table.contains('\u{1b}'), "{table:?}");
    assert!(table.contains("host       evil?[2Jhost\n"), "{table}");
    assert!(table.contains("dripline-python 5.1.1"), "{table}");
    responder.abort();
}
