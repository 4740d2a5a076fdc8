//! Consuming alerts from the broker: the durable queue and its dead-letter queue, batches
//! handed to the writer, and acknowledgements only after the rows are committed.
//!
//! Two tasks: the consumer fills a batch until it is full or old enough and hands it over
//! (at most one batch waits, so a slow or absent database stops consumption: prefetch then
//! bounds what the broker sends); the writer commits a batch, passes its poison alerts to the
//! dead-letter exchange, and only then acknowledges it. A lost broker connection drops the
//! batch being filled (the broker redelivers it); the mesh's [`Listener`] reconnects for ever.

use crate::alert::{classify, AlertParts};
use crate::args::QueueType;
use crate::batch::{sleep_until_deadline, Batch};
use crate::database::{Database, Stopping};
use crate::metrics::{Link, Metrics};
use dripline_mesh::listener::{Binding, ListenQueue, Listener, ListenerEvent};
use dripline_mesh::{
    Acknowledgements, BrokerSettings, DeadLetter, DeadLetterChannel, Exchange, Incoming, MeshError,
    RawDelivery,
};
use dripline_protocol::DecodeError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The header that says why an alert was dead-lettered.
pub const REASON_HEADER: &str = "x-dl-log-to-pg-reason";

/// What to consume and how.
pub struct QueuePlan {
    /// The durable queue.
    pub queue: String,
    /// Its type, when it is created.
    pub queue_type: QueueType,
    /// Keys bound on the alerts exchange.
    pub keys: Vec<String>,
    /// Deliveries outstanding at most.
    pub prefetch: u16,
    /// Largest batch.
    pub batch_size: usize,
    /// Longest wait of a batch's first alert.
    pub batch_time: Duration,
    /// Largest alert stored (bytes of body, all chunks); larger ones are dead-lettered.
    pub max_message_size: usize,
}

impl QueuePlan {
    /// The dead-letter exchange and queue: `<queue>.dead`.
    pub fn dead_letter_name(&self) -> String {
        format!("{}.dead", self.queue)
    }
}

/// Where an alert came from, to pass it on to the dead-letter queue if it can't be stored.
struct Origin {
    /// Its deliveries as they arrived. For an alert that became a row, without their AMQP
    /// properties: those would be most of what a batch holds in memory, and only a row the
    /// database refuses (rare: its values were checked) needs them again.
    deliveries: Vec<RawDelivery>,
    /// For such a row, the alert's `message_id` and `timestamp`, put back in its place.
    dropped_properties: Option<(String, String)>,
}

/// A batch with what settles it.
struct Handover {
    batch: Batch<Origin>,
    acknowledgements: Acknowledgements,
    /// True when every earlier delivery on the channel is settled or in this batch, so one
    /// "everything up to the last" ack settles it.
    cumulative: bool,
    /// The confirm-mode channel for dead letters, on the connection the batch came from.
    dead_letters: Option<DeadLetterChannel>,
}

/// Consume until `stop` turns true; what was handed over is committed and acknowledged before
/// this returns.
pub async fn run(
    settings: &BrokerSettings,
    plan: QueuePlan,
    database: Database,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> Result<(), MeshError> {
    let bindings = plan
        .keys
        .iter()
        .map(|key| Binding {
            exchange: Exchange::Alerts,
            key: key.clone(),
        })
        .collect();
    let queue = ListenQueue::Durable {
        name: plan.queue.clone(),
        prefetch: plan.prefetch,
        queue_type: Some(plan.queue_type.name().to_string()),
        dead_letter: Some(plan.dead_letter_name()),
    };
    let connecting = Listener::new(settings, "dl-log-to-pg", bindings, queue)
        .keeping_raw_deliveries()
        .connect();
    let mut waiting = stop.clone();
    let listener = tokio::select! {
        listener = connecting => listener?,
        _ = waiting.wait_for(|stop| *stop) => return Ok(()),
    };
    tracing::info!(queue = %plan.queue, keys = ?plan.keys, "consuming");
    let (handover, batches) = mpsc::channel(1);
    let writer = tokio::spawn(write_batches(
        batches,
        database,
        metrics.clone(),
        stop.clone(),
    ));
    let listener = consume(listener, &plan, handover, &metrics, stop).await;
    // The consumer has dropped its sender: the writer finishes what it holds, and acknowledges
    // it on the connection, which is closed only then.
    let _ = writer.await;
    listener.close().await;
    Ok(())
}

/// Fill batches from the listener and hand them to the writer, until `stop`. A lost connection
/// drops the batch being filled (the broker delivers it again) and the listener reconnects.
async fn consume(
    mut listener: Listener,
    plan: &QueuePlan,
    handover: mpsc::Sender<Handover>,
    metrics: &Metrics,
    mut stop: watch::Receiver<bool>,
) -> Listener {
    let dead_letter_exchange = plan.dead_letter_name();
    let mut dead_letters = dead_letter_channel(&listener, &dead_letter_exchange).await;
    metrics.link(Link::Broker, true);
    metrics.broker_node(listener.node_address());
    let new_handover = |dead_letters: &Option<DeadLetterChannel>| Handover {
        batch: Batch::default(),
        acknowledgements: Acknowledgements::default(),
        cumulative: true,
        dead_letters: dead_letters.clone(),
    };
    let mut current = new_handover(&dead_letters);
    loop {
        if current.batch.is_due(plan.batch_size, plan.batch_time) {
            let ready = std::mem::replace(&mut current, new_handover(&dead_letters));
            if handover.send(ready).await.is_err() {
                return listener;
            }
            continue;
        }
        let event = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => {
                if !current.batch.is_empty() {
                    let _ = handover.send(current).await;
                }
                return listener;
            }
            _ = sleep_until_deadline(current.batch.deadline(plan.batch_time)) => continue,
            event = listener.next() => event,
        };
        match event {
            ListenerEvent::Message(incoming) => {
                add(
                    &mut current,
                    incoming,
                    listener.has_incomplete_messages(),
                    plan.max_message_size,
                );
                metrics.received(1);
            }
            ListenerEvent::Lost(error) => {
                metrics.link(Link::Broker, false);
                metrics.broker_node(None);
                metrics.abandoned(current.batch.len() as u64);
                current = new_handover(&None);
                tracing::warn!(
                    "lost the broker connection ({error}); unacknowledged alerts will be \
                     redelivered; reconnecting"
                );
            }
            ListenerEvent::Reconnected => {
                dead_letters = dead_letter_channel(&listener, &dead_letter_exchange).await;
                current = new_handover(&dead_letters);
                metrics.link(Link::Broker, true);
                let node = listener.node_address();
                tracing::warn!(
                    queue = %plan.queue,
                    "connected to the broker again, at {}; consuming",
                    node.as_deref().unwrap_or_default()
                );
                metrics.broker_node(node);
            }
        }
    }
}

