//! Wiring: flags → listener → printed lines, until a stop condition or a signal.

use crate::format::{write_record, Format};
use crate::replies::{reply_binding, ReplyWatch, SERVER_NAMED_REPLIES};
use crate::Args;
use anyhow::Context;
use dripline_cli::exit_status::SUCCESS;
use dripline_cli::failures::mesh_failure;
use dripline_cli::Shutdown;
use dripline_mesh::{
    Acknowledgements, Binding, Exchange, Incoming, ListenQueue, Listener, ListenerEvent,
};
use dripline_protocol::MessageRecord;
use futures_util::FutureExt;
use std::io::{self, Write};
use std::time::Duration;
use tokio::time::Instant;

/// Unacknowledged deliveries a durable queue sends ahead: enough to keep the pipe full, and
/// more than the chunks of any message a dripline sender writes (10 MB at 10 kB chunks).
const DURABLE_PREFETCH: u16 = 2000;

/// Listen until a stop condition or `shutdown`; returns the exit status.
pub async fn run(args: Args, mut shutdown: Shutdown) -> anyhow::Result<u8> {
    let settings = args.broker.settings_with(|_| {})?;
    let exchange = if args.requests {
        Exchange::Requests
    } else {
        Exchange::Alerts
    };
    let keys = if args.keys.is_empty() {
        vec!["#".to_string()]
    } else {
        args.keys.clone()
    };
    let bindings: Vec<Binding> = keys
        .into_iter()
        .map(|key| Binding { exchange, key })
        .collect();
    for binding in &bindings {
        if let Some(hint) = binding.partial_wildcard_hint() {
            dripline_cli::report::warning(format_args!(
                "key '{}' can never match: '*' and '#' are wildcards only as whole words \
                 between dots (AMQP topic rules); write '{hint}' and filter the names yourself",
                binding.key
            ));
        }
    }
    // With --requests, the replies to the requests shown too (see `replies`).
    let mut listened = bindings.clone();
    if args.requests {
        listened.push(reply_binding(SERVER_NAMED_REPLIES));
    }
    let queue = match &args.queue {
        Some(name) => ListenQueue::Durable {
            name: name.clone(),
            prefetch: DURABLE_PREFETCH,
            queue_type: None,
            dead_letter: None,
        },
        None => ListenQueue::Temporary,
    };
    let mut listener = tokio::select! {
        _ = shutdown.requested() => return Ok(SUCCESS),
        listener = Listener::open(&settings, "unknown", listened, queue) => {
            listener.map_err(mesh_failure)?
        }
    };
    tracing::info!(
        queue = listener.queue_name().unwrap_or_default(),
        broker = %listener.node_address().unwrap_or_default(),
        "listening"
    );

    let mut printer = Printer::new(args.format);
    let mut replies = ReplyWatch::default();
    let mut printed = 0u64;
    let started = Instant::now();
    let stop_at = args.duration.map(|duration| started + duration);
    let mut last_message = started;
    // One timer for --duration and --idle-timeout. It is not moved at every message: when it
    // fires early for the idle timeout, it is set again from the last message's time.
    let wake_at = |last_message: Instant| {
        let idle_at = args.idle_timeout.map(|idle| last_message + idle);
        match (stop_at, idle_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let timer = tokio::time::sleep_until(wake_at(started).unwrap_or_else(far_future));
    tokio::pin!(timer);

    loop {
        let event = tokio::select! {
            biased;
            _ = shutdown.requested() => break,
            _ = &mut timer, if stop_at.is_some() || args.idle_timeout.is_some() => {
                let now = Instant::now();
                let idle_over = args
                    .idle_timeout
                    .is_some_and(|idle| now >= last_message + idle);
                if stop_at.is_some_and(|at| now >= at) || idle_over {
                    break;
                }
                timer.as_mut().reset(wake_at(last_message).unwrap_or_else(far_future));
                continue;
            }
            _ = tokio::time::sleep_until(replies.next_deadline().unwrap_or_else(far_future)),
                if replies.next_deadline().is_some() => {
                replies.expire(&listener, Instant::now()).await;
                continue;
            }
            event = next_event(&mut listener, &mut printer) => event?,
        };
        match event {
            ListenerEvent::Message(incoming) => {
                last_message = Instant::now();
                if let (true, Ok(message)) = (args.requests, &incoming.message) {
                    if !replies.admit(&listener, message, &bindings).await {
                        printer.skip(incoming);
                        continue;
                    }
                    // Bound before the line is written: the reply may be on its way.
                    replies.request_shown(&listener, message).await;
                }
                if printer.print(incoming)? {
                    printed += 1;
                    if args.count.is_some_and(|count| printed >= count) {
                        break;
                    }
                }
            }
            ListenerEvent::Lost(error) => {
                printer.flush_and_forget_acks()?;
                replies.forget();
                tracing::warn!("{error}; reconnecting");
            }
            ListenerEvent::Reconnected => {
                tracing::warn!(
                    queue = listener.queue_name().unwrap_or_default(),
                    "reconnected to broker at {}; listening again",
                    listener.node_address().unwrap_or_default()
                );
                // A temporary queue died with the lost connection (and its node); what was
                // routed to it meanwhile is gone. A --queue is the broker's to keep.
                if args.queue.is_none() {
                    dripline_cli::report::warning(
                        "messages sent while the connection was lost were not received (the \
                         temporary queue dies with its connection); --queue NAME keeps them",
                    );
                }
            }
        }
    }
    printer.flush_and_ack(false).await?;
    listener.close().await;
    tracing::info!(messages = printed, "stopped");
    Ok(SUCCESS)
}

/// The next event; when none is ready at once, the output is flushed (and what it holds
/// acknowledged) before waiting. So a line reaches a reader as soon as nothing else is
/// waiting, and a burst is written in large blocks.
async fn next_event(
    listener: &mut Listener,
    printer: &mut Printer,
) -> anyhow::Result<ListenerEvent> {
    if let Some(event) = listener.next().now_or_never() {
        return Ok(event);
    }
    // Nothing is ready, so every delivery received belongs to a printed message unless one
    // is still incomplete: then one acknowledgement can cover them all.
    let all_printed = !listener.has_incomplete_messages();
    printer.flush_and_ack(all_printed).await?;
    Ok(listener.next().await)
}

/// A time so far away that a timer set to it never fires.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// Buffered stdout, plus the deliveries whose lines are in the buffer (acknowledged only once
/// they are flushed).
struct Printer {
    out: io::BufWriter<io::StdoutLock<'static>>,
    format: Format,
    unacked: Acknowledgements,
}

impl Printer {
    fn new(format: Format) -> Self {
        Printer {
            out: io::BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
            format,
            unacked: Acknowledgements::default(),
        }
    }

    /// Pass over a message that is not shown (its deliveries are acknowledged with the rest).
    fn skip(&mut self, incoming: Incoming) {
        self.unacked.add(incoming.ackers);
    }

    /// Write one message's line; false when it could not be decoded (logged, not printed).
    fn print(&mut self, incoming: Incoming) -> anyhow::Result<bool> {
        let Incoming {
            exchange,
            message,
            ackers,
            ..
        } = incoming;
        self.unacked.add(ackers);
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(exchange = %exchange, "skipped a message that is not dripline: {error}");
                return Ok(false);
            }
        };
        let record = MessageRecord::new(message, exchange, chrono::Utc::now());
        write_record(&mut self.out, self.format, &record).context("writing to stdout")?;
        Ok(true)
    }

    /// Flush stdout, then acknowledge the deliveries whose lines were in the buffer: with one
    /// `multiple` acknowledgement of the last when `all_printed` (every delivery received so
    /// far is in a printed message), else one by one.
    async fn flush_and_ack(&mut self, all_printed: bool) -> anyhow::Result<()> {
        self.out.flush().context("writing to stdout")?;
        // A failure means the connection is gone: the broker delivers the messages again.
        if let Err(error) = self.unacked.ack(all_printed).await {
            tracing::debug!("acknowledgement not sent: {error}");
        }
        Ok(())
    }

    /// Flush stdout and drop the acknowledgements of a lost connection (the broker delivers
    /// those messages again).
    fn flush_and_forget_acks(&mut self) -> anyhow::Result<()> {
        self.unacked.forget();
        self.out.flush().context("writing to stdout")
    }
}
