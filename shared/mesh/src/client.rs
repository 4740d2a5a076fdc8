//! Sending requests and waiting for their replies (PROTOCOL.md §A1.6).
//!
//! One exclusive, server-named reply queue per client, bound on the requests exchange under
//! its own name (replies travel on `requests`, so RabbitMQ's direct reply-to cannot be used).
//! Requests are published mandatory with confirms: no queue bound → [`RequestOutcome::Unroutable`]
//! (dripline 403). Replies are matched to requests by `correlation_id`, so one client can have
//! many requests in flight, and a broadcast can collect one reply per service.

use crate::connection::MeshConnection;
use crate::incoming::MessageStream;
use crate::publisher::{Exchange, Published, Publisher};
use crate::MeshError;
use dripline_protocol::Message;
use lapin::options::{
    BasicConsumeOptions, ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How a request ended.
#[derive(Debug)]
pub enum RequestOutcome {
    /// The first reply.
    Reply(Box<Message>),
    /// No queue is bound for the target (dripline 403, "Unable to Send").
    Unroutable,
    /// No reply within the timeout (dripline 404, "Client Timeout").
    TimedOut,
}

/// What a waiting request hears: its replies, or that the broker returned it.
#[derive(Debug)]
enum ReplyEvent {
    Reply(Box<Message>),
    /// The broker returned the request (no queue bound), learnt from another publish's
    /// confirm (see [`crate::publisher::PendingPublish::confirmed`]).
    Unroutable,
}

type Waiters = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<ReplyEvent>>>>;

/// A request→reply client on one connection; share it (`&self`) between concurrent requests.
pub struct RequestClient {
    publisher: Publisher,
    reply_queue: String,
    waiters: Waiters,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for RequestClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl RequestClient {
    /// Connect (as service `unknown`, retrying as the settings say) and open a request client
    /// on the new connection: what every program that sends requests does first.
    pub async fn connect(
        settings: &crate::BrokerSettings,
    ) -> Result<(MeshConnection, RequestClient), MeshError> {
        let connection = MeshConnection::connect(settings, "unknown").await?;
        let client = RequestClient::open(&connection).await?;
        Ok((connection, client))
    }

    /// Open a request client on `connection`: declare the reply queue, bind it, start reading
    /// replies.
    ///
    /// Set-up is pipelined (AMQP `nowait`) where the protocol allows, so that a one-shot
    /// request costs as few broker round trips as possible; a failure of those steps closes
    /// the channel and surfaces at the first publish.
    pub async fn open(connection: &MeshConnection) -> Result<Self, MeshError> {
        let settings = connection.settings();
        let channel = connection.channel().await?;
        let requests = crate::short(&settings.requests_exchange)?;
        crate::connection::declare_exchange(&channel, &settings.requests_exchange, true).await?;
        channel
            // Not `nowait`: lapin 4 would still wait for the ConfirmSelectOk it told the
            // broker not to send.
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| MeshError::amqp("enabling publisher confirms", e))?;
        // Server-named, as dripline-cpp does (amq.gen-…): the one step that must wait,
        // since the name is needed for `reply_to`.
        let declared = channel
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
            .map_err(|e| MeshError::amqp("declaring the reply queue", e))?;
        let queue = declared.name().clone();
        let reply_queue = queue.as_str().to_string();
        channel
            .queue_bind(
                queue.clone(),
                requests,
                queue.clone(),
                QueueBindOptions { nowait: true },
                FieldTable::default(),
            )
            .await
            .map_err(|e| MeshError::amqp("binding the reply queue", e))?;
        let consumer = channel
            .basic_consume(
                queue,
                "reply".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    exclusive: true,
                    nowait: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| MeshError::amqp("consuming the reply queue", e))?;
        let waiters: Waiters = Arc::default();
        let publisher = Publisher::on_channel_as_is(settings, channel)
            .with_stray_return_handler(report_unroutable_to(waiters.clone()));
        let reader = tokio::spawn(read_replies(
            MessageStream::new(consumer, false),
            waiters.clone(),
        ));
        Ok(RequestClient {
            publisher,
            reply_queue,
            waiters,
            reader,
        })
    }

    /// Send `request` and wait up to `timeout` (zero = forever) for its first reply.
    pub async fn request(
        &self,
        request: Message,
        timeout: Duration,
    ) -> Result<RequestOutcome, MeshError> {
        let (mut replies, published) = self.send(request).await?;
        if published == Published::Unroutable {
            return Ok(RequestOutcome::Unroutable);
        }
        let event = if timeout.is_zero() {
            replies.recv().await
        } else {
            match tokio::time::timeout(timeout, replies.recv()).await {
                Ok(event) => event,
                Err(_) => return Ok(RequestOutcome::TimedOut),
            }
        };
        match event.ok_or_else(connection_lost)? {
            ReplyEvent::Reply(reply) => Ok(RequestOutcome::Reply(reply)),
            ReplyEvent::Unroutable => Ok(RequestOutcome::Unroutable),
        }
    }

    /// Send `request` (e.g. to `broadcast`) for many replies, handed out one by one as they
    /// arrive ([`Replies::next`]); the caller decides how long to wait. An unroutable request
    /// gives `Ok(None)`.
    pub async fn request_many(&self, request: Message) -> Result<Option<Replies>, MeshError> {
        let (receiver, published) = self.send(request).await?;
        if published == Published::Unroutable {
            return Ok(None);
        }
        Ok(Some(Replies { receiver }))
    }

    /// Send `request` (e.g. to `broadcast`) and collect every reply that arrives within
    /// `window` (see [`request_many`](Self::request_many) to handle each as it comes). An
    /// unroutable request gives `Ok(None)`.
    pub async fn collect(
        &self,
        request: Message,
        window: Duration,
    ) -> Result<Option<Vec<Message>>, MeshError> {
        let Some(mut replies) = self.request_many(request).await? else {
            return Ok(None);
        };
        let mut collected = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        loop {
            match tokio::time::timeout_at(deadline, replies.next()).await {
                Ok(Ok(Some(reply))) => collected.push(reply),
                Ok(Ok(None)) => return Ok(None),
                Ok(Err(error)) => return Err(error),
                Err(_) => return Ok(Some(collected)),
            }
        }
    }

    async fn send(&self, mut request: Message) -> Result<(Receiver, Published), MeshError> {
        request.reply_to = self.reply_queue.clone();
        let (sender, receiver) = mpsc::unbounded_channel();
        let correlation_id = request.correlation_id.clone();
        self.lock_waiters().insert(correlation_id.clone(), sender);
        let receiver = Receiver {
            inner: receiver,
            correlation_id,
            waiters: self.waiters.clone(),
        };
        let published = self
            .publisher
            .publish(Exchange::Requests, &request, true)
            .await?;
        Ok((receiver, published))
    }

    fn lock_waiters(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<ReplyEvent>>> {
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The replies to one request sent with [`RequestClient::request_many`], as they arrive.
pub struct Replies {
    receiver: Receiver,
}

impl Replies {
    /// The next reply; `Ok(None)` when the broker returned the request after all (no queue was
    /// bound: learnt from a later confirm); an error when the connection is lost. Cancel-safe:
    /// wrap it in a timeout.
    pub async fn next(&mut self) -> Result<Option<Message>, MeshError> {
        match self.receiver.recv().await.ok_or_else(connection_lost)? {
            ReplyEvent::Reply(reply) => Ok(Some(*reply)),
            ReplyEvent::Unroutable => Ok(None),
        }
    }
}

/// The replies to one request; unregisters itself when dropped.
struct Receiver {
    inner: mpsc::UnboundedReceiver<ReplyEvent>,
    correlation_id: String,
    waiters: Waiters,
}

impl Receiver {
    async fn recv(&mut self) -> Option<ReplyEvent> {
        self.inner.recv().await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.correlation_id);
    }
}

/// Tells the request a returned message belongs to (by its correlation id) that it was
/// returned; the request may already have been confirmed and be waiting for its reply.
fn report_unroutable_to(waiters: Waiters) -> crate::publisher::StrayReturnHandler {
    Arc::new(move |returned: &lapin::BasicProperties| {
        let Some(correlation_id) = returned.correlation_id() else {
            return;
        };
        let waiter = waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(correlation_id.as_str())
            .cloned();
        if let Some(waiter) = waiter {
            let _ = waiter.send(ReplyEvent::Unroutable);
        }
    })
}

fn connection_lost() -> MeshError {
    MeshError::Amqp {
        action: "waiting for the reply".into(),
        reason: "the connection to the broker was lost".into(),
    }
}

async fn read_replies(mut stream: MessageStream, waiters: Waiters) {
    while let Some(incoming) = stream.next().await {
        let message = match incoming {
            Ok(incoming) => incoming.message,
            Err(error) => {
                tracing::warn!("reply queue: {error}");
                break;
            }
        };
        match message {
            Ok(reply) => {
                let waiter = waiters
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .get(&reply.correlation_id)
                    .cloned();
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(ReplyEvent::Reply(Box::new(reply)));
                    }
                    None => tracing::debug!(
                        correlation_id = %reply.correlation_id,
                        "reply for no waiting request (late or duplicate); dropped"
                    ),
                }
            }
            Err(error) => tracing::warn!("undecodable reply dropped: {error}"),
        }
    }
    // Dropping the senders wakes every waiter with "connection lost".
    waiters
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clear();
}
