//! `--requests`: showing the replies to the requests shown.
//!
//! A reply is published on the requests exchange with the client's reply queue as its routing
//! key, which the user's keys do not name. Binding a request's `reply_to` when the request
//! passes is too late: a service on the same broker has usually replied before the binding is
//! made (1 reply in 20 one-shot `dl-get`s was seen that way). So `--requests` also binds
//! [`SERVER_NAMED_REPLIES`] from the start, which routes the replies to the server-named
//! queues (`amq.gen-…`) every dripline client uses, and shows those that answer a request
//! shown. A `reply_to` of another form is bound when its request passes (best effort), and
//! unbound when the reply came or [`REPLY_WAIT`] passed (requests of one client share the
//! binding). At most [`MAX_PENDING`] requests wait for their replies at a time; beyond that
//! the replies of further requests are not shown (said once on stderr), so a flood of
//! requests cannot grow the memory or the bindings without bound.

use dripline_mesh::{Binding, Exchange, Listener};
use dripline_protocol::{Message, MessageKind};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// The binding key of every reply to a server-named reply queue (`amq.gen-…` is the two
/// words `amq` and `gen-…`).
pub const SERVER_NAMED_REPLIES: &str = "amq.*";

/// The most requests whose replies are waited for at once.
pub const MAX_PENDING: usize = 1000;

/// How long the reply to a shown request is waited for.
pub const REPLY_WAIT: Duration = Duration::from_secs(60);

/// The requests shown whose replies have not come yet, and the reply queues bound for them.
#[derive(Default)]
pub struct ReplyWatch {
    /// correlation id → the reply queue bound for it (none: [`SERVER_NAMED_REPLIES`] routes
    /// its reply).
    pending: HashMap<String, Option<String>>,
    /// (deadline, correlation id), oldest first (deadlines only grow).
    deadlines: VecDeque<(Instant, String)>,
    /// reply queue → how many pending requests use it.
    queues: HashMap<String, usize>,
    warned_full: bool,
}

impl ReplyWatch {
    /// Whether to show `message`, a request or reply received on the requests exchange: a
    /// reply is shown when it answers a request shown (the binding of its queue ends with the
    /// last such request) or when the user's `keys` route it; everything else is shown.
    pub async fn admit(
        &mut self,
        listener: &Listener,
        message: &Message,
        keys: &[Binding],
    ) -> bool {
        if !matches!(message.kind, MessageKind::Reply { .. }) {
            return true;
        }
        let answers_shown = match self.pending.remove(&message.correlation_id) {
            Some(bound) => {
                self.release(listener, bound).await;
                true
            }
            None => false,
        };
        answers_shown || keys.iter().any(|key| key.matches(&message.routing_key))
    }

    /// A request was shown: bind its reply queue (when it has one and it is not bound yet).
    pub async fn request_shown(&mut self, listener: &Listener, message: &Message) {
        if !matches!(message.kind, MessageKind::Request { .. }) || message.reply_to.is_empty() {
            return;
        }
        if self.pending.contains_key(&message.correlation_id) {
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            if !self.warned_full {
                self.warned_full = true;
                dripline_cli::report::warning(format_args!(
                    "{MAX_PENDING} requests are waiting for their replies; the replies of \
                     further requests are not shown until some come or {}s pass",
                    REPLY_WAIT.as_secs()
                ));
            }
            return;
        }
        let queue = message.reply_to.clone();
        let bound = if reply_binding(SERVER_NAMED_REPLIES).matches(&queue) {
            None
        } else {
            let users = self.queues.entry(queue.clone()).or_insert(0);
            *users += 1;
            if *users == 1 {
                if let Err(error) = listener.bind(&reply_binding(&queue)).await {
                    tracing::warn!("cannot follow the replies to {queue}: {error}");
                }
            }
            Some(queue)
        };
        self.pending.insert(message.correlation_id.clone(), bound);
        if self.deadlines.len() >= 2 * MAX_PENDING {
            // Answered requests leave their deadlines behind: drop those.
            let pending = &self.pending;
            self.deadlines.retain(|(_, id)| pending.contains_key(id));
        }
        self.deadlines
            .push_back((Instant::now() + REPLY_WAIT, message.correlation_id.clone()));
    }

