//! One AMQP connection to the mesh's broker, opened with retries and clear errors.

use crate::backoff::Backoff;
use crate::settings::BrokerSettings;
use crate::MeshError;
use dripline_protocol::SenderInfo;
use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

/// An open connection plus what every message we send needs: the settings it was opened
/// with and our `sender_info`.
pub struct MeshConnection {
    connection: Connection,
    settings: BrokerSettings,
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
    /// `max_connection_attempts` times (0 = forever). A refused login is not retried.
    pub async fn connect(settings: &BrokerSettings, service_name: &str) -> Result<Self, MeshError> {
        let mut backoff = Backoff::default();
        let mut attempt = 1u32;
        loop {
            match Self::connect_once(settings).await {
                Ok(connection) => {
                    tracing::debug!(address = %settings.address(), "connected to broker");
                    return Ok(MeshConnection {
                        connection,
                        settings: settings.clone(),
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

    async fn connect_once(settings: &BrokerSettings) -> Result<Connection, MeshError> {
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
                host: settings.host.clone(),
                port: settings.port,
            },
            vhost: settings.vhost.clone(),
            query: AMQPQueryString {
                // lapin sizes its two I/O buffers at 32 frames each: with RabbitMQ's default
                // 128 KiB frames that is 8 MiB zero-filled per connection (milliseconds of page
                // faults on every one-shot request). dripline messages are chunked at 10 kB,
                // so 16 KiB frames cost nothing in throughput.
                frame_max: Some(16 * 1024),
                heartbeat: Some(30),
                connection_timeout: Some(10_000),
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
            .map_err(|error| MeshError::from_connect(error, settings))?;
        Connection::connect_uri_with_config(uri, properties, tls, runtime)
            .await
            .map_err(|error| MeshError::from_connect(error, settings))
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
