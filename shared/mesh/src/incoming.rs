//! Receiving dripline messages from a queue: chunks reassembled, decoding errors kept.

use crate::fields::from_amqp_properties;
use crate::MeshError;
use dripline_protocol::wire::{ChunkId, DEFAULT_CHUNK_WAIT};
use dripline_protocol::{AssemblyLimits, ChunkAssembler, DecodeError, Message, WireChunk};
use futures_util::{FutureExt, StreamExt};
use lapin::options::BasicAckOptions;
use lapin::{Acker, Consumer};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

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

impl RawDelivery {
    /// Drop the AMQP properties (the sender's headers are most of what a kept delivery holds
    /// besides its body), for a delivery kept only in case it must be passed on after all:
    /// [`DeadLetter::stripped`](crate::DeadLetter) then writes again what a dripline reader
    /// needs.
    pub fn strip_properties(&mut self) {
        self.properties = lapin::BasicProperties::default();
    }
}

struct PendingChunkInfo {
    exchange: String,
    redelivered: bool,
    acker: Acker,
    raw: Option<RawDelivery>,
}

/// A stream of [`Incoming`] messages from a consumer.
pub struct MessageStream {
    consumer: Consumer,
    assembler: ChunkAssembler,
    /// The deliveries of each incomplete message, by message id base.
    pending: HashMap<String, Vec<PendingChunkInfo>>,
    ready: VecDeque<Incoming>,
    keep_ackers: bool,
    keep_raw: bool,
    arrival_acks: Option<ArrivalAcks>,
    /// The acknowledgement under way, a task kept here rather than in `next`'s future: a
    /// caller's `select!` may drop `next` while it waits, and lapin sends each acknowledgement
    /// from a task of its own, so a later `multiple` acknowledgement sent before this one
    /// finished could overtake it, and the broker closes the channel for the earlier, by then
    /// unknown, delivery tag.
    ack_in_flight: Option<tokio::task::JoinHandle<lapin::Result<bool>>>,
    last_refusal_report: Option<Instant>,
}

/// Deliveries acknowledged as they arrive, several at a time (`multiple`): at most `batch`
/// wait for their acknowledgement, and none once the consumer has nothing more buffered.
struct ArrivalAcks {
    batch: usize,
    unacked: usize,
    last: Option<Acker>,
}

