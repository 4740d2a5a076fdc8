//! Running the request tools: one request, a broadcast, or a batch from stdin.

use crate::output::{OutputStyle, RequestResult};
use crate::{RequestArgs, RequestSpec};
use anyhow::Context;
use dripline_cli::exit_status::{ExitFailure, USAGE};
use dripline_cli::output::LineOutput;
use dripline_cli::{jsonl, report, Input, OnSignal, Program, Threads};
use dripline_mesh::{BrokerSettings, MeshConnection, MeshError, RequestClient, RequestOutcome};
use dripline_protocol::{LockoutKey, Message, Operation, ReturnCode};
use futures_util::StreamExt;
use std::time::Duration;

/// The request tools' start-up: one thread, and Ctrl-C drops the requests in hand (status
/// 130; the replies already printed stay printed).
pub const fn request_tool(name: &'static str) -> Program {
    Program {
        name,
        threads: Threads::One,
        on_signal: OnSignal::Interrupt,
    }
}

/// Send the requests the command line names, or one per JSON line of `operation` on stdin,
/// and print the results; returns the exit status. One request on the command line prints
/// its reply (or, with `--broadcast`, every reply as it arrives); several are sent like a
/// batch: many in flight, one line each in the order given, the status the highest among them.
pub async fn run(
    args: &RequestArgs,
    operation: Operation,
    input: Input<Vec<RequestSpec>>,
) -> anyhow::Result<u8> {
    let settings = args.broker.one_shot_settings()?;
    let style = OutputStyle {
        full: args.full || args.broadcast,
        field: args.field.clone(),
        pretty: args.pretty,
    };
    // A broadcast's replies are flushed one by one, so each shows when it comes and the
    // ones printed stay when the wait is cut short.
    let mut out = LineOutput::stdout(args.broadcast);
    let status = match input {
        Input::Arguments(specs) => {
            if args.broadcast && specs.len() > 1 {
                return Err(ExitFailure::new(USAGE, "--broadcast takes one target").into());
            }
            let client = connect(&settings).await?;
            match <[RequestSpec; 1]>::try_from(specs) {
                Ok([spec]) => {
                    let spec = with_default_key(spec, args);
                    if args.broadcast {
                        broadcast(&client, spec, args.timeout, &style, &mut out).await?
                    } else {
                        let result = send(&client, &spec, args.timeout).await?;
                        print_result(&result, &style, false, &mut out)?
                    }
                }
                Err(specs) => {
                    let items =
                        futures_util::stream::iter(specs.into_iter().map(|s| Ok((None, s))));
                    batch(args, &client, items, &style, &mut out).await?
                }
            }
        }
        Input::StdinLines => {
            let client = connect(&settings).await?;
            batch(args, &client, stdin_requests(operation), &style, &mut out).await?
        }
    };
    out.flush()?;
    Ok(status)
}

/// `spec` with `-k`'s lockout key when it names none of its own.
pub(crate) fn with_default_key(mut spec: RequestSpec, args: &RequestArgs) -> RequestSpec {
    if spec.lockout_key.is_none() {
        spec.lockout_key = args.lockout_key.clone();
    }
    spec
}

pub(crate) async fn connect(
    settings: &BrokerSettings,
) -> anyhow::Result<(MeshConnection, RequestClient)> {
    RequestClient::connect(settings).await.map_err(mesh_failure)
}

/// Broker trouble is a dripline AMQP error (101), exit status 1, as dl-agent reports it.
pub(crate) fn mesh_failure(error: MeshError) -> anyhow::Error {
    ExitFailure::new(
        ReturnCode::AMQP_ERROR_BROKER_CONNECTION.exit_status(),
        error.to_string(),
    )
    .into()
}

fn build_message(
    client: &(MeshConnection, RequestClient),
    spec: &RequestSpec,
) -> Result<Message, RequestResult> {
    let lockout_key = match spec.lockout_key.as_deref().map(LockoutKey::parse) {
        None => LockoutKey::None,
        Some(LockoutKey::Invalid(text)) => {
            return Err(RequestResult::client_failure(
                &spec.target,
                &spec.specifier,
                ReturnCode::CLIENT_ERROR,
                format!("lockout key '{text}' is not a UUID; nothing was sent"),
            ))
        }
        Some(key) => key,
    };
    Ok(Message::request(
        &spec.target,
        spec.operation,
        &spec.specifier,
        spec.payload.clone(),
        lockout_key,
        client.0.sender_info().clone(),
        dripline_mesh::timestamp_now(),
    ))
}

async fn send(
    client: &(MeshConnection, RequestClient),
    spec: &RequestSpec,
    timeout: Duration,
) -> anyhow::Result<RequestResult> {
    ask(client, spec, timeout).await.map_err(mesh_failure)
}

/// Send one request and wait up to `timeout` for its reply: the result (a reply, or our 403
/// unroutable, 404 timeout or 400 bad key); an error only when the broker connection fails.
/// For programs that send requests of their own (dl-watch's polls, dl-set --verify's get).
pub async fn ask(
    client: &(MeshConnection, RequestClient),
    spec: &RequestSpec,
    timeout: Duration,
) -> Result<RequestResult, MeshError> {
    let message = match build_message(client, spec) {
        Ok(message) => message,
        Err(failure) => return Ok(failure),
    };
    let outcome = client.1.request(message, timeout).await?;
    Ok(match outcome {
        RequestOutcome::Reply(reply) => {
            RequestResult::from_reply(&spec.target, &spec.specifier, *reply)
        }
        RequestOutcome::Unroutable => unroutable(spec),
        RequestOutcome::TimedOut => timed_out(spec, timeout),
    })
}

