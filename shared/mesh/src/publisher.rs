//! Publishing dripline messages with publisher confirms.

use crate::connection::MeshConnection;
use crate::fields::to_amqp_properties;
use crate::settings::BrokerSettings;
use crate::MeshError;
use dripline_protocol::{encode, Message};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, PublisherConfirm};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Which of the mesh's two exchanges a message goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exchange {
    /// Requests and replies.
    Requests,
    /// Alerts (sensor values, heartbeats).
    Alerts,
}

/// What the broker did with a published message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// Routed and confirmed (or, on a channel without confirms, sent).
    Confirmed,
    /// A mandatory message that no queue was bound for (AMQP 312 NO_ROUTE): dripline 403.
    Unroutable,
}

/// Told of a returned (unroutable) message that arrived on another publish's confirm, with
/// the returned message's properties (see [`PendingPublish::confirmed`]).
pub(crate) type StrayReturnHandler = Arc<dyn Fn(&BasicProperties) + Send + Sync>;

/// Publishes messages on a channel in confirm mode. Cheap to clone; clones share the channel
/// and may publish concurrently.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
    requests_exchange: String,
    alerts_exchange: String,
    max_payload_size: usize,
    persistent: bool,
    stray_returns: Option<StrayReturnHandler>,
}

impl Publisher {
    /// Open a channel in confirm mode and declare the exchanges.
    pub async fn open(connection: &MeshConnection) -> Result<Self, MeshError> {
        let channel = connection.channel().await?;
        Self::on_channel(connection, channel).await
    }

    /// Use `channel` (put into confirm mode here) for publishing; declares the exchanges.
    pub async fn on_channel(
        connection: &MeshConnection,
        channel: Channel,
    ) -> Result<Self, MeshError> {
        connection.declare_exchanges(&channel).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| MeshError::amqp("enabling publisher confirms", e))?;
        Ok(Self::on_channel_as_is(connection.settings(), channel))
    }

    /// Publish on `channel` as it is: with confirms when the caller has put it in confirm
    /// mode, otherwise fire-and-forget (a publish then reports `Confirmed` once it is sent).
    pub(crate) fn on_channel_as_is(settings: &BrokerSettings, channel: Channel) -> Self {
        Publisher {
            channel,
            requests_exchange: settings.requests_exchange.clone(),
            alerts_exchange: settings.alerts_exchange.clone(),
            max_payload_size: settings.max_payload_size,
            persistent: false,
            stray_returns: None,
        }
    }

    /// Hand returned messages that arrive on another publish's confirm to `handler`, which
    /// must find their owner (e.g. by correlation id). Without one they are only logged.
    pub(crate) fn with_stray_return_handler(mut self, handler: StrayReturnHandler) -> Self {
        self.stray_returns = Some(handler);
        self
    }

    /// The channel underneath (for consuming on the same channel).
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Send AMQP delivery mode 2 (persistent) instead of dripline's transient messages, so a
    /// durable queue keeps them across a broker restart. dripline receivers ignore the
    /// delivery mode. Off by default.
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// Publish `message` (in chunks when its body is over the chunk size) to `exchange` with
    /// its routing key, and wait until the broker confirms every chunk.
    pub async fn publish(
        &self,
        exchange: Exchange,
        message: &Message,
        mandatory: bool,
    ) -> Result<Published, MeshError> {
        self.start_publish(exchange, message, mandatory)?
            .confirmed()
            .await
    }

    /// Hand `message` to the connection (in chunks when large) without waiting for the
    /// broker's confirms: await [`PendingPublish::confirmed`] later. Many publishes may be in
    /// flight at once; the broker receives them in the order they were started.
    ///
    /// Nothing here waits: the chunks are queued for the connection's I/O thread at once,
    /// so a caller publishing many messages never waits a thread hand-over per message.
    pub fn start_publish(
        &self,
        exchange: Exchange,
        message: &Message,
        mandatory: bool,
    ) -> Result<PendingPublish, MeshError> {
        let exchange_name = match exchange {
            Exchange::Requests => &self.requests_exchange,
            Exchange::Alerts => &self.alerts_exchange,
        };
        let exchange = crate::short(exchange_name)?;
        let routing_key = crate::short(&message.routing_key)?;
        let mut chunks = Vec::with_capacity(1);
        for chunk in encode(message, self.max_payload_size) {
            let message_id = chunk.properties.message_id.clone();
            let mut properties = to_amqp_properties(&chunk.properties);
            if self.persistent {
                properties = properties.with_delivery_mode(PERSISTENT);
            }
            let channel = self.channel.clone();
            let exchange = exchange.clone();
            let routing_key = routing_key.clone();
            let options = BasicPublishOptions {
                mandatory,
                ..BasicPublishOptions::default()
            };
            let mut sending: Sending = Box::pin(async move {
                channel
                    .basic_publish(exchange, routing_key, options, &chunk.body, properties)
                    .await
            });
            // lapin's first poll registers the confirm and queues the frames, in call order;
            // what is left is the wait until the I/O thread has written them, which
            // `confirmed` does. No waker is needed for this poll: nobody waits yet.
            let mut context = Context::from_waker(futures_util::task::noop_waker_ref());
            let state = match sending.as_mut().poll(&mut context) {
                Poll::Pending => ChunkState::Sending(sending),
                Poll::Ready(Ok(confirm)) => ChunkState::Sent(confirm),
                Poll::Ready(Err(e)) => {
                    return Err(MeshError::amqp(
                        format!("publishing to '{exchange_name}'"),
                        e,
                    ))
                }
            };
            chunks.push(Chunk { message_id, state });
        }
        Ok(PendingPublish {
            exchange: exchange_name.clone(),
            chunks,
            stray_returns: self.stray_returns.clone(),
        })
    }
}

