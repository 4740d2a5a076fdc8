//! Listening on the mesh: a queue bound to keys on the requests or alerts exchange, messages
//! reassembled from their chunks, and the connection re-opened when it is lost.
//!
//! A [`Listener`] is what `dl-mon` is in dripline-cpp, plus reconnection: when the broker goes
//! away (restart, network), [`Listener::next`] reports [`ListenerEvent::Lost`] once, then
//! retries forever with jittered exponential back-off ([`Backoff`]), declares the exchanges and
//! the queue again, binds the keys again, and reports [`ListenerEvent::Reconnected`].
//!
//! Two kinds of queue ([`ListenQueue`]):
//! - temporary: server-named, exclusive, auto-delete, consumed without acknowledgements. It
//!   exists while the listener is connected; what is published meanwhile is lost.
//! - durable, named: created if missing, kept by the broker while the listener is away (its
//!   messages too, when they are persistent), consumed with manual acknowledgements: the
//!   caller acknowledges each message (its [`Incoming::ackers`]) once it is safely handled.
//!   After a [`ListenerEvent::Lost`] the ackers of earlier messages are void; the broker
//!   delivers those messages again. It may have a queue type (`quorum`) and a dead-letter
//!   exchange and queue; `dl-listen --queue` and `dl-log-to-pg` read such queues.

use crate::backoff::Backoff;
use crate::connection::MeshConnection;
use crate::incoming::{Incoming, MessageStream};
use crate::publisher::Exchange;
use crate::settings::BrokerSettings;
use crate::MeshError;
use lapin::options::{
    BasicConsumeOptions, BasicQosOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::ExchangeKind;
use std::time::Duration;

/// One binding: a topic key (wildcards `*` and `#` allowed) on one of the mesh's exchanges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The exchange.
    pub exchange: Exchange,
    /// The binding key, e.g. `sensor_value.#`.
    pub key: String,
}

impl Binding {
    /// True when a message with `routing_key` is routed by this binding (AMQP topic rules:
    /// words between dots; `*` is exactly one word, `#` zero or more).
    pub fn matches(&self, routing_key: &str) -> bool {
        let pattern: Vec<&str> = self.key.split('.').collect();
        let words: Vec<&str> = routing_key.split('.').collect();
        topic_matches(&pattern, &words)
    }

    /// When the key has `*` or `#` inside a word (`sensor_value.ux_#`), which AMQP takes
    /// literally so that the binding can never match what was meant: the key with such words
    /// made whole wildcards (`sensor_value.#`), as a hint.
    pub fn partial_wildcard_hint(&self) -> Option<String> {
        let words: Vec<&str> = self.key.split('.').collect();
        let partial = |word: &&str| word.len() > 1 && (word.contains('*') || word.contains('#'));
        if !words.iter().any(partial) {
            return None;
        }
        let fixed: Vec<&str> = words
            .iter()
            .map(|word| match word {
                w if partial(w) && w.contains('#') => "#",
                w if partial(w) => "*",
                w => w,
            })
            .collect();
        Some(fixed.join("."))
    }
}

fn topic_matches(pattern: &[&str], words: &[&str]) -> bool {
    match pattern.split_first() {
        None => words.is_empty(),
        Some((&"#", rest)) => (0..=words.len()).any(|skip| topic_matches(rest, &words[skip..])),
        Some((first, rest)) => match words.split_first() {
            Some((word, others)) if *first == "*" || first == word => topic_matches(rest, others),
            _ => false,
        },
    }
}

/// Which queue a listener reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenQueue {
    /// A server-named, exclusive, auto-delete queue, consumed without acknowledgements.
    Temporary,
    /// A durable queue of this name (created if missing, shared with other listeners of the
    /// same name), consumed with manual acknowledgements, at most `prefetch` unacknowledged
    /// deliveries at a time. `prefetch` must exceed the chunk count of the largest message.
    Durable {
        /// The queue name.
        name: String,
        /// The most unacknowledged deliveries the broker sends ahead.
        prefetch: u16,
        /// Its `x-queue-type` (`classic`, `quorum`) when it is created; `None`: the broker's
        /// default. A queue that exists with another type is an error.
        queue_type: Option<String>,
        /// A dead-letter exchange (fanout) and queue of this name, both durable, declared with
        /// the queue and set as its `x-dead-letter-exchange`.
        dead_letter: Option<String>,
    },
}

