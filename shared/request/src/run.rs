//! Running the request tools: one request, a broadcast, or a batch from stdin.

use crate::output::{OutputStyle, RequestResult};
use crate::{RequestArgs, RequestSpec};
use anyhow::Context;
use dripline_cli::exit_status::ExitFailure;
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

/// Send the request the command line names, or one per JSON line of `operation` on stdin,
/// and print the results; returns the exit status.
pub async fn run(
    args: &RequestArgs,
    operation: Operation,
    input: Input<RequestSpec>,
) -> anyhow::Result<u8> {
    let settings = args.broker.one_shot_settings()?;
    let style = OutputStyle {
        full: args.full || args.broadcast,
        field: args.field.clone(),
        pretty: args.pretty,
    };
    let mut out = LineOutput::stdout(false);
    let status = match input {
        Input::Arguments(mut spec) => {
            if spec.lockout_key.is_none() {
                spec.lockout_key = args.lockout_key.clone();
            }
            let client = connect(&settings).await?;
            if args.broadcast {
                broadcast(&client, spec, args.timeout, &style, &mut out).await?
            } else {
                let result = send(&client, &spec, args.timeout).await?;
                print_result(&result, &style, false, &mut out)?
            }
        }
        Input::StdinLines => batch(args, operation, &settings, &style, &mut out).await?,
    };
    out.flush()?;
    Ok(status)
}

async fn connect(settings: &BrokerSettings) -> anyhow::Result<(MeshConnection, RequestClient)> {
    let connection = MeshConnection::connect(settings, "unknown")
        .await
        .map_err(mesh_failure)?;
    let client = RequestClient::open(&connection)
        .await
        .map_err(mesh_failure)?;
    Ok((connection, client))
}

/// Broker trouble is a dripline AMQP error (101), exit status 1, as dl-agent reports it.
fn mesh_failure(error: MeshError) -> anyhow::Error {
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
    let message = match build_message(client, spec) {
        Ok(message) => message,
        Err(failure) => return Ok(failure),
    };
    let outcome = client
        .1
        .request(message, timeout)
        .await
        .map_err(mesh_failure)?;
    Ok(match outcome {
        RequestOutcome::Reply(reply) => {
            RequestResult::from_reply(&spec.target, &spec.specifier, *reply)
        }
        RequestOutcome::Unroutable => unroutable(spec),
        RequestOutcome::TimedOut => timed_out(spec, timeout),
    })
}

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
    let window = if window.is_zero() {
        Duration::from_secs(10)
    } else {
        window
    };
    let replies = client
        .1
        .collect(message, window)
        .await
        .map_err(mesh_failure)?;
    let Some(replies) = replies else {
        let failure = unroutable(&spec);
        return print_result(&failure, style, false, out);
    };
    if replies.is_empty() {
        let failure = timed_out(&spec, window);
        return print_result(&failure, style, false, out);
    }
    let mut status = 0;
    for reply in replies {
        let result = RequestResult::from_reply(&spec.target, &spec.specifier, reply);
        status = status.max(print_result(&result, style, true, out)?);
    }
    Ok(status)
}

/// Print one result; returns its exit status. Failures also get a line on stderr.
fn print_result(
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

async fn batch(
    args: &RequestArgs,
    operation: Operation,
    settings: &BrokerSettings,
    style: &OutputStyle,
    out: &mut LineOutput,
) -> anyhow::Result<u8> {
    let client = connect(settings).await?;
    let client = &client;
    // Lines are read on a thread of their own so that a slow producer never stalls replies.
    let batches = jsonl::read_batches(std::io::stdin(), "stdin", 256, |line| {
        line.into_object("stdin")
    });
    let default_key = args.lockout_key.clone();
    let timeout = args.timeout;
    let lines = tokio_stream_from(batches).flat_map(futures_util::stream::iter);
    let results = lines
        .map(|input_line| {
            let default_key = default_key.clone();
            async move {
                let line = match input_line {
                    Ok(line) => line,
                    Err(error) => return Ok(bad_line(error)),
                };
                let mut spec = match RequestSpec::from_line(&line.object, operation) {
                    Ok(spec) => spec,
                    Err(reason) => {
                        let mut failure = RequestResult::client_failure(
                            line.object
                                .get("target")
                                .and_then(|t| t.as_str())
                                .unwrap_or("?"),
                            "",
                            ReturnCode::INVALID_REQUEST,
                            reason,
                        );
                        failure.line = Some(line.line);
                        return Ok(failure);
                    }
                };
                if spec.lockout_key.is_none() {
                    spec.lockout_key = default_key;
                }
                let mut result = send(client, &spec, timeout).await?;
                result.line = Some(line.line);
                Ok::<_, anyhow::Error>(result)
            }
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
