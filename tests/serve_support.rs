//! Helpers shared by the `serve_*` end-to-end tests: start a dl-serve from a config text,
//! talk to it with `dripline_mesh::RequestClient`, listen on the alerts exchange.
//!
//! Included by each `serve_*.rs` with `#[path = "serve_support.rs"] mod serve_support;`.
#![allow(dead_code)]

use dripline_e2e::{binary, unique_name, without_env_settings, ChildGuard};
use dripline_mesh::{
    BrokerOptions, BrokerSettings, MeshConnection, MessageStream, RequestClient, RequestOutcome,
};
use dripline_protocol::{LockoutKey, Message, Operation};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The test broker.
pub fn settings() -> BrokerSettings {
    BrokerSettings::resolve(&BrokerOptions {
        host: Some("127.0.0.1".into()),
        port: Some(5672),
        max_connection_attempts: Some(3),
        ..BrokerOptions::default()
    })
    .expect("broker settings")
}

/// A connection and request client for the test.
pub async fn client() -> (MeshConnection, RequestClient) {
    let connection = MeshConnection::connect(&settings(), "unknown")
        .await
        .expect("RabbitMQ at 127.0.0.1:5672 (guest/guest) must be running");
    let client = RequestClient::open(&connection)
        .await
        .expect("request client");
    (connection, client)
}

/// A request as dl-agent would send it.
pub fn request(
    connection: &MeshConnection,
    target: &str,
    operation: Operation,
    specifier: &str,
    payload: Value,
    key: &str,
) -> Message {
    Message::request(
        target,
        operation,
        specifier,
        payload,
        LockoutKey::parse(key),
        connection.sender_info().clone(),
        dripline_mesh::timestamp_now(),
    )
}

/// Send and wait (5 s) for the reply; panics on no route or timeout.
pub async fn ask(client: &RequestClient, message: Message) -> Message {
    let target = message.routing_key.clone();
    match client
        .request(message, Duration::from_secs(5))
        .await
        .expect("request")
    {
        RequestOutcome::Reply(reply) => *reply,
        RequestOutcome::Unroutable => panic!("no queue bound for {target}"),
        RequestOutcome::TimedOut => panic!("no reply from {target} within 5 s"),
    }
}

/// (return code, return message) of a reply.
pub fn code(reply: &Message) -> (u32, String) {
    match &reply.kind {
        dripline_protocol::MessageKind::Reply {
            return_code,
            return_message,
        } => (*return_code, return_message.clone()),
        other => panic!("not a reply: {other:?}"),
    }
}

