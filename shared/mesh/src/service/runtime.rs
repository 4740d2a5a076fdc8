//! The AMQP side of a service: queue, bindings, the receive → dispatch → reply loop,
//! heartbeats, scheduled endpoint work, reconnection and a clean stop.

use super::dispatch::{Answer, Dispatcher, Outcome};
use super::endpoint::Alert;
use crate::connection::{timestamp_now, MeshConnection};
use crate::incoming::{Incoming, MessageStream, REFUSAL_REPORT_EVERY};
use crate::publisher::{Exchange, Publisher};
use crate::MeshError;
use dripline_protocol::{AssemblyLimits, Message, SenderInfo};
use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::json;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How a service runs.
#[derive(Clone, Debug)]
pub struct ServiceOptions {
    /// Period of the `heartbeat.<name>` alerts; zero turns them off. The first one is sent one
    /// period after start. Default 60 s, as dripline.
    pub heartbeat_interval: Duration,
    /// Reconnect (with the connection's retry policy) when the broker connection is lost,
    /// keeping endpoint values and locks; `false` ends [`Service::run`] with the error.
    pub reconnect: bool,
    /// Requests the broker may push before they are acknowledged (AMQP prefetch count):
    /// what a flood of requests can put in our memory, the rest waits in the broker's queue.
    /// Requests are acknowledged as they arrive, half this many at a time during a burst.
    /// Default [`DEFAULT_PREFETCH`].
    pub prefetch: u16,
    /// What incomplete multi-chunk requests may hold (dl-serve's `--max-message-size` sets
    /// the bytes of one message).
    pub limits: AssemblyLimits,
}

/// The default prefetch count of a service: 128 deliveries, a few hundred kB of 10 kB chunks;
/// enough to keep the broker sending while an acknowledgement travels.
pub const DEFAULT_PREFETCH: u16 = 128;

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            heartbeat_interval: Duration::from_secs(60),
            reconnect: true,
            prefetch: DEFAULT_PREFETCH,
            limits: AssemblyLimits::default(),
        }
    }
}

/// A running dripline service: a [`Dispatcher`] served on the mesh.
pub struct Service {
    dispatcher: Dispatcher,
    options: ServiceOptions,
    instance_id: uuid::Uuid,
    refusals: Refusals,
}

/// Messages refused (undecodable requests answered 302, messages that are no request
/// dropped), counted and reported at most every [`REFUSAL_REPORT_EVERY`]: a flood of bad
/// messages costs one log line per period, not one per message.
#[derive(Default)]
struct Refusals {
    total: u64,
    since_report: u64,
    last_report: Option<Instant>,
}

impl Refusals {
    /// Count one refusal; log it when no report was made in the last period.
    fn count(&mut self, routing_key: &str, what: std::fmt::Arguments<'_>) {
        self.total += 1;
        self.since_report += 1;
        let now = Instant::now();
        let due = self
            .last_report
            .is_none_or(|last| now.duration_since(last) >= REFUSAL_REPORT_EVERY);
        if due {
            tracing::warn!(
                routing_key,
                refused = self.since_report,
                refused_total = self.total,
                "{what} (refused since the last report: {}, in all: {})",
                self.since_report,
                self.total
            );
            self.last_report = Some(now);
            self.since_report = 0;
        } else {
            tracing::debug!(routing_key, "{what}");
        }
    }
}

/// Why one connection's serving loop ended.
enum End {
    Shutdown,
    Lost(MeshError),
}

/// When the next heartbeat and the next scheduled work of each endpoint are due.
struct Timers {
    heartbeat: Option<(Instant, Duration)>,
    endpoints: Vec<Option<(Instant, Duration)>>,
    /// The connection was lost at least once (set-up refusals may then be transient).
    reconnected: bool,
}

impl Timers {
    fn next_deadline(&self) -> Option<Instant> {
        self.endpoints
            .iter()
            .chain(std::iter::once(&self.heartbeat))
            .filter_map(|due| due.map(|(at, _)| at))
            .min()
    }

    /// Follow a change of an endpoint's schedule interval (started, stopped, changed).
    fn refresh(&mut self, dispatcher: &Dispatcher, index: usize, now: Instant) {
        let wanted = dispatcher.schedule_interval(index);
        let Some(slot) = self.endpoints.get_mut(index) else {
            return;
        };
        match (wanted, *slot) {
            (None, _) => *slot = None,
            (Some(interval), Some((_, current))) if current == interval => {}
            (Some(interval), _) => *slot = Some((now + interval, interval)),
        }
    }
}

/// The next time after `due` in steps of `interval`, never in the past (skips missed runs).
fn advance(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next <= now {
        now + interval
    } else {
        next
    }
}

