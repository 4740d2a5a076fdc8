//! Receiving dripline messages from a queue: chunks reassembled, decoding errors kept.

use crate::fields::from_amqp_properties;
use crate::MeshError;
use dripline_protocol::wire::DEFAULT_CHUNK_WAIT;
use dripline_protocol::{ChunkAssembler, DecodeError, Message, WireChunk};
use futures_util::StreamExt;
use lapin::Consumer;
use std::collections::VecDeque;
use std::time::Instant;

/// The handle to acknowledge one delivery of a queue read with acknowledgements
/// ([`Incoming::ackers`]).
pub use lapin::Acker;

/// Acknowledge `acker`'s delivery, or with `multiple` every delivery of its channel up to it.
/// An error means the connection is gone: the broker delivers the messages again.
pub async fn acknowledge(acker: &Acker, multiple: bool) -> Result<(), MeshError> {
    acker
        .ack(lapin::options::BasicAckOptions { multiple })
        .await
        .map(|_| ())
        .map_err(|e| MeshError::amqp("acknowledging a delivery", e))
}

/// One received dripline message (all its chunks).
pub struct Incoming {
    /// The exchange it was published to (of its last chunk).
    pub exchange: String,
    /// Whether the broker redelivered (any chunk of) it.
    pub redelivered: bool,
    /// The message, or why it could not be decoded.
    pub message: Result<Message, DecodeError>,
    /// Ackers of the deliveries it came in (empty for auto-ack consumers). For a message
    /// that never completed, only the chunks that did arrive.
    pub ackers: Vec<Acker>,
    /// The deliveries as they arrived, when the stream keeps them
    /// ([`MessageStream::keeping_raw_deliveries`]); otherwise empty.
    pub raw: Vec<RawDelivery>,
}

/// One AMQP delivery as the broker sent it, kept so that a message that cannot be used can be
/// passed on unchanged (e.g. to a dead-letter queue).
#[derive(Clone, Debug)]
pub struct RawDelivery {
    /// The exchange it was published to.
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// Its AMQP properties, headers included.
    pub properties: lapin::BasicProperties,
    /// Its body bytes.
    pub body: Vec<u8>,
}

struct PendingChunkInfo {
    exchange: String,
    redelivered: bool,
    acker: Acker,
    id_base: String,
    raw: Option<RawDelivery>,
}

/// A stream of [`Incoming`] messages from a consumer.
pub struct MessageStream {
    consumer: Consumer,
    assembler: ChunkAssembler,
    pending: Vec<PendingChunkInfo>,
    ready: VecDeque<Incoming>,
    keep_ackers: bool,
    keep_raw: bool,
}

impl MessageStream {
    /// Read `consumer`; `keep_ackers` is false for auto-ack (no_ack) consumers.
    pub fn new(consumer: Consumer, keep_ackers: bool) -> Self {
        MessageStream {
            consumer,
            assembler: ChunkAssembler::new(DEFAULT_CHUNK_WAIT),
            pending: Vec::new(),
            ready: VecDeque::new(),
            keep_ackers,
            keep_raw: false,
        }
    }

    /// Also keep each message's deliveries as they arrived ([`Incoming::raw`]), at the cost of
    /// a copy of every body.
    pub fn keeping_raw_deliveries(mut self) -> Self {
        self.keep_raw = true;
        self
    }

    /// True while chunks of an incomplete message wait for the rest. Their deliveries came
    /// before later complete messages, so acknowledging "everything up to" a later delivery
    /// would acknowledge them too.
    pub fn has_incomplete_messages(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next message; `None` when the consumer ends (cancelled or connection closed).
    pub async fn next(&mut self) -> Option<Result<Incoming, MeshError>> {
        loop {
            if let Some(incoming) = self.ready.pop_front() {
                return Some(Ok(incoming));
            }
            let deadline = self.assembler.next_deadline();
            let delivery = match deadline {
                Some(deadline) => {
                    tokio::select! {
                        delivery = self.consumer.next() => delivery,
                        _ = tokio::time::sleep_until(deadline.into()) => {
                            self.expire();
                            continue;
                        }
                    }
                }
                None => self.consumer.next().await,
            };
            let delivery = match delivery? {
                Ok(delivery) => delivery,
                Err(error) => return Some(Err(MeshError::amqp("receiving", error))),
            };
            let properties = from_amqp_properties(&delivery.properties);
            let id_base = properties
                .message_id
                .as_deref()
                .and_then(|id| id.split('/').next())
                .unwrap_or_default()
                .to_string();
            let exchange = delivery.exchange.as_str().to_string();
            let routing_key = delivery.routing_key.as_str().to_string();
            let raw = self.keep_raw.then(|| RawDelivery {
                exchange: exchange.clone(),
                routing_key: routing_key.clone(),
                properties: delivery.properties,
                body: delivery.data.clone(),
            });
            let chunk = WireChunk {
                routing_key,
                properties,
                body: delivery.data,
            };
            self.pending.push(PendingChunkInfo {
                exchange,
                redelivered: delivery.redelivered,
                acker: delivery.acker,
                id_base: id_base.clone(),
                raw,
            });
            if let Some(result) = self.assembler.offer(chunk, Instant::now()) {
                self.complete(&id_base, result);
            }
        }
    }

    fn expire(&mut self) {
        for result in self.assembler.expire(Instant::now()) {
            let id_base = match &result {
                Ok(message) => message.message_id.clone(),
                Err(DecodeError::Body { message, .. }) => message.message_id.clone(),
                Err(_) => String::new(),
            };
            self.complete(&id_base, result);
        }
    }

    fn complete(&mut self, id_base: &str, message: Result<Message, DecodeError>) {
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|info| info.id_base == id_base);
        self.pending = others;
        let exchange = mine
            .last()
            .map(|info| info.exchange.clone())
            .unwrap_or_default();
        let redelivered = mine.iter().any(|info| info.redelivered);
        let mut ackers = Vec::new();
        let mut raw = Vec::new();
        for info in mine {
            if self.keep_ackers {
                ackers.push(info.acker);
            }
            raw.extend(info.raw);
        }
        self.ready.push_back(Incoming {
            exchange,
            redelivered,
            message,
            ackers,
            raw,
        });
    }
}