/// lapin's publish of one chunk, between queueing its frames and their being written.
type Sending = Pin<Box<dyn Future<Output = lapin::Result<PublisherConfirm>> + Send>>;

/// One chunk of a started publish: its AMQP `message_id` (`UUID/i/n`), and how far it got.
struct Chunk {
    message_id: Option<String>,
    state: ChunkState,
}

/// How far one chunk of a started publish got.
enum ChunkState {
    /// Frames queued, not yet written.
    Sending(Sending),
    /// Written; its confirm is to come.
    Sent(PublisherConfirm),
}

/// AMQP `delivery_mode` of a message the broker writes to disk in a durable queue.
const PERSISTENT: u8 = 2;

/// A message handed to the connection whose confirms are still to come
/// (from [`Publisher::start_publish`]).
#[must_use = "a publish is only known to have arrived once `confirmed` says so"]
pub struct PendingPublish {
    exchange: String,
    chunks: Vec<Chunk>,
    stray_returns: Option<StrayReturnHandler>,
}

impl PendingPublish {
    /// Wait until the broker confirms every chunk: [`Published::Unroutable`] when a mandatory
    /// message had no queue, an error when the broker refused it (nack) or the connection
    /// was lost.
    ///
    /// The broker sends a returned message before the ack of its publish, but it may ack
    /// several publishes at once, and lapin then attaches the returned message to whichever
    /// of their confirms it completes first. So a returned message is matched to its chunk by
    /// `message_id`; one that belongs to another publish goes to the publisher's stray-return
    /// handler, and that publish (which may already have been confirmed) learns of it there.
    pub async fn confirmed(self) -> Result<Published, MeshError> {
        let mut outcome = Published::Confirmed;
        for chunk in self.chunks {
            let confirm = match chunk.state {
                ChunkState::Sent(confirm) => confirm,
                ChunkState::Sending(sending) => sending.await.map_err(|e| {
                    MeshError::amqp(format!("publishing to '{}'", self.exchange), e)
                })?,
            };
            let confirmation = confirm
                .await
                .map_err(|e| MeshError::amqp("waiting for the broker's confirm", e))?;
            if confirmation.is_nack() {
                return Err(MeshError::Amqp {
                    action: format!("publishing to '{}'", self.exchange),
                    reason: "the broker refused the message (nack)".into(),
                });
            }
            if let Some(returned) = confirmation.take_message() {
                let returned_id = returned
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|id| id.as_str());
                if returned_id == chunk.message_id.as_deref() {
                    outcome = Published::Unroutable;
                } else if let Some(handler) = &self.stray_returns {
                    handler(&returned.properties);
                } else {
                    tracing::warn!(
                        message_id = returned_id.unwrap_or(""),
                        "the broker returned a message whose publish was already confirmed"
                    );
                }
            }
        }
        Ok(outcome)
    }
}