/// What a [`Listener`] has to say.
// Events are handed over once and never stored, so the size of `Message` costs nothing a
// box would save.
#[allow(clippy::large_enum_variant)]
pub enum ListenerEvent {
    /// A message (or one that could not be decoded).
    Message(Incoming),
    /// The connection was lost; the next call to [`Listener::next`] reconnects.
    Lost(MeshError),
    /// Connected again, with the queue declared and bound; messages follow.
    Reconnected,
}

/// A queue bound to keys, read message by message, re-opened whenever the connection is lost.
pub struct Listener {
    settings: BrokerSettings,
    service_name: String,
    bindings: Vec<Binding>,
    queue: ListenQueue,
    live: Option<Live>,
    backoff: Backoff,
    keep_raw: bool,
}

/// The connection of a listener that is connected.
struct Live {
    connection: MeshConnection,
    channel: lapin::Channel,
    stream: MessageStream,
    queue_name: String,
}

impl Listener {
    /// Connect (retrying as `settings.max_connection_attempts` says), declare the exchanges
    /// and the queue, bind every binding and start consuming. Errors here are final: an
    /// unreachable broker, a refused login, a queue that exists with other flags.
    pub async fn open(
        settings: &BrokerSettings,
        service_name: &str,
        bindings: Vec<Binding>,
        queue: ListenQueue,
    ) -> Result<Self, MeshError> {
        Self::new(settings, service_name, bindings, queue)
            .connect()
            .await
    }

    /// A listener not yet connected: [`connect`](Self::connect) it (what [`open`](Self::open)
    /// does at once), after choosing options such as
    /// [`keeping_raw_deliveries`](Self::keeping_raw_deliveries).
    pub fn new(
        settings: &BrokerSettings,
        service_name: &str,
        bindings: Vec<Binding>,
        queue: ListenQueue,
    ) -> Self {
        Listener {
            settings: settings.clone(),
            service_name: service_name.to_string(),
            bindings,
            queue,
            live: None,
            backoff: Backoff::default(),
            keep_raw: false,
        }
    }

    /// Keep each message's deliveries as they arrived ([`Incoming::raw`]), e.g. to pass a
    /// message that cannot be used on to a dead-letter queue unchanged.
    pub fn keeping_raw_deliveries(mut self) -> Self {
        self.keep_raw = true;
        self
    }

    /// Connect as [`open`](Self::open) says.
    pub async fn connect(mut self) -> Result<Self, MeshError> {
        let connection = MeshConnection::connect(&self.settings, &self.service_name).await?;
        self.live = Some(self.set_up(connection).await?);
        Ok(self)
    }

    /// A new channel on the current connection (e.g. for publishing beside the consumer);
    /// `None` while disconnected.
    pub async fn open_channel(&self) -> Option<Result<lapin::Channel, MeshError>> {
        match &self.live {
            Some(live) => Some(live.connection.channel().await),
            None => None,
        }
    }

    /// The broker node connected to now, `host:port` (and `/vhost`); `None` while
    /// disconnected.
    pub fn node_address(&self) -> Option<String> {
        self.live.as_ref().map(|live| live.connection.address())
    }

    /// The name of the queue read now (server-named queues get a new name on reconnection).
    pub fn queue_name(&self) -> Option<&str> {
        self.live.as_ref().map(|live| live.queue_name.as_str())
    }

