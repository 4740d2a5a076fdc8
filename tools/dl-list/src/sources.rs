//! The mesh's own sources: the ping every service answers, and heartbeats.

use dripline_mesh::{Binding, Exchange, ListenQueue, Listener, ListenerEvent, RequestClient};
use dripline_mesh::{MeshConnection, MeshError};
use dripline_protocol::{LockoutKey, Message, Operation, SenderInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The most services one listing keeps; more replies are counted and dropped.
pub const MAX_SERVICES: usize = 10_000;

/// A service that answered the ping.
#[derive(Clone, Debug)]
pub struct Pong {
    /// Its `sender_info`.
    pub sender: SenderInfo,
    /// Round-trip time of the ping.
    pub round_trip: Duration,
}

/// The answers to a ping, by service name.
#[derive(Debug, Default)]
pub struct PingAnswers {
    /// The services that answered.
    pub services: BTreeMap<String, Pong>,
    /// Replies beyond [`MAX_SERVICES`], dropped.
    pub dropped: usize,
    /// Nobody was bound for the ping's target (no service at all).
    pub unroutable: bool,
}

/// When a ping has heard enough before its window ends.
pub enum Enough {
    /// At the first reply (a ping to one service).
    First,
    /// Once every service of the set has answered, when the set is known and not empty (the
    /// management API's service queues, sent when they come).
    AllOf(watch::Receiver<Option<BTreeSet<String>>>),
}

impl Enough {
    fn reached(&self, answers: &PingAnswers) -> bool {
        match self {
            Enough::First => !answers.services.is_empty(),
            Enough::AllOf(expected) => expected.borrow().as_ref().is_some_and(|names| {
                !names.is_empty() && names.iter().all(|name| answers.services.contains_key(name))
            }),
        }
    }
}

/// Send `cmd <target> -s ping` and gather the replies until `window` has passed or `enough`
/// is reached.
pub async fn ping(
    connection: &MeshConnection,
    client: &RequestClient,
    target: &str,
    window: Duration,
    mut enough: Enough,
) -> Result<PingAnswers, MeshError> {
    let request = Message::request(
        target,
        Operation::Cmd,
        "ping",
        serde_json::json!({}),
        LockoutKey::None,
        connection.sender_info().clone(),
        dripline_mesh::timestamp_now(),
    );
    let sent = Instant::now();
    let deadline = sent + window;
    let mut answers = PingAnswers::default();
    let Some(mut replies) = client.request_many(request).await? else {
        answers.unroutable = true;
        return Ok(answers);
    };
    let mut watching = matches!(enough, Enough::AllOf(_));
    loop {
        tokio::select! {
            reply = replies.next() => match reply? {
                Some(reply) => answers.add(reply, sent.elapsed()),
                None => {
                    answers.unroutable = answers.services.is_empty();
                    return Ok(answers);
                }
            },
            changed = changed(&mut enough), if watching => watching = changed,
            () = tokio::time::sleep_until(deadline) => return Ok(answers),
        }
        if enough.reached(&answers) {
            return Ok(answers);
        }
    }
}

/// Wait for the expected set to change; false once it never will.
async fn changed(enough: &mut Enough) -> bool {
    match enough {
        Enough::First => false,
        Enough::AllOf(expected) => expected.changed().await.is_ok(),
    }
}

impl PingAnswers {
    fn add(&mut self, reply: Message, round_trip: Duration) {
        let name = reply.sender_info.service_name.clone();
        if self.services.contains_key(&name) {
            return;
        }
        if self.services.len() >= MAX_SERVICES {
            self.dropped += 1;
            return;
        }
        let pong = Pong {
            sender: reply.sender_info,
            round_trip,
        };
        self.services.insert(name, pong);
    }
}

/// The heartbeats heard from one service.
#[derive(Clone, Debug)]
pub struct Heard {
    /// When the last one arrived.
    pub last: Instant,
    /// How many arrived.
    pub count: u64,
}

/// The heartbeats heard, by service name (the routing key's second part).
#[derive(Debug, Default)]
pub struct Heartbeats {
    /// The services heard.
    pub services: BTreeMap<String, Heard>,
    /// Heartbeats of services beyond [`MAX_SERVICES`], dropped.
    pub dropped: usize,
}

/// A listener bound to `<prefix>.#` on the alerts exchange, opened now so that no heartbeat
/// sent from now on is missed.
pub async fn open_heartbeats(
    settings: &dripline_mesh::BrokerSettings,
) -> Result<Listener, MeshError> {
    let binding = Binding {
        exchange: Exchange::Alerts,
        key: format!("{}.#", settings.heartbeat_routing_key),
    };
    Listener::open(settings, "unknown", vec![binding], ListenQueue::Temporary).await
}

/// The heartbeats `listener` hears until `until`.
pub async fn heartbeats(mut listener: Listener, prefix: &str, until: Instant) -> Heartbeats {
    let mut heard = Heartbeats::default();
    let prefix = format!("{prefix}.");
    loop {
        let event = tokio::select! {
            event = listener.next() => event,
            () = tokio::time::sleep_until(until) => break,
        };
        let ListenerEvent::Message(incoming) = event else {
            continue;
        };
        let Ok(message) = incoming.message else {
            continue;
        };
        let Some(name) = message.routing_key.strip_prefix(&prefix) else {
            continue;
        };
        let now = Instant::now();
        if let Some(entry) = heard.services.get_mut(name) {
            entry.last = now;
            entry.count += 1;
        } else if heard.services.len() >= MAX_SERVICES {
            heard.dropped += 1;
        } else {
            let entry = Heard {
                last: now,
                count: 1,
            };
            heard.services.insert(name.to_string(), entry);
        }
    }
    listener.close().await;
    heard
}