/// The compact JSON text of a payload (keys sorted, as the reference writes them).
pub fn body(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

/// A running dl-serve.
pub struct Served {
    /// Service name.
    pub name: String,
    /// The config file's directory (removed on drop).
    pub dir: PathBuf,
    /// The process.
    pub process: ChildGuard,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Write `config` to a temporary file and return its path (in a fresh directory).
pub fn write_config(config: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(unique_name("serve-test"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("service.yaml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

/// The dl-serve command for a config file, pointed at the test broker, without inherited
/// DRIPLINE_* settings. `DL_SERVE_BIN` overrides the binary (e.g. a release build to measure).
pub fn serve_command(path: &std::path::Path, extra: &[&str]) -> Command {
    let program = std::env::var_os("DL_SERVE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| binary("dl-serve"));
    let mut command = without_env_settings(Command::new(program));
    command
        .arg("-c")
        .arg(path)
        .args(["-b", "127.0.0.1", "-p", "5672"])
        .args(extra)
        .stdin(Stdio::null());
    command
}

/// Start dl-serve with `config` (whose service is `name`) and wait until it answers a ping.
pub async fn start(name: &str, config: &str, extra: &[&str]) -> Served {
    let (dir, path) = write_config(config);
    let process = ChildGuard::spawn(
        serve_command(&path, extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    );
    let served = Served {
        name: name.to_string(),
        dir,
        process,
    };
    wait_ready(name).await;
    served
}

/// Wait (15 s at most) until service `name` answers `ping`.
pub async fn wait_ready(name: &str) {
    let (connection, client) = client().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let ping = request(
            &connection,
            name,
            Operation::Cmd,
            "ping",
            serde_json::json!({}),
            "",
        );
        match client.request(ping, Duration::from_millis(500)).await {
            Ok(RequestOutcome::Reply(_)) => return,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("dl-serve {name} did not answer ping within 15 s");
}

/// The KeyValueStore config most tests use: `peaches` ('2*{}', 0.75, get_on_set,
/// log_on_set), `chips` ('times3({})', 1.75), `waffles` ('1.*{}', 4.0), `switch` (dict
/// calibration), with unique names `<kind>_<id>`.
pub struct Store {
    pub service: String,
    pub peaches: String,
    pub chips: String,
    pub waffles: String,
    pub switch: String,
}

impl Store {
    pub fn new() -> Self {
        Store {
            service: unique_name("store"),
            peaches: unique_name("peaches"),
            chips: unique_name("chips"),
            waffles: unique_name("waffles"),
            switch: unique_name("switch"),
        }
    }

    pub fn config(&self, heartbeat_s: f64) -> String {
        format!(
            "name: {service}\n\
             module: Service\n\
             heartbeat_interval_s: {heartbeat_s}\n\
             endpoints:\n\
             \x20 - name: {peaches}\n\
             \x20   module: KeyValueStore\n\
             \x20   calibration: '2*{{}}'\n\
             \x20   initial_value: 0.75\n\
             \x20   get_on_set: True\n\
             \x20   log_on_set: True\n\
             \x20 - name: {chips}\n\
             \x20   module: KeyValueStore\n\
             \x20   calibration: 'times3({{}})'\n\
             \x20   initial_value: 1.75\n\
             \x20 - name: {waffles}\n\
             \x20   module: KeyValueStore\n\
             \x20   calibration: '1.*{{}}'\n\
             \x20   initial_value: 4.00\n\
             \x20 - name: {switch}\n\
             \x20   module: KeyValueStore\n\
             \x20   calibration: {{1: on, 0: off}}\n\
             \x20   initial_value: 1\n",
            service = self.service,
            peaches = self.peaches,
            chips = self.chips,
            waffles = self.waffles,
            switch = self.switch,
        )
    }
}

/// A private queue bound on the alerts exchange with `keys`, read as dripline messages.
pub async fn listen_alerts(connection: &MeshConnection, keys: &[String]) -> MessageStream {
    let exchange = connection.settings().alerts_exchange.clone();
    private_queue(connection, &exchange, keys, false).await.2
}

/// An exclusive server-named queue on `exchange`, bound with `keys` (and under its own name
/// when `bind_own_name`, as a dripline client's reply queue is), consumed with auto-ack.
/// Returns its channel, its name and its messages.
pub async fn private_queue(
    connection: &MeshConnection,
    exchange: &str,
    keys: &[String],
    bind_own_name: bool,
) -> (lapin::Channel, String, MessageStream) {
    let channel = connection.channel().await.unwrap();
    connection.declare_exchanges(&channel).await.unwrap();
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let name = queue.name().as_str().to_string();
    let own = bind_own_name.then(|| name.clone());
    for key in keys.iter().chain(own.as_ref()) {
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
    }
    let consumer = channel
        .basic_consume(
            queue.name().clone(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                exclusive: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    (channel, name, MessageStream::new(consumer, false))
}

/// The next decoded message from `stream` within `limit`, if any.
pub async fn next_message(stream: &mut MessageStream, limit: Duration) -> Option<Message> {
    match tokio::time::timeout(limit, stream.next()).await {
        Ok(Some(Ok(incoming))) => Some(incoming.message.expect("decodable message")),
        _ => None,
    }
}