    /// The next event. Never ends: a lost connection is reported once
    /// ([`ListenerEvent::Lost`]) and re-opened by the following call, however long that takes.
    /// Cancel-safe: dropping the future loses no message (a reconnection in progress starts
    /// over).
    pub async fn next(&mut self) -> ListenerEvent {
        let Some(live) = self.live.as_mut() else {
            self.reconnect().await;
            return ListenerEvent::Reconnected;
        };
        let lost = match live.stream.next().await {
            Some(Ok(incoming)) => return ListenerEvent::Message(incoming),
            Some(Err(error)) => as_lost(&live.connection.address(), error),
            None => MeshError::Unreachable {
                address: live.connection.address(),
                reason: "the broker closed the connection or cancelled the consumer".into(),
            },
        };
        if let Some(live) = self.live.take() {
            // A connection that is half alive (consumer cancelled by the broker) is closed
            // rather than leaked; a dead one answers at once.
            let _ = tokio::time::timeout(Duration::from_secs(1), live.connection.close()).await;
        }
        ListenerEvent::Lost(lost)
    }

    /// Bind the queue read now to one more key, e.g. a client's reply queue on the requests
    /// exchange, until [`unbind`](Self::unbind). Sent without waiting for the broker's answer,
    /// so that a reply published right after is routed to the queue too. Not kept across a
    /// reconnection: the bindings given to [`open`](Self::open) are. Does nothing while
    /// disconnected.
    pub async fn bind(&self, binding: &Binding) -> Result<(), MeshError> {
        let Some(live) = &self.live else {
            return Ok(());
        };
        live.channel
            .queue_bind(
                crate::short(&live.queue_name)?,
                crate::short(self.exchange_name(binding.exchange))?,
                crate::short(&binding.key)?,
                QueueBindOptions { nowait: true },
                FieldTable::default(),
            )
            .await
            .map_err(|e| MeshError::amqp(format!("binding '{}'", binding.key), e))
    }

    /// Undo a [`bind`](Self::bind). Does nothing while disconnected.
    pub async fn unbind(&self, binding: &Binding) -> Result<(), MeshError> {
        let Some(live) = &self.live else {
            return Ok(());
        };
        live.channel
            .queue_unbind(
                crate::short(&live.queue_name)?,
                crate::short(self.exchange_name(binding.exchange))?,
                crate::short(&binding.key)?,
                FieldTable::default(),
            )
            .await
            .map_err(|e| MeshError::amqp(format!("unbinding '{}'", binding.key), e))
    }

    fn exchange_name(&self, exchange: Exchange) -> &str {
        match exchange {
            Exchange::Requests => &self.settings.requests_exchange,
            Exchange::Alerts => &self.settings.alerts_exchange,
        }
    }