/// The dead-letter channel on the listener's connection; `None` if the connection is gone
/// again (the listener reports it next).
async fn dead_letter_channel(listener: &Listener, exchange: &str) -> Option<DeadLetterChannel> {
    DeadLetterChannel::open(listener, exchange, REASON_HEADER)
        .await?
        .ok()
}

fn add(current: &mut Handover, incoming: Incoming, incomplete_waiting: bool, max_size: usize) {
    let mut origin = Origin {
        deliveries: incoming.raw,
        dropped_properties: None,
    };
    let size: usize = origin.deliveries.iter().map(|d| d.body.len()).sum();
    let row = match incoming.message {
        _ if size > max_size => Err(format!(
            "the alert is {size} bytes, over the --max-message-size limit of {max_size}"
        )),
        Ok(message) => {
            let row = classify(AlertParts {
                routing_key: &message.routing_key,
                timestamp: &message.timestamp,
                message_id: &message.message_id,
                payload: message.payload,
            });
            if row.is_ok() {
                for delivery in &mut origin.deliveries {
                    delivery.strip_properties();
                }
                origin.dropped_properties = Some((message.message_id, message.timestamp));
            }
            row
        }
        Err(error) => Err(undecodable(&error)),
    };
    current.batch.push(row, origin);
    current.acknowledgements.add(incoming.ackers);
    if incomplete_waiting {
        current.cumulative = false;
    }
}

fn undecodable(error: &DecodeError) -> String {
    format!("not a usable dripline message: {error}")
}

/// The writer task: commit, dead-letter, acknowledge, batch after batch.
async fn write_batches(
    mut batches: mpsc::Receiver<Handover>,
    mut database: Database,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    while let Some(mut handover) = batches.recv().await {
        let alerts = handover.batch.len() as u64;
        let started = Instant::now();
        let written = match database.write(&mut handover.batch, &mut stop).await {
            Ok(written) => written,
            Err(Stopping) => {
                tracing::warn!(
                    "stopping with {alerts} alerts not stored; the broker keeps them for the \
                     next start"
                );
                return;
            }
        };
        let batch = &handover.batch;
        metrics.committed(
            written.inserted,
            written.duplicates,
            started.elapsed(),
            batch.newest,
        );
        if let Err(error) = dead_letter(&handover).await {
            tracing::warn!(
                "{error}; the batch's alerts stay unacknowledged and will be redelivered"
            );
            continue;
        }
        metrics.dead_lettered(batch.poison.len() as u64);
        if let Err(error) = handover.acknowledgements.ack(handover.cumulative).await {
            // The connection is gone; the broker redelivers, and the unique message id keeps
            // the rows single.
            tracing::debug!(%error, "acknowledging a committed batch failed");
        }
        metrics.settled(alerts);
    }
}

/// Pass each poison alert's deliveries, unchanged but for the reason header, to the
/// dead-letter exchange, and wait for the broker's confirms.
async fn dead_letter(handover: &Handover) -> Result<(), MeshError> {
    if handover.batch.poison.is_empty() {
        return Ok(());
    }
    let Some(channel) = &handover.dead_letters else {
        return Err(MeshError::Amqp {
            action: "dead-lettering".into(),
            reason: "no channel to the broker".into(),
        });
    };
    let letters: Vec<DeadLetter<'_>> = handover
        .batch
        .poison
        .iter()
        .map(|(origin, reason)| {
            let routing_key = origin
                .deliveries
                .first()
                .map(|d| d.routing_key.as_str())
                .unwrap_or("");
            tracing::warn!(routing_key, "dead-lettered: {reason}");
            DeadLetter {
                deliveries: &origin.deliveries,
                reason,
                stripped: origin
                    .dropped_properties
                    .as_ref()
                    .map(|(message_id, timestamp)| (message_id.as_str(), timestamp.as_str())),
            }
        })
        .collect();
    channel.publish(&letters).await
}
