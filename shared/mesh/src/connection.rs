//! One AMQP connection to the mesh's broker, opened with retries and clear errors.
//!
//! Every program connects, and reconnects after a loss, through [`MeshConnection::connect`]:
//! one attempt tries each broker address once (in the listed or a shuffled order), each
//! within a short timeout so that a dead host does not eat the budget; attempts are separated
//! by the back-off. A node that refuses the login is skipped too (a cluster node may be
//! booting, its users not yet synchronised); only when every node refuses is the refusal
//! final.

use crate::backoff::Backoff;
use crate::settings::{BrokerNode, BrokerOrder, BrokerSettings};
use crate::MeshError;
use dripline_protocol::SenderInfo;
use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use std::time::Duration;

/// How long one broker address may take to answer (TCP, TLS and the AMQP handshake) when it
/// is the only one: as long as lapin's default.
const ALONE_TIMEOUT: Duration = Duration::from_secs(10);

/// The same when there are others to try: a dead node costs this much per attempt.
const AMONG_OTHERS_TIMEOUT: Duration = Duration::from_secs(5);

/// An open connection plus what every message we send needs: the settings it was opened
/// with and our `sender_info`.
pub struct MeshConnection {
    connection: Connection,
    settings: BrokerSettings,
    node: BrokerNode,
    sender_info: SenderInfo,
}

/// Who we are on the mesh: the `service_name` in our `sender_info` (`unknown` for clients).
pub fn our_sender_info(service_name: &str) -> SenderInfo {
    let exe = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let hostname = hostname::get()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into());
    let username = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    SenderInfo::ours(
        &exe,
        &hostname,
        &username,
        service_name,
        env!("CARGO_PKG_VERSION"),
    )
}

/// The current time in the `timestamp` header format.
pub fn timestamp_now() -> String {
    dripline_protocol::timestamp::format_timestamp(chrono::Utc::now())
}