/// Publishes replies and alerts on a channel without confirms: ordered, and never waiting a
/// broker round trip per reply (dripline replies are not confirmed by anyone either).
struct Sender {
    publisher: Publisher,
    heartbeat_routing_key: String,
    sender_info: SenderInfo,
}

impl Sender {
    async fn publish(&self, exchange: Exchange, message: &Message) -> Result<(), MeshError> {
        self.publisher.publish(exchange, message, false).await?;
        Ok(())
    }

    async fn alerts(&self, alerts: Vec<Alert>) -> Result<(), MeshError> {
        for alert in alerts {
            let message = Message::alert(
                &alert.routing_key,
                alert.payload,
                self.sender_info.clone(),
                timestamp_now(),
            );
            tolerate_bad_names(self.publish(Exchange::Alerts, &message).await)?;
        }
        Ok(())
    }
}

/// A routing key over 255 bytes fails one publish, not the service.
fn tolerate_bad_names(result: Result<(), MeshError>) -> Result<(), MeshError> {
    match result {
        Err(error @ MeshError::NameTooLong(_)) => {
            tracing::warn!("not published: {error}");
            Ok(())
        }
        other => other,
    }
}

impl Service {
    /// A service serving `dispatcher`'s endpoints.
    pub fn new(dispatcher: Dispatcher, options: ServiceOptions) -> Self {
        Service {
            dispatcher,
            options,
            instance_id: uuid::Uuid::new_v4(),
            refusals: Refusals::default(),
        }
    }

    /// The id sent in heartbeats: one per service process.
    pub fn instance_id(&self) -> uuid::Uuid {
        self.instance_id
    }

    /// How many messages were refused so far: undecodable requests (answered 302, including
    /// those over the assembly limits) and messages that are not dripline requests.
    pub fn refused_total(&self) -> u64 {
        self.refusals.total
    }