/// Send `spec` for many replies (to `broadcast`) and print each reply as it arrives, until
/// `window` has passed since the request went out (zero: until interrupted).
async fn broadcast(
    client: &(MeshConnection, RequestClient),
    spec: RequestSpec,
    window: Duration,
    style: &OutputStyle,
    out: &mut LineOutput,
) -> anyhow::Result<u8> {
    let message = match build_message(client, &spec) {
        Ok(message) => message,
        Err(failure) => return print_result(&failure, style, false, out),
    };
    let Some(mut replies) = client.1.request_many(message).await.map_err(mesh_failure)? else {
        return print_result(&unroutable(&spec), style, false, out);
    };
    let deadline = (!window.is_zero()).then(|| tokio::time::Instant::now() + window);
    let mut status = 0;
    let mut heard = 0usize;
    loop {
        let next = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, replies.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => replies.next().await,
        };
        match next.map_err(mesh_failure)? {
            Some(reply) => {
                heard += 1;
                let result = RequestResult::from_reply(&spec.target, &spec.specifier, reply);
                status = status.max(print_result(&result, style, true, out)?);
            }
            // Returned by the broker: nobody was bound after all.
            None if heard == 0 => return print_result(&unroutable(&spec), style, false, out),
            None => break,
        }
    }
    if heard == 0 {
        return print_result(&timed_out(&spec, window), style, false, out);
    }
    Ok(status)
}

/// Print one result; returns its exit status. Failures also get a line on stderr.
pub(crate) fn print_result(
    result: &RequestResult,
    style: &OutputStyle,
    batch: bool,
    out: &mut LineOutput,
) -> anyhow::Result<u8> {
    if !result.succeeded() {
        report::error(result.describe_failure());
    }
    match style.render(result, batch) {
        Ok(Some(text)) => out.write_line(&text).context("writing to stdout")?,
        Ok(None) => {}
        Err(message) => {
            report::error(message);
            if batch {
                out.write_line("").context("writing to stdout")?;
            }
            return Ok(ReturnCode::HANDLING_REPLY.exit_status());
        }
    }
    Ok(if result.succeeded() {
        0
    } else {
        result.return_code.exit_status()
    })
}

/// One request of a batch with its input line number (none for a command-line target), or
/// the failure of an input line that gave none.
type BatchItem = Result<(Option<usize>, RequestSpec), RequestResult>;

/// The requests of the JSON lines on stdin, read and parsed on a thread of their own so that a
/// slow producer never stalls replies.
fn stdin_requests(operation: Operation) -> impl futures_util::Stream<Item = BatchItem> {
    let batches = jsonl::read_batches(std::io::stdin(), "stdin", 256, move |line| {
        let line = line.into_object("stdin").map_err(bad_line)?;
        match RequestSpec::from_line(&line.object, operation) {
            Ok(spec) => Ok((Some(line.line), spec)),
            Err(reason) => {
                let target = line.object.get("target").and_then(|t| t.as_str());
                let mut failure = RequestResult::client_failure(
                    target.unwrap_or("?"),
                    "",
                    ReturnCode::INVALID_REQUEST,
                    reason,
                );
                failure.line = Some(line.line);
                Err(failure)
            }
        }
    });
    tokio_stream_from(batches).flat_map(futures_util::stream::iter)
}

/// Send every request of `items` with up to `--in-flight` waiting at once and print the
/// results in input order, one line each; returns the highest status among them.
async fn batch(
    args: &RequestArgs,
    client: &(MeshConnection, RequestClient),
    items: impl futures_util::Stream<Item = BatchItem>,
    style: &OutputStyle,
    out: &mut LineOutput,
) -> anyhow::Result<u8> {
    let timeout = args.timeout;
    let results = items
        .map(|item| async move {
            let (line, spec) = match item {
                Ok(request) => request,
                Err(failure) => return Ok(failure),
            };
            let spec = with_default_key(spec, args);
            let mut result = send(client, &spec, timeout).await?;
            result.line = line;
            Ok::<_, anyhow::Error>(result)
        })
        .buffered(usize::from(args.in_flight));
    futures_util::pin_mut!(results);
    let mut status = 0u8;
    while let Some(result) = results.next().await {
        let result = result?;
        let this = print_result(&result, style, true, out)?;
        status = status.max(this);
        if this != 0 && args.fail_fast {
            break;
        }
    }
    Ok(status)
}

fn bad_line(error: jsonl::LineError) -> RequestResult {
    // The result line names the line number; the reason is what follows it in the message.
    let mut failure =
        RequestResult::client_failure("-", "", ReturnCode::INVALID_REQUEST, error.reason());
    failure.line = error.line();
    failure
}

fn tokio_stream_from<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// The 403 of a request that no queue was bound for.
fn unroutable(spec: &RequestSpec) -> RequestResult {
    RequestResult::client_failure(
        &spec.target,
        &spec.specifier,
        ReturnCode::UNABLE_TO_SEND,
        format!(
            "no service is bound for '{}' on this mesh (unroutable)",
            spec.target
        ),
    )
}

/// The 404 of a request that got no reply within `timeout`.
fn timed_out(spec: &RequestSpec, timeout: Duration) -> RequestResult {
    RequestResult::client_failure(
        &spec.target,
        &spec.specifier,
        ReturnCode::CLIENT_TIMEOUT,
        format!("no reply within {}", humanize(timeout)),
    )
}

/// `10s` or `500ms`, for messages.
fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