impl MeshConnection {
    /// Connect, retrying with jittered exponential back-off (100 ms doubling to 5 s) up to
    /// `max_connection_attempts` times (0 = forever). Each attempt tries every broker address
    /// once. A login refused by every address is not retried.
    pub async fn connect(settings: &BrokerSettings, service_name: &str) -> Result<Self, MeshError> {
        let mut backoff = Backoff::default();
        let mut attempt = 1u32;
        loop {
            match Self::connect_round(settings).await {
                Ok((connection, node)) => {
                    tracing::info!("connected to broker at {}", settings.node_address(&node));
                    return Ok(MeshConnection {
                        connection,
                        settings: settings.clone(),
                        node,
                        sender_info: our_sender_info(service_name),
                    });
                }
                Err(error @ MeshError::LoginRefused { .. }) => return Err(error),
                Err(error) => {
                    let limit = settings.max_connection_attempts;
                    if limit != 0 && attempt >= limit {
                        return Err(error);
                    }
                    let delay = backoff.next_delay();
                    tracing::warn!(attempt, "{error}; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Try each address once; the first that lets us in wins.
    async fn connect_round(
        settings: &BrokerSettings,
    ) -> Result<(Connection, BrokerNode), MeshError> {
        let mut nodes = settings.nodes.clone();
        if settings.order == BrokerOrder::Random {
            fastrand::shuffle(&mut nodes);
        }
        let limit = if nodes.len() > 1 {
            AMONG_OTHERS_TIMEOUT
        } else {
            ALONE_TIMEOUT
        };
        let mut failures = Vec::with_capacity(nodes.len());
        for node in nodes {
            let address = settings.node_address(&node);
            let error =
                match tokio::time::timeout(limit, Self::connect_once(settings, &node, limit)).await
                {
                    Ok(Ok(connection)) => return Ok((connection, node)),
                    Ok(Err(error)) => error,
                    Err(_) => MeshError::Unreachable {
                        address,
                        reason: format!("no answer within {} s", limit.as_secs()),
                    },
                };
            let last = failures.len() + 1 == settings.nodes.len();
            if !last {
                tracing::info!("{error}; trying the next broker address");
            }
            failures.push(error);
        }
        Err(round_failure(settings, failures))
    }

    async fn connect_once(
        settings: &BrokerSettings,
        node: &BrokerNode,
        limit: Duration,
    ) -> Result<Connection, MeshError> {
        let address = settings.node_address(node);
        let uri = AMQPUri {
            scheme: if settings.tls {
                AMQPScheme::AMQPS
            } else {
                AMQPScheme::AMQP
            },
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: settings.username.clone(),
                    password: settings.password.expose().to_string(),
                },
                host: node.host.clone(),
                port: node.port,
            },
            vhost: settings.vhost.clone(),
            query: AMQPQueryString {
                // lapin sizes its two I/O buffers at 32 frames each: with RabbitMQ's default
                // 128 KiB frames that is 8 MiB zero-filled per connection (milliseconds of page
                // faults on every one-shot request). dripline messages are chunked at 10 kB,
                // so 16 KiB frames cost nothing in throughput.
                frame_max: Some(16 * 1024),
                heartbeat: Some(30),
                connection_timeout: Some(limit.as_millis() as u64),
                ..AMQPQueryString::default()
            },
        };
        let properties = ConnectionProperties::default()
            .with_connection_name(format!("dripline-tools {}", program_name()).into());
        let tls = lapin::tcp::OwnedTLSConfig {
            identity: None,
            cert_chain: settings.tls_ca_pem.clone(),
        };
        let runtime = lapin::runtime::default_runtime()
            .map_err(|error| MeshError::from_connect(error, &address, &settings.username))?;
        Connection::connect_uri_with_config(uri, properties, tls, runtime)
            .await
            .map_err(|error| MeshError::from_connect(error, &address, &settings.username))
    }

    /// Open a channel.
    pub async fn channel(&self) -> Result<Channel, MeshError> {
        self.connection
            .create_channel()
            .await
            .map_err(|e| MeshError::amqp("opening a channel", e))
    }

    /// Declare the requests and alerts exchanges exactly as dripline does (topic,
    /// non-durable, not auto-delete, no arguments); any other flags give a 406 from RabbitMQ.
    pub async fn declare_exchanges(&self, channel: &Channel) -> Result<(), MeshError> {
        for name in [
            &self.settings.requests_exchange,
            &self.settings.alerts_exchange,
        ] {
            declare_exchange(channel, name, false).await?;
        }
        Ok(())
    }

    /// The broker node this connection is on.
    pub fn node(&self) -> &BrokerNode {
        &self.node
    }

    /// `host:port` (and `/vhost`) of the node this connection is on, for messages.
    pub fn address(&self) -> String {
        self.settings.node_address(&self.node)
    }

    /// The settings this connection was opened with.
    pub fn settings(&self) -> &BrokerSettings {
        &self.settings
    }

    /// Our `sender_info` for messages we send.
    pub fn sender_info(&self) -> &SenderInfo {
        &self.sender_info
    }

    /// True while the connection is open.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    /// Close the connection politely.
    pub async fn close(&self) {
        let _ = self.connection.close(200, "bye".into()).await;
    }
}

/// The error of an attempt in which every address failed: one address's own error; the
/// login refusal when every address refused it (final); else unreachable, naming what each
/// address said (worth another attempt: a node may be booting).
fn round_failure(settings: &BrokerSettings, mut failures: Vec<MeshError>) -> MeshError {
    if failures.len() <= 1 {
        return failures.pop().unwrap_or_else(|| MeshError::Unreachable {
            address: settings.address(),
            reason: "no broker address to try".into(),
        });
    }
    if failures
        .iter()
        .all(|error| matches!(error, MeshError::LoginRefused { .. }))
    {
        return MeshError::LoginRefused {
            address: settings.address(),
            user: settings.username.clone(),
        };
    }
    let tried: Vec<String> = failures.iter().map(MeshError::per_address).collect();
    MeshError::Unreachable {
        address: settings.address(),
        reason: tried.join("; "),
    }
}

/// Declare one dripline exchange (topic, non-durable, not auto-delete, no arguments); with
/// `nowait` the broker's answer is not awaited and a mismatch closes the channel later.
pub(crate) async fn declare_exchange(
    channel: &Channel,
    name: &str,
    nowait: bool,
) -> Result<(), MeshError> {
    channel
        .exchange_declare(
            crate::short(name)?,
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                nowait,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| MeshError::amqp(format!("declaring exchange '{name}'"), e))
}

fn program_name() -> String {
    std::env::args()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "dripline-tools".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(hosts: &[&str]) -> BrokerSettings {
        BrokerSettings {
            nodes: hosts
                .iter()
                .map(|host| BrokerNode {
                    host: host.to_string(),
                    port: 5672,
                })
                .collect(),
            ..BrokerSettings::default()
        }
    }

    fn refused(host: &str) -> MeshError {
        MeshError::LoginRefused {
            address: format!("{host}:5672"),
            user: "guest".into(),
        }
    }

    fn unreachable(host: &str) -> MeshError {
        MeshError::Unreachable {
            address: format!("{host}:5672"),
            reason: "Connection refused".into(),
        }
    }

    #[test]
    fn one_address_keeps_its_own_error() {
        let error = round_failure(&settings(&["a"]), vec![unreachable("a")]);
        assert_eq!(
            error.to_string(),
            "cannot reach broker at a:5672: Connection refused"
        );
    }

    #[test]
    fn a_refusal_is_final_only_when_every_address_refuses() {
        let both = settings(&["a", "b"]);
        let error = round_failure(&both, vec![refused("a"), refused("b")]);
        assert!(matches!(error, MeshError::LoginRefused { .. }), "{error}");
        assert!(error.to_string().contains("a:5672,b:5672"), "{error}");
        // A node that refused (booting?) beside one that is down: try again later.
        let error = round_failure(&both, vec![refused("a"), unreachable("b")]);
        assert!(error.is_connection_lost(), "{error}");
        assert_eq!(
            error.to_string(),
            "cannot reach broker at a:5672,b:5672: a:5672: refused user \"guest\"; \
             b:5672: Connection refused"
        );
    }
}