    /// The endpoints and their locks.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Serve on `connection` until `shutdown` completes (then close the connection and return
    /// `Ok`). Set-up failures (e.g. another service with this name holds the queue) return an
    /// error. A lost connection is re-opened when [`ServiceOptions::reconnect`] is set (giving
    /// up after the connection's `max_connection_attempts`), otherwise it ends `run` with a
    /// [`MeshError::Unreachable`].
    pub async fn run(
        &mut self,
        connection: MeshConnection,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), MeshError> {
        tokio::pin!(shutdown);
        let now = Instant::now();
        let heartbeat = Some(self.options.heartbeat_interval)
            .filter(|interval| !interval.is_zero())
            .map(|interval| (now + interval, interval));
        let mut timers = Timers {
            heartbeat,
            endpoints: vec![None; self.dispatcher.len()],
            reconnected: false,
        };
        for index in 0..self.dispatcher.len() {
            timers.refresh(&self.dispatcher, index, now);
        }
        let mut connection = connection;
        // Since when queue set-ups are refused because the lost connection's queue is not
        // cleaned up yet.
        let mut locked_since: Option<Instant> = None;
        let mut backoff = crate::Backoff::default();
        loop {
            let end = match self.serve(&connection, &mut shutdown, &mut timers).await {
                Ok(end) => {
                    locked_since = None;
                    backoff.reset();
                    end
                }
                // After a reconnection (maybe to another cluster node) the exclusive queue of
                // the lost connection may live on until the broker notices that connection is
                // gone (its node's death, or two missed heartbeats): wait and try again, for as
                // long as that can take (or for ever with max_connection_attempts 0), rather
                // than take it for a second service. While the dead node's clean-up runs, our
                // queue, just declared, can also vanish before we bind or consume it (see
                // QUEUE_CHECK_FIRST): the same wait.
                Err(error)
                    if (error.is_resource_locked() || error.is_not_found())
                        && self.options.reconnect
                        && timers.reconnected
                        && still_waiting(
                            *locked_since.get_or_insert_with(Instant::now),
                            connection.settings().max_connection_attempts,
                        ) =>
                {
                    let delay = backoff.next_delay();
                    let why = if error.is_not_found() {
                        "the lost connection's queue is still being cleaned up"
                    } else {
                        "the lost connection's queue is not gone yet"
                    };
                    tracing::warn!("{error}; {why}, trying again in {delay:?}");
                    connection.close().await;
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                    End::Lost(error)
                }
                // The connection died while setting up: a loss like any other (after a pause,
                // in case the node keeps doing that).
                Err(error) if self.options.reconnect && !connection.is_connected() => {
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(backoff.next_delay()) => {}
                    }
                    End::Lost(as_lost(&connection.address(), error))
                }
                Err(error) => return Err(error),
            };
            match end {
                End::Shutdown => {
                    tracing::info!(service = %self.dispatcher.service_name(), "stopping");
                    connection.close().await;
                    return Ok(());
                }
                End::Lost(error) if self.options.reconnect => {
                    tracing::warn!("{error}; reconnecting");
                    timers.reconnected = true;
                    let settings = connection.settings().clone();
                    let name = self.dispatcher.service_name().to_string();
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        reconnected = MeshConnection::connect(&settings, &name) => {
                            connection = reconnected?;
                        }
                    }
                }
                End::Lost(error) => return Err(error),
            }
        }
    }

    async fn serve<F: Future<Output = ()>>(
        &mut self,
        connection: &MeshConnection,
        shutdown: &mut std::pin::Pin<&mut F>,
        timers: &mut Timers,
    ) -> Result<End, MeshError> {
        let settings = connection.settings();
        let name = self.dispatcher.service_name().to_string();
        let channel = connection.channel().await?;
        connection.declare_exchanges(&channel).await?;
        let sender = Sender {
            publisher: Publisher::on_channel_as_is(settings, connection.channel().await?),
            heartbeat_routing_key: settings.heartbeat_routing_key.clone(),
            sender_info: connection.sender_info().clone(),
        };
        let queue = crate::short(&name)?;
        let checked_queue = queue.clone();
        channel
            .queue_declare(
                queue.clone(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| queue_error(&name, e))?;
        for key in self.dispatcher.binding_keys() {
            channel
                .queue_bind(
                    queue.clone(),
                    crate::short(&settings.requests_exchange)?,
                    crate::short(&key)?,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| MeshError::amqp(format!("binding '{key}' to queue '{name}'"), e))?;
        }
        // Manual acknowledgement with a prefetch count: the broker, not our memory, holds a
        // flood of requests (with automatic acknowledgement it pushes the whole queue).
        channel
            .basic_qos(self.options.prefetch.max(1), BasicQosOptions::default())
            .await
            .map_err(|e| MeshError::amqp("setting the prefetch count", e))?;
        let consumer = channel
            .basic_consume(
                queue,
                "".into(),
                BasicConsumeOptions {
                    no_local: true,
                    no_ack: false,
                    exclusive: true,
                    nowait: false,
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| MeshError::amqp(format!("consuming queue '{name}'"), e))?;
        // dripline acknowledges each request the moment it arrives; batched (`multiple`).
        let mut stream = MessageStream::new(consumer, false)
            .with_limits(self.options.limits)
            .acknowledging_on_arrival((self.options.prefetch / 2).max(1));
        let endpoints: Vec<&str> = self.dispatcher.names().skip(1).collect();
        let address = connection.address();
        tracing::info!(
            service = %name,
            broker = %connection.address(),
            endpoints = %endpoints.join(","),
            "serving"
        );

        let mut check_every = QUEUE_CHECK_FIRST;
        let mut next_check = Instant::now() + check_every;
        loop {
            let deadline = timers.next_deadline();
            let step = tokio::select! {
                biased;
                _ = shutdown.as_mut() => return Ok(End::Shutdown),
                incoming = stream.next() => match incoming {
                    None => Err(lost(&address, "the broker closed the connection or cancelled the consumer")),
                    Some(Err(error)) => Err(error),
                    Some(Ok(incoming)) => self.on_incoming(incoming, &sender, timers).await,
                },
                _ = sleep_until(deadline) => self.on_timers(&sender, timers).await,
                _ = tokio::time::sleep_until(next_check) => {
                    check_every = (check_every * 2).min(QUEUE_CHECK_CEILING);
                    next_check = Instant::now() + check_every;
                    match queue_exists(&channel, &checked_queue, &name).await {
                        // The connection is up, but nothing reaches us through it: close it
                        // (which also ends the broker's orphaned queue) and start again.
                        Err(error) if error.is_not_found() => {
                            connection.close().await;
                            return Ok(End::Lost(error));
                        }
                        other => other,
                    }
                }
            };
            if let Err(error) = step {
                return Ok(End::Lost(as_lost(&address, error)));
            }
        }
    }

    async fn on_incoming(
        &mut self,
        incoming: Incoming,
        sender: &Sender,
        timers: &mut Timers,
    ) -> Result<(), MeshError> {
        let (request, outcome) = match self.dispatcher.answer(incoming.message) {
            Answer::Reply { request, outcome } => {
                if let Some(index) = self.dispatcher.route(&request.routing_key) {
                    timers.refresh(&self.dispatcher, index, Instant::now());
                }
                (request, outcome)
            }
            Answer::Refused {
                request,
                outcome,
                reason,
            } => {
                self.refusals.count(
                    &request.routing_key,
                    format_args!("undecodable request body ({reason}); replying 302"),
                );
                (request, outcome)
            }
            Answer::Ignored => {
                tracing::debug!("ignoring a message that is not a request");
                return Ok(());
            }
            Answer::Dropped(error) => {
                self.refusals.count(
                    "",
                    format_args!("dropped a message that is not a dripline request: {error}"),
                );
                return Ok(());
            }
        };
        self.send_outcome(&request, outcome, sender).await
    }

    async fn send_outcome(
        &self,
        request: &Message,
        outcome: Outcome,
        sender: &Sender,
    ) -> Result<(), MeshError> {
        let Outcome { alerts, reply } = outcome;
        let code = reply.code;
        tracing::debug!(
            routing_key = %request.routing_key,
            operation = request.operation().map_or("?", |op| op.name()),
            specifier = %request.specifier,
            code = code.0,
            "{}",
            reply.message
        );
        sender.alerts(alerts).await?;
        if request.reply_to.is_empty() {
            tracing::warn!(
                routing_key = %request.routing_key,
                "not sending reply (reply-to empty): {code} {}",
                reply.message
            );
            return Ok(());
        }
        let message = Message::reply(
            request,
            code.0,
            reply.message,
            reply.payload,
            sender.sender_info.clone(),
            timestamp_now(),
        );
        tolerate_bad_names(sender.publish(Exchange::Requests, &message).await)
    }

    async fn on_timers(&mut self, sender: &Sender, timers: &mut Timers) -> Result<(), MeshError> {
        let now = Instant::now();
        if let Some((due, interval)) = timers.heartbeat {
            if due <= now {
                timers.heartbeat = Some((advance(due, interval, now), interval));
                let name = self.dispatcher.service_name();
                let heartbeat = Alert {
                    routing_key: format!("{}.{name}", sender.heartbeat_routing_key),
                    payload: json!({ "name": name, "id": self.instance_id.to_string() }),
                };
                sender.alerts(vec![heartbeat]).await?;
            }
        }
        for index in 0..timers.endpoints.len() {
            let Some((due, interval)) = timers.endpoints[index] else {
                continue;
            };
            if due > now {
                continue;
            }
            timers.endpoints[index] = Some((advance(due, interval, now), interval));
            let alerts = self.dispatcher.run_scheduled(index);
            timers.refresh(&self.dispatcher, index, now);
            sender.alerts(alerts).await?;
        }
        Ok(())
    }
}

/// A queue declared just after a cluster node's death can still be deleted by that node's
/// clean-up: each surviving node lists the dead node's transient queues, then deletes them by
/// name in a later transaction (rabbitmq-server issues 6271 and 9798), maybe after we declared
/// ours again on a surviving node. Our queue and its bindings vanish, our consumer stays, and no
/// request reaches us; nothing tells us. So after each set-up we check that the queue still
/// exists, first after this long, then at doubling intervals up to [`QUEUE_CHECK_CEILING`].
const QUEUE_CHECK_FIRST: Duration = Duration::from_millis(500);

/// The longest interval between two checks of our queue: a late clean-up costs at most this
/// long (one passive declaration per period costs the broker nothing).
const QUEUE_CHECK_CEILING: Duration = Duration::from_secs(30);

/// Whether our queue `queue` (of service `name`) still exists: a passive declaration, which
/// the broker refuses with NOT_FOUND (closing the channel) when it is gone.
async fn queue_exists(
    channel: &lapin::Channel,
    queue: &lapin::types::ShortString,
    name: &str,
) -> Result<(), MeshError> {
    channel
        .queue_declare(
            queue.clone(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map(drop)
        .map_err(|e| MeshError::amqp(format!("checking that our queue '{name}' still exists"), e))
}

/// How long a lost connection's queue may outlive it: the broker drops a silent connection
/// after two missed heartbeats (we ask for 30 s), plus a margin.
const LINGERING_QUEUE: Duration = Duration::from_secs(90);

/// Whether to go on waiting for a lingering queue refused since `since` (for ever when the
/// connection attempts are unlimited, `0`).
fn still_waiting(since: Instant, attempts: u32) -> bool {
    attempts == 0 || since.elapsed() < LINGERING_QUEUE
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn lost(address: &str, reason: impl Into<String>) -> MeshError {
    MeshError::Unreachable {
        address: address.to_string(),
        reason: reason.into(),
    }
}

/// Any AMQP failure while serving means the channel or connection is gone.
fn as_lost(address: &str, error: MeshError) -> MeshError {
    match error {
        MeshError::Amqp { action, reason } => {
            lost(address, format!("connection lost while {action}: {reason}"))
        }
        other => other,
    }
}

fn queue_error(name: &str, error: lapin::Error) -> MeshError {
    let error = MeshError::amqp(format!("declaring queue '{name}'"), error);
    match error {
        MeshError::Amqp { action, reason }
            if reason.contains("RESOURCE_LOCKED")
                || reason.contains("resource-locked")
                || reason.contains("exclusive") =>
        {
            MeshError::Amqp {
                action,
                reason: format!(
                    "another service named '{name}' is already running on this broker ({reason})"
                ),
            }
        }
        other => other,
    }
}