    /// True while chunks of an incomplete message wait for the rest. Their deliveries came
    /// before later complete messages, so acknowledging "everything up to" a later delivery
    /// (AMQP `multiple`) is only safe when this is false.
    pub fn has_incomplete_messages(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|live| live.stream.has_incomplete_messages())
    }

    /// Close the connection politely (a temporary queue disappears with it).
    pub async fn close(self) {
        if let Some(live) = self.live {
            live.connection.close().await;
        }
    }

    /// Connect and set up until it works, waiting a jittered, growing delay between attempts.
    async fn reconnect(&mut self) {
        let mut settings = self.settings.clone();
        settings.max_connection_attempts = 1;
        loop {
            let attempt = match MeshConnection::connect(&settings, &self.service_name).await {
                Ok(connection) => self.set_up(connection).await,
                Err(error) => Err(error),
            };
            match attempt {
                Ok(live) => {
                    self.live = Some(live);
                    self.backoff.reset();
                    return;
                }
                Err(error) => {
                    let delay = self.backoff.next_delay();
                    tracing::info!("still no broker ({error}); next attempt in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Declare the exchanges and the queue, bind, consume.
    async fn set_up(&self, connection: MeshConnection) -> Result<Live, MeshError> {
        let channel = connection.channel().await?;
        connection.declare_exchanges(&channel).await?;
        let mut arguments = FieldTable::default();
        let (name, options, no_ack) = match &self.queue {
            ListenQueue::Temporary => (
                "",
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                true,
            ),
            ListenQueue::Durable {
                name,
                prefetch,
                queue_type,
                dead_letter,
            } => {
                channel
                    .basic_qos(*prefetch, BasicQosOptions::default())
                    .await
                    .map_err(|e| MeshError::amqp("setting the prefetch count", e))?;
                if let Some(queue_type) = queue_type {
                    arguments.insert(
                        "x-queue-type".into(),
                        AMQPValue::LongString(queue_type.as_str().into()),
                    );
                }
                if let Some(dead_letter) = dead_letter {
                    declare_dead_letter(&channel, dead_letter).await?;
                    arguments.insert(
                        "x-dead-letter-exchange".into(),
                        AMQPValue::LongString(dead_letter.as_str().into()),
                    );
                }
                (name.as_str(), DURABLE, false)
            }
        };
        let declared = channel
            .queue_declare(crate::short(name)?, options, arguments)
            .await
            .map_err(|e| MeshError::amqp(format!("declaring queue '{name}'"), e))?;
        let queue = declared.name().clone();
        let queue_name = queue.as_str().to_string();
        for binding in &self.bindings {
            let exchange = self.exchange_name(binding.exchange);
            channel
                .queue_bind(
                    queue.clone(),
                    crate::short(exchange)?,
                    crate::short(&binding.key)?,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    MeshError::amqp(
                        format!("binding '{}' on exchange '{exchange}'", binding.key),
                        e,
                    )
                })?;
        }
        let consumer = channel
            .basic_consume(
                queue,
                "".into(),
                BasicConsumeOptions {
                    no_ack,
                    exclusive: no_ack,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| MeshError::amqp(format!("consuming queue '{queue_name}'"), e))?;
        tracing::debug!(queue = %queue_name, broker = %connection.address(), "listening");
        let mut stream = MessageStream::new(consumer, !no_ack);
        if self.keep_raw {
            stream = stream.keeping_raw_deliveries();
        }
        Ok(Live {
            connection,
            channel,
            stream,
            queue_name,
        })
    }
}

const DURABLE: QueueDeclareOptions = QueueDeclareOptions {
    passive: false,
    durable: true,
    exclusive: false,
    auto_delete: false,
    nowait: false,
};

/// Declare a durable fanout exchange and a durable queue of the same name, bound together.
async fn declare_dead_letter(channel: &lapin::Channel, name: &str) -> Result<(), MeshError> {
    let short = crate::short(name)?;
    channel
        .exchange_declare(
            short.clone(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| MeshError::amqp(format!("declaring exchange '{name}'"), e))?;
    channel
        .queue_declare(short.clone(), DURABLE, FieldTable::default())
        .await
        .map_err(|e| MeshError::amqp(format!("declaring queue '{name}'"), e))?;
    channel
        .queue_bind(
            short.clone(),
            short,
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| MeshError::amqp(format!("binding queue '{name}'"), e))
}

/// Any failure while receiving means the channel or connection is gone.
fn as_lost(address: &str, error: MeshError) -> MeshError {
    match error {
        MeshError::Amqp { action, reason } => MeshError::Unreachable {
            address: address.to_string(),
            reason: format!("connection lost while {action}: {reason}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(key: &str) -> Binding {
        Binding {
            exchange: Exchange::Alerts,
            key: key.into(),
        }
    }

    #[test]
    fn topic_keys_match_whole_words() {
        assert!(binding("#").matches("a.b.c"));
        assert!(binding("sensor_value.#").matches("sensor_value"));
        assert!(binding("sensor_value.#").matches("sensor_value.ux.a"));
        assert!(binding("*.b").matches("a.b"));
        assert!(!binding("*.b").matches("b"));
        assert!(binding("a.#.z").matches("a.x.y.z"));
        assert!(!binding("sensor_value.ux_#").matches("sensor_value.ux_1"));
        assert!(binding("sensor_value.ux_#").matches("sensor_value.ux_#"));
    }

    #[test]
    fn partial_wildcards_get_a_hint() {
        assert_eq!(
            binding("sensor_value.ux_#")
                .partial_wildcard_hint()
                .as_deref(),
            Some("sensor_value.#")
        );
        assert_eq!(
            binding("a.b*.c").partial_wildcard_hint().as_deref(),
            Some("a.*.c")
        );
        assert_eq!(binding("sensor_value.#").partial_wildcard_hint(), None);
        assert_eq!(binding("*.x").partial_wildcard_hint(), None);
    }
}