    /// When the oldest pending request gives up waiting, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.front().map(|(deadline, _)| *deadline)
    }

    /// Stop waiting for the replies whose time is up.
    pub async fn expire(&mut self, listener: &Listener, now: Instant) {
        while let Some((deadline, _)) = self.deadlines.front() {
            if *deadline > now {
                break;
            }
            let Some((_, correlation_id)) = self.deadlines.pop_front() else {
                break;
            };
            if let Some(bound) = self.pending.remove(&correlation_id) {
                self.release(listener, bound).await;
            }
        }
        if self.pending.len() < MAX_PENDING {
            self.warned_full = false;
        }
    }

    /// The connection was lost: its queue, and the bindings with it, are gone.
    pub fn forget(&mut self) {
        *self = ReplyWatch::default();
    }

    /// A pending request is done: unbind its reply queue when it was the last to use it.
    async fn release(&mut self, listener: &Listener, bound: Option<String>) {
        if let Some(queue) = bound {
            let users = self.queues.entry(queue.clone()).or_insert(1);
            *users -= 1;
            if *users == 0 {
                self.queues.remove(&queue);
                if let Err(error) = listener.unbind(&reply_binding(&queue)).await {
                    tracing::debug!("cannot unbind {queue}: {error}");
                }
            }
        }
        // Deadlines of requests answered early stay queued until their time; drop them
        // when they are all stale, so the queue stays as short as the pending map.
        if self.pending.is_empty() {
            self.deadlines.clear();
        }
    }
}

/// The binding of replies routed to `queue` (a reply queue name or a key).
pub fn reply_binding(queue: &str) -> Binding {
    Binding {
        exchange: Exchange::Requests,
        key: queue.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dripline_mesh::{our_sender_info, BrokerSettings, ListenQueue};
    use dripline_protocol::{LockoutKey, Operation};

    fn request(reply_to: &str) -> Message {
        let mut message = Message::request(
            "peaches",
            Operation::Get,
            "",
            serde_json::json!({}),
            LockoutKey::None,
            our_sender_info("test"),
            String::new(),
        );
        message.reply_to = reply_to.to_string();
        message
    }

    fn reply(to: &Message) -> Message {
        Message::reply(
            to,
            0,
            "",
            serde_json::json!({}),
            our_sender_info("svc"),
            String::new(),
        )
    }

    #[tokio::test]
    async fn replies_to_shown_requests_are_admitted_within_the_cap() {
        // Not connected: bind and unbind do nothing, the bookkeeping is what is tested.
        let listener = Listener::new(
            &BrokerSettings::default(),
            "test",
            vec![],
            ListenQueue::Temporary,
        );
        let keys = [reply_binding("peaches")];
        let mut watch = ReplyWatch::default();
        let requests: Vec<Message> = (0..MAX_PENDING + 5)
            .map(|i| {
                request(if i % 2 == 0 {
                    "amq.gen-abc"
                } else {
                    "my_reply_queue"
                })
            })
            .collect();
        for message in &requests {
            assert!(watch.admit(&listener, message, &keys).await);
            watch.request_shown(&listener, message).await;
        }
        assert_eq!(watch.pending.len(), MAX_PENDING);
        assert_eq!(watch.queues["my_reply_queue"], MAX_PENDING / 2);
        assert!(watch.admit(&listener, &reply(&requests[0]), &keys).await);
        assert!(watch.admit(&listener, &reply(&requests[1]), &keys).await);
        // Answered already, or beyond the cap, or never shown: not admitted.
        assert!(!watch.admit(&listener, &reply(&requests[0]), &keys).await);
        assert!(
            !watch
                .admit(&listener, &reply(&requests[MAX_PENDING + 2]), &keys)
                .await
        );
        assert_eq!(watch.pending.len(), MAX_PENDING - 2);
        // Time up for all: every binding is released.
        watch
            .expire(
                &listener,
                Instant::now() + REPLY_WAIT + Duration::from_secs(1),
            )
            .await;
        assert!(watch.pending.is_empty() && watch.queues.is_empty());
        assert!(watch.deadlines.is_empty());
    }
}