/// How often a flood of refused chunks is reported, at most.
pub(crate) const REFUSAL_REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl MessageStream {
    /// Read `consumer`; `keep_ackers` is false for auto-ack (no_ack) consumers.
    pub fn new(consumer: Consumer, keep_ackers: bool) -> Self {
        MessageStream {
            consumer,
            assembler: ChunkAssembler::new(DEFAULT_CHUNK_WAIT),
            pending: HashMap::new(),
            ready: VecDeque::new(),
            keep_ackers,
            keep_raw: false,
            arrival_acks: None,
            ack_in_flight: None,
            last_refusal_report: None,
        }
    }

    /// Hold incomplete messages within `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: AssemblyLimits) -> Self {
        self.assembler = ChunkAssembler::with_limits(DEFAULT_CHUNK_WAIT, limits);
        self
    }

    /// Acknowledge every delivery as it arrives (dripline's semantics for requests: a request
    /// is acknowledged on arrival, whatever becomes of it), `batch` deliveries in one
    /// `multiple` acknowledgement while a burst drains, at once when the consumer is idle.
    /// For a manual-acknowledgement consumer with a prefetch count above `batch` (twice it
    /// keeps the broker sending while the acknowledgement travels): the broker then holds
    /// what a flood queues, never our process.
    pub fn acknowledging_on_arrival(mut self, batch: u16) -> Self {
        self.arrival_acks = Some(ArrivalAcks {
            batch: usize::from(batch.max(1)),
            unacked: 0,
            last: None,
        });
        self
    }

    /// Acknowledge the deliveries received so far (with arrival acknowledgements on), after
    /// the acknowledgement already under way. Cancel-safe: dropped at its await, the
    /// acknowledgement stays in flight and the next call finishes it first.
    async fn flush_acks(&mut self) -> Result<(), MeshError> {
        self.finish_ack_in_flight().await?;
        let Some(acks) = self.arrival_acks.as_mut() else {
            return Ok(());
        };
        acks.unacked = 0;
        if let Some(last) = acks.last.take() {
            self.ack_in_flight = Some(tokio::spawn(async move {
                last.ack(BasicAckOptions { multiple: true }).await
            }));
            self.finish_ack_in_flight().await?;
        }
        Ok(())
    }

    async fn finish_ack_in_flight(&mut self) -> Result<(), MeshError> {
        if let Some(ack) = self.ack_in_flight.as_mut() {
            let result = ack.await;
            self.ack_in_flight = None;
            match result {
                Ok(sent) => {
                    sent.map_err(|e| MeshError::amqp("acknowledging deliveries", e))?;
                }
                // The task panicked or the runtime is shutting down: the channel's state is
                // unknown, as after a lost connection.
                Err(error) => {
                    return Err(MeshError::Amqp {
                        action: "acknowledging deliveries".into(),
                        reason: error.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// How many messages were given up or refused for the assembly limits so far.
    pub fn refused_total(&self) -> u64 {
        self.assembler.refused_total()
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
            if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
                self.expire(); // even while a burst keeps the consumer busy
                continue;
            }
            // A full batch of deliveries taken is acknowledged before the next is taken.
            if self
                .arrival_acks
                .as_ref()
                .is_some_and(|acks| acks.unacked >= acks.batch)
            {
                if let Err(error) = self.flush_acks().await {
                    return Some(Err(error));
                }
            }
            // Whatever the consumer already holds is taken at once; before waiting for more,
            // the deliveries taken so far are acknowledged.
            let delivery = match self.consumer.next().now_or_never() {
                Some(delivery) => delivery,
                None => {
                    if let Err(error) = self.flush_acks().await {
                        return Some(Err(error));
                    }
                    match deadline {
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
                    }
                }
            };
            let delivery = match delivery? {
                Ok(delivery) => delivery,
                Err(error) => return Some(Err(MeshError::amqp("receiving", error))),
            };
            // No await from here until the delivery is offered: a caller's select! may drop
            // this future at an await, and a delivery taken but not offered would be lost.
            if let Some(acks) = self.arrival_acks.as_mut() {
                acks.last = Some(delivery.acker.clone());
                acks.unacked += 1;
            }
            let properties = from_amqp_properties(&delivery.properties);
            // The assembler's key: the whole base, which may itself contain '/'.
            let id_base = properties
                .message_id
                .as_deref()
                .map(|id| ChunkId::parse(id).map_or_else(|| id.to_string(), |chunk| chunk.base))
                .unwrap_or_default();
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
            self.pending
                .entry(id_base.clone())
                .or_default()
                .push(PendingChunkInfo {
                    exchange,
                    redelivered: delivery.redelivered,
                    acker: delivery.acker,
                    raw,
                });
            if let Some(result) = self.assembler.offer(chunk, Instant::now()) {
                self.complete(&id_base, result);
            }
            let given_up = self.assembler.take_given_up();
            if !given_up.is_empty() {
                self.report_given_up(given_up.len());
                for (base, result) in given_up {
                    self.complete(&base, result);
                }
            }
        }
    }

    fn expire(&mut self) {
        let mut unnamed = false;
        for result in self.assembler.expire(Instant::now()) {
            let id_base = match &result {
                Ok(message) => message.message_id.clone(),
                Err(DecodeError::Body { message, .. }) => message.message_id.clone(),
                Err(_) => {
                    unnamed = true;
                    String::new()
                }
            };
            self.complete(&id_base, result);
        }
        if unnamed {
            // An expired message whose headers were bad names no id: let go of the
            // deliveries of every message the assembler no longer holds.
            let assembler = &self.assembler;
            self.pending.retain(|base, _| assembler.is_pending(base));
        }
    }

    /// A warning at most every ten seconds while a flood of incomplete messages is refused.
    fn report_given_up(&mut self, count: usize) {
        let now = Instant::now();
        let due = self
            .last_refusal_report
            .is_none_or(|last| now.duration_since(last) >= REFUSAL_REPORT_EVERY);
        if due {
            self.last_refusal_report = Some(now);
            tracing::warn!(
                given_up = count,
                total = self.assembler.refused_total(),
                pending_bytes = self.assembler.pending_bytes(),
                "multi-chunk messages given up for the assembly limits (larger than a message \
                 may be, or too many incomplete ones: a flood of chunks that never complete?)"
            );
        }
    }

    fn complete(&mut self, id_base: &str, message: Result<Message, DecodeError>) {
        let mine = self.pending.remove(id_base).unwrap_or_default();
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
